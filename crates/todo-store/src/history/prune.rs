//! The history's retention.

use std::time::Duration;

use diesel::{
    Connection, PgConnection, QueryableByName, RunQueryDsl,
    connection::SimpleConnection,
    sql_types::{BigInt, Double},
};
use serde::Serialize;

use crate::{Error, Result};

/// How long the history is kept unless an operator chooses otherwise: long
/// enough to debug a report ("my task changed a month ago") and for a device
/// that was away for a season to catch up with
/// [`changes_since`](crate::TaskRepo::changes_since) instead of reloading.
pub const DEFAULT_HISTORY_RETENTION_DAYS: u32 = 90;

/// The longest age [`prune_history`] takes: beyond it PostgreSQL's
/// intervals and timestamps run out, and nothing can be that old anyway.
const MAX_AGE: Duration = Duration::from_secs(100 * 365 * 86_400);

/// What [`prune_history`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Pruned {
    /// History rows deleted.
    pub changes: u64,
    /// Owners whose history lost rows: their sync tokens from before those
    /// rows now answer [`Error::ResyncRequired`].
    pub owners: u64,
}

#[derive(QueryableByName)]
struct Counts {
    #[diesel(sql_type = BigInt)]
    changes: i64,
    #[diesel(sql_type = BigInt)]
    owners: i64,
}

/// Deletes the history recorded more than `older_than` ago (by the
/// database's clock), for every user, in one transaction: for each owner,
/// their changes up to the newest one that old, so that what is kept is
/// always every change after some number. A sync token from before the
/// first change kept answers [`Error::ResyncRequired`] rather than silently
/// skipping the changes that are gone. Writers never wait for it.
///
/// For operators: it needs a role that bypasses row-level security (the
/// tables' owner, a superuser, `BYPASSRLS`), and fails at once for a role
/// subject to it. Schedule it (daily, say) with
/// [`DEFAULT_HISTORY_RETENTION_DAYS`] or your own retention, e.g.
/// `todo-store history prune --older-than 90` from cron.
///
/// ```no_run
/// # fn main() -> Result<(), todo_store::Error> {
/// use std::time::Duration;
///
/// let mut admin = todo_store::StoreConfig::from_env()?.establish()?;
/// let days = u64::from(todo_store::DEFAULT_HISTORY_RETENTION_DAYS);
/// let pruned = todo_store::prune_history(&mut admin, Duration::from_secs(days * 86_400))?;
/// println!("{} changes of {} users pruned", pruned.changes, pruned.owners);
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::Validation`] on `older_than` if it is over 100 years;
/// [`Error::Database`] if the role may not (row-level security, missing
/// privileges); [`Error::Unavailable`] and the other connection errors.
pub fn prune_history(conn: &mut PgConnection, older_than: Duration) -> Result<Pruned> {
    if older_than > MAX_AGE {
        return Err(Error::validation("older_than", "must be at most 100 years"));
    }
    let seconds = older_than.as_secs_f64();
    let counts: Counts = conn.transaction(|conn| {
        conn.batch_execute("SET LOCAL row_security = off")?;
        diesel::sql_query(PRUNE)
            .bind::<Double, _>(seconds)
            .get_result(conn)
    })?;
    Ok(Pruned {
        changes: counts.changes.unsigned_abs(),
        owners: counts.owners.unsigned_abs(),
    })
}

/// Deletes, for each owner, every change up to the newest one recorded
/// before the cut-off: a prefix of their numbers, so that every change after
/// the pruned ones is still there, and `changes_since` can tell a token it
/// cannot answer by the first number kept. It locks no sync state: writers
/// never wait for it.
const PRUNE: &str = "
    WITH old AS (
        SELECT user_id, max(seq) AS through
          FROM task_history
         WHERE changed_at < now() - make_interval(secs => $1)
         GROUP BY user_id
    ),
    gone AS (
        DELETE FROM task_history h
         USING old
         WHERE h.user_id = old.user_id AND h.seq <= old.through
        RETURNING h.user_id
    )
    SELECT count(*) AS changes, count(DISTINCT user_id) AS owners FROM gone";
