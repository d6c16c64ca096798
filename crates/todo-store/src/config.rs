//! [`StoreConfig`]: where the database is and how to pool connections to it.

use std::{fmt, time::Duration};

use diesel::{Connection, PgConnection, connection::SimpleConnection};

use crate::{Error, Result};

/// Session settings every connection gets, pooled or not.
pub(crate) fn apply_session_settings(
    conn: &mut PgConnection,
    statement_timeout: Option<Duration>,
) -> diesel::QueryResult<()> {
    if let Some(timeout) = statement_timeout {
        conn.batch_execute(&format!("SET statement_timeout = {}", timeout.as_millis()))?;
    }
    Ok(())
}

/// A PostgreSQL connection URL whose password never appears in `Debug` or
/// `Display` output.
///
/// ```
/// use todo_store::DatabaseUrl;
/// let url = DatabaseUrl::new("postgres://ada:s3cret@db.example.com/app?sslmode=require");
/// assert_eq!(url.to_string(), "postgres://ada:***@db.example.com/app?sslmode=require");
/// assert!(!format!("{url:?}").contains("s3cret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL such as `postgres://user:password@host:5432/db?sslmode=require`.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into().trim().to_owned())
    }

    /// The full URL, password included: only for handing to the driver.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The same server, another database (e.g. `postgres`, to create this one).
    ///
    /// # Errors
    /// [`Error::Validation`] on `database_url` if it has no `scheme://` part.
    pub fn with_database(&self, database: &str) -> Result<Self> {
        let (base, query) = split_query(&self.0);
        let authority_end = authority_end(base)?;
        let mut url = format!("{}/{}", &base[..authority_end], database);
        if let Some(query) = query {
            url.push('?');
            url.push_str(query);
        }
        Ok(Self(url))
    }

    /// The database name in the path, percent-decoded as libpq decodes it;
    /// `None` if the URL names none or its escapes are malformed.
    pub fn database(&self) -> Option<String> {
        let (base, _) = split_query(&self.0);
        let end = authority_end(base).ok()?;
        let path = base[end..].trim_start_matches('/');
        percent_decode(path).filter(|name| !name.is_empty())
    }

    /// Adds `key=value` to the query string unless `key` is already there.
    pub(crate) fn with_default_param(&self, key: &str, value: &str) -> Self {
        let (_, query) = split_query(&self.0);
        let present = query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .any(|pair| pair.split('=').next() == Some(key));
        if present {
            return self.clone();
        }
        let separator = if query.is_some() { '&' } else { '?' };
        Self(format!("{}{separator}{key}={value}", self.0))
    }

    fn redacted(&self) -> String {
        let (base, query) = split_query(&self.0);
        let mut out = match base.split_once("://") {
            Some((scheme, rest)) => {
                let authority_len = rest.find('/').unwrap_or(rest.len());
                let (authority, path) = rest.split_at(authority_len);
                match authority.rsplit_once('@') {
                    Some((userinfo, host)) => {
                        let user = userinfo.split(':').next().unwrap_or_default();
                        let hidden = if userinfo.contains(':') { ":***" } else { "" };
                        format!("{scheme}://{user}{hidden}@{host}{path}")
                    }
                    None => base.to_owned(),
                }
            }
            None => "<unparsed connection string>".to_owned(),
        };
        if let Some(query) = query {
            let params: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            out.push('?');
            out.push_str(&params.join("&"));
        }
        out
    }
}

/// `%XX` escapes to bytes; `None` for a malformed escape or non-UTF-8 result.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn split_query(url: &str) -> (&str, Option<&str>) {
    match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    }
}

/// Byte index where the path starts (after `scheme://authority`).
fn authority_end(base: &str) -> Result<usize> {
    let start = base
        .find("://")
        .map(|i| i + 3)
        .ok_or_else(|| Error::validation("database_url", "must look like postgres://host/db"))?;
    Ok(base[start..].find('/').map_or(base.len(), |i| start + i))
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({:?})", self.redacted())
    }
}

/// Connection and pool settings. Defaults suit a local server and Neon alike.
///
/// ```
/// use std::time::Duration;
/// use todo_store::StoreConfig;
/// let config = StoreConfig::new("postgres://localhost/todo_store")
///     .max_connections(4)
///     .statement_timeout(Some(Duration::from_secs(5)));
/// assert_eq!(config.max_connections, 4);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreConfig {
    /// Where the database is.
    pub url: DatabaseUrl,
    /// Most connections the pool opens (default 10).
    pub max_connections: u32,
    /// Idle connections kept ready (default 1).
    pub min_idle: u32,
    /// Longest wait to open a connection, and to check one out of the pool
    /// (default 10 s; a waking Neon compute needs a few seconds).
    pub connect_timeout: Duration,
    /// Longest a single statement may run before the server cancels it
    /// (default 30 s; `None`: the server's setting).
    pub statement_timeout: Option<Duration>,
}

