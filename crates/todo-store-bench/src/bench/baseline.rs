//! The writes without history (`--without-history-url`): a second database
//! seeded like the measured one, whose history triggers are disabled, so
//! that the write shapes can be measured with and without them in one run.
//!
//! The benchmark changes no schema: it checks that the triggers are enabled
//! on the measured database and disabled on the other, and that both hold
//! the same accounts and tasks, and refuses to compare otherwise.

use diesel::{PgConnection, QueryableByName, RunQueryDsl, sql_query, sql_types};
use todo_store::{DatabaseUrl, Entity, Error, OperatorRepo, Owner, UserRepo};

/// The triggers on `tasks` that record the history (the migration
/// `task_history`).
const HISTORY_TRIGGERS: [&str; 3] = [
    "tasks_history_insert",
    "tasks_history_update",
    "tasks_history_delete",
];

/// What the comparison database needs done first.
const DISABLE: &str = "ALTER TABLE tasks DISABLE TRIGGER tasks_history_insert, \
                       DISABLE TRIGGER tasks_history_update, DISABLE TRIGGER tasks_history_delete";

#[derive(QueryableByName)]
struct Triggers {
    #[diesel(sql_type = sql_types::BigInt)]
    enabled: i64,
    #[diesel(sql_type = sql_types::BigInt)]
    disabled: i64,
}

#[derive(QueryableByName)]
struct Size {
    #[diesel(sql_type = sql_types::BigInt)]
    users: i64,
    #[diesel(sql_type = sql_types::BigInt)]
    tasks: i64,
}

/// The state of the history triggers: how many are enabled and disabled
/// (for any session: `tgenabled` other than `D`).
fn triggers(conn: &mut PgConnection) -> Result<(usize, usize), Error> {
    let names: Vec<String> = HISTORY_TRIGGERS.iter().map(|&n| n.to_owned()).collect();
    let state: Triggers = sql_query(
        "SELECT count(*) FILTER (WHERE tgenabled <> 'D') AS enabled,
                count(*) FILTER (WHERE tgenabled = 'D') AS disabled
           FROM pg_trigger
          WHERE tgrelid = 'tasks'::regclass AND tgname = ANY($1)",
    )
    .bind::<sql_types::Array<sql_types::Text>, _>(names)
    .get_result(conn)?;
    Ok((
        state.enabled.unsigned_abs() as usize,
        state.disabled.unsigned_abs() as usize,
    ))
}

/// How many accounts and tasks the database holds.
///
/// # Errors
/// The library's error.
pub fn size(conn: &mut PgConnection) -> Result<(u64, u64), Error> {
    let size: Size = sql_query(
        "SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM tasks) AS tasks",
    )
    .get_result(conn)?;
    Ok((size.users.unsigned_abs(), size.tasks.unsigned_abs()))
}

/// Checks that `measured` records history and `other` (at `url`) does not,
/// and that both hold the same number of accounts and tasks; then finds, in
/// `other`, the accounts of `owners` (by email).
///
/// # Errors
/// A validation failure naming what to do if the two databases cannot be
/// compared; the library's error.
pub fn owners(
    measured: &mut PgConnection,
    other: &mut PgConnection,
    owners: &[Owner],
) -> Result<Vec<Owner>, Error> {
    let all = HISTORY_TRIGGERS.len();
    if triggers(measured)? != (all, 0) {
        return Err(Error::validation(
            "database_url",
            "its history triggers are not all enabled: there is nothing to compare",
        ));
    }
    if triggers(other)? != (0, all) {
        return Err(Error::validation(
            "without_history_url",
            format!("its history triggers must be disabled first: {DISABLE}"),
        ));
    }
    let (ours, theirs) = (size(measured)?, size(other)?);
    if ours != theirs {
        return Err(Error::validation(
            "without_history_url",
            format!(
                "is not seeded like --database-url: {} users and {} tasks there, {} and {} here",
                theirs.0, theirs.1, ours.0, ours.1
            ),
        ));
    }
    owners
        .iter()
        .map(|owner| {
            let email = measured.get_user(owner.user_id())?.email;
            other.operator_owner(&email).map_err(|err| match err {
                Error::NotFound(Entity::User) => Error::validation(
                    "without_history_url",
                    format!("holds no account {email}: seed it as --database-url was seeded"),
                ),
                err => err,
            })
        })
        .collect()
}

/// The URL's connection, as for the measured database.
pub fn connect(url: &DatabaseUrl) -> Result<PgConnection, Error> {
    super::config(url)?.establish()
}
