//! Opening the one connection a command uses.
//!
//! A single `PgConnection` rather than the pooled `Store`: a CLI run makes a
//! handful of calls in sequence. Both repositories are implemented for
//! `PgConnection`, so the commands run the same library code either way.

use diesel::PgConnection;
use todo_store::{DatabaseUrl, Error, StoreConfig};

/// The library's defaults for `url`, with the settings the environment
/// gives (`TODO_STORE_STATEMENT_CACHE=off` behind an old PgBouncer).
///
/// # Errors
/// [`Error::Validation`] for an unreadable setting.
pub fn config(url: &DatabaseUrl) -> Result<StoreConfig, Error> {
    StoreConfig::new(url.expose()).settings_from_env()
}

/// Connects to `url` with [`config`].
///
/// # Errors
/// [`Error::Unavailable`] if the server cannot be reached in time,
/// [`Error::Misconfigured`] if it refuses the login or has no such database.
pub fn connect(url: &DatabaseUrl) -> Result<PgConnection, Error> {
    config(url)?.establish()
}

/// The database name in `url`, percent-decoded as libpq decodes it.
///
/// # Errors
/// [`Error::Validation`] on `database_url` if the URL names no database.
pub fn database_name(url: &DatabaseUrl) -> Result<String, Error> {
    url.database()
        .filter(|name| !name.contains('\0'))
        .ok_or_else(|| {
            Error::validation(
                "database_url",
                "must name a database, like postgres://host/todo_store",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_percent_decoded() {
        let name = |raw: &str| database_name(&DatabaseUrl::new(raw));
        assert_eq!(
            name("postgres://h/todo_store?sslmode=require").as_deref(),
            Ok("todo_store")
        );
        assert_eq!(name("postgres://h/my%20db").as_deref(), Ok("my db"));
        assert!(name("postgres://h").is_err());
        assert!(name("postgres://h/bad%zz").is_err());
    }
}
