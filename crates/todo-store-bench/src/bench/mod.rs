//! `bench`: measure the library as a user calls it, and the physical limit
//! (`pgbench` running the library's own statements) in the same run.
//!
//! Every shape runs with 1 client and with `--clients` clients through one
//! r2d2 pool. Read shapes pick, per call, one of up to 100 fixed parameter
//! sets; `pgbench -M prepared` replays exactly those statements (one script
//! each, SQL text from [`todo_store::sql_text`]), inside the library's scoped
//! transaction, pipelined, when the library scopes its calls. Write shapes work on tasks
//! the run creates itself and deletes again, so the data is left as found.
//! With `--compare-url` (or `--without-history-url`, a second database
//! without the history triggers) the write shapes also run, alternately, on
//! a second database; with `--heavy-vs-light` the read shapes also run,
//! alternately, for light and for heavy users. The `changes_since` shape
//! runs once, with one client, after the others.

mod async_sync;
mod baseline;
mod compare;
mod delay_proxy;
mod feed;
mod fixture;
mod heavy_light;
mod pgbench;
mod report;
mod settings;
mod shape;
mod writer;

use std::{
    borrow::Cow,
    sync::Mutex,
    thread,
    time::{Duration, Instant},
};

use diesel::PgConnection;
use todo_store::{DatabaseUrl, Error, Owner, Store, StoreConfig};

use crate::{rng::Rng, stats::Summary};
use compare::Comparison;
use delay_proxy::DelayProxy;
use fixture::Fixture;
pub use report::{
    AsyncSyncRow, AsyncVsSync, BenchReport, ComparedWrite, Database, FeedResult, HeavyLightRow,
    HeavyVsLight, HistoryCost, Population, ShapeResult, WriteComparison,
};
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
    // With `--link-delay-us`, everything reaches the server through a proxy
    // that delays each direction; it lives as long as the run.
    let (_proxy, url, settings) = match settings.link_delay_us {
        Some(us) => {
            let (host, port, _) = delay_proxy::split(url)?;
            let proxy = DelayProxy::start(host, port, Duration::from_micros(us))
                .map_err(|err| Error::Database(format!("cannot start the delay proxy: {err}")))?;
            let mut delayed = settings.clone();
            delayed.app_url = delayed
                .app_url
                .as_ref()
                .map(|app| proxy.url_for(app))
                .transpose()?;
            let url = proxy.url_for(url)?;
            (Some(proxy), url, Cow::Owned(delayed))
        }
        None => (None, url.clone(), Cow::Borrowed(settings)),
    };
    let (url, settings) = (&url, &*settings);
    let comparison = Comparison::of(settings);
    let mut conn = config(url)?.establish()?;
    let mut rng = Rng::stream(settings.seed, 0);
    let fixture = Fixture::prepare(&mut conn, &mut rng)?;
    // The library may connect as another role (`--app-url`): the fixture
    // and the clean-up keep the operator's URL; pgbench connects as the
    // library does.
    let measured_url = settings.app_url.clone().unwrap_or_else(|| url.clone());
    let prepared = prepare_comparisons(settings, &shapes, &mut conn, &fixture, comparison.as_ref())
        .and_then(|comparisons| {
            sides(
                &measured_url,
                settings,
                &mut conn,
                &fixture,
                comparison.as_ref(),
            )
            .map(|sides| (comparisons, sides))
        });
    let ((mut heavy_vs_light, mut write_comparison), mut sides) = match prepared {
        Ok(prepared) => prepared,
        Err(err) => {
            // The fixture's temporary account goes, whatever went wrong.
            fixture.clean_up(&mut conn)?;
            return Err(err);
        }
    };
    let store = sides[0].store.clone();
    let async_clients = match settings.async_vs_sync {
        true => async_sync::clients(
            &config(&measured_url)?.row_security(settings.row_security.into()),
            settings.clients,
        ),
        false => Ok(Vec::new()),
    };
    let async_clients = match async_clients {
        Ok(clients) => clients,
        Err(err) => {
            fixture.clean_up(&mut conn)?;
            return Err(err);
        }
    };
    let mut run = Run {
        settings,
        measured_url: &measured_url,
        fixture: &fixture,
        store: &store,
        async_clients: &async_clients,
        async_writers: Vec::new(),
        conn: &mut conn,
        pgbench_error: None,
    };
    let measured = run.all(&shapes, &mut sides);
    let pgbench_error = run.pgbench_error.take();
    let async_cleaned = async_sync::clean_up(&async_clients, &mut run.async_writers);
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
        .and(async_cleaned)
        .and_then(|()| fixture.clean_up(&mut conn));
    let (shapes, compared_writes, heavy_light_rows, async_sync_rows) = measured?;
    let changes_since = feed?;
    cleaned?;
    if let Some(report) = &mut heavy_vs_light {
        report.rows = heavy_light_rows;
    }
    let mut history_cost = Vec::new();
    if let Some(report) = &mut write_comparison {
        report.rows = compared_writes;
        if comparison.as_ref().is_some_and(|c| c.without_history) {
            history_cost = report.history_cost();
        }
    }
    Ok(BenchReport {
        duration_s: settings.duration,
        users: fixture.users,
        shapes,
        pgbench_error,
        row_security: settings.row_security.name(),
        app_url: settings.app_url.is_some(),
        link_delay_us: settings.link_delay_us,
        heavy_vs_light: heavy_vs_light.map(Box::new),
        async_vs_sync: settings.async_vs_sync.then(|| {
            Box::new(AsyncVsSync {
                rounds: settings.rounds,
                rows: async_sync_rows,
            })
        }),
        write_comparison: write_comparison.map(Box::new),
        history_cost,
        changes_since,
    })
}

