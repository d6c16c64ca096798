//! A task's history and the caller's change feed on the wire.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use todo_store::{Changes, HistoryPage, HistoryQuery, TaskChange, TaskFields};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::task::TaskBody;
use crate::problem::ApiError;

/// Which page of a task's history.
#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Changes per page (default 50; more than 500 gives 500).
    #[param(minimum = 1, maximum = 4294967295_u64, value_type = Option<u64>)]
    pub limit: Option<u32>,
    /// The `next_before` of the previous page: only older changes.
    #[param(minimum = 0)]
    pub before: Option<i64>,
}

impl HistoryParams {
    /// The library's query.
    ///
    /// # Errors
    /// 400 for a negative `before`.
    pub fn into_query(self) -> Result<HistoryQuery, ApiError> {
        let mut query = HistoryQuery::new();
        if let Some(limit) = self.limit {
            query = query.limit(limit);
        }
        if let Some(before) = self.before {
            let before = u64::try_from(before)
                .map_err(|_| ApiError::bad_request(Some("before"), "must be at least 0"))?;
            query = query.before(before);
        }
        Ok(query)
    }
}

/// One change to a task, newest first in a page.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeBody {
    /// The change's place in the owner's sequence of changes.
    pub seq: u64,
    /// The task changed.
    pub task_id: Uuid,
    /// The task's version after the change.
    pub version: i32,
    /// `create`, `update`, `complete`, `reopen` or `delete`.
    pub kind: String,
    /// When the change was made.
    pub changed_at: DateTime<Utc>,
    /// The changed fields' values before.
    #[schema(value_type = Object)]
    pub old: TaskFields,
    /// The changed fields' values after.
    #[schema(value_type = Object)]
    pub new: TaskFields,
}

impl From<TaskChange> for ChangeBody {
    fn from(change: TaskChange) -> Self {
        Self {
            seq: change.seq,
            task_id: change.task_id.as_uuid(),
            version: change.version,
            kind: change.kind.as_str().to_owned(),
            changed_at: change.changed_at,
            old: change.old,
            new: change.new,
        }
    }
}

/// One page of a task's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryBody {
    /// Changes, newest first.
    pub changes: Vec<ChangeBody>,
    /// Pass as `before` for older changes; `null` on the last page.
    pub next_before: Option<u64>,
}

impl From<HistoryPage> for HistoryBody {
    fn from(page: HistoryPage) -> Self {
        Self {
            changes: page.changes.into_iter().map(ChangeBody::from).collect(),
            next_before: page.next_before,
        }
    }
}

/// Where a device's copy of the tasks stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SyncTokenBody {
    /// Pass as `since` to `/v1/changes` to get what changed after now.
    pub token: String,
}

/// Which changes to read.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesParams {
    /// A token from `/v1/sync-token` or from the previous page's `next`.
    pub since: String,
    /// Changes per call (default 50; more than 500 gives 500).
    #[param(minimum = 1, maximum = 4294967295_u64, value_type = Option<u64>)]
    pub limit: Option<u32>,
}

/// What changed since a token.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangesBody {
    /// Tasks created or changed, as they are now.
    pub changed: Vec<TaskBody>,
    /// Ids of tasks deleted.
    pub deleted: Vec<Uuid>,
    /// The token to ask with next time.
    pub next: String,
    /// Whether more changes are waiting: ask again with `next` at once.
    pub more: bool,
}

impl From<Changes> for ChangesBody {
    fn from(changes: Changes) -> Self {
        Self {
            changed: changes.changed.into_iter().map(TaskBody::from).collect(),
            deleted: changes.deleted.into_iter().map(|id| id.as_uuid()).collect(),
            next: changes.next.to_string(),
            more: changes.more,
        }
    }
}
