//! `bench`: measure the library as a user calls it, and the physical limit
//! (`pgbench` running the library's own statements) in the same run.
//!
//! Every shape runs with 1 client and with `--clients` clients through one
//! r2d2 pool. Read shapes pick, per call, one of up to 100 fixed parameter
//! sets; `pgbench -M prepared` replays exactly those statements (one script
//! each, SQL text from [`todo_store::sql_text`]). Write shapes work on tasks
//! the run creates itself and deletes again, so the data is left as found.
//! With `--without-history-url` the write shapes also run, alternately, on a
//! second database without the history triggers. The `changes_since` shape
//! runs once, with one client, after the others.

mod baseline;
mod feed;
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
use todo_store::{DatabaseUrl, Error, Owner, Store, StoreConfig};

use crate::{rng::Rng, stats::Summary};
use fixture::Fixture;
pub use report::{BenchReport, FeedResult, HistoryCost, ShapeResult};
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
    if settings.duration == 0 || settings.clients == 0 || settings.rounds == 0 {
        return Err(Error::validation(
            "duration, clients and rounds",
            "must be at least 1",
        ));
    }
    if shapes.contains(&Shape::ChangesSince) {
        feed::check(&settings.changes_behind, settings.changes_limit)?;
    }
    let mut conn = config(url)?.establish()?;
    let mut rng = Rng::stream(settings.seed, 0);
    let fixture = Fixture::prepare(&mut conn, &mut rng)?;
    // The library may connect as another role (`--app-url`): the fixture,
    // pgbench and the clean-up keep the operator's URL.
    let measured_url = settings.app_url.clone().unwrap_or_else(|| url.clone());
    let mut sides = match sides(&measured_url, settings, &mut conn, &fixture) {
        Ok(sides) => sides,
        Err(err) => {
            // The fixture's temporary account goes, whatever went wrong.
            fixture.clean_up(&mut conn)?;
            return Err(err);
        }
    };
    let store = sides[0].store.clone();
    let mut run = Run {
        settings,
        url,
        fixture: &fixture,
        store: &store,
        conn: &mut conn,
        pgbench_error: None,
    };
    let measured = run.all(&shapes, &mut sides);
    let pgbench_error = run.pgbench_error.take();
    let feed = match (&measured, shapes.contains(&Shape::ChangesSince)) {
        (Ok(_), true) => feed::measure(
            &store,
            &mut conn,
            &settings.changes_behind,
            settings.changes_limit,
            Duration::from_secs(settings.duration),
        ),
        _ => Ok(Vec::new()),
    };
    // Whatever happened, the data is left as it was found.
    let cleaned = sides
        .iter_mut()
        .try_for_each(Side::clean_up)
        .and_then(|()| fixture.clean_up(&mut conn));
    let (shapes, history_cost) = measured?;
    let changes_since = feed?;
    cleaned?;
    Ok(BenchReport {
        duration_s: settings.duration,
        users: fixture.users,
        shapes,
        pgbench_error,
        row_security: settings.row_security.name(),
        app_url: settings.app_url.is_some(),
        history_cost,
        changes_since,
    })
}

/// Where the write shapes run: the measured database, and with
/// `--without-history-url` the one without history, in the same accounts.
fn sides(
    measured_url: &DatabaseUrl,
    settings: &Settings,
    conn: &mut PgConnection,
    fixture: &Fixture,
) -> Result<Vec<Side>, Error> {
    let mut sides = vec![Side::new(
        store(measured_url, settings)?,
        fixture.writers.clone(),
    )];
    if let Some(other_url) = &settings.without_history_url {
        let mut other = baseline::connect(other_url)?;
        let owners = baseline::owners(conn, &mut other, &fixture.writers)?;
        sides.push(Side::new(store(other_url, settings)?, owners));
    }
    Ok(sides)
}

/// The pool the library is measured through, at `url`.
fn store(url: &DatabaseUrl, settings: &Settings) -> Result<Store, Error> {
    Store::connect(
        &config(url)?
            .max_connections(settings.clients)
            .min_idle(settings.clients)
            .row_security(settings.row_security.into()),
    )
}

/// A database the write shapes run on: its pool, the seeded accounts they
/// write in, and each client's tasks there.
struct Side {
    store: Store,
    owners: Vec<Owner>,
    writers: Vec<Writer>,
}

impl Side {
    fn new(store: Store, owners: Vec<Owner>) -> Self {
        Self {
            store,
            owners,
            writers: Vec::new(),
        }
    }

