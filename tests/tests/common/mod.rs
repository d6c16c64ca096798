//! Helpers shared by the integration tests: users and owners, raw-SQL access
//! that bypasses the library, whole-table snapshots, and error assertions.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code, unused_macros, clippy::unwrap_used)]

use std::fmt::Debug;

use diesel::{
    PgConnection, QueryableByName, RunQueryDsl,
    result::{DatabaseErrorKind, Error as DieselError},
    sql_query,
    sql_types::{BigInt, Text},
};
use todo_store::{Error, NewUser, OperatorRepo, Owner, Result, TaskId, TaskRepo, User, UserRepo};
#[allow(unused_imports)]
pub use todo_store_tests::unique_email;
use uuid::Uuid;

/// Both repository traits, so that a scenario can take either implementation.
pub trait Repo: TaskRepo + UserRepo + OperatorRepo {}
impl<T: TaskRepo + UserRepo + OperatorRepo> Repo for T {}

/// Runs each named scenario `fn name(repo: &mut impl Repo, db: &TestDb)` three
/// times, as `via_store::name` (pool-backed `Store`), `via_async_store::name`
/// (the `AsyncStore`, see `blocking_async`) and `via_connection::name` (a
/// plain `PgConnection`), each on a fresh database.
macro_rules! on_both_repos {
    ($($scenario:ident),* $(,)?) => {
        mod via_store {
            $(
                #[test]
                fn $scenario() {
                    let db = ::todo_store_tests::TestDb::new();
                    let mut store = db.store();
                    super::$scenario(&mut store, &db);
                }
            )*
        }
        mod via_async_store {
            $(
                #[test]
                fn $scenario() {
                    let db = ::todo_store_tests::TestDb::new();
                    let mut store =
                        ::todo_store_tests::blocking_async::BlockingAsync::connect(&db.config());
                    super::$scenario(&mut store, &db);
                }
            )*
        }
        mod via_connection {
            $(
                #[test]
                fn $scenario() {
                    let db = ::todo_store_tests::TestDb::new();
                    let mut conn = db.conn();
                    super::$scenario(&mut conn, &db);
                }
            )*
        }
    };
}

/// A new account (no password) with a unique email, and its owner.
pub fn new_user<R: UserRepo + OperatorRepo + ?Sized>(repo: &mut R, name: &str) -> (User, Owner) {
    let user = repo.create_user(NewUser::new(unique_email(name))).unwrap();
    let owner = repo.operator_owner(&user.email).unwrap();
    assert_eq!(owner.user_id(), user.id);
    (user, owner)
}

/// An id no task has.
pub fn random_task_id() -> TaskId {
    TaskId::new_v7()
}

/// The error the repository gives for a task id that exists nowhere.
pub fn missing_task_error<R: TaskRepo + ?Sized>(repo: &mut R, owner: &Owner) -> Error {
    repo.get_task(owner, random_task_id()).unwrap_err()
}

/// Fails unless `result` is a [`Error::Validation`] on exactly `field`.
#[track_caller]
pub fn assert_validation<T: Debug>(result: Result<T>, field: &str) {
    match result {
        Err(Error::Validation { field: actual, .. }) if actual == field => {}
        other => panic!("expected a validation error on {field:?}, got {other:?}"),
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The result of a `SELECT count(*) AS n ...` statement.
pub fn count_sql(conn: &mut PgConnection, sql: &str) -> i64 {
    sql_query(sql).get_result::<Count>(conn).unwrap().n
}

/// How many rows `table` has.
pub fn count_rows(conn: &mut PgConnection, table: &str) -> i64 {
    count_sql(conn, &format!("SELECT count(*) AS n FROM {table}"))
}

/// How many tasks the user `user_id` has, read directly from the table.
pub fn count_tasks_of(conn: &mut PgConnection, user_id: Uuid) -> i64 {
    sql_query("SELECT count(*) AS n FROM tasks WHERE user_id = $1")
        .bind::<diesel::sql_types::Uuid, _>(user_id)
        .get_result::<Count>(conn)
        .unwrap()
        .n
}

#[derive(QueryableByName)]
struct Dump {
    #[diesel(sql_type = Text)]
    rows: String,
}

/// Every row of `table`, every column, as JSON text in a stable order:
/// two equal dumps mean the table did not change.
pub fn dump_table(conn: &mut PgConnection, table: &str) -> String {
    sql_query(format!(
        "SELECT coalesce(json_agg(t ORDER BY t.id)::text, '[]') AS rows FROM {table} t"
    ))
    .get_result::<Dump>(conn)
    .unwrap()
    .rows
}

/// Both tables, as [`dump_table`].
pub fn dump_db(conn: &mut PgConnection) -> String {
    format!(
        "{}\n{}",
        dump_table(conn, "users"),
        dump_table(conn, "tasks")
    )
}

/// Runs raw SQL, bypassing the library.
pub fn exec(conn: &mut PgConnection, sql: &str) -> std::result::Result<usize, DieselError> {
    sql_query(sql).execute(conn)
}

/// Inserts a user by raw SQL and returns its id.
pub fn raw_user(conn: &mut PgConnection, email: &str) -> Uuid {
    let id = Uuid::now_v7();
    sql_query("INSERT INTO users (id, email) VALUES ($1, $2)")
        .bind::<diesel::sql_types::Uuid, _>(id)
        .bind::<Text, _>(email)
        .execute(conn)
        .unwrap();
    id
}

/// Inserts a task by raw SQL and returns its id.
pub fn raw_task(conn: &mut PgConnection, user_id: Uuid, title: &str) -> Uuid {
    let id = Uuid::now_v7();
    sql_query("INSERT INTO tasks (user_id, id, title) VALUES ($1, $2, $3)")
        .bind::<diesel::sql_types::Uuid, _>(user_id)
        .bind::<diesel::sql_types::Uuid, _>(id)
        .bind::<Text, _>(title)
        .execute(conn)
        .unwrap();
    id
}

/// The kind and constraint name of a database error.
#[track_caller]
pub fn violation(err: &DieselError) -> (DatabaseErrorKind, String) {
    match err {
        DieselError::DatabaseError(kind, info) => {
            (*kind, info.constraint_name().unwrap_or_default().to_owned())
        }
        other => panic!("expected a database error, got {other:?}"),
    }
}

/// Base64url without padding, to hand-craft cursors.
pub fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextets = [(n >> 18) & 63, (n >> 12) & 63, (n >> 6) & 63, n & 63];
        for s in &sextets[..chunk.len() + 1] {
            out.push(char::from(ALPHABET[*s as usize]));
        }
    }
    out
}
