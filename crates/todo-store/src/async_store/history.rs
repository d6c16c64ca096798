//! The async store's history and change feed: `task_history`, `sync_token`
//! and `changes_since`, each one flight (scoped), as the sync store's are
//! one statement; a task with no history takes one more flight to tell an
//! empty history from an unknown task.

use diesel::OptionalExtension;
use diesel_async::RunQueryDsl;

use super::{AsyncStore, flight::owner_call};
use crate::{
    Changes, Entity, Error, HistoryPage, HistoryQuery, Owner, Result, SyncToken, TaskId,
    history::queries::{self, ChangedRow, ChangesAsked, HistoryRow},
};

impl AsyncStore {
    /// A page of the changes of `owner`'s task `id`, newest first, as
    /// [`TaskRepo::task_history`](crate::TaskRepo::task_history).
    ///
    /// # Errors
    /// [`Error::NotFound`] if `owner` has no such task and no history of
    /// one; [`Error::Validation`] on `limit` if it is 0; connection and
    /// database errors as the sync store's.
    pub async fn task_history(
        &self,
        owner: &Owner,
        id: TaskId,
        query: &HistoryQuery,
    ) -> Result<HistoryPage> {
        self.read(move |mut conn| async move {
            let (statement, limit) = queries::history_statement(owner, id, query)?;
            let rows = owner_call!(self, conn, owner, |c| statement.load::<HistoryRow>(&mut c))?;
            if queries::needs_existence_check(&rows, query) {
                let exists = owner_call!(self, conn, owner, |c| {
                    queries::task_exists_statement(owner, id).get_result::<bool>(&mut c)
                })?;
                if !exists {
                    return Err(Error::NotFound(Entity::Task));
                }
            }
            queries::history_page(rows, limit)
        })
        .await
    }

    /// `owner`'s current position in their change feed, as
    /// [`TaskRepo::sync_token`](crate::TaskRepo::sync_token): take it before
    /// reading the tasks.
    ///
    /// # Errors
    /// Connection and database errors as the sync store's.
    pub async fn sync_token(&self, owner: &Owner) -> Result<SyncToken> {
        self.read(move |mut conn| async move {
            let state = owner_call!(self, conn, owner, |c| async {
                queries::sync_state_statement(owner)
                    .get_result::<(i64, uuid::Uuid)>(&mut c)
                    .await
                    .optional()
            })?;
            Ok(queries::token_at(owner, state))
        })
        .await
    }

    /// `owner`'s tasks changed after `token`, and those deleted, as
    /// [`TaskRepo::changes_since`](crate::TaskRepo::changes_since).
    ///
    /// # Errors
    /// [`Error::ResyncRequired`]; [`Error::Validation`] on `token` or
    /// `limit`; connection and database errors as the sync store's.
    pub async fn changes_since(
        &self,
        owner: &Owner,
        token: &SyncToken,
        limit: u32,
    ) -> Result<Changes> {
        let asked = ChangesAsked::new(owner, token, limit)?;
        let rows = self
            .read(move |mut conn| async move {
                let statement = asked.statement();
                owner_call!(self, conn, owner, |c| statement.load::<ChangedRow>(&mut c))
            })
            .await?;
        asked.answer(rows)
    }
}
