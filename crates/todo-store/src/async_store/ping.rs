//! Whether the database answers, for a service's readiness probe.

use diesel_async::SimpleAsyncConnection;

use super::AsyncStore;
use crate::{Error, Result};

impl AsyncStore {
    /// Checks out a pooled connection and runs `SELECT 1` on it: one round
    /// trip, no statement prepared (safe behind any pooler), not repeated.
    /// For a readiness probe; the calls themselves need no ping first.
    ///
    /// # Errors
    /// [`Error::Unavailable`] (or another connection error) when the
    /// database is out of reach.
    pub async fn ping(&self) -> Result<()> {
        let mut conn = self.conn().await?;
        conn.batch_execute("SELECT 1").await.map_err(Error::from)
    }
}
