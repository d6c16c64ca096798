//! The async store's reads: `get_task`, `list_tasks`, `count_tasks`, each
//! one flight (scoped) or one statement (unscoped).

use diesel::OptionalExtension;
use diesel_async::RunQueryDsl;

use super::{AsyncStore, flight::in_one_flight};
use crate::{
    Entity, Error, Owner, Page, Result, RowSecurity, Task, TaskFilter, TaskId, TaskQuery,
    repo::task_queries::{self, CountStatement},
};

impl AsyncStore {
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
