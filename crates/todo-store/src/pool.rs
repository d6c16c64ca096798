//! [`Store`]: the r2d2 connection pool that backs the repositories.

use std::{fmt, time::Duration};

use diesel::{
    PgConnection,
    r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection},
};

use crate::{DatabaseUrl, Error, Result, StoreConfig, config::apply_session_settings};

/// A connection checked out of a [`Store`]; it goes back to the pool on drop.
pub type PooledConn = PooledConnection<ConnectionManager<PgConnection>>;

/// The pool-backed entry point: implements [`TaskRepo`](crate::TaskRepo) and
/// [`UserRepo`](crate::UserRepo). Cheap to clone; clones share the pool, so
/// a web server keeps one and hands each request its own clone (as axum's
/// `State` extractor does), which the `&mut self` repository methods need.
#[derive(Clone)]
pub struct Store {
    pool: Pool<ConnectionManager<PgConnection>>,
    /// Kept to scrub its password from connection errors.
    url: DatabaseUrl,
}

impl Store {
    /// Opens a pool after checking, with one direct connection, that the
    /// database answers.
    ///
    /// # Errors
    /// [`Error::Validation`](crate::Error::Validation) for an invalid
    /// configuration; [`Error::Unavailable`](crate::Error::Unavailable) if no
    /// connection could be opened within `connect_timeout`.
    pub fn connect(config: &StoreConfig) -> Result<Self> {
        // One direct connection first: a refused or misconfigured server is
        // reported at once with libpq's own message, instead of after r2d2 has
        // retried for the whole checkout timeout.
        drop(config.establish()?);
        let url = config.driver_url();
        let manager = ConnectionManager::<PgConnection>::new(url.expose());
        let pool = Pool::builder()
            .max_size(config.max_connections)
            .min_idle(Some(config.min_idle))
            .connection_timeout(config.connect_timeout)
            .test_on_check_out(true)
            .connection_customizer(Box::new(SessionSettings {
                statement_timeout: config.statement_timeout,
            }))
            .build_unchecked(manager);
        Ok(Self { pool, url })
    }

    /// Checks out a connection, e.g. to run several repository calls in one
    /// transaction (`conn.transaction(|conn| conn.create_task(..))`).
    ///
    /// # Errors
    /// [`Error::Unavailable`](crate::Error::Unavailable) if none is free or can
    /// be opened within `connect_timeout`.
    pub fn conn(&self) -> Result<PooledConn> {
        self.pool
            .get()
            .map_err(|err| Error::from_checkout(&self.url, err))
    }

    /// The underlying r2d2 pool.
    pub fn pool(&self) -> &Pool<ConnectionManager<PgConnection>> {
        &self.pool
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.pool.state();
        f.debug_struct("Store")
            .field("connections", &state.connections)
            .field("idle_connections", &state.idle_connections)
            .finish_non_exhaustive()
    }
}

/// Session settings applied to every new connection.
#[derive(Debug)]
struct SessionSettings {
    statement_timeout: Option<Duration>,
}

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        apply_session_settings(conn, self.statement_timeout)
            .map_err(diesel::r2d2::Error::QueryError)
    }
}