impl StoreConfig {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: DatabaseUrl::new(url),
            max_connections: 10,
            min_idle: 1,
            connect_timeout: Duration::from_secs(10),
            statement_timeout: Some(Duration::from_secs(30)),
        }
    }

    /// Defaults for the URL in the `DATABASE_URL` environment variable. (The
    /// library does not read `.env` files; binaries may, with `dotenvy`.)
    ///
    /// # Errors
    /// [`Error::Validation`] on `DATABASE_URL` if it is unset or not Unicode.
    pub fn from_env() -> Result<Self> {
        std::env::var("DATABASE_URL")
            .map(Self::new)
            .map_err(|_| Error::validation("DATABASE_URL", "is not set"))
    }

    /// Sets [`max_connections`](Self::max_connections).
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// Sets [`min_idle`](Self::min_idle).
    pub fn min_idle(mut self, n: u32) -> Self {
        self.min_idle = n;
        self
    }

    /// Sets [`connect_timeout`](Self::connect_timeout).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`statement_timeout`](Self::statement_timeout).
    pub fn statement_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.statement_timeout = timeout;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.max_connections == 0 {
            return Err(Error::validation("max_connections", "must be at least 1"));
        }
        if self.min_idle > self.max_connections {
            return Err(Error::validation(
                "min_idle",
                "must not exceed max_connections",
            ));
        }
        if self.connect_timeout.as_secs() == 0 {
            return Err(Error::validation(
                "connect_timeout",
                "must be at least 1 second",
            ));
        }
        Ok(())
    }

    /// Opens a single connection with this configuration's timeouts, for
    /// short-lived tools that make a few calls in sequence. (Unlike a pool
    /// checkout, a refused connection fails at once.)
    ///
    /// # Errors
    /// [`Error::Unavailable`] if the server cannot be reached, refuses the
    /// login, or has no such database.
    pub fn establish(&self) -> Result<PgConnection> {
        self.validate()?;
        let mut conn = PgConnection::establish(self.driver_url().expose())?;
        apply_session_settings(&mut conn, self.statement_timeout)?;
        Ok(conn)
    }

    /// The URL handed to libpq: this configuration's connect timeout unless the
    /// URL sets its own.
    pub(crate) fn driver_url(&self) -> DatabaseUrl {
        self.url.with_default_param(
            "connect_timeout",
            &self.connect_timeout.as_secs().to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_every_password_form() {
        for (raw, shown) in [
            ("postgres://u:p@h/db", "postgres://u:***@h/db"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            (
                "postgres://h/db?password=p&sslmode=require",
                "postgres://h/db?password=***&sslmode=require",
            ),
            (
                "postgresql://u:p%40ss@h:5432/db",
                "postgresql://u:***@h:5432/db",
            ),
            ("host=h password=p", "<unparsed connection string>"),
        ] {
            let url = DatabaseUrl::new(raw);
            assert_eq!(url.to_string(), shown);
            assert!(!format!("{url:?}").contains(":p@"));
        }
    }

    #[test]
    fn database_swaps_keep_the_query() {
        let url = DatabaseUrl::new("postgres://u:p@h:5432/app?sslmode=require");
        assert_eq!(url.database().as_deref(), Some("app"));
        assert_eq!(
            DatabaseUrl::new("postgres://h/my%20db")
                .database()
                .as_deref(),
            Some("my db")
        );
        assert_eq!(DatabaseUrl::new("postgres://h/bad%zz").database(), None);
        let admin = url.with_database("postgres").expect("valid url");
        assert_eq!(
            admin.expose(),
            "postgres://u:p@h:5432/postgres?sslmode=require"
        );
        assert_eq!(DatabaseUrl::new("postgres://h").database(), None);
    }

    #[test]
    fn connect_timeout_is_added_once() {
        let config = StoreConfig::new("postgres://h/db?sslmode=require");
        assert_eq!(
            config.driver_url().expose(),
            "postgres://h/db?sslmode=require&connect_timeout=10"
        );
        let config = StoreConfig::new("postgres://h/db?connect_timeout=3");
        assert_eq!(
            config.driver_url().expose(),
            "postgres://h/db?connect_timeout=3"
        );
    }
}
