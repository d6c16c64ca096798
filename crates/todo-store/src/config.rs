//! [`StoreConfig`]: where the database is and how to pool connections to it.

use std::time::Duration;

use diesel::{Connection, PgConnection};

use crate::{
    DatabaseUrl, Error, Result, RetryPolicy, RowSecurity, TlsPolicy,
    session::{CallSettings, STATEMENT_CACHE_ENV, StatementCache},
};

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
    /// (default 10 s: a suspended Neon compute takes a few hundred
    /// milliseconds to a few seconds to accept, and the first call then
    /// simply takes longer). A connection not opened in time is
    /// [`Error::Unavailable`](crate::Error::Unavailable), retryable. libpq
    /// waits at least 2 s: a 1 s setting waits 2 s.
    pub connect_timeout: Duration,
    /// Longest a single statement of an owner-scoped call may run before
    /// the server cancels it with [`Error::Timeout`](crate::Error::Timeout)
    /// (default 30 s; `None`: the server's setting). It is set
    /// transaction-locally, in the same message as the call's `BEGIN` and
    /// owner scope, so it costs no round trip and never outlives the call on
    /// a pooler's shared server connection.
    ///
    /// With [`RowSecurity::Scoped`] (the default) that covers every
    /// [`TaskRepo`](crate::TaskRepo) call, `update_profile`,
    /// `change_password`, `delete_user` and
    /// [`Store::in_owner_scope`](crate::Store::in_owner_scope). It does not
    /// cover the account calls that have no owner yet (`create_user`,
    /// `get_user`, `find_user_by_email`, `list_users`, `authenticate`,
    /// `owner_for_subject`, `operator_owner`), any call with
    /// [`RowSecurity::Unscoped`], or a connection of your own
    /// ([`Store::conn`](crate::Store::conn)): those run under the server's
    /// setting. For a ceiling on everything, set it on the role
    /// (`ALTER ROLE … SET statement_timeout = '30s'`), which a pooler keeps
    /// too.
    pub statement_timeout: Option<Duration>,
    /// Whether connections keep Diesel's prepared-statement cache (default
    /// [`StatementCache::Enabled`]). Turn it off behind a transaction-mode
    /// pooler without prepared-statement support (PgBouncer before 1.21, or
    /// `max_prepared_statements = 0`); [`from_env`](Self::from_env) reads it
    /// from `TODO_STORE_STATEMENT_CACHE=off`.
    pub statement_cache: StatementCache,
    /// A pooled connection that has been idle for longer than this is checked
    /// with a round trip (`SELECT 1`) before it is handed out; one used more
    /// recently is handed out as it is (default 1 s; `Duration::ZERO` checks
    /// every checkout). Checking every checkout adds a round trip to every
    /// call, as much again as a short read itself (`BENCHMARKS.md`); a
    /// connection that was fine a moment ago rarely is not,
    /// and if it is, the call fails with a retryable
    /// [`Error::Unavailable`](crate::Error::Unavailable) and the pool drops it.
    pub check_idle_after: Duration,
    /// How long a silent network may hold a connection before it is given up
    /// (default 15 s): TCP keepalives probe an idle link (first probe after
    /// a third of this, then every third, two unanswered probes close it),
    /// and data unacknowledged for this long closes it (`tcp_user_timeout`),
    /// so a dropped link fails as [`Error::Unavailable`](crate::Error::Unavailable)
    /// instead of hanging for the operating system's 15 minutes. A URL that
    /// sets these libpq parameters itself keeps its own.
    pub network_timeout: Duration,
    /// How [`Store`](crate::Store) repeats a call whose transaction
    /// PostgreSQL aborted for a serialization failure or a deadlock
    /// (default: 3 attempts in all, jittered pauses from 10 ms). Nothing
    /// else is repeated, except a read once on a fresh connection when its
    /// connection was found lost. [`RetryPolicy::never`] turns it off.
    pub retry: RetryPolicy,
    /// Whether [`Store`](crate::Store) scopes each owner-scoped call for
    /// PostgreSQL's row-level security (default [`RowSecurity::Scoped`]: a
    /// transaction that sets `todo.user_id`). Keep it for an application
    /// role; [`RowSecurity::Unscoped`] saves two round trips per call for a
    /// role that bypasses row-level security anyway.
    pub row_security: RowSecurity,
    /// Whether a connection to another machine must be encrypted (default
    /// [`TlsPolicy::RequireForRemote`]: a remote host needs
    /// `sslmode=require`, `verify-ca` or `verify-full` in the URL).
    pub tls: TlsPolicy,
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
            statement_cache: StatementCache::default(),
            check_idle_after: Duration::from_secs(1),
            network_timeout: Duration::from_secs(15),
            retry: RetryPolicy::default(),
            row_security: RowSecurity::default(),
            tls: TlsPolicy::default(),
        }
    }

    /// Defaults for the URL in the `DATABASE_URL` environment variable, and
    /// the [`statement_cache`](Self::statement_cache) in
    /// `TODO_STORE_STATEMENT_CACHE` (`on` or `off`), if set. (The library
    /// does not read `.env` files; binaries may, with `dotenvy`.)
    ///
    /// # Errors
    /// [`Error::Validation`] on `DATABASE_URL` if it is unset or not Unicode,
    /// or on `TODO_STORE_STATEMENT_CACHE` if it is neither `on` nor `off`.
    pub fn from_env() -> Result<Self> {
        std::env::var("DATABASE_URL")
            .map(Self::new)
            .map_err(|_| Error::validation("DATABASE_URL", "is not set"))?
            .settings_from_env()
    }

    /// This configuration with the settings the environment gives, for a
    /// program that takes its URL from elsewhere (a flag): the
    /// [`statement_cache`](Self::statement_cache) in
    /// `TODO_STORE_STATEMENT_CACHE` (`on` or `off`), if set.
    ///
    /// # Errors
    /// [`Error::Validation`] on `TODO_STORE_STATEMENT_CACHE` if it is
    /// neither `on` nor `off`.
    pub fn settings_from_env(self) -> Result<Self> {
        match std::env::var(STATEMENT_CACHE_ENV) {
            Ok(value) => Ok(self.statement_cache(StatementCache::parse(&value)?)),
            Err(std::env::VarError::NotPresent) => Ok(self),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(Error::validation(STATEMENT_CACHE_ENV, "must be on or off"))
            }
        }
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

    /// Sets [`statement_cache`](Self::statement_cache).
    pub fn statement_cache(mut self, cache: StatementCache) -> Self {
        self.statement_cache = cache;
        self
    }

    /// Sets [`network_timeout`](Self::network_timeout).
    pub fn network_timeout(mut self, timeout: Duration) -> Self {
        self.network_timeout = timeout;
        self
    }

    /// Sets [`check_idle_after`](Self::check_idle_after).
    pub fn check_idle_after(mut self, idle: Duration) -> Self {
        self.check_idle_after = idle;
        self
    }

    /// Sets [`tls`](Self::tls).
    pub fn tls(mut self, policy: TlsPolicy) -> Self {
        self.tls = policy;
        self
    }

    /// Sets [`row_security`](Self::row_security).
    pub fn row_security(mut self, mode: RowSecurity) -> Self {
        self.row_security = mode;
        self
    }

    /// Sets [`retry`](Self::retry).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        self.retry.validate()?;
        self.tls.check(&self.url)?;
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
        if !(Duration::from_secs(3)..=Duration::from_secs(3600)).contains(&self.network_timeout) {
            return Err(Error::validation(
                "network_timeout",
                "must be between 3 seconds and 1 hour",
            ));
        }
        if let Some(timeout) = self.statement_timeout {
            // PostgreSQL takes whole milliseconds up to i32::MAX; 0 would mean
            // "no timeout", the opposite of what a tiny value asks for.
            let millis = timeout.as_millis();
            if millis < 1 || millis > i32::MAX as u128 {
                return Err(Error::validation(
                    "statement_timeout",
                    "must be between 1 millisecond and about 24 days",
                ));
            }
        }
        Ok(())
    }

    /// Opens a single connection with this configuration's connect and
    /// network timeouts and statement cache, for short-lived tools that make
    /// a few calls in sequence. (Unlike a pool checkout, a refused connection
    /// fails at once.) Calls on it are scoped as on any caller's connection,
    /// without the store's statement timeout.
    ///
    /// # Errors
    /// [`Error::Validation`] for an invalid configuration;
    /// [`Error::Unavailable`] if the server cannot be reached in time;
    /// [`Error::Misconfigured`] if it refuses the login or has no such
    /// database; [`Error::Tls`] if the encryption the URL asks for fails.
    pub fn establish(&self) -> Result<PgConnection> {
        self.validate()?;
        let url = self.driver_url();
        crate::pool::prepare_tls_library();
        let mut conn = PgConnection::establish(url.expose())
            .map_err(|err| Error::from_connection(&url, err))?;
        self.statement_cache.apply(&mut conn);
        Ok(conn)
    }

    /// How a store with this configuration runs its calls.
    pub(crate) fn call_settings(&self) -> CallSettings {
        CallSettings {
            row_security: self.row_security,
            statement_timeout: self.statement_timeout,
        }
    }

    /// The URL handed to libpq: this configuration's connect timeout and
    /// network timeouts, and `gssencmode=disable`, for each parameter the
    /// URL does not set itself.
    ///
    /// Why no GSSAPI by default: libpq's `gssencmode=prefer` asks Kerberos
    /// for credentials before every connection, and the pool connects on
    /// background threads. When a program exits while one is inside
    /// Kerberos, Kerberos' exit-time clean-up destroys the locks that thread
    /// holds, and the process dies (SIGABRT or SIGSEGV) on its way out, the
    /// same race as OpenSSL's (see `pool::prepare_tls_library`). Few servers
    /// offer GSSAPI encryption (Neon does not); one that needs it says
    /// `gssencmode=prefer` or `require` in the URL, `PGGSSENCMODE`, or a
    /// service file (with `service=` or `PGSERVICE` the library adds none).
    pub(crate) fn driver_url(&self) -> DatabaseUrl {
        let third = (self.network_timeout.as_secs() / 3).max(1).to_string();
        // A service file, or the environment, may choose a mode: a URL
        // parameter would override it.
        let gss = ["PGGSSENCMODE", "PGSERVICE"]
            .iter()
            .all(|var| std::env::var_os(var).is_none())
            && self.url.param("service").is_none();
        [
            (
                "connect_timeout",
                self.connect_timeout.as_secs().to_string(),
            ),
            ("keepalives", "1".to_owned()),
            ("keepalives_idle", third.clone()),
            ("keepalives_interval", third),
            ("keepalives_count", "2".to_owned()),
            (
                "tcp_user_timeout",
                self.network_timeout.as_millis().to_string(),
            ),
        ]
        .into_iter()
        .chain(gss.then(|| ("gssencmode", "disable".to_owned())))
        .fold(self.url.clone(), |url, (key, value)| {
            url.with_default_param(key, &value)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_driver_url_carries_the_timeouts_unless_the_url_sets_them() {
        let url = StoreConfig::new("postgres://h/db?sslmode=require&keepalives_idle=7")
            .network_timeout(Duration::from_secs(15))
            .driver_url();
        let expected = "postgres://h/db?sslmode=require&keepalives_idle=7&connect_timeout=10\
                        &keepalives=1&keepalives_interval=5&keepalives_count=2\
                        &tcp_user_timeout=15000";
        match (
            std::env::var_os("PGGSSENCMODE"),
            std::env::var_os("PGSERVICE"),
        ) {
            (None, None) => assert_eq!(url.expose(), format!("{expected}&gssencmode=disable")),
            _ => assert_eq!(url.expose(), expected),
        }
        let gss = StoreConfig::new("postgres://h/db?gssencmode=require").driver_url();
        assert_eq!(gss.expose().matches("gssencmode").count(), 1);
        assert!(gss.expose().contains("gssencmode=require"));
        let service = StoreConfig::new("postgres:///db?service=prod").driver_url();
        assert!(!service.expose().contains("gssencmode"));
        let bad =
            StoreConfig::new("postgres://localhost/db").network_timeout(Duration::from_secs(1));
        assert!(bad.validate().is_err());
    }

    #[test]
    fn statement_timeouts_postgres_cannot_take_are_rejected() {
        for bad in [
            Duration::from_micros(500),
            Duration::from_secs(30 * 24 * 3600),
        ] {
            let config = StoreConfig::new("postgres://localhost/db").statement_timeout(Some(bad));
            assert!(
                matches!(config.validate(), Err(Error::Validation { ref field, .. }) if field == "statement_timeout"),
                "{bad:?}"
            );
        }
        let config = StoreConfig::new("postgres://localhost/db")
            .statement_timeout(Some(Duration::from_millis(1)));
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn connect_timeout_is_added_once() {
        let added = StoreConfig::new("postgres://h/db?sslmode=require").driver_url();
        assert!(
            added
                .expose()
                .starts_with("postgres://h/db?sslmode=require&connect_timeout=10&")
        );
        let kept = StoreConfig::new("postgres://h/db?connect_timeout=3").driver_url();
        assert!(
            kept.expose()
                .starts_with("postgres://h/db?connect_timeout=3&keepalives=1")
        );
        assert_eq!(kept.expose().matches("connect_timeout").count(), 1);
    }
}
