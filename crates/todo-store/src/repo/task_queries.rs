//! The task queries, as functions over `&mut PgConnection`. Every query starts
//! from [`owned`] (or its boxed form [`owned_by`]) or [`owned_task`], so none
//! can forget the owner.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::{
    dsl::sql,
    pg::Pg,
    prelude::*,
    sql_types::{Nullable, Timestamptz},
};

use super::{
    bulk_insert::BulkInsert,
    cached::Cached,
    keyset::{After, Limited, SortExpr},
    scope::Txn,
    search,
};
use crate::{
    ConflictKind, Entity, Error, NewTask, Owner, Page, Priority, Result, SortOrder, StatusFilter,
    Task, TaskFilter, TaskId, TaskPatch, TaskQuery, TaskStatus, UserId, VersionCheck,
    cursor::Position,
    schema::{task_counts, tasks},
    validate::{self, MAX_DESCRIPTION_CHARS, MAX_SEARCH_CHARS, MAX_TITLE_CHARS},
};

type BoxedTasks<'a> = tasks::BoxedQuery<'a, Pg>;
type ListStatement = diesel::dsl::Select<BoxedTasks<'static>, diesel::dsl::AsSelect<Task, Pg>>;
type PageStatement = Limited<ListStatement>;

/// Evaluates `$write` with `$t` bound to `$target`, narrowed to the expected
/// version when `$check` asks for one. A macro rather than a function so that
/// both arms keep their static query types (and Diesel's statement cache).
macro_rules! guarded {
    ($check:expr, $target:expr, |$t:ident| $write:expr) => {
        match $check {
            VersionCheck::Any => {
                let $t = $target;
                $write
            }
            VersionCheck::Exactly(version) => {
                let $t = $target.filter(tasks::version.eq(version));
                $write
            }
        }
    };
}

/// All of the owner's tasks, and nobody else's.
fn owned(
    owner: &Owner,
) -> diesel::dsl::Filter<tasks::table, diesel::dsl::Eq<tasks::user_id, UserId>> {
    tasks::table.filter(tasks::user_id.eq(owner.user_id()))
}

/// [`owned`], boxed, for queries assembled from a filter.
fn owned_by(owner: &Owner) -> BoxedTasks<'static> {
    owned(owner).into_boxed()
}

/// One of the owner's tasks (a primary-key probe).
fn owned_task(owner: &Owner, id: TaskId) -> diesel::dsl::Find<tasks::table, (UserId, TaskId)> {
    tasks::table.find((owner.user_id(), id))
}

/// `treat_none_as_default_value = false`: `None` is inserted as NULL (the
/// columns' default anyway) instead of `DEFAULT`, which keeps the INSERT's SQL
/// the same for every row, so Diesel can cache it as a prepared statement.
#[derive(Insertable)]
#[diesel(table_name = tasks, check_for_backend(Pg), treat_none_as_default_value = false)]
pub(crate) struct TaskRow<'a> {
    pub(super) user_id: UserId,
    pub(super) id: TaskId,
    pub(super) title: &'a str,
    pub(super) description: Option<&'a str>,
    pub(super) priority: Priority,
    pub(super) due_at: Option<DateTime<Utc>>,
}

impl<'a> TaskRow<'a> {
    /// Whether `task` is what this row created: the answer to a repeated
    /// create with a client-chosen id.
    fn created(&self, task: &Task) -> bool {
        task.id == self.id
            && task.title == self.title
            && task.description.as_deref() == self.description
            && task.priority == self.priority
            && task.due_at == self.due_at
    }

    /// The task's id (chosen by the client, or new).
    #[cfg(feature = "async")]
    pub(crate) fn id(&self) -> TaskId {
        self.id
    }

    /// `new`, checked, for `owner`.
    pub(crate) fn validated(owner: &Owner, new: &'a NewTask) -> Result<Self> {
        Ok(Self {
            user_id: owner.user_id(),
            id: new.id.unwrap_or_else(TaskId::new_v7),
            title: validate::line("title", &new.title, MAX_TITLE_CHARS)?,
            description: match &new.description {
                Some(text) => validate::free_text("description", text, MAX_DESCRIPTION_CHARS)?,
                None => None,
            },
            priority: new.priority.unwrap_or_default(),
            due_at: new
                .due_at
                .map(|due| validate::timestamp("due_at", due))
                .transpose()?,
        })
    }
}