/// The side-by-side comparisons' reports, before anything is measured (and
/// so without rows): who the light and heavy users are, what each database
/// holds.
fn prepare_comparisons(
    settings: &Settings,
    shapes: &[Shape],
    conn: &mut PgConnection,
    fixture: &Fixture,
    comparison: Option<&Comparison>,
) -> Result<(Option<HeavyVsLight>, Option<WriteComparison>), Error> {
    let heavy_vs_light = match settings.heavy_vs_light && shapes.iter().any(|s| s.is_read()) {
        true => Some(heavy_light::prepare(
            conn,
            fixture,
            shapes,
            settings.rounds,
        )?),
        false => None,
    };
    let write_comparison = match comparison {
        Some(comparison) if shapes.iter().any(|s| s.is_write()) => {
            let database = |label: &str, (users, tasks)| Database {
                label: label.to_owned(),
                users,
                tasks,
            };
            let mut other = baseline::connect(&comparison.url)?;
            Some(WriteComparison {
                rounds: settings.rounds,
                main: database(&comparison.main_label, baseline::size(conn)?),
                compared: database(&comparison.label, baseline::size(&mut other)?),
                rows: Vec::new(),
            })
        }
        _ => None,
    };
    Ok((heavy_vs_light, write_comparison))
}

/// Where the write shapes run: the measured database, and with a
/// comparison the second one, in the same accounts (without history) or
/// in seeded accounts of its own.
fn sides(
    measured_url: &DatabaseUrl,
    settings: &Settings,
    conn: &mut PgConnection,
    fixture: &Fixture,
    comparison: Option<&Comparison>,
) -> Result<Vec<Side>, Error> {
    let mut sides = vec![Side::new(
        store(measured_url, settings)?,
        fixture.writers.clone(),
    )];
    if let Some(comparison) = comparison {
        let mut other = baseline::connect(&comparison.url)?;
        let owners = comparison.owners(conn, &mut other, &fixture.writers, settings.seed)?;
        sides.push(Side::new(store(&comparison.url, settings)?, owners));
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
    /// Where the library connects, and pgbench with it.
    measured_url: &'a DatabaseUrl,
    fixture: &'a Fixture,
    store: &'a Store,
    /// With `--async-vs-sync`: one async store and runtime per client.
    async_clients: &'a [Mutex<(tokio::runtime::Runtime, todo_store::AsyncStore)>],
    /// With `--async-vs-sync`: the write workload of each async client.
    async_writers: Vec<Writer>,
    /// For rendering the statements pgbench replays.
    conn: &'a mut PgConnection,
    /// Why pgbench failed; it is not tried again.
    pgbench_error: Option<String>,
}

impl Run<'_> {
    /// Every shape with one client, then with `--clients` (but
    /// `changes_since`, measured on its own); the write shapes on each side,
    /// alternately; with `--heavy-vs-light` the read shapes again for light
    /// and heavy users, alternately.
    fn all(&mut self, shapes: &[Shape], sides: &mut [Side]) -> Result<Measured, Error> {
        let duration = Duration::from_secs(self.settings.duration);
        let mut client_counts = vec![1, self.settings.clients];
        client_counts.dedup();
        let mut results = Vec::new();
        let mut compared = Vec::new();
        let mut heavy_light_rows = Vec::new();
        let mut async_sync_rows = Vec::new();
        for clients in client_counts {
            for side in sides.iter_mut() {
                side.writers.resize_with(clients as usize, Writer::default);
            }
            if self.settings.async_vs_sync {
                let writers = (clients as usize).max(self.async_writers.len());
                self.async_writers.resize_with(writers, Writer::default);
            }
            for &shape in shapes {
                let reads = self.fixture.reads(shape);
                let library = if shape.is_read() {
                    measure_reads(self.store, &reads, clients, duration, self.settings.seed)?
                } else if shape.is_write() {
                    let summaries = self.writes(shape, sides)?;
                    if let [Some(main), Some(other)] = summaries[..] {
                        compared.push(ComparedWrite::new(shape, clients, main, other));
                    }
                    summaries[0]
                } else {
                    continue;
                };
                let pgbench = self.pgbench(&reads, clients, duration)?;
                if let Some(library) = library {
                    results.push(ShapeResult::new(shape, clients, library, pgbench));
                }
                if self.settings.async_vs_sync && shape.is_write() {
                    async_sync_rows.extend(async_sync::measure_writes(
                        &mut sides[0],
                        self.async_clients,
                        &mut self.async_writers,
                        shape,
                        clients,
                        duration,
                        self.settings.seed,
                        self.settings.rounds,
                    )?);
                }
                if self.settings.async_vs_sync && shape.is_read() {
                    async_sync_rows.extend(async_sync::measure_reads(
                        self.store,
                        self.async_clients,
                        shape,
                        &reads,
                        clients,
                        duration,
                        self.settings.seed,
                        self.settings.rounds,
                    )?);
                }
                if self.settings.heavy_vs_light {
                    let (store, seed) = (self.store, self.settings.seed);
                    let rounds = self.settings.rounds;
                    heavy_light_rows.extend(heavy_light::measure(
                        store,
                        self.fixture,
                        shape,
                        clients,
                        duration,
                        seed,
                        rounds,
                    )?);
                }
            }
        }
        Ok((results, compared, heavy_light_rows, async_sync_rows))
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
        let seed = self.settings.seed;
        let samples = alternate(rounds, sides.len(), |i| {
            measure_writes(&mut sides[i], shape, duration, seed)
        })?;
        Ok(samples.into_iter().map(Sample::summary).collect())
    }

    /// pgbench on the statements of `reads`, each inside the library's
    /// scoped transaction, pipelined, when the library scopes its calls;
    /// `None` without any (no heavy users, say) or once pgbench has failed.
    fn pgbench(
        &mut self,
        reads: &[Read],
        clients: u32,
        duration: Duration,
    ) -> Result<Option<Summary>, Error> {
        if reads.is_empty() || self.pgbench_error.is_some() {
            return Ok(None);
        }
        let scoped = matches!(self.settings.row_security, RowSecurityArg::Scoped);
        let scripts = reads
            .iter()
            .map(|read| {
                Ok(pgbench::Script {
                    statement: read.sql(self.conn)?,
                    scope: scoped.then(|| read.owner().user_id().to_string()),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(pgbench::run(
            &self.settings.pgbench,
            self.measured_url,
            &scripts,
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

/// What [`Run::all`] measured: the main table's rows, the write shapes on
/// two databases, the read shapes for light and heavy users.
type Measured = (
    Vec<ShapeResult>,
    Vec<ComparedWrite>,
    Vec<HeavyLightRow>,
    Vec<AsyncSyncRow>,
);

/// Two measurements alternated as [`alternate`] does, summarised: `None`
/// if either side made no call.
fn alternate_two(
    rounds: u32,
    run: impl FnMut(usize) -> Result<Sample, Error>,
) -> Result<Option<(Summary, Summary)>, Error> {
    let samples = alternate(rounds, 2, run)?;
    let [first, second] =
        <[_; 2]>::try_from(samples).unwrap_or_else(|_| unreachable!("one sample per side"));
    Ok(first.summary().zip(second.summary()))
}

/// `rounds` runs of each of `sides` measurements (`run(i)` measures side
/// `i`), alternating, the side that goes first changing from round to round
/// (A B B A …) so that a drift in the machine's load falls on all alike;
/// each side's runs added together.
fn alternate(
    rounds: u32,
    sides: usize,
    mut run: impl FnMut(usize) -> Result<Sample, Error>,
) -> Result<Vec<Sample>, Error> {
    let mut samples: Vec<Sample> = (0..sides).map(|_| Sample::default()).collect();
    for round in 0..rounds {
        let mut order: Vec<usize> = (0..sides).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            samples[i].add(run(i)?);
        }
    }
    Ok(samples)
}

/// Runs `reads` (one picked at random per call) from `clients` threads.
fn measure_reads(
    store: &Store,
    reads: &[Read],
    clients: u32,
    duration: Duration,
    seed: u64,
) -> Result<Option<Summary>, Error> {
    Ok(sample_reads(store, reads, clients, duration, seed)?.summary())
}

/// [`measure_reads`], unsummarised (empty without any reads).
fn sample_reads(
    store: &Store,
    reads: &[Read],
    clients: u32,
    duration: Duration,
    seed: u64,
) -> Result<Sample, Error> {
    if reads.is_empty() {
        return Ok(Sample::default());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternating_sides_change_who_goes_first() {
        let mut order = Vec::new();
        let samples = alternate(3, 2, |i| {
            order.push(i);
            Ok(Sample {
                latencies_us: vec![i as u64],
                wall: Duration::from_secs(1),
            })
        })
        .expect("no error");
        assert_eq!(order, [0, 1, 1, 0, 0, 1]);
        assert_eq!(samples[1].latencies_us, [1, 1, 1]);
        assert_eq!(samples[0].wall, Duration::from_secs(3));
    }
}
