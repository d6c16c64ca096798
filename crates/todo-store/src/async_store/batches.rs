//! The async store's calls on many tasks at once, one transaction each.
//!
//! - `delete_tasks` is one statement: one flight.
//! - `create_tasks` inserts every task in one statement (one array per
//!   column, however many tasks): `BEGIN`, the insert and `COMMIT` leave in
//!   one flight. With client-chosen ids, whether to commit depends on the
//!   insert's answer (an id taken by another task refuses the whole batch):
//!   `BEGIN` and the insert, then `COMMIT` or `ROLLBACK`, two flights; a
//!   repeat reads back the tasks under the taken ids in a third.

use diesel_async::RunQueryDsl;

use super::{
    AsyncStore,
    flight::{in_one_flight, owner_call},
    transaction::{closed, opening_flight},
};
use crate::{NewTask, Owner, Result, RowSecurity, Task, TaskId, repo::task_queries};

impl AsyncStore {
    /// Creates all `tasks` for `owner` in one transaction, as
    /// [`TaskRepo::create_tasks`](crate::TaskRepo::create_tasks).
    ///
    /// # Errors
    /// As the sync store's: [`Error::Validation`](crate::Error::Validation)
    /// naming the element, [`Error::Conflict`](crate::Error::Conflict),
    /// [`Error::TaskLimitReached`](crate::Error::TaskLimitReached),
    /// connection and database errors.
    pub async fn create_tasks(&self, owner: &Owner, tasks: Vec<NewTask>) -> Result<Vec<Task>> {
        let rows = &task_queries::validated_rows(owner, &tasks)?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let client_ids = tasks.iter().any(|task| task.id.is_some());
        let begin_sql = &match self.calls.row_security {
            RowSecurity::Scoped => self.calls.begin_sql(owner),
            RowSecurity::Unscoped => "BEGIN".to_owned(),
        };
        self.write(move || async move {
            let mut conn = self.conn().await?;
            if !client_ids {
                return in_one_flight!(&mut conn, self.sending, begin_sql.clone(), |c| {
                    task_queries::insert_many_statement(owner, rows, false).load::<Task>(&mut c)
                });
            }
            // The transaction stays open while the answer is decided: a
            // repeat is answered by the tasks it made before, anything else
            // under a taken id rolls the whole batch back.
            let inserted = opening_flight!(&mut conn, begin_sql, |c| {
                task_queries::insert_many_statement(owner, rows, true).load::<Task>(&mut c)
            })?;
            let answer = async {
                let taken = task_queries::taken_ids(rows, &inserted);
                let stored = match taken.is_empty() {
                    true => Vec::new(),
                    false => {
                        task_queries::stored_statement(owner, &taken)
                            .load::<Task>(&mut *conn)
                            .await?
                    }
                };
                task_queries::answered(rows, inserted, stored)
            }
            .await;
            closed(&mut conn, self.sending, answer).await
        })
        .await
    }

    /// Deletes those of `ids` that are `owner`'s tasks, in one statement,
    /// as [`TaskRepo::delete_tasks`](crate::TaskRepo::delete_tasks), and
    /// returns how many were deleted.
    ///
    /// # Errors
    /// Connection and database errors as the sync store's.
    pub async fn delete_tasks(&self, owner: &Owner, ids: &[TaskId]) -> Result<u64> {
        let deleted = self
            .write(move || async move {
                let mut conn = self.conn().await?;
                owner_call!(self, conn, owner, |c| {
                    task_queries::delete_many_statement(owner, ids).execute(&mut c)
                })
            })
            .await?;
        Ok(deleted as u64)
    }
}