#[derive(AsChangeset)]
#[diesel(table_name = tasks, check_for_backend(Pg))]
pub(crate) struct TaskChanges<'a> {
    title: Option<&'a str>,
    description: Option<Option<&'a str>>,
    priority: Option<Priority>,
    due_at: Option<Option<DateTime<Utc>>>,
}

impl<'a> TaskChanges<'a> {
    /// `patch`, checked.
    pub(crate) fn validated(patch: &'a TaskPatch) -> Result<Self> {
        Ok(Self {
            title: match &patch.title {
                Some(title) => Some(validate::line("title", title, MAX_TITLE_CHARS)?),
                None => None,
            },
            description: match &patch.description {
                Some(Some(text)) => Some(validate::free_text(
                    "description",
                    text,
                    MAX_DESCRIPTION_CHARS,
                )?),
                Some(None) => Some(None),
                None => None,
            },
            priority: patch.priority,
            due_at: match patch.due_at {
                Some(Some(due)) => Some(Some(validate::timestamp("due_at", due)?)),
                other => other,
            },
        })
    }
}

pub(crate) fn create(
    conn: &mut PgConnection,
    owner: &Owner,
    new: &NewTask,
    txn: Txn,
) -> Result<Task> {
    let row = TaskRow::validated(owner, new)?;
    if new.id.is_none() {
        return single_write(conn, txn, |conn| {
            Ok(insert_statement(&row).get_result(conn)?)
        });
    }
    single_write(conn, txn, |conn| {
        let inserted = insert_if_absent_statement(&row)
            .get_result(conn)
            .optional()?;
        let mut answer = answer(
            conn,
            owner,
            std::slice::from_ref(&row),
            inserted.into_iter().collect(),
        )?;
        Ok(answer.remove(0))
    })
}

/// The INSERT of a new task.
pub(crate) fn insert_statement<'a>(row: &'a TaskRow<'a>) -> Cached<'a, TaskRows> {
    Cached::new(
        diesel::insert_into(tasks::table)
            .values(row)
            .returning(Task::as_returning()),
    )
}

/// The INSERT of a task with a client-chosen id: no row if the id is taken
/// (then [`repeat_of`] decides).
pub(crate) fn insert_if_absent_statement<'a>(row: &'a TaskRow<'a>) -> Cached<'a, TaskRows> {
    Cached::new(
        diesel::insert_into(tasks::table)
            .values(row)
            .on_conflict((tasks::user_id, tasks::id))
            .do_nothing()
            .returning(Task::as_returning()),
    )
}

/// The answer to a create whose client-chosen id was taken, from the task
/// stored under it (see [`answer`]).
pub(crate) fn repeat_of(row: &TaskRow<'_>, stored: Option<&Task>) -> Result<Task> {
    match stored {
        Some(task) if row.created(task) => Ok(task.clone()),
        Some(_) => Err(Error::Conflict(ConflictKind::DuplicateTaskId)),
        // Taken when inserted, gone when looked up: deleted meanwhile by
        // a concurrent call. Sent again, it inserts (the store's retry
        // policy does that).
        None => Err(Error::Conflict(ConflictKind::ConcurrentUpdate)),
    }
}

