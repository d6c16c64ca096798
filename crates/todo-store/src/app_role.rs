//! The application role: the PostgreSQL role a service should connect as, so
//! that row-level security holds it to one owner's rows per call.

use diesel::{
    Connection, OptionalExtension, PgConnection, QueryableByName, RunQueryDsl,
    connection::SimpleConnection,
    sql_query,
    sql_types::{Bool, Text},
};
use serde::Serialize;

use crate::{Error, Result};

/// What [`setup_app_role`] found and did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AppRole {
    /// The role's name.
    pub name: String,
    /// Whether it was created now (`false`: it existed and was granted again).
    pub created: bool,
}

#[derive(QueryableByName)]
struct Existing {
    #[diesel(sql_type = Bool)]
    rolsuper: bool,
    #[diesel(sql_type = Bool)]
    rolbypassrls: bool,
    #[diesel(sql_type = Bool)]
    owns_tables: bool,
}

/// Creates (if missing) the role `name` that an application connects as, and
/// grants it exactly what the library needs on the current database: connect,
/// use the schema, `SELECT, INSERT, UPDATE, DELETE` on `users` and `tasks`,
/// and `SELECT` on what only the database's triggers (and the operator)
/// write: the history (`task_history`, `task_sync_state`), the task counts
/// and limits (`task_counts`, `store_settings`). Nothing else: it cannot
/// change the schema, the history, the counts or a limit, and row-level
/// security applies to it.
///
/// A new role is `LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE`,
/// without a password: set one with psql's `\password NAME` (which hashes it
/// on the client, so the password never reaches the server's statement log)
/// or in Neon's console. Run it as the tables' owner, after the migrations;
/// running it again is harmless (it grants again).
///
/// ```no_run
/// # fn main() -> Result<(), todo_store::Error> {
/// let mut admin = todo_store::StoreConfig::from_env()?.establish()?;
/// todo_store::run_migrations(&mut admin)?;
/// let role = todo_store::setup_app_role(&mut admin, "todo_app")?;
/// println!("connect the service as {}", role.name);
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::Validation`] on `app_role` if the name is not a plain lower-case
/// identifier (`[a-z_][a-z0-9_]*`, at most 63 bytes), or if an existing role
/// of that name would defeat row-level security: a superuser, a `BYPASSRLS`
/// role, or the owner of the tables. A database error if the connecting role
/// may not create roles or grant.
pub fn setup_app_role(conn: &mut PgConnection, name: &str) -> Result<AppRole> {
    validate_name(name)?;
    let existing = sql_query(
        "SELECT rolsuper, rolbypassrls,
                EXISTS (SELECT 1 FROM pg_class c
                        WHERE c.relowner = r.oid AND c.oid IN ('users'::regclass, 'tasks'::regclass)
                ) AS owns_tables
         FROM pg_roles r WHERE rolname = $1",
    )
    .bind::<Text, _>(name)
    .get_result::<Existing>(conn)
    .optional()?;
    if let Some(role) = &existing {
        let why = if role.rolsuper {
            Some("is a superuser")
        } else if role.rolbypassrls {
            Some("has BYPASSRLS")
        } else if role.owns_tables {
            Some("owns the tables")
        } else {
            None
        };
        if let Some(why) = why {
            return Err(Error::validation(
                "app_role",
                format!("role {name} {why}, so row-level security would not hold it"),
            ));
        }
    }
    let create = if existing.is_none() {
        format!("CREATE ROLE {name} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;")
    } else {
        String::new()
    };
    // `name` is a validated plain identifier, safe to write unquoted. In a
    // transaction (a savepoint inside the caller's): all of it or nothing.
    let grants = format!(
        "{create}
         DO $grant$ BEGIN
             EXECUTE format('GRANT CONNECT ON DATABASE %I TO {name}', current_database());
         END $grant$;
         GRANT USAGE ON SCHEMA public TO {name};
         GRANT SELECT, INSERT, UPDATE, DELETE ON users, tasks TO {name};
         GRANT SELECT ON task_history, task_sync_state, task_counts, store_settings TO {name};"
    );
    conn.transaction(|conn| conn.batch_execute(&grants))?;
    Ok(AppRole {
        name: name.to_owned(),
        created: existing.is_none(),
    })
}

fn validate_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let plain = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !plain || name.len() > 63 {
        return Err(Error::validation(
            "app_role",
            "must be a lower-case identifier: a-z, 0-9 and _, not starting with a digit, at most 63 characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_lower_case_identifiers_are_role_names() {
        for good in ["todo_app", "_x", "app2"] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "2app",
            "Todo",
            "todo-app",
            "a b",
            "x;drop",
            "\"q\"",
            &"a".repeat(64),
        ] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }
}
