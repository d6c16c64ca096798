//! How the async store repeats a call, as the sync store's backend does
//! (`repo/backend.rs`): every call again whole under the store's
//! [`RetryPolicy`](crate::RetryPolicy) when PostgreSQL aborted it for a
//! serialization failure or a deadlock (each call is its own transaction,
//! rolled back by the abort), and a read once more, on another connection,
//! when its connection turned out to be lost. A write is not repeated after
//! a lost connection: whether it reached the database is the caller's
//! question.

use std::future::Future;

use super::{AsyncStore, PooledConn};
use crate::{ConflictKind, Error, Result};

impl AsyncStore {
    /// Runs the read `call` (each run a whole attempt, on the connection
    /// it is given) to its answer. A checkout that fails is the answer: it
    /// is not repeated (it has waited its `connect_timeout` already).
    pub(super) async fn read<T, F>(&self, mut call: impl FnMut(PooledConn) -> F) -> Result<T>
    where
        F: Future<Output = Result<T>>,
    {
        let mut attempt = 1;
        loop {
            let answer = match call(self.conn().await?).await {
                // The connection the read found was lost (the server
                // restarted while it sat in the pool): it is closed on the
                // way back, broken, so the next checkout gets another.
                Err(Error::Unavailable(_)) => call(self.conn().await?).await,
                answer => answer,
            };
            if !self.repeats(&answer, &mut attempt).await {
                return answer;
            }
        }
    }

    /// Runs the write `call` (one whole transaction per run) to its answer.
    pub(super) async fn write<T, F>(&self, mut call: impl FnMut() -> F) -> Result<T>
    where
        F: Future<Output = Result<T>>,
    {
        let mut attempt = 1;
        loop {
            let answer = call().await;
            if !self.repeats(&answer, &mut attempt).await {
                return answer;
            }
        }
    }

    /// Whether attempt `attempt` is to be followed by another, after the
    /// policy's pause (counted in `attempt`).
    async fn repeats<T>(&self, answer: &Result<T>, attempt: &mut u32) -> bool {
        let aborted = matches!(answer, Err(Error::Conflict(ConflictKind::ConcurrentUpdate)));
        if !aborted || *attempt >= self.retry.max_attempts {
            return false;
        }
        tokio::time::sleep(self.retry.pause_before_repeat(*attempt)).await;
        *attempt += 1;
        true
    }
}
