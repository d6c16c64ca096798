//! What a benchmark run reports: one row per shape and client count, as
//! JSON (serde) or as a Markdown table; and the side-by-side comparisons
//! ([`comparison`], [`heavy_light`]).

mod async_sync;
mod comparison;
mod heavy_light;

use serde::Serialize;

pub use async_sync::{AsyncSyncRow, AsyncVsSync};
pub use comparison::{ComparedWrite, Database, WriteComparison};
pub use heavy_light::{HeavyLightRow, HeavyVsLight, Population};

use super::shape::Shape;
use crate::stats::Summary;

/// What [`run`](super::run) measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Seconds each shape ran, per client count, for the library and pgbench each.
    pub duration_s: u64,
    /// Accounts in the database.
    pub users: u64,
    /// One row per shape and client count.
    pub shapes: Vec<ShapeResult>,
    /// Why pgbench figures are missing, if they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pgbench_error: Option<String>,
    /// How the library scoped its calls for row-level security: `scoped`
    /// or `unscoped`.
    pub row_security: &'static str,
    /// Whether the library connected with `--app-url` (e.g. as the
    /// application role, so that the policies were evaluated), rather than
    /// with the URL of the fixture and pgbench.
    pub app_url: bool,
    /// With `--link-delay-us`: the delay each direction of every connection
    /// (the library's and pgbench's) was given, in microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_delay_us: Option<u64>,
    /// With `--heavy-vs-light`: each read shape and client count for light
    /// and heavy users, measured alternately.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heavy_vs_light: Option<Box<HeavyVsLight>>,
    /// With `--compare-url` or `--without-history-url`: each write shape and
    /// client count on both databases, measured alternately.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_comparison: Option<Box<WriteComparison>>,
    /// With `--without-history-url`: the rows of `write_comparison` as
    /// reports had them before `--compare-url` (with history = main).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history_cost: Vec<HistoryCost>,
    /// With `--async-vs-sync`: each read shape and client count through the
    /// sync store and the async store, measured alternately.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub async_vs_sync: Option<Box<AsyncVsSync>>,
    /// With the `changes_since` shape: the feed from each token.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes_since: Vec<FeedResult>,
}

/// One write shape at one client count, with the history triggers
/// (`--database-url`) and without (`--without-history-url`), each side
/// measured `rounds` times for the duration, the two alternating. Times in
/// milliseconds, over all rounds of a side.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryCost {
    /// The shape's name.
    pub shape: &'static str,
    /// Concurrent clients.
    pub clients: u32,
    /// Runs of each side.
    pub rounds: u32,
    /// Median latency with history.
    pub with_p50_ms: f64,
    /// 95th percentile with history.
    pub with_p95_ms: f64,
    /// Calls per second with history.
    pub with_ops_per_s: f64,
    /// Median latency without history.
    pub without_p50_ms: f64,
    /// 95th percentile without history.
    pub without_p95_ms: f64,
    /// Calls per second without history.
    pub without_ops_per_s: f64,
    /// `with_p50_ms / without_p50_ms`.
    pub p50_ratio: f64,
    /// `with_p95_ms / without_p95_ms`.
    pub p95_ratio: f64,
}

/// `changes_since` from one token, paging to the end of the feed
/// (the `changes_since` shape). Times in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct FeedResult {
    /// How many changes before the end of the feed the token was.
    pub behind: u64,
    /// The owner's tasks while measured: its own, and those the shape made.
    pub owner_tasks: u64,
    /// Changes per call.
    pub limit: u32,
    /// Calls from the token to the end of the feed.
    pub calls_per_sync: usize,
    /// Tasks (changed and deleted) those calls returned.
    pub items_per_sync: usize,
    /// Catch-ups measured, from the token to the end each.
    pub syncs: usize,
    /// Median latency of one call.
    pub call_p50_ms: f64,
    /// 95th percentile of one call.
    pub call_p95_ms: f64,
    /// Slowest call.
    pub call_max_ms: f64,
    /// Median time of a whole catch-up.
    pub sync_p50_ms: f64,
    /// 95th percentile of a whole catch-up.
    pub sync_p95_ms: f64,
}

/// One shape at one client count. Times in milliseconds; pgbench figures and
/// ratios (library / pgbench) are `null` for writes and when pgbench did not
/// run, and pgbench's latencies for more than one client (pgbench then logs
/// many calls as taking 0 µs).
#[derive(Debug, Clone, Serialize)]
pub struct ShapeResult {
    /// The shape's name.
    pub shape: &'static str,
    /// Concurrent clients.
    pub clients: u32,
    /// Median latency through the library.
    pub p50_ms: f64,
    /// 95th percentile through the library.
    pub p95_ms: f64,
    /// 99th percentile through the library.
    pub p99_ms: f64,
    /// Slowest call through the library.
    pub max_ms: f64,
    /// Library calls per second, all clients together.
    pub ops_per_s: f64,
    /// pgbench's median for the same statements.
    pub pgbench_p50_ms: Option<f64>,
    /// pgbench's 95th percentile.
    pub pgbench_p95_ms: Option<f64>,
    /// pgbench's transactions per second.
    pub pgbench_ops_per_s: Option<f64>,
    /// `p50_ms / pgbench_p50_ms`.
    pub p50_ratio: Option<f64>,
    /// `p95_ms / pgbench_p95_ms`.
    pub p95_ratio: Option<f64>,
    /// `ops_per_s / pgbench_ops_per_s`.
    pub ops_ratio: Option<f64>,
}

