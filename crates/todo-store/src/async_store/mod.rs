//! [`AsyncStore`]: the repository calls for async services (cargo feature
//! `async`), over diesel-async's `AsyncPgConnection` and a deadpool pool,
//! on tokio.
//!
//! Each owner-scoped call sends `BEGIN` with its owner's scope, its
//! statement and `COMMIT` in one flight and waits one round trip for the
//! three answers (`flight.rs` explains why the order holds), where the sync
//! [`Store`](crate::Store) waits three. The statements, their validation,
//! cursors and errors are the sync store's own: only the sending differs.
//!
//! ```no_run
//! # async fn run() -> todo_store::Result<()> {
//! use todo_store::{AsyncStore, Owner, StoreConfig, TaskQuery};
//!
//! let store = AsyncStore::connect(&StoreConfig::from_env()?).await?;
//! # let owner: Owner = unimplemented!();
//! // `owner` comes from a verified identity (see `UserRepo`).
//! let page = store.list_tasks(&owner, &TaskQuery::new()).await?;
//! println!("{} tasks", page.items.len());
//! # Ok(()) }
//! ```
//!
//! Every call of [`TaskRepo`](crate::TaskRepo) and
//! [`UserRepo`](crate::UserRepo) is here (password hashing and checks run
//! on tokio's blocking threads); each single-statement call is one flight,
//! and the others take as few as their data allow (the README's *The
//! async store* lists them). Retries, encryption (`sslmode`,
//! `sslrootcert`, SNI) and poolers are as for the sync store; with the
//! statement cache off (a pooler without prepared statements) each call
//! takes three flights instead (`flight::Sending`).
//!
//! It offers no calls inside a caller's transaction (see [`AsyncStore`]).

mod accounts;
mod attempts;
mod batches;
mod connect;
pub(crate) mod flight;
mod history;
mod passwords;
mod ping;
mod reads;
mod tls;
pub(crate) mod transaction;
mod writes;

use std::{
    fmt,
    ops::{Deref, DerefMut},
};

use diesel_async::{
    AnsiTransactionManager, AsyncPgConnection, TransactionManager,
    pooled_connection::{AsyncDieselConnectionManager, deadpool::Pool},
};

use crate::{
    DatabaseUrl, Result, RetryPolicy, StoreConfig, error::connection_error, session::CallSettings,
};

type Object = deadpool::managed::Object<AsyncDieselConnectionManager<AsyncPgConnection>>;

/// A connection checked out of the pool. It goes back on drop, unless a
/// flight on it did not land well (its transaction manager still marked
/// broken: a call dropped mid-flight, or a failed `COMMIT`): then it is
/// closed at once, so that the server rolls back what the flight may have
/// left open instead of holding its locks until the pool next looks at the
/// connection.
struct PooledConn(Option<Object>);

impl Deref for PooledConn {
    type Target = AsyncPgConnection;

    fn deref(&self) -> &AsyncPgConnection {
        self.0
            .as_deref()
            .unwrap_or_else(|| unreachable!("taken only on drop"))
    }
}

impl DerefMut for PooledConn {
    fn deref_mut(&mut self) -> &mut AsyncPgConnection {
        self.0
            .as_deref_mut()
            .unwrap_or_else(|| unreachable!("taken only on drop"))
    }
}

impl Drop for PooledConn {
    fn drop(&mut self) {
        if let Some(mut object) = self.0.take() {
            let status = <AnsiTransactionManager as TransactionManager<AsyncPgConnection>>::transaction_manager_status_mut(&mut object);
            if status.transaction_depth().is_err() {
                drop(Object::take(object));
            }
        }
    }
}

/// The async, pool-backed entry point (cargo feature `async`, on tokio):
/// the sync [`Store`](crate::Store)'s task and account calls, each scoped
/// call sending `BEGIN` with its owner's scope, its statement and `COMMIT`
/// in one flight. Cheap to clone; clones share the pool. Every call's
/// future is `Send`.
///
/// Calls inside a caller's transaction are not offered: each call's flight carries its own `BEGIN` and
/// `COMMIT` (what makes it one round trip); for several calls in one
/// transaction, use the sync repositories on one `PgConnection`. It reads no `PGHOST`-style environment, and ignores
/// `min_idle` and `check_idle_after` (connections open on demand; a lost
/// one is found by the read that uses it, which then runs once more).
#[derive(Clone)]
pub struct AsyncStore {
    pool: Pool<AsyncPgConnection>,
    /// Kept to scrub its password from connection errors.
    url: DatabaseUrl,
    calls: CallSettings,
    retry: RetryPolicy,
    sending: flight::Sending,
}

impl fmt::Debug for AsyncStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.pool.status();
        f.debug_struct("AsyncStore")
            .field("url", &self.url)
            .field("connections", &status.size)
            .field("max_connections", &status.max_size)
            .field("calls", &self.calls)
            .finish()
    }
}

impl AsyncStore {
    /// Opens a pool after checking, with one connection (kept in the pool),
    /// that the database answers. Needs a tokio runtime.
    ///
    /// # Errors
    /// [`Error::Validation`](crate::Error::Validation) for an invalid configuration (one the
    /// TLS policy refuses included), or a connection string the driver
    /// cannot read; [`Error::Tls`](crate::Error::Tls) if the server's certificate fails
    /// verification or the root certificate file cannot be read;
    /// [`Error::Unavailable`](crate::Error::Unavailable) if no connection could be opened within
    /// `connect_timeout`; [`Error::Misconfigured`](crate::Error::Misconfigured) if the server refuses
    /// the login or has no such database.
    pub async fn connect(config: &StoreConfig) -> Result<Self> {
        let driver = connect::driver_config(config)?;
        let store = Self {
            pool: connect::pool(config, driver)?,
            url: config.url.clone(),
            calls: config.call_settings(),
            retry: config.retry,
            sending: flight::Sending::of(config.statement_cache),
        };
        drop(store.conn().await?);
        Ok(store)
    }

    async fn conn(&self) -> Result<PooledConn> {
        self.pool
            .get()
            .await
            .map(|object| PooledConn(Some(object)))
            .map_err(|err| match err {
                // The driver's own words, without the pool's preamble.
                deadpool::managed::PoolError::Backend(err) => {
                    connection_error(&self.url, err, false)
                }
                other => connection_error(&self.url, other, false),
            })
    }
}