/// The task each row stands for: the one just inserted, or, where a
/// client-chosen id was taken already, the task stored under it, which must
/// be the one this row would have created (a repeated create). Anything else
/// under that id (another task, or the same one changed since) is a
/// [`ConflictKind::DuplicateTaskId`]; an id whose task vanished between the
/// insert and the look-up is a retryable [`ConflictKind::ConcurrentUpdate`].
fn answer(
    conn: &mut PgConnection,
    owner: &Owner,
    rows: &[TaskRow<'_>],
    inserted: Vec<Task>,
) -> Result<Vec<Task>> {
    let taken = taken_ids(rows, &inserted);
    let stored = match taken.is_empty() {
        true => Vec::new(),
        false => stored_statement(owner, &taken).load(conn)?,
    };
    answered(rows, inserted, stored)
}

/// The ids of `rows` that `inserted` (what their insert returned) lacks:
/// taken already, to be looked up with [`stored_statement`].
pub(crate) fn taken_ids(rows: &[TaskRow<'_>], inserted: &[Task]) -> Vec<TaskId> {
    let fresh: HashSet<TaskId> = inserted.iter().map(|task| task.id).collect();
    rows.iter()
        .map(|row| row.id)
        .filter(|id| !fresh.contains(id))
        .collect()
}

/// The owner's tasks under the ids `taken`.
pub(crate) fn stored_statement<'a>(owner: &Owner, taken: &'a [TaskId]) -> Cached<'a, TaskRows> {
    Cached::new(
        owned(owner)
            .filter(tasks::id.eq_any(taken))
            .select(Task::as_select()),
    )
}

/// [`answer`]'s verdict, from the tasks `inserted` and those `stored`
/// under the taken ids.
pub(crate) fn answered(
    rows: &[TaskRow<'_>],
    inserted: Vec<Task>,
    stored: Vec<Task>,
) -> Result<Vec<Task>> {
    let fresh: HashSet<TaskId> = inserted.iter().map(|task| task.id).collect();
    let mut by_id: HashMap<TaskId, Task> =
        inserted.into_iter().map(|task| (task.id, task)).collect();
    by_id.extend(stored.into_iter().map(|task| (task.id, task)));
    // A row whose task was just inserted is answered by it (the first such
    // row only: a second row with the same id is a repeat, and must match).
    let mut claimed = HashSet::new();
    rows.iter()
        .map(|row| match by_id.get(&row.id) {
            Some(task) if fresh.contains(&row.id) && claimed.insert(row.id) => Ok(task.clone()),
            stored => repeat_of(row, stored),
        })
        .collect()
}

pub(crate) fn create_many(
    conn: &mut PgConnection,
    owner: &Owner,
    new: &[NewTask],
    txn: Txn,
) -> Result<Vec<Task>> {
    let rows = validated_rows(owner, new)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let client_ids = new.iter().any(|task| task.id.is_some());
    all_or_nothing(conn, txn, |conn| {
        let inserted = insert_many_statement(owner, &rows, client_ids).load(conn)?;
        match client_ids {
            false => Ok(inserted),
            // Idempotent: a row whose id is taken is answered by the task
            // it created before.
            true => answer(conn, owner, &rows, inserted),
        }
    })
}

/// Validates each of `new`, naming a failing element's field
/// (`tasks[3].title`).
pub(crate) fn validated_rows<'a>(owner: &Owner, new: &'a [NewTask]) -> Result<Vec<TaskRow<'a>>> {
    new.iter()
        .enumerate()
        .map(|(i, task)| {
            TaskRow::validated(owner, task).map_err(|err| match err {
                Error::Validation { field, reason } => {
                    Error::validation(format!("tasks[{i}].{field}"), reason)
                }
                other => other,
            })
        })
        .collect()
}

/// The one INSERT of all `rows` (the owner's), in one statement text for
/// any row count and six parameters (see [`BulkInsert`]); with
/// `client_ids`, rows whose id is taken insert nothing (then [`answered`]
/// decides).
pub(crate) fn insert_many_statement<'a>(
    owner: &Owner,
    rows: &[TaskRow<'a>],
    client_ids: bool,
) -> Cached<'a, TaskRows> {
    BulkInsert::statement(owner, rows, client_ids)
}

pub(crate) fn get(conn: &mut PgConnection, owner: &Owner, id: TaskId) -> Result<Task> {
    get_statement(owner, id)
        .get_result(conn)
        .optional()?
        .ok_or(Error::NotFound(Entity::Task))
}

/// The query [`get`] runs (also rendered by [`crate::sql_text`]).
pub(crate) fn get_statement(
    owner: &Owner,
    id: TaskId,
) -> diesel::dsl::Select<
    diesel::dsl::Find<tasks::table, (UserId, TaskId)>,
    diesel::dsl::AsSelect<Task, Pg>,
