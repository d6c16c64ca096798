//! The read shapes through the sync store and through the async store side
//! by side (`--async-vs-sync`): latencies, throughput and their ratios.

use serde::Serialize;

use super::{comparison::ratio, round};
use crate::{bench::shape::Shape, stats::Summary};

/// Every read shape measured through both stores, `rounds` times each per
/// shape and client count, the two alternating.
#[derive(Debug, Clone, Serialize)]
pub struct AsyncVsSync {
    /// Runs of each store, per shape and client count.
    pub rounds: u32,
    /// One row per read shape and client count.
    pub rows: Vec<AsyncSyncRow>,
}

/// One read shape at one client count through both stores. Times in
/// milliseconds, over all rounds of a store.
#[derive(Debug, Clone, Serialize)]
pub struct AsyncSyncRow {
    /// The shape's name.
    pub shape: &'static str,
    /// Concurrent clients.
    pub clients: u32,
    /// Median latency through the sync store.
    pub sync_p50_ms: f64,
    /// 95th percentile through the sync store.
    pub sync_p95_ms: f64,
    /// Calls per second through the sync store.
    pub sync_ops_per_s: f64,
    /// Median latency through the async store.
    pub async_p50_ms: f64,
    /// 95th percentile through the async store.
    pub async_p95_ms: f64,
    /// Calls per second through the async store.
    pub async_ops_per_s: f64,
    /// `async_p50_ms / sync_p50_ms`.
    pub p50_ratio: f64,
    /// `async_ops_per_s / sync_ops_per_s`.
    pub ops_ratio: f64,
}

impl AsyncSyncRow {
    /// The row of `shape` at `clients`, from both stores' summaries.
    pub(in crate::bench) fn new(
        shape: Shape,
        clients: u32,
        sync: Summary,
        not_sync: Summary,
    ) -> Self {
        Self {
            shape: shape.name(),
            clients,
            sync_p50_ms: round(sync.p50_ms, 3),
            sync_p95_ms: round(sync.p95_ms, 3),
            sync_ops_per_s: round(sync.ops_per_s, 0),
            async_p50_ms: round(not_sync.p50_ms, 3),
            async_p95_ms: round(not_sync.p95_ms, 3),
            async_ops_per_s: round(not_sync.ops_per_s, 0),
            p50_ratio: ratio(not_sync.p50_ms, sync.p50_ms),
            ops_ratio: ratio(not_sync.ops_per_s, sync.ops_per_s),
        }
    }
}

impl AsyncVsSync {
    /// The comparison as a caption and a Markdown table, `duration_s` per run.
    pub fn markdown(&self, duration_s: u64) -> String {
        let mut text = format!(
            "Read and write shapes through the sync store (r2d2) and the async store (one \
             connection and one current-thread tokio runtime per client); {} alternating runs \
             of {duration_s} s for each.\n\n\
             | shape | clients | sync p50 | sync p95 | sync ops/s | async p50 | async p95 \
             | async ops/s | p50 async / sync | ops/s async / sync |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
            self.rounds,
        );
        for r in &self.rows {
            text += &format!(
                "| {} | {} | {:.3} | {:.3} | {:.0} | {:.3} | {:.3} | {:.0} | {:.2} | {:.2} |\n",
                r.shape,
                r.clients,
                r.sync_p50_ms,
                r.sync_p95_ms,
                r.sync_ops_per_s,
                r.async_p50_ms,
                r.async_p95_ms,
                r.async_ops_per_s,
                r.p50_ratio,
                r.ops_ratio,
            );
        }
        text
    }
}
