//! The history queries, as functions over `&mut PgConnection`, always for
//! one owner (the repositories run them in that owner's scope).

use chrono::{DateTime, Utc};
use diesel::{
    pg::Pg,
    prelude::*,
    sql_types::{BigInt, Bool, Int2, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use uuid::Uuid;

use super::{
    Actor, ChangeKind, Changes, HistoryPage, HistoryQuery, SyncToken, TaskChange, TaskFields,
    token::Position,
};
use crate::{
    Entity, Error, MAX_PAGE_SIZE, Owner, Priority, Result, Task, TaskId, UserId,
    schema::{task_history, task_sync_state, tasks},
};

/// A history row as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = task_history, check_for_backend(Pg))]
struct HistoryRow {
    seq: i64,
    task_id: TaskId,
    version: i32,
    kind: String,
    changed_at: DateTime<Utc>,
    actor_user_id: Option<UserId>,
    actor_role: String,
    old_values: Option<serde_json::Value>,
    new_values: Option<serde_json::Value>,
}

impl HistoryRow {
    fn change(self) -> Result<TaskChange> {
        let unreadable = |what: &str| {
            Error::Database(format!(
                "history row {} of task {} has an unreadable {what}",
                self.seq, self.task_id
            ))
        };
        Ok(TaskChange {
            seq: self.seq.unsigned_abs(),
            task_id: self.task_id,
            version: self.version,
            kind: ChangeKind::parse(&self.kind).ok_or_else(|| unreadable("kind"))?,
            changed_at: self.changed_at,
            actor: Actor {
                owner: self.actor_user_id,
                role: self.actor_role.clone(),
            },
            old: TaskFields::from_json(self.old_values.clone())
                .map_err(|_| unreadable("old_values"))?,
            new: TaskFields::from_json(self.new_values.clone())
                .map_err(|_| unreadable("new_values"))?,
        })
    }
}

/// A page of the owner's task `id`'s history, newest first. A task without
/// history (none recorded, or all pruned) answers with an empty page if it
/// exists, and [`Error::NotFound`] if it does not (or is another user's).
pub(crate) fn task_history(
    conn: &mut PgConnection,
    owner: &Owner,
    id: TaskId,
    query: &HistoryQuery,
) -> Result<HistoryPage> {
    if query.limit == Some(0) {
        return Err(Error::validation("limit", "must be at least 1"));
    }
    let limit = query.page_size();
    let before = match query.before {
        Some(seq) => i64::try_from(seq).unwrap_or(i64::MAX),
        None => i64::MAX,
    };
    let mut rows: Vec<HistoryRow> = task_history::table
        .filter(task_history::user_id.eq(owner.user_id()))
        .filter(task_history::task_id.eq(id))
        .filter(task_history::seq.lt(before))
        .order(task_history::seq.desc())
        .limit(i64::from(limit) + 1)
        .select(HistoryRow::as_select())
        .load(conn)?;
    if rows.is_empty() && query.before.is_none() {
        let exists = diesel::select(diesel::dsl::exists(
            tasks::table.find((owner.user_id(), id)),
        ))
        .get_result::<bool>(conn)?;
        if !exists {
            return Err(Error::NotFound(Entity::Task));
        }
    }
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_before = match more {
        true => rows.last().map(|row| row.seq.unsigned_abs()),
        false => None,
    };
    let changes = rows
        .into_iter()
        .map(HistoryRow::change)
        .collect::<Result<_>>()?;
    Ok(HistoryPage {
        changes,
        next_before,
    })
}

/// The owner's current position: a token for the changes after now.
pub(crate) fn sync_token(conn: &mut PgConnection, owner: &Owner) -> Result<SyncToken> {
    let state: Option<(i64, Uuid)> = task_sync_state::table
        .find(owner.user_id())
        .select((task_sync_state::last_seq, task_sync_state::epoch))
        .get_result(conn)
        .optional()?;
    let position = match state {
        Some((last, epoch)) => Position {
            epoch,
            seq: last.unsigned_abs(),
        },
        // No change yet, so no numbering: the position before the first.
        None => Position {
            epoch: Uuid::nil(),
            seq: 0,
        },
    };
    Ok(SyncToken::new(owner.user_id(), position))
}

/// One statement: the owner's sequence state (with the first change still
/// kept), and the tasks touched by the first `$3` changes after `$2`, each
/// with its last change in the page and its current state (all NULL if it is
/// gone). No state row: the owner has no changes at all, and no row comes
/// back.
const CHANGES_SINCE: &str = "
    WITH page AS (
        SELECT seq, task_id FROM task_history
         WHERE user_id = $1 AND seq > $2
         ORDER BY seq
         LIMIT $3
    ),
    touched AS (
        SELECT task_id, max(seq) AS seq, max(max(seq)) OVER () AS page_end
          FROM page GROUP BY task_id
    )
    SELECT s.last_seq, s.epoch,
           (SELECT min(seq) FROM task_history WHERE user_id = $1) AS first_kept,
           p.page_end, p.task_id AS touched_id,
           t.id, t.title, t.description, t.completed, t.completed_at, t.priority,
           t.due_at, t.version, t.created_at, t.updated_at
      FROM task_sync_state s
      LEFT JOIN (touched p LEFT JOIN tasks t ON t.user_id = $1 AND t.id = p.task_id) ON true
     WHERE s.user_id = $1
     ORDER BY p.seq";

#[derive(QueryableByName)]
struct ChangedRow {
    #[diesel(sql_type = BigInt)]
    last_seq: i64,
    #[diesel(sql_type = SqlUuid)]
    epoch: Uuid,
    #[diesel(sql_type = Nullable<BigInt>)]
    first_kept: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    page_end: Option<i64>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    touched_id: Option<TaskId>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    id: Option<TaskId>,
    #[diesel(sql_type = Nullable<Text>)]
    title: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    description: Option<String>,
    #[diesel(sql_type = Nullable<Bool>)]
    completed: Option<bool>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    completed_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Int2>)]
    priority: Option<Priority>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    due_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Int4>)]
    version: Option<i32>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    created_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    updated_at: Option<DateTime<Utc>>,
}

