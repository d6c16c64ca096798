//! The async store's reads: `get_task`, `list_tasks`, `count_tasks`, each
//! one flight (scoped) or one statement (unscoped).

use diesel::OptionalExtension;
use diesel_async::RunQueryDsl;

use super::{AsyncStore, PooledConn, flight::owner_call};
use crate::{
    Entity, Error, Owner, Page, Result, Task, TaskFilter, TaskId, TaskQuery,
    repo::task_queries::{self, CountStatement},
};

impl AsyncStore {
    /// The task `id` of `owner`, as [`TaskRepo::get_task`](crate::TaskRepo::get_task).
    ///
    /// # Errors
    /// [`Error::NotFound`] if `owner` has no such task (another user's
    /// included); connection and database errors as the sync store's.
    pub async fn get_task(&self, owner: &Owner, id: TaskId) -> Result<Task> {
        self.read(move |mut conn| async move {
            self.read_task(&mut conn, owner, id)
                .await?
                .ok_or(Error::NotFound(Entity::Task))
        })
        .await
    }

    /// A page of `owner`'s tasks, as [`TaskRepo::list_tasks`](crate::TaskRepo::list_tasks).
    ///
    /// # Errors
    /// [`Error::Validation`] for a bad query or cursor; connection and
    /// database errors as the sync store's.
    pub async fn list_tasks(&self, owner: &Owner, query: &TaskQuery) -> Result<Page<Task>> {
        // Built for each attempt: a statement is consumed by its flight.
        let (items, limit) = self
            .read(move |mut conn| async move {
                let (statement, limit) = task_queries::page_statement(owner, query)?;
                let items = owner_call!(self, conn, owner, |c| statement.load::<Task>(&mut c))?;
                Ok((items, limit))
            })
            .await?;
        Ok(task_queries::page_of(items, limit, query))
    }

    /// How many of `owner`'s tasks match `filter`, as
    /// [`TaskRepo::count_tasks`](crate::TaskRepo::count_tasks).
    ///
    /// # Errors
    /// [`Error::Validation`] for a bad filter; connection and database
    /// errors as the sync store's.
    pub async fn count_tasks(&self, owner: &Owner, filter: &TaskFilter) -> Result<u64> {
        let n = self
            .read(move |mut conn| async move {
                let statement = task_queries::count_statement(owner, filter)?;
                Ok(match statement {
                    CountStatement::Kept(kept) => {
                        let row = owner_call!(self, conn, owner, |c| async {
                            kept.get_result::<(i32, i32)>(&mut c).await.optional()
                        })?;
                        task_queries::kept_count(row, filter)
                    }
                    CountStatement::Scan(scan) => {
                        owner_call!(self, conn, owner, |c| scan.get_result::<i64>(&mut c))?
                    }
                })
            })
            .await?;
        Ok(n.unsigned_abs())
    }

    /// The task `id` of `owner`, if there is one, on `conn`.
    pub(super) async fn read_task(
        &self,
        conn: &mut PooledConn,
        owner: &Owner,
        id: TaskId,
    ) -> Result<Option<Task>> {
        owner_call!(self, conn, owner, |c| async {
            task_queries::get_statement(owner, id)
                .get_result::<Task>(&mut c)
                .await
                .optional()
        })
    }
}
