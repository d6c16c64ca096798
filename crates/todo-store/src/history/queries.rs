//! The history queries, as functions over `&mut PgConnection`, always for
//! one owner (the repositories run them in that owner's scope).

use chrono::{DateTime, Utc};
use diesel::{
    pg::Pg,
    prelude::*,
    sql_types::{BigInt, Bool, Int2, Int4, Nullable, Text, Timestamptz, Untyped, Uuid as SqlUuid},
};
use uuid::Uuid;

use super::{
    Actor, ChangeKind, Changes, HistoryPage, HistoryQuery, SyncToken, TaskChange, TaskFields,
    token::Position,
};
use crate::{
    Entity, Error, MAX_PAGE_SIZE, Owner, Priority, Result, Task, TaskId, UserId,
    repo::cached::Cached,
    schema::{task_history, task_sync_state, tasks},
};

/// A history row as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = task_history, check_for_backend(Pg))]
pub(crate) struct HistoryRow {
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
    let (statement, limit) = history_statement(owner, id, query)?;
    let rows = statement.load(conn)?;
    if needs_existence_check(&rows, query) {
        let exists: bool = task_exists_statement(owner, id).get_result(conn)?;
        if !exists {
            return Err(Error::NotFound(Entity::Task));
        }
    }
    history_page(rows, limit)
}

/// The statement of [`task_history`] (one row more than the page, to tell
/// whether more follow) and the page size.
pub(crate) fn history_statement(
    owner: &Owner,
    id: TaskId,
    query: &HistoryQuery,
) -> Result<(HistoryStatement, u32)> {
    if query.limit == Some(0) {
        return Err(Error::validation("limit", "must be at least 1"));
    }
    let limit = query.page_size();
    let before = match query.before {
        Some(seq) => i64::try_from(seq).unwrap_or(i64::MAX),
        None => i64::MAX,
    };
    let statement = task_history::table
        .filter(task_history::user_id.eq(owner.user_id()))
        .filter(task_history::task_id.eq(id))
        .filter(task_history::seq.lt(before))
        .order(task_history::seq.desc())
        .limit(i64::from(limit) + 1)
        .select(HistoryRow::as_select())
        .into_boxed();
    Ok((statement, limit))
}

/// [`history_statement`]'s type.
pub(crate) type HistoryStatement = diesel::helper_types::IntoBoxed<
    'static,
    diesel::helper_types::Select<
        diesel::helper_types::Limit<
            diesel::helper_types::Order<
                diesel::helper_types::Filter<
                    diesel::helper_types::Filter<
                        diesel::helper_types::Filter<
                            task_history::table,
                            diesel::helper_types::Eq<task_history::user_id, UserId>,
                        >,
                        diesel::helper_types::Eq<task_history::task_id, TaskId>,
                    >,
                    diesel::helper_types::Lt<task_history::seq, i64>,
                >,
                diesel::helper_types::Desc<task_history::seq>,
            >,
        >,
        diesel::helper_types::AsSelect<HistoryRow, Pg>,
    >,
    Pg,
>;

/// Whether an empty first page must ask if the task exists at all (an
/// empty history answers an empty page, an unknown task `NotFound`).
pub(crate) fn needs_existence_check(rows: &[HistoryRow], query: &HistoryQuery) -> bool {
    rows.is_empty() && query.before.is_none()
}

/// Whether the owner has the task `id`.
pub(crate) fn task_exists_statement(
    owner: &Owner,
    id: TaskId,
) -> diesel::helper_types::select<
    diesel::helper_types::exists<diesel::helper_types::Find<tasks::table, (UserId, TaskId)>>,
> {
    diesel::select(diesel::dsl::exists(
        tasks::table.find((owner.user_id(), id)),
    ))
}

/// The page the rows of [`history_statement`] make.
pub(crate) fn history_page(mut rows: Vec<HistoryRow>, limit: u32) -> Result<HistoryPage> {
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
    let state = sync_state_statement(owner).get_result(conn).optional()?;
    Ok(token_at(owner, state))
}

/// The owner's sequence state (last number, numbering), if any change was
/// ever recorded.
pub(crate) fn sync_state_statement(
    owner: &Owner,
) -> diesel::helper_types::Select<
    diesel::helper_types::Find<task_sync_state::table, UserId>,
    (task_sync_state::last_seq, task_sync_state::epoch),
> {
    task_sync_state::table
        .find(owner.user_id())
        .select((task_sync_state::last_seq, task_sync_state::epoch))
}

/// The token for the position `state` (from [`sync_state_statement`]) names.
pub(crate) fn token_at(owner: &Owner, state: Option<(i64, Uuid)>) -> SyncToken {
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
    SyncToken::new(owner.user_id(), position)
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
pub(crate) struct ChangedRow {
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
    let asked = ChangesAsked::new(owner, token, limit)?;
    let rows = asked.statement().load(conn)?;
    asked.answer(rows)
}

/// A validated [`changes_since`] request: where it starts, and how many.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChangesAsked {
    owner: UserId,
    position: Position,
    since: i64,
    limit: u32,
}

impl ChangesAsked {
    /// Checks the token (the owner's, unedited) and the limit.
    pub(crate) fn new(owner: &Owner, token: &SyncToken, limit: u32) -> Result<Self> {
        let position = token.position_for(owner.user_id())?;
        if limit == 0 {
            return Err(Error::validation("limit", "must be at least 1"));
        }
        Ok(Self {
            owner: owner.user_id(),
            position,
            since: i64::try_from(position.seq).map_err(|_| Error::ResyncRequired)?,
            limit: limit.min(MAX_PAGE_SIZE),
        })
    }

    /// [`CHANGES_SINCE`] with its values bound, cached by its text.
    pub(crate) fn statement(&self) -> Cached<'static, Untyped> {
        Cached::new(
            diesel::sql_query(CHANGES_SINCE)
                .bind::<SqlUuid, _>(self.owner)
                .bind::<BigInt, _>(self.since)
                .bind::<BigInt, _>(i64::from(self.limit)),
        )
    }

    /// The changes the rows of [`statement`](Self::statement) hold.
    pub(crate) fn answer(self, rows: Vec<ChangedRow>) -> Result<Changes> {
        let since = self.since;
        let state = rows.first().map(|row| State {
            last: row.last_seq,
            epoch: row.epoch,
            first_kept: row.first_kept,
        });
        if !answerable(self.position, since, state) {
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
                self.owner,
                Position {
                    epoch,
                    seq: end.unsigned_abs(),
                },
            ),
            more: end < last,
        })
    }
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