impl ChangedRow {
    /// The task's current state, if it still exists.
    fn task(self) -> Option<Task> {
        Some(Task {
            id: self.id?,
            title: self.title?,
            description: self.description,
            completed: self.completed?,
            completed_at: self.completed_at,
            priority: self.priority?,
            due_at: self.due_at,
            version: self.version?,
            created_at: self.created_at?,
            updated_at: self.updated_at?,
        })
    }
}

pub(crate) fn changes_since(
    conn: &mut PgConnection,
    owner: &Owner,
    token: &SyncToken,
    limit: u32,
) -> Result<Changes> {
    let position = token.position_for(owner.user_id())?;
    if limit == 0 {
        return Err(Error::validation("limit", "must be at least 1"));
    }
    let limit = limit.min(MAX_PAGE_SIZE);
    let since = i64::try_from(position.seq).map_err(|_| Error::ResyncRequired)?;
    let rows: Vec<ChangedRow> = diesel::sql_query(CHANGES_SINCE)
        .bind::<SqlUuid, _>(owner.user_id())
        .bind::<BigInt, _>(since)
        .bind::<BigInt, _>(i64::from(limit))
        .load(conn)?;
    let state = rows.first().map(|row| State {
        last: row.last_seq,
        epoch: row.epoch,
        first_kept: row.first_kept,
    });
    if !answerable(position, since, state) {
        return Err(Error::ResyncRequired);
    }
    let (epoch, last) = state.map_or((Uuid::nil(), 0), |state| (state.epoch, state.last));
    let end = rows.first().and_then(|row| row.page_end).unwrap_or(since);
    let mut changed = Vec::new();
    let mut deleted = Vec::new();
    for row in rows {
        let Some(touched) = row.touched_id else {
            continue;
        };
        match row.task() {
            Some(task) => changed.push(task),
            None => deleted.push(touched),
        }
    }
    Ok(Changes {
        changed,
        deleted,
        next: SyncToken::new(
            owner.user_id(),
            Position {
                epoch,
                seq: end.unsigned_abs(),
            },
        ),
        more: end < last,
    })
}

/// The owner's numbering, as [`CHANGES_SINCE`] reads it.
#[derive(Debug, Clone, Copy)]
struct State {
    last: i64,
    epoch: Uuid,
    first_kept: Option<i64>,
}

/// Whether every change after `position` (at `since`) is still in the
/// history, under the numbering the token was made in. If not, the device
/// cannot catch up from changes, only by reading everything again: its token
/// is from before the history kept (pruned), from another numbering (a
/// restore), or beyond the last change (a restore of an older backup).
fn answerable(position: Position, since: i64, state: Option<State>) -> bool {
    let Some(state) = state else {
        // No change ever: only the position before the first one.
        return since == 0;
    };
    // A token made before the owner's first change has no numbering; it
    // needs the whole history from number 1.
    let same_numbering = position.epoch == state.epoch || (position.epoch.is_nil() && since == 0);
    let kept = since == state.last || state.first_kept.is_some_and(|first| first <= since + 1);
    same_numbering && since <= state.last && kept
}
