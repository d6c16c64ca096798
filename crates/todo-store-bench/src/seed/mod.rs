//! `seed`: load deterministic synthetic users and tasks through the library's
//! bulk path (`COPY`), one transaction per batch.
//!
//! Seeded accounts live under `@seed<S>.todo-store.invalid`, so a seed only
//! ever adds its own users beside real ones. Batches commit in user order, so
//! an interrupted run leaves a prefix of the users; running the same command
//! again loads the rest.

mod data;

use std::{sync::mpsc, thread, time::Instant};

use diesel::{PgConnection, RunQueryDsl, sql_query};
use serde::Serialize;
use todo_store::{
    Error, UserRepo,
    bulk::{self, LoadBatch},
    limits,
};

use crate::stats::per_second;
pub use data::{MAX_TASKS_PER_USER, Plan};

/// Tasks per `COPY` transaction unless told otherwise (`--batch-rows`).
pub const DEFAULT_BATCH_ROWS: u32 = 50_000;

/// Room left above the seed's largest account for the tasks a benchmark's
/// writes create in it.
pub const WRITE_HEADROOM: u32 = 1_000;

/// What [`run`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedReport {
    /// The random seed.
    pub seed: u64,
    /// Users the seed has in all.
    pub planned_users: u64,
    /// Tasks the seed has in all.
    pub planned_tasks: u64,
    /// Users already present from an earlier run with this seed.
    pub users_present: u64,
    /// Users loaded now.
    pub users_loaded: u64,
    /// Tasks loaded now.
    pub tasks_loaded: u64,
    /// Time spent loading, in seconds.
    pub load_seconds: f64,
    /// Rows (users and tasks) loaded per second.
    pub rows_per_second: f64,
    /// Time spent on `VACUUM (ANALYZE)` afterwards, in seconds.
    pub vacuum_seconds: f64,
    /// The deployment's task limit, if the seed had to raise it: from what,
    /// to what.
    pub task_limit_raised: Option<(u32, u32)>,
}

/// Loads the users of `plan` that `conn`'s database does not hold yet, in
/// transactions of about `batch_rows` tasks (whole users, at least one per
/// batch), then runs `VACUUM (ANALYZE)` on the tables the load wrote: the
/// accounts, the tasks, and the history the database recorded of them.
///
/// `progress(loaded, total)` is told the tasks loaded so far out of those
/// this run loads: once with `loaded` 0 before the first batch, then after
/// each batch; `loaded == total` means the loading is over.
///
/// # Errors
/// [`Error::Validation`] for impossible counts (before anything is written);
/// the library's error if a batch fails (that batch is rolled back; earlier
/// ones stay).
pub fn run(
    conn: &mut PgConnection,
    plan: &Plan,
    batch_rows: u32,
    mut progress: impl FnMut(u64, u64),
) -> Result<SeedReport, Error> {
    let plan = plan.validated()?;
    let task_limit_raised = make_room(conn, &plan)?;
    let first = users_present(conn, &plan)?;
    let remaining: u64 = (first..plan.total_users())
        .map(|index| u64::from(plan.tasks_of(index)))
        .sum();
    progress(0, remaining);
    let started = Instant::now();
    let (users_loaded, tasks_loaded) = load(conn, &plan, first, batch_rows, |tasks| {
        progress(tasks, remaining);
    })?;
    let load_time = started.elapsed();

    let started = Instant::now();
    // The history too: the load adds a row per task there, and a benchmark
    // that follows should not wait for autovacuum's statistics.
    sql_query("VACUUM (ANALYZE) users, tasks, task_history, task_sync_state, task_counts")
        .execute(conn)?;
    let vacuum_time = started.elapsed();

    Ok(SeedReport {
        seed: plan.seed,
        planned_users: plan.total_users(),
        planned_tasks: plan.total_tasks(),
        users_present: first,
        users_loaded,
        tasks_loaded,
        load_seconds: load_time.as_secs_f64(),
        rows_per_second: per_second(users_loaded + tasks_loaded, load_time),
        vacuum_seconds: vacuum_time.as_secs_f64(),
        task_limit_raised,
    })
}

/// Raises the deployment's task limit if the plan's largest account, with
/// [`WRITE_HEADROOM`] for a benchmark's writes, would not fit under it: the
/// database refuses to load an account beyond its limit, and a benchmark
/// writing to an account at its limit would measure refusals.
fn make_room(conn: &mut PgConnection, plan: &Plan) -> Result<Option<(u32, u32)>, Error> {
    let largest = match plan.heavy_users {
        0 => plan.tasks_per_user,
        _ => plan.tasks_per_user.max(plan.heavy_tasks),
    };
    let needed = largest.saturating_add(WRITE_HEADROOM);
    let limit = limits::default_task_limit(conn)?;
    if needed <= limit {
        return Ok(None);
    }
    limits::set_default_task_limit(conn, needed)?;
    Ok(Some((limit, needed)))
}

impl SeedReport {
    /// The report as text for people.
    pub fn text(&self) -> String {
        let mut text = String::new();
        if self.users_present > 0 {
            text += &format!(
                "{} of the seed's {} users were already loaded.\n",
                self.users_present, self.planned_users
            );
        }
        if let Some((from, to)) = self.task_limit_raised {
            text += &format!(
                "The deployment's task limit was raised from {from} to {to} tasks per user, \
                 so that the seed's largest account fits with room for a benchmark's writes.\n"
            );
        }
        text += &format!(
            "Seed {}: loaded {} users and {} tasks in {:.1} s ({:.0} rows/s); VACUUM (ANALYZE) took {:.1} s.\n",
            self.seed,
            self.users_loaded,
            self.tasks_loaded,
            self.load_seconds,
            self.rows_per_second,
            self.vacuum_seconds
        );
        text
    }
}

/// How many of the plan's users are already stored. Batches commit in user
/// order, so they are always users `0..n`: a binary search finds `n`.
fn users_present(conn: &mut PgConnection, plan: &Plan) -> Result<u64, Error> {
    let (mut present, mut absent) = (0, plan.total_users());
    if conn.find_user_by_email(&plan.email(0))?.is_none() {
        return Ok(0);
    }
    present += 1;
    while present < absent {
        let mid = present + (absent - present) / 2;
        if conn.find_user_by_email(&plan.email(mid))?.is_some() {
            present = mid + 1;
        } else {
            absent = mid;
        }
    }
    Ok(present)
}

/// Loads users `first..` of the plan, telling `loaded` the tasks loaded so
/// far after each batch. A second thread makes the batches while this one
/// copies the previous batch into the database.
fn load(
    conn: &mut PgConnection,
    plan: &Plan,
    first: u64,
    batch_rows: u32,
    mut loaded: impl FnMut(u64),
) -> Result<(u64, u64), Error> {
    let (sender, batches) = mpsc::sync_channel::<LoadBatch>(2);
    let plan = *plan;
    thread::scope(|scope| {
        scope.spawn(move || {
            let mut batch = LoadBatch::default();
            for index in first..plan.total_users() {
                let (user, tasks) = plan.user(index);
                batch.add_user(user, tasks);
                if batch.task_count() >= batch_rows as usize {
                    // The loader stopped (it failed): stop making batches.
                    if sender.send(std::mem::take(&mut batch)).is_err() {
                        return;
                    }
                }
            }
            if !batch.is_empty() {
                let _ = sender.send(batch);
            }
        });
        let (mut users, mut tasks) = (0, 0);
        for batch in batches {
            let done = bulk::load(conn, &batch)?;
            users += done.users as u64;
            tasks += done.tasks as u64;
            loaded(tasks);
        }
        Ok((users, tasks))
    })
}
