//! The task queries, as functions over `&mut PgConnection`. Every query starts
//! from [`owned`] (or its boxed form [`owned_by`]) or [`owned_task`], so none
//! can forget the owner.

use chrono::{DateTime, Utc};
use diesel::{
    dsl::sql,
    pg::Pg,
    prelude::*,
    sql_types::{Bool, Nullable, SmallInt, Text, Timestamptz},
};

use crate::{
    ConflictKind, Entity, Error, NewTask, Owner, Page, Priority, Result, SortKey, SortOrder,
    StatusFilter, Task, TaskFilter, TaskId, TaskPatch, TaskQuery, TaskStatus, UserId, VersionCheck,
    cursor::{KeyValue, Position},
    schema::tasks,
    validate::{self, MAX_DESCRIPTION_CHARS, MAX_SEARCH_CHARS, MAX_TITLE_CHARS},
};

/// Rows per INSERT statement in bulk creation (PostgreSQL allows 65,535 binds).
const INSERT_CHUNK: usize = 1_000;

type BoxedTasks<'a> = tasks::BoxedQuery<'a, Pg>;
type ListStatement = diesel::dsl::Select<BoxedTasks<'static>, diesel::dsl::AsSelect<Task, Pg>>;
type PageStatement = diesel::dsl::Limit<ListStatement>;

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

#[derive(Insertable)]
#[diesel(table_name = tasks, check_for_backend(Pg))]
struct TaskRow<'a> {
    user_id: UserId,
    id: TaskId,
    title: &'a str,
    description: Option<&'a str>,
    priority: Priority,
    due_at: Option<DateTime<Utc>>,
}