> {
    owned_task(owner, id).select(Task::as_select())
}

pub(crate) fn list(
    conn: &mut PgConnection,
    owner: &Owner,
    query: &TaskQuery,
) -> Result<Page<Task>> {
    let (statement, limit) = page_statement(owner, query)?;
    Ok(page_of(statement.load(conn)?, limit, query))
}

/// The page `items` (as [`page_statement`] fetched them, one row more than
/// `limit` if there is a next page) make for `query`.
pub(crate) fn page_of(mut items: Vec<Task>, limit: u32, query: &TaskQuery) -> Page<Task> {
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items
            .last()
            .map(|last| Position::of(last, query.sort).encode())
    } else {
        None
    };
    Page { items, next_cursor }
}

/// The list query exactly as [`list`] runs it (also used by
/// [`crate::explain`]), and the page size. It fetches one row more than the
/// page, to learn whether there is a next page.
pub(crate) fn page_statement(owner: &Owner, query: &TaskQuery) -> Result<(PageStatement, u32)> {
    let limit = page_limit(query)?;
    let statement = Limited::at_least(list_statement(owner, query)?, limit + 1);
    Ok((statement, limit))
}

fn page_limit(query: &TaskQuery) -> Result<u32> {
    match query.limit {
        Some(0) => Err(Error::validation("limit", "must be at least 1")),
        _ => Ok(query.page_size()),
    }
}

pub(crate) fn count(conn: &mut PgConnection, owner: &Owner, filter: &TaskFilter) -> Result<u64> {
    let n = match count_statement(owner, filter)? {
        CountStatement::Kept(kept) => kept_count(kept.get_result(conn).optional()?, filter),
        CountStatement::Scan(scan) => scan.get_result::<i64>(conn)?,
    };
    Ok(n.unsigned_abs())
}

/// The count for `filter` (a status alone) from the owner's row of kept
/// counts, `(total, done)`; no row: the owner never had a task.
pub(crate) fn kept_count(row: Option<(i32, i32)>, filter: &TaskFilter) -> i64 {
    let (total, done) = row.unwrap_or((0, 0));
    i64::from(match filter.status {
        StatusFilter::All => total,
        StatusFilter::Open => total - done,
        StatusFilter::Done => done,
    })
}

/// The owner's counts as the database keeps them: all tasks, done tasks.
/// One statement for every status, so that Diesel caches it.
pub(crate) type KeptCount = diesel::dsl::Select<
    diesel::dsl::Filter<task_counts::table, diesel::dsl::Eq<task_counts::user_id, UserId>>,
    (task_counts::total, task_counts::done),
>;

