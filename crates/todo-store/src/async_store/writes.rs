//! The async store's single-task writes: each one flight (scoped) when it
//! hits, and one more to explain a miss (no such task, or another version)
//! or to answer a repeated create, as the sync store reads once more then.

use diesel::OptionalExtension;
use diesel_async::RunQueryDsl;

use super::{AsyncStore, PooledConn, flight::owner_call};
use crate::{
    Entity, Error, NewTask, Owner, Result, Task, TaskId, TaskPatch, TaskStatus, VersionCheck,
    repo::task_queries::{self, TaskChanges, TaskRow},
};

impl AsyncStore {
    /// Creates a task for `owner`, as
    /// [`TaskRepo::create_task`](crate::TaskRepo::create_task): one flight;
    /// a repeated create with a client-chosen id takes a second to read the
    /// task it created before.
    ///
    /// # Errors
    /// As the sync store's: [`Error::Validation`], [`Error::Conflict`],
    /// [`Error::TaskLimitReached`], connection and database errors.
    pub async fn create_task(&self, owner: &Owner, new: NewTask) -> Result<Task> {
        let row = &TaskRow::validated(owner, &new)?;
        let client_id = new.id.is_some();
        self.write(move || async move {
            let mut conn = self.conn().await?;
            if !client_id {
                return owner_call!(self, conn, owner, |c| {
                    task_queries::insert_statement(row).get_result::<Task>(&mut c)
                });
            }
            let inserted = owner_call!(self, conn, owner, |c| async {
                task_queries::insert_if_absent_statement(row)
                    .get_result::<Task>(&mut c)
                    .await
                    .optional()
            })?;
            if let Some(task) = inserted {
                return Ok(task);
            }
            let stored = self.read_task(&mut conn, owner, row.id()).await?;
            task_queries::repeat_of(row, stored.as_ref())
        })
        .await
    }

    /// Applies `patch`, as [`TaskRepo::update_task`](crate::TaskRepo::update_task).
    ///
    /// # Errors
    /// As the sync store's: [`Error::NotFound`], [`Error::Conflict`],
    /// [`Error::Validation`], connection and database errors.
    pub async fn update_task(
        &self,
        owner: &Owner,
        id: TaskId,
        patch: TaskPatch,
        check: VersionCheck,
    ) -> Result<Task> {
        let changes = &TaskChanges::validated(&patch)?;
        if patch.is_empty() {
            let task = self.get_task(owner, id).await?;
            check.verify(task.version)?;
            return Ok(task);
        }
        self.write(move || async move {
            let mut conn = self.conn().await?;
            let updated = owner_call!(self, conn, owner, |c| async {
                task_queries::update_statement(owner, id, changes, check)
                    .get_result::<Task>(&mut c)
                    .await
                    .optional()
            })?;
            match updated {
                Some(task) => Ok(task),
                None => Err(self.miss(&mut conn, owner, id, check).await),
            }
        })
        .await
    }

    /// Marks the task done or open again, as
    /// [`TaskRepo::set_task_status`](crate::TaskRepo::set_task_status).
    ///
    /// # Errors
    /// As the sync store's: [`Error::NotFound`], [`Error::Conflict`],
    /// connection and database errors.
    pub async fn set_task_status(
        &self,
        owner: &Owner,
        id: TaskId,
        status: TaskStatus,
        check: VersionCheck,
    ) -> Result<Task> {
        self.write(move || async move {
            let mut conn = self.conn().await?;
            let updated = owner_call!(self, conn, owner, |c| async {
                task_queries::status_statement(owner, id, status, check)
                    .get_result::<Task>(&mut c)
                    .await
                    .optional()
            })?;
            if let Some(task) = updated {
                return Ok(task);
            }
            // Already in that state (or not the owner's task).
            let task = self
                .read_task(&mut conn, owner, id)
                .await?
                .ok_or(Error::NotFound(Entity::Task))?;
            check.verify(task.version)?;
            Ok(task)
        })
        .await
    }

    /// Deletes the task, as [`TaskRepo::delete_task`](crate::TaskRepo::delete_task).
    ///
    /// # Errors
    /// As the sync store's: [`Error::NotFound`], [`Error::Conflict`],
    /// connection and database errors.
    pub async fn delete_task(&self, owner: &Owner, id: TaskId, check: VersionCheck) -> Result<()> {
        self.write(move || async move {
            let mut conn = self.conn().await?;
            let deleted = owner_call!(self, conn, owner, |c| {
                task_queries::delete_statement(owner, id, check).execute(&mut c)
            })?;
            match deleted {
                0 => Err(self.miss(&mut conn, owner, id, check).await),
                _ => Ok(()),
            }
        })
        .await
    }

    /// Why a guarded write touched no row (see the sync store's `miss`).
    async fn miss(
        &self,
        conn: &mut PooledConn,
        owner: &Owner,
        id: TaskId,
        check: VersionCheck,
    ) -> Error {
        let current = owner_call!(self, conn, owner, |c| async {
            task_queries::version_statement(owner, id)
                .get_result::<i32>(&mut c)
                .await
                .optional()
        });
        match current {
            Ok(current) => task_queries::missed(current, check),
            Err(err) => err,
        }
    }
}
