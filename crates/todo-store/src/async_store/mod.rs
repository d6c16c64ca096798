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
//! What it does not do yet: encrypted connections (a URL with
//! `sslmode=require` is refused: use the sync store), writes and account
//! calls, retries, and calls inside a caller's transaction.

mod connect;
pub(crate) mod flight;

use std::fmt;

use diesel::OptionalExtension;
use diesel_async::{AsyncPgConnection, RunQueryDsl, pooled_connection::deadpool::Pool};

use crate::{
    DatabaseUrl, Entity, Error, Owner, Page, Result, RowSecurity, StoreConfig, Task, TaskFilter,
    TaskId, TaskQuery,
    error::connection_error,
    repo::task_queries::{self, CountStatement},
    session::CallSettings,
};
use flight::in_one_flight;

/// The async, pool-backed entry point: the same owner-scoped task calls as
/// [`Store`](crate::Store), each one round trip. Cheap to clone; clones
/// share the pool.
#[derive(Clone)]
pub struct AsyncStore {
    pool: Pool<AsyncPgConnection>,
    /// Kept to scrub its password from connection errors.
    url: DatabaseUrl,
    calls: CallSettings,
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
    /// [`Error::Validation`] for an invalid configuration, or one the async
    /// store does not support yet (TLS); [`Error::Unavailable`] if no
    /// connection could be opened within `connect_timeout`;
    /// [`Error::Misconfigured`] if the server refuses the login or has no
    /// such database.
    pub async fn connect(config: &StoreConfig) -> Result<Self> {
        let driver = connect::driver_config(config)?;
        let store = Self {
            pool: connect::pool(config, driver)?,
            url: config.url.clone(),
            calls: config.call_settings(),
        };
        drop(store.conn().await?);
        Ok(store)
    }

    async fn conn(
        &self,
    ) -> Result<
        deadpool::managed::Object<
            diesel_async::pooled_connection::AsyncDieselConnectionManager<AsyncPgConnection>,
        >,
    > {
        self.pool
            .get()
            .await
            .map_err(|err| connection_error(&self.url, err, false))
    }

    /// The task `id` of `owner`, as [`TaskRepo::get_task`](crate::TaskRepo::get_task).
    ///
    /// # Errors
    /// [`Error::NotFound`] if `owner` has no such task (another user's
    /// included); connection and database errors as the sync store's.
    pub async fn get_task(&self, owner: &Owner, id: TaskId) -> Result<Task> {
        let statement = task_queries::get_statement(owner, id);
        let mut conn = self.conn().await?;
        let found = match self.calls.row_security {
            RowSecurity::Scoped => in_one_flight!(&mut conn, self.calls.begin_sql(owner), |c| {
                async { statement.get_result::<Task>(&mut c).await.optional() }
            })?,
            RowSecurity::Unscoped => statement.get_result(&mut conn).await.optional()?,
        };
        found.ok_or(Error::NotFound(Entity::Task))
    }

    /// A page of `owner`'s tasks, as [`TaskRepo::list_tasks`](crate::TaskRepo::list_tasks).
    ///
    /// # Errors
    /// [`Error::Validation`] for a bad query or cursor; connection and
    /// database errors as the sync store's.
    pub async fn list_tasks(&self, owner: &Owner, query: &TaskQuery) -> Result<Page<Task>> {
        let (statement, limit) = task_queries::page_statement(owner, query)?;
        let mut conn = self.conn().await?;
        let items = match self.calls.row_security {
            RowSecurity::Scoped => in_one_flight!(&mut conn, self.calls.begin_sql(owner), |c| {
                statement.load::<Task>(&mut c)
            })?,
            RowSecurity::Unscoped => statement.load(&mut conn).await?,
        };
        Ok(task_queries::page_of(items, limit, query))
    }

    /// How many of `owner`'s tasks match `filter`, as
    /// [`TaskRepo::count_tasks`](crate::TaskRepo::count_tasks).
    ///
    /// # Errors
    /// [`Error::Validation`] for a bad filter; connection and database
    /// errors as the sync store's.
    pub async fn count_tasks(&self, owner: &Owner, filter: &TaskFilter) -> Result<u64> {
        let statement = task_queries::count_statement(owner, filter)?;
        let mut conn = self.conn().await?;
        let scoped = self.calls.row_security == RowSecurity::Scoped;
        let n = match statement {
            CountStatement::Kept(kept) => {
                let row = if scoped {
                    in_one_flight!(&mut conn, self.calls.begin_sql(owner), |c| {
                        async { kept.get_result::<(i32, i32)>(&mut c).await.optional() }
                    })?
                } else {
                    kept.get_result(&mut conn).await.optional()?
                };
                task_queries::kept_count(row, filter)
            }
            CountStatement::Scan(scan) => {
                if scoped {
                    in_one_flight!(&mut conn, self.calls.begin_sql(owner), |c| {
                        scan.get_result::<i64>(&mut c)
                    })?
                } else {
                    scan.get_result(&mut conn).await?
                }
            }
        };
        Ok(n.unsigned_abs())
    }
}