impl<'a> TaskRow<'a> {
    fn validated(owner: &Owner, new: &'a NewTask) -> Result<Self> {
        Ok(Self {
            user_id: owner.user_id(),
            id: TaskId::new_v7(),
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
struct TaskChanges<'a> {
    title: Option<&'a str>,
    description: Option<Option<&'a str>>,
    priority: Option<Priority>,
    due_at: Option<Option<DateTime<Utc>>>,
}

impl<'a> TaskChanges<'a> {
    fn validated(patch: &'a TaskPatch) -> Result<Self> {
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

pub(crate) fn create(conn: &mut PgConnection, owner: &Owner, new: &NewTask) -> Result<Task> {
    let row = TaskRow::validated(owner, new)?;
    Ok(diesel::insert_into(tasks::table)
        .values(&row)
        .returning(Task::as_returning())
        .get_result(conn)?)
}

pub(crate) fn create_many(
    conn: &mut PgConnection,
    owner: &Owner,
    new: &[NewTask],
) -> Result<Vec<Task>> {
    let rows = new
        .iter()
        .enumerate()
        .map(|(i, task)| {
            TaskRow::validated(owner, task).map_err(|err| match err {
                Error::Validation { field, reason } => {
                    Error::validation(format!("tasks[{i}].{field}"), reason)
                }
                other => other,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    conn.transaction(|conn| {
        let mut created = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(INSERT_CHUNK) {
            created.extend(
                diesel::insert_into(tasks::table)
                    .values(chunk)
                    .returning(Task::as_returning())
                    .get_results(conn)?,
            );
        }
        Ok(created)
    })
}

pub(crate) fn get(conn: &mut PgConnection, owner: &Owner, id: TaskId) -> Result<Task> {
    owned_task(owner, id)
        .select(Task::as_select())
        .get_result(conn)
        .optional()?
        .ok_or(Error::NotFound(Entity::Task))
}

pub(crate) fn list(
    conn: &mut PgConnection,
    owner: &Owner,
    query: &TaskQuery,
) -> Result<Page<Task>> {
    let (statement, limit) = page_statement(owner, query)?;
    let mut items: Vec<Task> = statement.load(conn)?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items
            .last()
            .map(|last| Position::of(last, query.sort).encode())
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

/// The list query exactly as [`list`] runs it (also used by
/// [`crate::explain`]), and the page size. It fetches one row more than the
/// page, to learn whether there is a next page.
pub(crate) fn page_statement(owner: &Owner, query: &TaskQuery) -> Result<(PageStatement, u32)> {
    let limit = page_limit(query)?;
    let statement = list_statement(owner, query)?.limit(i64::from(limit) + 1);
    Ok((statement, limit))
}

fn page_limit(query: &TaskQuery) -> Result<u32> {
    match query.limit {
        Some(0) => Err(Error::validation("limit", "must be at least 1")),
        _ => Ok(query.page_size()),
    }
}

pub(crate) fn count(conn: &mut PgConnection, owner: &Owner, filter: &TaskFilter) -> Result<u64> {
    let n: i64 = filtered(owned_by(owner), filter)?
        .count()
        .get_result(conn)?;
    Ok(n.unsigned_abs())
}

/// The list query without its LIMIT: filter, keyset position and order.
fn list_statement(owner: &Owner, query: &TaskQuery) -> Result<ListStatement> {
    let mut statement = filtered(owned_by(owner), &query.filter)?;
    if let Some(cursor) = &query.after {
        let position = Position::decode(cursor)?;
        if position.sort != query.sort {
            return Err(Error::validation(
                "cursor",
                "belongs to a list with another sort order",
            ));
        }
        statement = statement.filter(after_position(&position));
    }
    Ok(ordered(statement, query.sort).select(Task::as_select()))
}

fn filtered(mut q: BoxedTasks<'static>, filter: &TaskFilter) -> Result<BoxedTasks<'static>> {
    match filter.status {
        StatusFilter::All => {}
        StatusFilter::Open => q = q.filter(tasks::completed.eq(false)),
        StatusFilter::Done => q = q.filter(tasks::completed.eq(true)),
    }
    if let (Some(min), Some(max)) = (filter.priority_min, filter.priority_max) {
        if min > max {
            return Err(Error::validation(
                "priority",
                format!("range is empty: minimum {min} is above maximum {max}"),
            ));
        }
    }
    if let Some(min) = filter.priority_min {
        q = q.filter(tasks::priority.ge(min));
    }
    if let Some(max) = filter.priority_max {
        q = q.filter(tasks::priority.le(max));
    }
    if let Some(text) = &filter.search {
        let text = validate::line("search", text, MAX_SEARCH_CHARS)?;
        let pattern = format!("%{}%", escape_like(text));
        q = q.filter(
            tasks::title
                .ilike(pattern.clone())
                .or(tasks::description.ilike(pattern)),
        );
    }
    if let (Some(from), Some(before)) = (filter.due_from, filter.due_before) {
        if from >= before {
            return Err(Error::validation("due", "range is empty"));
        }
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

/// LIKE treats `%`, `_` and `\` specially; a search for them means the characters.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The SQL expression of a sort key. These match the list indexes of the
/// migrations exactly, which is what lets PostgreSQL read an index in order.
fn key_sql(key: SortKey) -> &'static str {
    match key {
        SortKey::Created => "tasks.created_at",
        SortKey::Updated => "tasks.updated_at",
        SortKey::Priority => "tasks.priority",
        SortKey::Due => "COALESCE(tasks.due_at, 'infinity'::timestamptz)",
        SortKey::Title => "lower(tasks.title)",
    }
}

fn ordered(q: BoxedTasks<'static>, sort: crate::TaskSort) -> BoxedTasks<'static> {
    let key = sql::<Text>(key_sql(sort.key));
    match sort.order {
        SortOrder::Asc => q.order_by(key.asc()).then_order_by(tasks::id.asc()),
        SortOrder::Desc => q.order_by(key.desc()).then_order_by(tasks::id.desc()),
    }
}

/// `(key, id) > (cursor key, cursor id)` (or `<` when descending): a row
/// comparison that PostgreSQL turns into an index range, so a deep page costs
/// the same as the first.
fn after_position(
    position: &Position,
) -> Box<dyn BoxableExpression<tasks::table, Pg, SqlType = Bool>> {
    let op = match position.sort.order {
        SortOrder::Asc => ">",
        SortOrder::Desc => "<",
    };
    let lhs = sql::<Bool>(&format!(
        "({}, tasks.id) {op} (",
        key_sql(position.sort.key)
    ));
    let id = position.id;
    match &position.key {
        KeyValue::Time(t) => Box::new(
            lhs.bind::<Timestamptz, _>(*t)
                .sql(", ")
                .bind::<diesel::sql_types::Uuid, _>(id)
                .sql(")"),
        ),
        KeyValue::Priority(p) => Box::new(
            lhs.bind::<SmallInt, _>(p.get())
                .sql(", ")
                .bind::<diesel::sql_types::Uuid, _>(id)
                .sql(")"),
        ),
        KeyValue::Due(due) => Box::new(
            lhs.sql("COALESCE(")
                .bind::<Nullable<Timestamptz>, _>(*due)
                .sql(", 'infinity'::timestamptz), ")
                .bind::<diesel::sql_types::Uuid, _>(id)
                .sql(")"),
        ),
        KeyValue::Title(title) => Box::new(
            lhs.sql("lower(")
                .bind::<Text, _>(title.clone())
                .sql("), ")
                .bind::<diesel::sql_types::Uuid, _>(id)
                .sql(")"),
        ),
    }
}

pub(crate) fn update(
    conn: &mut PgConnection,
    owner: &Owner,
    id: TaskId,
    patch: &TaskPatch,
    check: VersionCheck,
) -> Result<Task> {
    let changes = TaskChanges::validated(patch)?;
    conn.transaction(|conn| {
        if patch.is_empty() {
            let task = get(conn, owner, id)?;
            check.verify(task.version)?;
            return Ok(task);
        }
        let updated = guarded!(check, owned_task(owner, id), |target| {
            diesel::update(target)
                .set(&changes)
                .returning(Task::as_returning())
                .get_result(conn)
                .optional()?
        });
        match updated {
            Some(task) => Ok(task),
            None => Err(miss(conn, owner, id, check)),
        }
    })
}

pub(crate) fn set_status(
    conn: &mut PgConnection,
    owner: &Owner,
    id: TaskId,
    status: TaskStatus,
    check: VersionCheck,
) -> Result<Task> {
    let done = status == TaskStatus::Done;
    conn.transaction(|conn| {
        // Only rows not yet in the wanted state change, so marking a done task
        // done again is a no-op that keeps its version and completion time.
        let not_yet = owned_task(owner, id).filter(tasks::completed.ne(done));
        let changes = (
            tasks::completed.eq(done),
            tasks::completed_at.eq(sql::<Nullable<Timestamptz>>(if done {
                "now()"
            } else {
                "NULL"
            })),
        );
        let updated = guarded!(check, not_yet, |target| {
            diesel::update(target)
                .set(changes)
                .returning(Task::as_returning())
                .get_result(conn)
                .optional()?
        });
        match updated {
            Some(task) => Ok(task),
            None => {
                let task = get(conn, owner, id)?;
                check.verify(task.version)?;
                Ok(task)
            }
        }
    })
}

pub(crate) fn delete(
    conn: &mut PgConnection,
    owner: &Owner,
    id: TaskId,
    check: VersionCheck,
) -> Result<()> {
    conn.transaction(|conn| {
        let deleted = guarded!(check, owned_task(owner, id), |target| {
            diesel::delete(target).execute(conn)?
        });
        match deleted {
            0 => Err(miss(conn, owner, id, check)),
            _ => Ok(()),
        }
    })
}

pub(crate) fn delete_many(conn: &mut PgConnection, owner: &Owner, ids: &[TaskId]) -> Result<u64> {
    let deleted = diesel::delete(owned(owner).filter(tasks::id.eq_any(ids))).execute(conn)?;
    Ok(deleted as u64)
}

/// Why a guarded write touched no row: the task is not the owner's (NotFound),
/// or it is at another version (Conflict).
fn miss(conn: &mut PgConnection, owner: &Owner, id: TaskId, check: VersionCheck) -> Error {
    let current = owned_task(owner, id)
        .select(tasks::version)
        .get_result::<i32>(conn)
        .optional();
    match current {
        // The version moved between the write and this read: someone else wrote.
        Ok(Some(actual)) => check
            .verify(actual)
            .err()
            .unwrap_or(Error::Conflict(ConflictKind::ConcurrentUpdate)),
        Ok(None) => Error::NotFound(Entity::Task),
        Err(err) => err.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like(r"50%_off\now"), r"50\%\_off\\now");
    }
}
