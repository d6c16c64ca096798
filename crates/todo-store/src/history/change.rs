//! The records of the history and of the change feed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{SyncToken, TaskFields};
use crate::{MAX_PAGE_SIZE, Task, TaskId, UserId};

/// What a change did to a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// The task was created.
    Create,
    /// Fields other than the status changed.
    Update,
    /// The task was marked done (other fields may have changed with it).
    Complete,
    /// The task was opened again (other fields may have changed with it).
    Reopen,
    /// The task was deleted.
    Delete,
}

impl ChangeKind {
    /// The name the database stores.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Create => "create",
            ChangeKind::Update => "update",
            ChangeKind::Complete => "complete",
            ChangeKind::Reopen => "reopen",
            ChangeKind::Delete => "delete",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "create" => ChangeKind::Create,
            "update" => ChangeKind::Update,
            "complete" => ChangeKind::Complete,
            "reopen" => ChangeKind::Reopen,
            "delete" => ChangeKind::Delete,
            _ => return None,
        })
    }
}

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    /// The owner the writing transaction was scoped to: every owner-scoped
    /// call of the library. `None` for a write without a scope (an operator's
    /// `psql`, a store in [`RowSecurity::Unscoped`](crate::RowSecurity::Unscoped)
    /// mode).
    pub owner: Option<UserId>,
    /// The database role that wrote (`SET ROLE`'s, else the session's).
    pub role: String,
}

/// One change of a task, as the history records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskChange {
    /// The change's number in its owner's change sequence (from 1, no gaps,
    /// in commit order).
    pub seq: u64,
    /// The task changed.
    pub task_id: TaskId,
    /// The version the change produced (for a delete, the task's last one).
    pub version: i32,
    /// What the change did.
    pub kind: ChangeKind,
    /// When: the time of the writing transaction (the task's `updated_at`).
    pub changed_at: DateTime<Utc>,
    /// Who made it.
    pub actor: Actor,
    /// The fields before: those that changed; every field for a delete;
    /// none for a create.
    pub old: TaskFields,
    /// The fields after: those that changed; every field for a create; none
    /// for a delete.
    pub new: TaskFields,
}

/// Which page of a task's history to read (newest first).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct HistoryQuery {
    /// At most this many changes, capped at [`MAX_PAGE_SIZE`]; the default
    /// is [`DEFAULT_PAGE_SIZE`](crate::DEFAULT_PAGE_SIZE).
    pub limit: Option<u32>,
    /// Only changes numbered below this: the previous page's
    /// [`HistoryPage::next_before`].
    pub before: Option<u64>,
}

impl HistoryQuery {
    /// The newest changes, a page of the default size.
    pub fn new() -> Self {
        Self::default()
    }

    /// At most `limit` changes.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Changes numbered below `seq`.
    pub fn before(mut self, seq: u64) -> Self {
        self.before = Some(seq);
        self
    }

    pub(crate) fn page_size(&self) -> u32 {
        self.limit
            .unwrap_or(crate::DEFAULT_PAGE_SIZE)
            .min(MAX_PAGE_SIZE)
    }
}

/// A page of a task's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HistoryPage {
    /// The changes, newest first.
    pub changes: Vec<TaskChange>,
    /// Pass to [`HistoryQuery::before`] for the next (older) page; `None` on
    /// the last page.
    pub next_before: Option<u64>,
}

/// What changed in an owner's tasks after a [`SyncToken`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Changes {
    /// Tasks created or changed, as they are now, in the order of their last
    /// change. A task may appear again in a later page (it changed again).
    pub changed: Vec<Task>,
    /// Tasks deleted: remove them (an id the device never had is harmless).
    pub deleted: Vec<TaskId>,
    /// The token to ask with next time.
    pub next: SyncToken,
    /// Whether more changes are waiting: ask again at once with `next`.
    pub more: bool,
}
