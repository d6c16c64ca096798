//! Better Auth in the same database: its `"user"` table as the parent of
//! this library's accounts, so that deleting a user in Better Auth deletes
//! their account here and, through the existing cascade, all their tasks.
//!
//! The link is a foreign key from `users.auth_subject` to `"user"(id)`
//! with `ON DELETE CASCADE`, added by [`link_better_auth`] and removed by
//! [`unlink_better_auth`]. It is not a migration: the migrations must run
//! on databases without Better Auth too. Accounts without an auth subject
//! (email and password accounts of this library) are not affected.

use diesel::{
    Connection, PgConnection, QueryableByName, RunQueryDsl, connection::SimpleConnection,
    sql_query, sql_types::BigInt,
};
use serde::Serialize;

use crate::{Error, Result};

/// The foreign key's name; [`Error`] mapping knows it.
pub const BETTER_AUTH_LINK: &str = "users_auth_subject_better_auth_fkey";

/// What [`link_better_auth`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BetterAuthLink {
    /// Whether the link was added now (`false`: it was already there).
    pub added: bool,
    /// Accounts linked to a Better Auth user when the link was checked.
    pub linked_accounts: i64,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut PgConnection, sql: &str) -> Result<i64> {
    Ok(sql_query(sql).get_result::<Count>(conn)?.n)
}

/// Makes `users.auth_subject` a foreign key to Better Auth's `"user"(id)`,
/// `ON DELETE CASCADE`, in one transaction. Running it again changes
/// nothing. Run it as the tables' owner, after the migrations and after
/// Better Auth's own (`"user"` must exist, on the search path, with a
/// `text` primary key `id`).
///
/// ```no_run
/// # fn main() -> Result<(), todo_store::Error> {
/// let mut admin = todo_store::StoreConfig::from_env()?.establish()?;
/// let link = todo_store::link_better_auth(&mut admin)?;
/// println!("{} accounts follow their Better Auth user", link.linked_accounts);
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::Validation`] on `better_auth` if there is no such `"user"`
/// table, or if some accounts carry an auth subject that `"user"` does not
/// hold (the message says how many; nothing is changed); a database error
/// otherwise (e.g. not the tables' owner).
pub fn link_better_auth(conn: &mut PgConnection) -> Result<BetterAuthLink> {
    conn.transaction(|conn| {
        check_user_table(conn)?;
        let linked_accounts = count(
            conn,
            "SELECT count(*) AS n FROM users WHERE auth_subject IS NOT NULL",
        )?;
        if has_link(conn)? {
            return Ok(BetterAuthLink {
                added: false,
                linked_accounts,
            });
        }
        // Hold off writers of either table while checking and adding, so
        // that no account appears between the check and the constraint.
        conn.batch_execute(r#"LOCK TABLE users, "user" IN SHARE ROW EXCLUSIVE MODE"#)?;
        let strays = count(
            conn,
            r#"SELECT count(*) AS n FROM users u
               WHERE u.auth_subject IS NOT NULL
                 AND NOT EXISTS (SELECT 1 FROM "user" b WHERE b.id = u.auth_subject)"#,
        )?;
        if strays > 0 {
            return Err(Error::validation(
                "better_auth",
                format!(
                    "{strays} accounts have an auth subject that Better Auth's \"user\" table \
                     does not hold; delete them or correct their subject first"
                ),
            ));
        }
        conn.batch_execute(&format!(
            r#"ALTER TABLE users ADD CONSTRAINT {BETTER_AUTH_LINK}
               FOREIGN KEY (auth_subject) REFERENCES "user"(id) ON DELETE CASCADE"#
        ))?;
        Ok(BetterAuthLink {
            added: true,
            linked_accounts,
        })
    })
}

/// Removes the link [`link_better_auth`] made; `false` if there was none.
/// Accounts and tasks stay; deleting a Better Auth user no longer touches
/// them.
///
/// # Errors
/// A database error (e.g. not the tables' owner).
pub fn unlink_better_auth(conn: &mut PgConnection) -> Result<bool> {
    conn.transaction(|conn| {
        if !has_link(conn)? {
            return Ok(false);
        }
        conn.batch_execute(&format!(
            "ALTER TABLE users DROP CONSTRAINT {BETTER_AUTH_LINK}"
        ))?;
        Ok(true)
    })
}

fn has_link(conn: &mut PgConnection) -> Result<bool> {
    let n = count(
        conn,
        &format!(
            "SELECT count(*) AS n FROM pg_constraint
             WHERE conrelid = 'users'::regclass AND conname = '{BETTER_AUTH_LINK}'"
        ),
    )?;
    Ok(n > 0)
}

/// `"user"` exists on the search path with a `text` primary key `id`.
fn check_user_table(conn: &mut PgConnection) -> Result<()> {
    let n = count(
        conn,
        r#"SELECT count(*) AS n
           FROM pg_index i
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
           WHERE i.indrelid = to_regclass('"user"')
             AND i.indisprimary AND i.indnatts = 1
             AND a.attname = 'id' AND a.atttypid = 'text'::regtype"#,
    )?;
    if n == 1 {
        Ok(())
    } else {
        Err(Error::validation(
            "better_auth",
            "no Better Auth \"user\" table (with a text primary key id) on this database's \
             search path: run Better Auth's migrations first",
        ))
    }
}
