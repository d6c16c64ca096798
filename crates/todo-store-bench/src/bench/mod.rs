//! `bench`: measure the library as a user calls it, and the physical limit
//! (`pgbench` running the library's own statements) in the same run.
//!
//! Every shape runs with 1 client and with `--clients` clients through one
//! r2d2 pool. Read shapes pick, per call, one of up to 100 fixed parameter
//! sets; `pgbench -M prepared` replays exactly those statements (one script
//! each, SQL text from [`todo_store::sql_text`]). Write shapes work on tasks
//! the run creates itself and deletes again, so the data is left as found.

mod fixture;
mod pgbench;
mod report;
mod settings;
mod shape;
mod writer;

use std::{
    sync::Mutex,
    thread,
    time::{Duration, Instant},
};

use diesel::PgConnection;
use todo_store::{DatabaseUrl, Error, Store, StoreConfig};

use crate::{rng::Rng, stats::Summary};
use fixture::Fixture;
pub use report::{BenchReport, ShapeResult};
pub use settings::{RowSecurityArg, Settings};
use shape::{Read, Shape};
use writer::Writer;

/// Tasks each client creates (unmeasured) before updating, completing or
/// deleting, when `create` did not run first.
const STOCK: usize = 200;

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
