//! The `changes_since` shape: a device catching up through the change feed.
//!
//! For the seeded account with the most tasks, the run takes a sync token,
//! makes changes, takes the next token, and so on, so that each token is
//! exactly `--changes-behind N` changes behind the end of the feed; then,
//! from each token in turn, it pages through the feed to its end
//! (`--changes-limit` changes a call), as often as `--duration` allows, and
//! times every call and every whole catch-up. Each change is a task created
//! by the run (then deleted again, also when the run fails): the costliest
//! change for the feed, which returns each one as a task read from `tasks`.

use std::time::{Duration, Instant};

use diesel::PgConnection;
use todo_store::{Error, NewTask, Owner, Store, SyncToken, TaskId, TaskRepo};

use super::{
    fixture,
    report::{FeedResult, round},
};
use crate::stats::Summary;

/// Tasks created per transaction while making the changes.
const CREATE_BATCH: usize = 500;

/// Measures the change feed from tokens each of `behind` changes behind.
///
/// # Errors
/// A validation failure if a count is 0 or the database has no seeded
/// account with tasks; the library's error if a call fails. The tasks made
/// are deleted on every path.
pub fn measure(
    store: &Store,
    conn: &mut PgConnection,
    behind: &[u64],
    limit: u32,
    duration: Duration,
) -> Result<Vec<FeedResult>, Error> {
    check(behind, limit)?;
    let (owner, tasks) = fixture::largest_seeded(conn)?;
    let mut store = store.clone();
    let mut made = Vec::new();
    let measured = tokens(&mut store, &owner, behind, &mut made).and_then(|tokens| {
        let owner_tasks = tasks + made.len() as u64;
        behind
            .iter()
            .map(|n| {
                let token = tokens
                    .iter()
                    .find_map(|(at, token)| (at == n).then_some(token))
                    .unwrap_or_else(|| unreachable!("a token is taken for every count"));
                catch_up(&mut store, &owner, token, limit, duration)
                    .map(|sample| sample.result(*n, owner_tasks, limit))
            })
            .collect::<Result<Vec<_>, _>>()
    });
    // Whatever happened, the tasks made are deleted again.
    let cleaned = made
        .chunks(CREATE_BATCH)
        .try_for_each(|ids| store.delete_tasks(&owner, ids).map(drop));
    let results = measured?;
    cleaned?;
    Ok(results)
}

/// Checks the settings of the shape, before anything is measured.
///
/// # Errors
/// A validation failure if there is no count, or a count or the limit is 0.
pub fn check(behind: &[u64], limit: u32) -> Result<(), Error> {
    if behind.is_empty() || behind.contains(&0) || limit == 0 {
        return Err(Error::validation(
            "changes_behind and changes_limit",
            "must be at least 1",
        ));
    }
    Ok(())
}

/// A token for each count in `behind`, that many changes before the end of
/// the owner's feed: the largest first, then changes, the next, and so on.
/// The ids of the tasks created go to `made`.
fn tokens(
    store: &mut Store,
    owner: &Owner,
    behind: &[u64],
    made: &mut Vec<TaskId>,
) -> Result<Vec<(u64, SyncToken)>, Error> {
    let mut counts = behind.to_vec();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    counts.dedup();
    let mut tokens = Vec::new();
    for (i, &n) in counts.iter().enumerate() {
        tokens.push((n, store.sync_token(owner)?));
        let next = counts.get(i + 1).copied().unwrap_or(0);
        let mut left = n - next;
        while left > 0 {
            let batch = left.min(CREATE_BATCH as u64);
            let start = made.len();
            let new = (start..start + batch as usize)
                .map(|k| NewTask::new(format!("Feed change {}", k + 1)))
                .collect();
            made.extend(store.create_tasks(owner, new)?.into_iter().map(|t| t.id));
            left -= batch;
        }
    }
    Ok(tokens)
}

/// What the catch-ups from one token measured.
#[derive(Debug, Default)]
struct Sample {
    calls_us: Vec<u64>,
    syncs_us: Vec<u64>,
    calls_per_sync: usize,
    items_per_sync: usize,
    wall: Duration,
}

impl Sample {
    fn result(self, behind: u64, owner_tasks: u64, limit: u32) -> FeedResult {
        // A catch-up makes at least one call, so neither is empty.
        let calls = Summary::of(self.calls_us, self.wall).unwrap_or_default();
        let syncs = Summary::of(self.syncs_us, self.wall).unwrap_or_default();
        FeedResult {
            behind,
            owner_tasks,
            limit,
            calls_per_sync: self.calls_per_sync,
            items_per_sync: self.items_per_sync,
            syncs: syncs.ops,
            call_p50_ms: round(calls.p50_ms, 3),
            call_p95_ms: round(calls.p95_ms, 3),
            call_max_ms: round(calls.max_ms, 3),
            sync_p50_ms: round(syncs.p50_ms, 3),
            sync_p95_ms: round(syncs.p95_ms, 3),
        }
    }
}

/// Pages from `token` to the end of the feed, again and again until
/// `duration` is over (at least once).
fn catch_up(
    store: &mut Store,
    owner: &Owner,
    token: &SyncToken,
    limit: u32,
    duration: Duration,
) -> Result<Sample, Error> {
    let mut sample = Sample::default();
    let started = Instant::now();
    let deadline = started + duration;
    loop {
        let sync = Instant::now();
        let (mut calls, mut items) = (0, 0);
        let mut next = token.clone();
        loop {
            let call = Instant::now();
            let changes = store.changes_since(owner, &next, limit)?;
            sample.calls_us.push(call.elapsed().as_micros() as u64);
            calls += 1;
            items += changes.changed.len() + changes.deleted.len();
            next = changes.next;
            if !changes.more {
                break;
            }
        }
        sample.syncs_us.push(sync.elapsed().as_micros() as u64);
        (sample.calls_per_sync, sample.items_per_sync) = (calls, items);
        if Instant::now() >= deadline {
            break;
        }
    }
    sample.wall = started.elapsed();
    Ok(sample)
}
