//! `bench`: measure the library as a user calls it, and the physical limit
//! (`pgbench` running the library's own statements) in the same run.
//!
//! Every shape runs with 1 client and with `--clients` clients through one
//! r2d2 pool. Read shapes pick, per call, one of up to 100 fixed parameter
//! sets; `pgbench -M prepared` replays exactly those statements (one script
//! each, SQL text from [`todo_store::sql_text`]). Write shapes work on tasks
//! the run creates itself and deletes again, so the data is left as found.

mod pgbench;
mod settings;
mod workload;

use std::{
    sync::Mutex,
    thread,
    time::{Duration, Instant},
};

use diesel::PgConnection;
use serde::Serialize;
use todo_store::{DatabaseUrl, Error, Store, StoreConfig};

use crate::{rng::Rng, stats::Summary};
pub use settings::{RowSecurityArg, Settings};
use workload::{Fixture, Read, Shape, Writer};

/// Tasks each client creates (unmeasured) before updating, completing or
/// deleting, when `create` did not run first.
const STOCK: usize = 200;

/// What [`run`] measured.
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

/// Measures the library on the data the database at `url` holds (seed it
/// first), beside pgbench running the library's own statements.
///
/// # Errors
/// A validation failure for bad settings or an empty database; the
/// library's error if a measured call fails (a benchmark must not hide one).
/// The tasks the write shapes created are deleted on every path.
pub fn run(url: &DatabaseUrl, settings: &Settings) -> Result<BenchReport, Error> {
    let shapes = selected_shapes(&settings.shapes)?;
    if settings.duration == 0 || settings.clients == 0 {
        return Err(Error::validation(
            "duration and clients",
            "must be at least 1",
        ));
    }
    let mut conn = config(url)?.establish()?;
    let mut rng = Rng::stream(settings.seed, 0);
    let fixture = Fixture::prepare(&mut conn, &mut rng)?;
    // The library may connect as another role (`--app-url`): the fixture,
    // pgbench and the clean-up keep the operator's URL.
    let measured_url = settings.app_url.clone().unwrap_or_else(|| url.clone());
    let store = Store::connect(
        &config(&measured_url)?
            .max_connections(settings.clients)
            .min_idle(settings.clients)
            .row_security(settings.row_security.into()),
    )?;
    let mut writers: Vec<Writer> = Vec::new();
    let mut run = Run {
        settings,
        url,
        fixture: &fixture,
        store: &store,
        conn: &mut conn,
        pgbench_error: None,
    };
    let measured = run.all(&shapes, &mut writers);
    let pgbench_error = run.pgbench_error.take();
    // Whatever happened, the data is left as it was found.
    let mut cleaner = store.clone();
    let cleaned = writers
        .iter_mut()
        .try_for_each(|writer| writer.clean_up(&mut cleaner))
        .and_then(|()| fixture.clean_up(&mut conn));
    let shapes = measured?;
    cleaned?;
    Ok(BenchReport {
        duration_s: settings.duration,
        users: fixture.users,
        shapes,
        pgbench_error,
        row_security: settings.row_security.name(),
        app_url: settings.app_url.is_some(),
    })
}

/// The library's defaults for `url`, with the settings the environment
/// gives (`TODO_STORE_STATEMENT_CACHE=off` behind an old PgBouncer), as an
/// application reading its environment would run.
fn config(url: &DatabaseUrl) -> Result<StoreConfig, Error> {
    StoreConfig::new(url.expose()).settings_from_env()
}

/// One benchmark run's settings and state.
struct Run<'a> {
    settings: &'a Settings,
    url: &'a DatabaseUrl,
    fixture: &'a Fixture,
    store: &'a Store,
    /// For rendering the statements pgbench replays.
    conn: &'a mut PgConnection,
    /// Why pgbench failed; it is not tried again.
    pgbench_error: Option<String>,
}

