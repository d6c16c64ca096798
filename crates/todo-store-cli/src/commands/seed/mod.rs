//! `seed`: load deterministic synthetic users and tasks through the library's
//! bulk path (`COPY`), one transaction per batch.
//!
//! Seeded accounts live under `@seed<S>.todo-store.invalid`, so a seed only
//! ever adds its own users beside real ones. Batches commit in user order, so
//! an interrupted run leaves a prefix of the users; running the same command
//! again loads the rest.

mod data;

use std::{
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use diesel::{PgConnection, RunQueryDsl, sql_query};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use todo_store::{
    DatabaseUrl, UserRepo,
    bulk::{self, LoadBatch},
};

use crate::{args::SeedArgs, exit::Failure};
pub use data::Plan;

/// What `seed` did.
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
}

/// Runs `seed`.
///
/// # Errors
/// A validation error for impossible counts; the library's error if a batch
/// fails (that batch is rolled back; earlier ones stay).
pub fn run(args: &SeedArgs, url: &DatabaseUrl) -> Result<SeedReport, Failure> {
    let plan = Plan {
        seed: args.seed,
        users: args.users,
        tasks_per_user: args.tasks_per_user,
        heavy_users: args.heavy_users,
        heavy_tasks: args.heavy_tasks,
    }
    .validated()?;
    let mut conn = crate::db::connect(url)?;
    let first = users_present(&mut conn, &plan)?;
    let remaining: u64 = (first..plan.total_users())
        .map(|index| u64::from(plan.tasks_of(index)))
        .sum();
    let bar = progress_bar(remaining);
    let started = Instant::now();
    let (users_loaded, tasks_loaded) = load(&mut conn, &plan, first, args.batch_rows, &bar)?;
    let load_time = started.elapsed();
    bar.finish_and_clear();

    let started = Instant::now();
    sql_query("VACUUM (ANALYZE) users, tasks")
        .execute(&mut conn)
        .map_err(todo_store::Error::from)?;
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
    })
}

/// How many of the plan's users are already stored. Batches commit in user
/// order, so they are always users `0..n`: a binary search finds `n`.
fn users_present(conn: &mut PgConnection, plan: &Plan) -> Result<u64, Failure> {
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

/// Loads users `first..` of the plan. A second thread makes the batches while
/// this one copies the previous batch into the database.
fn load(
    conn: &mut PgConnection,
    plan: &Plan,
    first: u64,
    batch_rows: u32,
    bar: &ProgressBar,
) -> Result<(u64, u64), Failure> {
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
            let loaded = bulk::load(conn, &batch)?;
            users += loaded.users as u64;
            tasks += loaded.tasks as u64;
            bar.inc(loaded.tasks as u64);
        }
        Ok((users, tasks))
    })
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
fn progress_bar(tasks: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(tasks), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{elapsed_precise} [{wide_bar}] {human_pos}/{human_len} tasks, {per_sec}, ETA {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn per_second(rows: u64, time: Duration) -> f64 {
    match time.as_secs_f64() {
        secs if secs > 0.0 => rows as f64 / secs,
        _ => 0.0,
    }
}