/// The query [`count`] runs (also rendered by [`crate::sql_text`]).
pub(crate) enum CountStatement {
    /// A filter on the status alone: one row of the counts the database
    /// keeps (`task_counts`), however many tasks the owner has.
    Kept(KeptCount),
    /// Any other filter: the matching tasks counted, through an index.
    Scan(diesel::dsl::Count<BoxedTasks<'static>>),
}

pub(crate) fn count_statement(owner: &Owner, filter: &TaskFilter) -> Result<CountStatement> {
    if *filter != TaskFilter::default().status(filter.status) {
        return Ok(CountStatement::Scan(filtered(owner, filter)?.count()));
    }
    Ok(CountStatement::Kept(
        task_counts::table
            .filter(task_counts::user_id.eq(owner.user_id()))
            .select((task_counts::total, task_counts::done)),
    ))
}

/// The list query without its LIMIT: filter, keyset position and order.
fn list_statement(owner: &Owner, query: &TaskQuery) -> Result<ListStatement> {
    let mut statement = filtered(owner, &query.filter)?;
    if let Some(cursor) = &query.after {
        let position = Position::decode(cursor)?;
        if position.sort != query.sort {
            return Err(Error::validation(
                "cursor",
                "belongs to a list with another sort order",
            ));
        }
        statement = statement.filter(After(position));
    }
    Ok(ordered(statement, query.sort).select(Task::as_select()))
}

fn filtered(owner: &Owner, filter: &TaskFilter) -> Result<BoxedTasks<'static>> {
    let mut q = owned_by(owner);
    match filter.status {
        StatusFilter::All => {}
        // Written as `NOT completed` / `completed`, not compared with a bound
        // value: the planner can then match the partial index for open tasks
        // in a generic plan too.
        StatusFilter::Open => q = q.filter(diesel::dsl::not(tasks::completed)),
        StatusFilter::Done => q = q.filter(tasks::completed),
    }
    if let (Some(min), Some(max)) = (filter.priority_min, filter.priority_max)
        && min > max
    {
        return Err(Error::validation(
            "priority",
            format!("range is empty: minimum {min} is above maximum {max}"),
        ));
    }
    if let Some(min) = filter.priority_min {
        q = q.filter(tasks::priority.ge(min));
    }
    if let Some(max) = filter.priority_max {
        q = q.filter(tasks::priority.le(max));
    }
    if let Some(text) = &filter.search {
        let text = validate::line("search", text, MAX_SEARCH_CHARS)?;
        q = search::matching(q, owner, text);
    }
    if let (Some(from), Some(before)) = (filter.due_from, filter.due_before)
        && from >= before
    {
        return Err(Error::validation("due", "range is empty"));
    }
    if let Some(from) = filter.due_from {
        q = q.filter(tasks::due_at.ge(validate::timestamp("due_from", from)?));
    }
    if let Some(before) = filter.due_before {
        q = q.filter(tasks::due_at.lt(validate::timestamp("due_before", before)?));
    }
    if let Some(since) = filter.updated_since {
        q = q.filter(tasks::updated_at.ge(validate::timestamp("updated_since", since)?));
    }
    Ok(q)
}

fn ordered(q: BoxedTasks<'static>, sort: crate::TaskSort) -> BoxedTasks<'static> {
    let key = SortExpr(sort.key);
    match sort.order {
        SortOrder::Asc => q.order_by(key.asc()).then_order_by(tasks::id.asc()),
        SortOrder::Desc => q.order_by(key.desc()).then_order_by(tasks::id.desc()),
    }
}

/// Runs a single-row write (one statement, then a read only if it missed)
/// without a transaction of its own: one statement is atomic by itself, and
/// the read that explains a miss (`NotFound` or `StaleVersion`) would see
/// the latest committed state inside a READ COMMITTED transaction just the
/// same, so BEGIN and COMMIT would only add two round trips. Inside a
/// caller's transaction it runs in a savepoint, as the multi-statement
/// writes do, so that a failure leaves the caller's transaction usable.
fn single_write<T>(
    conn: &mut PgConnection,
    txn: Txn,
    write: impl FnOnce(&mut PgConnection) -> Result<T>,
) -> Result<T> {
    match txn {
        Txn::Caller => conn.transaction(write),
        Txn::None | Txn::Own => write(conn),
    }
}

/// Runs a multi-statement write as one transaction: its own, the call's
/// scope transaction, or a savepoint in the caller's.
fn all_or_nothing<T>(
    conn: &mut PgConnection,
    txn: Txn,
    write: impl FnOnce(&mut PgConnection) -> Result<T>,
) -> Result<T> {
    match txn {
        Txn::None | Txn::Caller => conn.transaction(write),
        Txn::Own => write(conn),
    }
}

pub(crate) fn update(
    conn: &mut PgConnection,
    owner: &Owner,
    id: TaskId,
    patch: &TaskPatch,
    check: VersionCheck,
    txn: Txn,
) -> Result<Task> {
    let changes = TaskChanges::validated(patch)?;
    single_write(conn, txn, |conn| {
        if patch.is_empty() {
            let task = get(conn, owner, id)?;
            check.verify(task.version)?;
            return Ok(task);
        }
        match update_statement(owner, id, &changes, check)
            .get_result(conn)
            .optional()?
        {
            Some(task) => Ok(task),
            None => Err(miss(conn, owner, id, check)),
        }
    })
}

/// The rows of a statement returning tasks.
pub(crate) type TaskRows = <diesel::dsl::AsSelect<Task, Pg> as Expression>::SqlType;

/// The UPDATE of [`update`] (a patch that changes something).
pub(crate) fn update_statement<'a>(
    owner: &Owner,
    id: TaskId,
    changes: &'a TaskChanges<'a>,
    check: VersionCheck,
) -> Cached<'a, TaskRows> {
    guarded!(check, owned_task(owner, id), |target| {
        Cached::new(
            diesel::update(target)
                .set(changes)
                .returning(Task::as_returning()),
        )
    })
}