impl Run<'_> {
    /// Every shape with one client, then with `--clients`.
    fn all(
        &mut self,
        shapes: &[Shape],
        writers: &mut Vec<Writer>,
    ) -> Result<Vec<ShapeResult>, Error> {
        let duration = Duration::from_secs(self.settings.duration);
        let mut client_counts = vec![1, self.settings.clients];
        client_counts.dedup();
        let mut results = Vec::new();
        for clients in client_counts {
            writers.resize_with(clients as usize, Writer::default);
            for &shape in shapes {
                let reads = self.fixture.reads(shape);
                let library = if shape.is_read() {
                    measure_reads(self.store, &reads, clients, duration, self.settings.seed)?
                } else {
                    let (store, fixture, seed) = (self.store, self.fixture, self.settings.seed);
                    measure_writes(store, fixture, writers, shape, duration, seed)?
                };
                let pgbench = self.pgbench(&reads, clients, duration)?;
                if let Some(library) = library {
                    results.push(ShapeResult::new(shape, clients, library, pgbench));
                }
            }
        }
        Ok(results)
    }

    /// pgbench on the statements of `reads`; `None` without any (no heavy
    /// users, say) or once pgbench has failed.
    fn pgbench(
        &mut self,
        reads: &[Read],
        clients: u32,
        duration: Duration,
    ) -> Result<Option<Summary>, Error> {
        if reads.is_empty() || self.pgbench_error.is_some() {
            return Ok(None);
        }
        let statements = reads
            .iter()
            .map(|read| read.sql(self.conn))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(pgbench::run(
            &self.settings.pgbench,
            self.url,
            &statements,
            clients,
            duration,
        )
        .map_err(|err| self.pgbench_error = Some(err))
        .ok())
    }
}

fn selected_shapes(names: &[String]) -> Result<Vec<Shape>, Error> {
    if names.is_empty() {
        return Ok(Shape::ALL.to_vec());
    }
    let mut chosen = Vec::new();
    for name in names {
        let shape = Shape::named(name).ok_or_else(|| {
            let known: Vec<&str> = Shape::ALL.iter().map(|s| s.name()).collect();
            Error::validation(
                "shape",
                format!("unknown: {name} (known: {})", known.join(", ")),
            )
        })?;
        chosen.push(shape);
    }
    // Always in the canonical order, so that `create` runs before `delete`.
    Ok(Shape::ALL
        .into_iter()
        .filter(|shape| chosen.contains(shape))
        .collect())
}

/// Runs `reads` (one picked at random per call) from `clients` threads.
fn measure_reads(
    store: &Store,
    reads: &[Read],
    clients: u32,
    duration: Duration,
    seed: u64,
) -> Result<Option<Summary>, Error> {
    if reads.is_empty() {
        return Ok(None);
    }
    measure(clients, duration, |client| {
        let mut store = store.clone();
        let mut rng = Rng::stream(seed, u64::from(client) + 1);
        move || {
            rng.pick(reads).call(&mut store)?;
            Ok(true)
        }
    })
}

/// Runs the write shape `shape`, each client on its own tasks.
fn measure_writes(
    store: &Store,
    fixture: &Fixture,
    writers: &mut [Writer],
    shape: Shape,
    duration: Duration,
    seed: u64,
) -> Result<Option<Summary>, Error> {
    if shape != Shape::Create {
        for (client, writer) in writers.iter_mut().enumerate() {
            let mut rng = Rng::stream(seed, 1_000 + client as u64);
            writer.stock(STOCK, &mut store.clone(), &fixture.writers, &mut rng)?;
        }
    }
    let slots: Vec<Mutex<&mut Writer>> = writers.iter_mut().map(Mutex::new).collect();
    let clients = u32::try_from(slots.len()).unwrap_or(u32::MAX);
    measure(clients, duration, |client| {
        let mut store = store.clone();
        let mut rng = Rng::stream(seed, 2_000 + u64::from(client));
        let slot = &slots[client as usize];
        move || {
            // Each client has its own slot: the lock is never contended.
            let mut writer = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            writer.call(shape, &mut store, &fixture.writers, &mut rng)
        }
    })
}

/// Runs `clients` threads, each calling its `op` until `duration` is over
/// (or `op` says there is nothing left to do), timing every call.
fn measure<F, Op>(clients: u32, duration: Duration, make_op: F) -> Result<Option<Summary>, Error>
where
    F: Fn(u32) -> Op + Sync,
    Op: FnMut() -> Result<bool, Error> + Send,
{
    let started = Instant::now();
    let deadline = started + duration;
    let per_client = thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|client| {
                let mut op = make_op(client);
                scope.spawn(move || {
                    let mut latencies = Vec::new();
                    while Instant::now() < deadline {
                        let call = Instant::now();
                        if !op()? {
                            break;
                        }
                        latencies.push(call.elapsed().as_micros() as u64);
                    }
                    Ok::<_, Error>(latencies)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err(Error::Database("a benchmark client panicked".into())))
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    let wall = started.elapsed();
    Ok(Summary::of(per_client.concat(), wall))
}

impl ShapeResult {
    fn new(shape: Shape, clients: u32, library: Summary, pgbench: Option<Summary>) -> Self {
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

fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

impl BenchReport {
    /// The results as a Markdown table.
    pub fn markdown(&self) -> String {
        let mut text = format!(
            "{} users; {} s per shape and client count; row security {}{}.\n\n\
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
        text
    }
}