    /// Deletes every task the writers still have.
    fn clean_up(&mut self) -> Result<(), Error> {
        let mut store = self.store.clone();
        self.writers
            .iter_mut()
            .try_for_each(|writer| writer.clean_up(&mut store))
    }
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
    /// Every shape with one client, then with `--clients` (but
    /// `changes_since`, measured on its own); the write shapes on each side,
    /// alternately.
    fn all(
        &mut self,
        shapes: &[Shape],
        sides: &mut [Side],
    ) -> Result<(Vec<ShapeResult>, Vec<HistoryCost>), Error> {
        let duration = Duration::from_secs(self.settings.duration);
        let mut client_counts = vec![1, self.settings.clients];
        client_counts.dedup();
        let mut results = Vec::new();
        let mut costs = Vec::new();
        for clients in client_counts {
            for side in sides.iter_mut() {
                side.writers.resize_with(clients as usize, Writer::default);
            }
            for &shape in shapes {
                let reads = self.fixture.reads(shape);
                let library = if shape.is_read() {
                    measure_reads(self.store, &reads, clients, duration, self.settings.seed)?
                } else if shape.is_write() {
                    let summaries = self.writes(shape, sides)?;
                    if let [Some(with), Some(without)] = summaries[..] {
                        let rounds = self.settings.rounds;
                        costs.push(HistoryCost::new(shape, clients, rounds, with, without));
                    }
                    summaries[0]
                } else {
                    continue;
                };
                let pgbench = self.pgbench(&reads, clients, duration)?;
                if let Some(library) = library {
                    results.push(ShapeResult::new(shape, clients, library, pgbench));
                }
            }
        }
        Ok((results, costs))
    }

    /// The write shape `shape` on each side: once on a single side; with a
    /// second, `--rounds` times on each, alternating, the side that goes
    /// first changing from round to round (A B B A …) so that a drift in
    /// the machine's load falls on both alike.
    fn writes(&self, shape: Shape, sides: &mut [Side]) -> Result<Vec<Option<Summary>>, Error> {
        let duration = Duration::from_secs(self.settings.duration);
        let rounds = if sides.len() > 1 {
            self.settings.rounds
        } else {
            1
        };
        let mut samples: Vec<Sample> = sides.iter().map(|_| Sample::default()).collect();
        for round in 0..rounds {
            let mut order: Vec<usize> = (0..sides.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for i in order {
                let sample = measure_writes(&mut sides[i], shape, duration, self.settings.seed)?;
                samples[i].add(sample);
            }
        }
        Ok(samples.into_iter().map(Sample::summary).collect())
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
    let sample = measure(clients, duration, |client| {
        let mut store = store.clone();
        let mut rng = Rng::stream(seed, u64::from(client) + 1);
        move || {
            rng.pick(reads).call(&mut store)?;
            Ok(true)
        }
    })?;
    Ok(sample.summary())
}

/// Runs the write shape `shape` on `side`, each client on its own tasks.
fn measure_writes(
    side: &mut Side,
    shape: Shape,
    duration: Duration,
    seed: u64,
) -> Result<Sample, Error> {
    let (store, owners) = (&side.store, &side.owners);
    if shape != Shape::Create {
        for (client, writer) in side.writers.iter_mut().enumerate() {
            let mut rng = Rng::stream(seed, 1_000 + client as u64);
            writer.stock(STOCK, &mut store.clone(), owners, &mut rng)?;
        }
    }
    let slots: Vec<Mutex<&mut Writer>> = side.writers.iter_mut().map(Mutex::new).collect();
    let clients = u32::try_from(slots.len()).unwrap_or(u32::MAX);
    measure(clients, duration, |client| {
        let mut store = store.clone();
        let mut rng = Rng::stream(seed, 2_000 + u64::from(client));
        let slot = &slots[client as usize];
        move || {
            // Each client has its own slot: the lock is never contended.
            let mut writer = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            writer.call(shape, &mut store, owners, &mut rng)
        }
    })
}

/// The latencies of calls (microseconds), and the wall time they took: of
/// one run, or of several added together.
#[derive(Debug, Default)]
struct Sample {
    latencies_us: Vec<u64>,
    wall: Duration,
}

impl Sample {
    fn add(&mut self, other: Sample) {
        self.latencies_us.extend(other.latencies_us);
        self.wall += other.wall;
    }

    fn summary(self) -> Option<Summary> {
        Summary::of(self.latencies_us, self.wall)
    }
}

/// Runs `clients` threads, each calling its `op` until `duration` is over
/// (or `op` says there is nothing left to do), timing every call.
fn measure<F, Op>(clients: u32, duration: Duration, make_op: F) -> Result<Sample, Error>
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
    Ok(Sample {
        latencies_us: per_client.concat(),
        wall: started.elapsed(),
    })
}
