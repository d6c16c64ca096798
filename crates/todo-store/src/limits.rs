//! How many tasks one account may have.
//!
//! The database enforces the limit, in the same trigger that keeps each
//! user's task counts (migration `task_counts`): a statement that would leave
//! an owner with more tasks than their limit fails as a whole, whoever sends
//! it (the repositories, a downstream crate's own `INSERT`, psql, an import),
//! with [`Error::TaskLimitReached`]. A bulk create that would cross it
//! writes none of its tasks. The check sees every task committed before it:
//! concurrent creates of one owner take turns on the owner's row of counts.
//!
//! Every account has the deployment's limit ([`DEFAULT_TASK_LIMIT`] unless
//! set with [`set_default_task_limit`]), or one of its own
//! ([`set_task_limit`]). Lowering a limit below what an account already has
//! deletes nothing: the account can delete, update and complete tasks, and
//! create again once it is under the limit.
//!
//! The functions here are for operators: changing a limit needs the tables'
//! owner (the role that ran the migrations) or a role that bypasses
//! row-level security; the application role may only read.
//!
//! ```no_run
//! # fn main() -> Result<(), todo_store::Error> {
//! use todo_store::{UserRepo, limits};
//!
//! let mut admin = todo_store::StoreConfig::from_env()?.establish()?;
//! limits::set_default_task_limit(&mut admin, 20_000)?;
//! let user = admin.find_user_by_email("ada@example.com")?.expect("an account");
//! limits::set_task_limit(&mut admin, user.id, Some(100_000))?;
//! let limit = limits::task_limit(&mut admin, user.id)?;
//! assert_eq!(limit.limit, 100_000);
//! # Ok(()) }
//! ```

use diesel::{
    PgConnection, QueryableByName,
    prelude::*,
    sql_types::{Integer, Nullable, Uuid},
    upsert::excluded,
};
use serde::Serialize;

use crate::{
    Entity, Error, Result, UserId,
    schema::{store_settings, task_counts},
};

/// The limit of every account until an operator sets another
/// ([`set_default_task_limit`]): the product's "up to 10,000 tasks per user".
pub const DEFAULT_TASK_LIMIT: u32 = 10_000;

/// The largest limit the database stores (an `integer`).
const MAX_LIMIT: u32 = i32::MAX as u32;

/// One account's tasks and limit ([`task_limit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TaskLimit {
    /// The account.
    pub user: UserId,
    /// How many tasks it has now.
    pub tasks: u64,
    /// How many it may have: its own limit, or else the deployment's.
    pub limit: u32,
    /// Its own limit, if an operator set one ([`set_task_limit`]).
    pub own_limit: Option<u32>,
}

/// The deployment's limit: that of every account without one of its own.
///
/// # Errors
/// A database error (for instance, the migrations have not run).
pub fn default_task_limit(conn: &mut PgConnection) -> Result<u32> {
    let limit: i32 = store_settings::table
        .select(store_settings::max_tasks_per_user)
        .get_result(conn)?;
    Ok(limit.unsigned_abs())
}

/// Sets the deployment's limit (for every account without one of its own).
///
/// # Errors
/// [`Error::Validation`] on `max_tasks` above 2,147,483,647; a database
/// error if the role may not change it.
pub fn set_default_task_limit(conn: &mut PgConnection, limit: u32) -> Result<()> {
    let limit = stored(limit)?;
    // The row cannot be deleted (a trigger refuses), but a role that may
    // not see it updates nothing: that is not a success.
    match diesel::update(store_settings::table)
        .set(store_settings::max_tasks_per_user.eq(limit))
        .execute(conn)?
    {
        1 => Ok(()),
        _ => Err(Error::Database(
            "store_settings has no row to update".into(),
        )),
    }
}

/// Gives the account `user` a limit of its own, or with `None` takes it
/// back to the deployment's.
///
/// # Errors
/// [`Error::NotFound`] if there is no such account; [`Error::Validation`]
/// on `max_tasks` above 2,147,483,647; a database error if the role may not
/// change it.
pub fn set_task_limit(conn: &mut PgConnection, user: UserId, limit: Option<u32>) -> Result<()> {
    let limit = limit.map(stored).transpose()?;
    // The account's row of counts exists once it has had a task; before,
    // it starts here with none.
    diesel::insert_into(task_counts::table)
        .values((
            task_counts::user_id.eq(user),
            task_counts::max_tasks.eq(limit),
        ))
        .on_conflict(task_counts::user_id)
        .do_update()
        .set(task_counts::max_tasks.eq(excluded(task_counts::max_tasks)))
        .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct LimitRow {
    #[diesel(sql_type = Integer)]
    tasks: i32,
    #[diesel(sql_type = Integer)]
    max_tasks: i32,
    #[diesel(sql_type = Nullable<Integer>)]
    own_limit: Option<i32>,
}

/// The account's tasks and limit.
///
/// # Errors
/// [`Error::NotFound`] if there is no such account; a database error.
pub fn task_limit(conn: &mut PgConnection, user: UserId) -> Result<TaskLimit> {
    let row: Option<LimitRow> = diesel::sql_query(
        "SELECT COALESCE(c.total, 0) AS tasks,
                COALESCE(c.max_tasks, s.max_tasks_per_user) AS max_tasks,
                c.max_tasks AS own_limit
           FROM users u
          CROSS JOIN store_settings s
           LEFT JOIN task_counts c ON c.user_id = u.id
          WHERE u.id = $1",
    )
    .bind::<Uuid, _>(user)
    .get_result(conn)
    .optional()?;
    let row = row.ok_or(Error::NotFound(Entity::User))?;
    Ok(TaskLimit {
        user,
        tasks: u64::from(row.tasks.unsigned_abs()),
        limit: row.max_tasks.unsigned_abs(),
        own_limit: row.own_limit.map(i32::unsigned_abs),
    })
}

fn stored(limit: u32) -> Result<i32> {
    i32::try_from(limit)
        .map_err(|_| Error::validation("max_tasks", format!("must be at most {MAX_LIMIT}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_beyond_an_integer_are_refused() {
        assert_eq!(stored(MAX_LIMIT).ok(), Some(i32::MAX));
        assert!(matches!(
            stored(MAX_LIMIT + 1),
            Err(Error::Validation { field, .. }) if field == "max_tasks"
        ));
    }
}
