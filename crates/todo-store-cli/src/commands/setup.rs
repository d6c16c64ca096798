//! `setup`: create the database if it is missing, then migrate it.

use diesel::{
    PgConnection, RunQueryDsl,
    connection::SimpleConnection,
    dsl::sql,
    sql_types::{Bool, Text},
};
use serde::Serialize;
use todo_store::{
    AppRole, BetterAuthLink, DatabaseUrl, Error, link_better_auth, run_migrations, setup_app_role,
    unlink_better_auth,
};

use todo_store_cmd::Failure;

use crate::{
    args::SetupArgs,
    commands::migrate::applied_text,
    db,
    output::{Format, Report},
};

/// What `setup` did.
#[derive(Debug, Serialize)]
pub struct SetupReport {
    /// The database's name.
    pub database: String,
    /// Its URL, password redacted.
    pub url: String,
    /// Whether it had to be created.
    pub created: bool,
    /// The migrations applied now (empty if the schema was up to date).
    pub applied: Vec<String>,
    /// The application role, if `--app-role` asked for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_role: Option<AppRole>,
    /// The link to Better Auth, if `--better-auth` asked for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub better_auth: Option<BetterAuthLink>,
    /// Whether `--unlink-better-auth` removed a link (`None`: not asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub better_auth_unlinked: Option<bool>,
}

impl Report for SetupReport {
    fn text(&self) -> String {
        let mut text = if self.created {
            format!("Created database {} ({}).\n", self.database, self.url)
        } else {
            format!(
                "Database {} ({}) already exists.\n",
                self.database, self.url
            )
        };
        text.push_str(&applied_text(&self.applied));
        if let Some(role) = &self.app_role {
            text.push_str(&format!(
                "{} application role {}: it may read and write users and tasks, under row-level security.\n",
                if role.created { "Created" } else { "Granted again the" },
                role.name
            ));
        }
        if let Some(link) = &self.better_auth {
            text.push_str(&format!(
                "{} accounts to Better Auth's \"user\" table ({} linked now): deleting a user there deletes their account and tasks here.\n",
                if link.added { "Linked" } else { "Already linked" },
                link.linked_accounts
            ));
        }
        match self.better_auth_unlinked {
            Some(true) => text.push_str("Removed the link to Better Auth's \"user\" table.\n"),
            Some(false) => text.push_str("There was no link to Better Auth's \"user\" table.\n"),
            None => {}
        }
        text
    }
}

/// Runs `setup`.
///
/// # Errors
/// [`Error::Unavailable`] if the server cannot be reached; a database error if
/// the database cannot be created or migrated, or the role not set up;
/// [`Error::Validation`] for a role name that is not a plain identifier or a
/// role that would bypass row-level security.
pub fn run(args: &SetupArgs, url: &DatabaseUrl, format: Format) -> Result<(), Failure> {
    let (mut conn, mut report) = prepare(url)?;
    if let Some(name) = &args.app_role {
        report.app_role = Some(setup_app_role(&mut conn, name)?);
    }
    if args.better_auth {
        report.better_auth = Some(link_better_auth(&mut conn)?);
    }
    if args.unlink_better_auth {
        report.better_auth_unlinked = Some(unlink_better_auth(&mut conn)?);
    }
    format.print(&report)
}

/// Does what `setup` does and keeps the connection, for `demo`.
///
/// # Errors
/// As [`run`].
pub fn prepare(url: &DatabaseUrl) -> Result<(PgConnection, SetupReport), Failure> {
    let database = db::database_name(url)?;
    let (mut conn, created) = connect_or_create(url, &database)?;
    let applied = run_migrations(&mut conn)?;
    Ok((
        conn,
        SetupReport {
            database,
            // `DatabaseUrl`'s `Display` redacts the password.
            url: url.to_string(),
            created,
            applied,
            app_role: None,
            better_auth: None,
            better_auth_unlinked: None,
        },
    ))
}

/// A connection to the database of `url`, created first if it does not exist.
/// The second value tells whether it was created.
fn connect_or_create(url: &DatabaseUrl, database: &str) -> Result<(PgConnection, bool), Error> {
    // Connecting first means an existing database needs no access to the
    // `postgres` maintenance database (managed services may not grant it).
    let first_error = match db::connect(url) {
        Ok(conn) => return Ok((conn, false)),
        Err(err) => err,
    };
    let Ok(mut admin) = db::connect(&url.with_database("postgres")?) else {
        // The server is out of reach (or refuses this login): the first error
        // says why as well as any.
        return Err(first_error);
    };
    if database_exists(&mut admin, database)? {
        // It exists, so the first failure had another cause.
        return Err(first_error);
    }
    let created = create_database(&mut admin, database)?;
    Ok((db::connect(url)?, created))
}

fn database_exists(admin: &mut PgConnection, name: &str) -> Result<bool, Error> {
    let exists = sql::<Bool>("EXISTS (SELECT 1 FROM pg_database WHERE datname = ")
        .bind::<Text, _>(name)
        .sql(")");
    Ok(diesel::select(exists).get_result(admin)?)
}

/// Creates the database; `false` if someone else created it meanwhile.
fn create_database(admin: &mut PgConnection, name: &str) -> Result<bool, Error> {
    // CREATE DATABASE takes no bind parameters: quote the identifier instead.
    let statement = format!("CREATE DATABASE {}", quote_identifier(name));
    match admin.batch_execute(&statement) {
        Ok(()) => Ok(true),
        Err(err) => {
            if database_exists(admin, name)? {
                Ok(false)
            } else {
                Err(err.into())
            }
        }
    }
}

/// `name` as a double-quoted SQL identifier.
fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::quote_identifier;

    #[test]
    fn identifiers_are_quoted_with_quotes_doubled() {
        assert_eq!(quote_identifier("todo_store"), "\"todo_store\"");
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
    }
}