pub(crate) fn set_status(
    conn: &mut PgConnection,
    owner: &Owner,
    id: TaskId,
    status: TaskStatus,
    check: VersionCheck,
    txn: Txn,
) -> Result<Task> {
    single_write(conn, txn, |conn| {
        match status_statement(owner, id, status, check)
            .get_result(conn)
            .optional()?
        {
            Some(task) => Ok(task),
            None => {
                let task = get(conn, owner, id)?;
                check.verify(task.version)?;
                Ok(task)
            }
        }
    })
}

/// The UPDATE of [`set_status`]. Only a task not yet in the wanted state
/// changes, so marking a done task done again is a no-op that keeps its
/// version and completion time (the statement then returns no row).
pub(crate) fn status_statement(
    owner: &Owner,
    id: TaskId,
    status: TaskStatus,
    check: VersionCheck,
) -> Cached<'static, TaskRows> {
    let done = status == TaskStatus::Done;
    let not_yet = owned_task(owner, id).filter(tasks::completed.ne(done));
    let changes = (
        tasks::completed.eq(done),
        tasks::completed_at.eq(sql::<Nullable<Timestamptz>>(if done {
            "now()"
        } else {
            "NULL"
        })),
    );
    guarded!(check, not_yet, |target| {
        Cached::new(
            diesel::update(target)
                .set(changes)
                .returning(Task::as_returning()),
        )
    })
}

pub(crate) fn delete(
    conn: &mut PgConnection,
    owner: &Owner,
    id: TaskId,
    check: VersionCheck,
    txn: Txn,
) -> Result<()> {
    single_write(conn, txn, |conn| {
        match delete_statement(owner, id, check).execute(conn)? {
            0 => Err(miss(conn, owner, id, check)),
            _ => Ok(()),
        }
    })
}

/// The DELETE of [`delete`].
pub(crate) fn delete_statement(
    owner: &Owner,
    id: TaskId,
    check: VersionCheck,
) -> Cached<'static, ()> {
    guarded!(check, owned_task(owner, id), |target| {
        Cached::new(diesel::delete(target))
    })
}

pub(crate) fn delete_many(conn: &mut PgConnection, owner: &Owner, ids: &[TaskId]) -> Result<u64> {
    let deleted = delete_many_statement(owner, ids).execute(conn)?;
    Ok(deleted as u64)
}

/// The one DELETE of [`delete_many`].
pub(crate) fn delete_many_statement<'a>(owner: &Owner, ids: &'a [TaskId]) -> Cached<'a, ()> {
    Cached::new(diesel::delete(owned(owner).filter(tasks::id.eq_any(ids))))
}

/// Why a guarded write touched no row: the task is not the owner's (NotFound),
/// or it is at another version (Conflict).
fn miss(conn: &mut PgConnection, owner: &Owner, id: TaskId, check: VersionCheck) -> Error {
    match version_statement(owner, id)
        .get_result::<i32>(conn)
        .optional()
    {
        Ok(current) => missed(current, check),
        Err(err) => err.into(),
    }
}

/// The task's current version, which explains a miss.
pub(crate) fn version_statement(
    owner: &Owner,
    id: TaskId,
) -> diesel::dsl::Select<diesel::dsl::Find<tasks::table, (UserId, TaskId)>, tasks::version> {
    owned_task(owner, id).select(tasks::version)
}

/// Why a guarded write missed, from the task's version read afterwards.
pub(crate) fn missed(current: Option<i32>, check: VersionCheck) -> Error {
    match current {
        // The version moved between the write and this read: someone else wrote.
        Some(actual) => check
            .verify(actual)
            .err()
            .unwrap_or(Error::Conflict(ConflictKind::ConcurrentUpdate)),
        None => Error::NotFound(Entity::Task),
    }
}