impl ShapeResult {
    /// The row of `shape` at `clients`, from what the library and pgbench did.
    pub(super) fn new(
        shape: Shape,
        clients: u32,
        library: Summary,
        pgbench: Option<Summary>,
    ) -> Self {
        // pgbench's per-transaction log reads a clock it caches per loop of a
        // worker thread: when a reply is already waiting (always, with several
        // clients on two cores) it logs 0 µs. Its latencies are kept for one
        // client only; its throughput is exact either way.
        let pgbench_latency = pgbench.filter(|_| clients == 1);
        let ratio = |ours: f64, theirs: Option<f64>| {
            theirs.filter(|t| *t > 0.0).map(|t| round(ours / t, 2))
        };
        Self {
            shape: shape.name(),
            clients,
            p50_ms: round(library.p50_ms, 3),
            p95_ms: round(library.p95_ms, 3),
            p99_ms: round(library.p99_ms, 3),
            max_ms: round(library.max_ms, 3),
            ops_per_s: round(library.ops_per_s, 0),
            pgbench_p50_ms: pgbench_latency.map(|p| round(p.p50_ms, 3)),
            pgbench_p95_ms: pgbench_latency.map(|p| round(p.p95_ms, 3)),
            pgbench_ops_per_s: pgbench.map(|p| round(p.ops_per_s, 0)),
            p50_ratio: ratio(library.p50_ms, pgbench_latency.map(|p| p.p50_ms)),
            p95_ratio: ratio(library.p95_ms, pgbench_latency.map(|p| p.p95_ms)),
            ops_ratio: ratio(library.ops_per_s, pgbench.map(|p| p.ops_per_s)),
        }
    }
}

/// `value` to `decimals` decimal places.
pub(super) fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

impl BenchReport {
    /// The results as a Markdown table.
    pub fn markdown(&self) -> String {
        let mut text = format!(
            "{} users; {} s per shape and client count; row security {}{}{}.\n\n\
             | shape | clients | p50 ms | p95 ms | p99 ms | max ms | ops/s \
             | pgbench p50 | pgbench p95 | pgbench ops/s | p50 ratio | p95 ratio | ops ratio |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
            self.users,
            self.duration_s,
            self.row_security,
            if self.app_url {
                ", library as --app-url"
            } else {
                ""
            },
            match self.link_delay_us {
                Some(us) => format!("; everything through a link delaying each direction {us} µs"),
                None => String::new(),
            },
        );
        let opt = |value: Option<f64>, decimals: usize| {
            value.map_or_else(|| "—".to_owned(), |v| format!("{v:.decimals$}"))
        };
        for r in &self.shapes {
            text += &format!(
                "| {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.0} | {} | {} | {} | {} | {} | {} |\n",
                r.shape,
                r.clients,
                r.p50_ms,
                r.p95_ms,
                r.p99_ms,
                r.max_ms,
                r.ops_per_s,
                opt(r.pgbench_p50_ms, 3),
                opt(r.pgbench_p95_ms, 3),
                opt(r.pgbench_ops_per_s, 0),
                opt(r.p50_ratio, 2),
                opt(r.p95_ratio, 2),
                opt(r.ops_ratio, 2),
            );
        }
        if let Some(err) = &self.pgbench_error {
            text += &format!("\npgbench figures are missing: {err}\n");
        }
        if let Some(comparison) = &self.heavy_vs_light {
            text += "\n";
            text += &comparison.markdown(self.duration_s);
        }
        if let Some(comparison) = &self.write_comparison {
            text += "\n";
            text += &comparison.markdown(self.duration_s);
        }
        if let Some(comparison) = &self.async_vs_sync {
            text += "\n";
            text += &comparison.markdown(self.duration_s);
        }
        if let Some(first) = self.changes_since.first() {
            text += &format!(
                "\nchanges_since, 1 client, {} changes a call, for a user holding {} tasks; \
                 a sync pages from the token to the end of the feed.\n\n\
                 | behind | calls a sync | tasks a sync | syncs | call p50 ms | call p95 ms \
                 | call max ms | sync p50 ms | sync p95 ms |\n\
                 |---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
                first.limit, first.owner_tasks
            );
            for r in &self.changes_since {
                text += &format!(
                    "| {} | {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |\n",
                    r.behind,
                    r.calls_per_sync,
                    r.items_per_sync,
                    r.syncs,
                    r.call_p50_ms,
                    r.call_p95_ms,
                    r.call_max_ms,
                    r.sync_p50_ms,
                    r.sync_p95_ms,
                );
            }
        }
        text
    }
}

/// A summary whose p50 and p95 are the given microseconds (for the report
/// modules' tests).
#[cfg(test)]
fn summary(p50_us: u64, p95_us: u64) -> Summary {
    let mut latencies = vec![p50_us; 50];
    latencies.extend(vec![p95_us; 50]);
    Summary::of(latencies, std::time::Duration::from_secs(1)).expect("latencies")
}
