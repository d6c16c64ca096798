//! Tasks on the wire.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use todo_store::{
    Cursor, NewTask, Page, Priority, SortKey, SortOrder, StatusFilter, Task, TaskFilter, TaskId,
    TaskPatch, TaskQuery, TaskSort, TaskStatus,
};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::problem::ApiError;

/// A task.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskBody {
    /// The task's id.
    pub id: Uuid,
    /// 1 to 500 characters.
    pub title: String,
    /// Up to 10,000 characters.
    pub description: Option<String>,
    /// Open or done.
    pub status: StatusBody,
    /// When the task was last marked done, while it is done.
    pub completed_at: Option<DateTime<Utc>>,
    /// 1 (most urgent) to 5.
    #[schema(minimum = 1, maximum = 5)]
    pub priority: i16,
    /// When the task is due, if ever.
    pub due_at: Option<DateTime<Utc>>,
    /// 1 when created, +1 on every change; also the `ETag`.
    pub version: i32,
    /// When the task was created.
    pub created_at: DateTime<Utc>,
    /// When the task last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Task> for TaskBody {
    fn from(task: Task) -> Self {
        let status = task.status().into();
        Self {
            id: task.id.as_uuid(),
            title: task.title,
            description: task.description,
            status,
            completed_at: task.completed_at,
            priority: task.priority.get(),
            due_at: task.due_at,
            version: task.version,
            created_at: task.created_at,
            updated_at: task.updated_at,
        }
    }
}

/// Whether a task is still to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusBody {
    /// Still to do.
    Open,
    /// Completed.
    Done,
}

impl From<TaskStatus> for StatusBody {
    fn from(status: TaskStatus) -> Self {
        match status {
            TaskStatus::Open => StatusBody::Open,
            TaskStatus::Done => StatusBody::Done,
        }
    }
}

/// A new task. With `id` (a UUID the client chose), a retry of the same
/// create returns the task made the first time instead of a second one.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTaskBody {
    /// A client-chosen id, for idempotent retries.
    pub id: Option<Uuid>,
    /// 1 to 500 characters (trimmed), no control characters.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*\S[^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub title: String,
    /// Up to 10,000 characters.
    #[schema(max_length = 10000, pattern = r"^[^\u0000]*$")]
    pub description: Option<String>,
    /// 1 (most urgent) to 5; 3 when absent.
    #[schema(minimum = 1, maximum = 5)]
    pub priority: Option<i16>,
    /// When the task is due.
    pub due_at: Option<DateTime<Utc>>,
}

impl CreateTaskBody {
    /// The library's input form.
    ///
    /// # Errors
    /// 422 for a priority out of range.
    pub fn into_new_task(self) -> Result<NewTask, ApiError> {
        let mut new = NewTask::new(self.title);
        if let Some(description) = self.description {
            new = new.description(description);
        }
        if let Some(priority) = self.priority {
            new = new.priority(Priority::new(priority)?);
        }
        if let Some(due_at) = self.due_at {
            new = new.due_at(due_at);
        }
        if let Some(id) = self.id {
            new = new.id(TaskId::from_uuid(id));
        }
        Ok(new)
    }
}

/// Changes to a task: absent fields stay as they are; `null` clears
/// `description` or `due_at`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTaskBody {
    /// A new title: 1 to 500 characters (trimmed), no control characters.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*\S[^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub title: Option<String>,
    /// A new description, or `null` to clear it.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<String>, max_length = 10000, pattern = r"^[^\u0000]*$")]
    pub description: Option<Option<String>>,
    /// A new priority, 1 to 5.
    #[schema(minimum = 1, maximum = 5)]
    pub priority: Option<i16>,
    /// A new due time, or `null` to clear it.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub due_at: Option<Option<DateTime<Utc>>>,
}

impl PatchTaskBody {
    /// The library's patch.
    ///
    /// # Errors
    /// 422 for a priority out of range.
    pub fn into_patch(self) -> Result<TaskPatch, ApiError> {
        let mut patch = TaskPatch::default();
        if let Some(title) = self.title {
            patch = patch.title(title);
        }
        match self.description {
            Some(Some(description)) => patch = patch.description(description),
            Some(None) => patch = patch.clear_description(),
            None => {}
        }
        if let Some(priority) = self.priority {
            patch = patch.priority(Priority::new(priority)?);
        }
        match self.due_at {
            Some(Some(due_at)) => patch = patch.due_at(due_at),
            Some(None) => patch = patch.clear_due_at(),
            None => {}
        }
        Ok(patch)
    }
}

/// Which tasks a list holds, in what order, and from where.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `all` (default), `open` or `done`.
    pub status: Option<StatusParam>,
    /// Only tasks whose priority number is at least this.
    #[param(minimum = 1, maximum = 5)]
    pub priority_min: Option<i16>,
    /// Only tasks whose priority number is at most this.
    #[param(minimum = 1, maximum = 5)]
    pub priority_max: Option<i16>,
    /// Words that must appear in the title or description.
    pub q: Option<String>,
    /// Only tasks due at or after this time.
    pub due_from: Option<DateTime<Utc>>,
    /// Only tasks due before this time.
    pub due_before: Option<DateTime<Utc>>,
    /// Only tasks changed at or after this time.
    pub updated_since: Option<DateTime<Utc>>,
    /// The field the list is ordered by (default `created`).
    pub sort: Option<SortParam>,
    /// `asc` (default) or `desc`.
    pub order: Option<OrderParam>,
    /// Tasks per page (default 50; more than 500 gives 500).
    #[param(minimum = 1, maximum = 4294967295_u64, value_type = Option<u64>)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The status filter of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusParam {
    /// Every task.
    All,
    /// Tasks still to do.
    Open,
    /// Completed tasks.
    Done,
}

/// The field a list is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortParam {
    /// Creation time.
    Created,
    /// Time of the last change.
    Updated,
    /// Priority number.
    Priority,
    /// Due time (undated tasks last).
    Due,
    /// Title, case-insensitively.
    Title,
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrderParam {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

impl ListParams {
    /// The library's query.
    ///
    /// # Errors
    /// 422 for a priority out of range or a malformed cursor.
    pub fn into_query(self) -> Result<TaskQuery, ApiError> {
        let mut filter = TaskFilter::default();
        if let Some(status) = self.status {
            filter = filter.status(match status {
                StatusParam::All => StatusFilter::All,
                StatusParam::Open => StatusFilter::Open,
                StatusParam::Done => StatusFilter::Done,
            });
        }
        if let Some(min) = self.priority_min {
            filter = filter.priority_at_least(
                Priority::new(min).map_err(|e| super::named(e, "priority_min"))?,
            );
        }
        if let Some(max) = self.priority_max {
            filter = filter
                .priority_at_most(Priority::new(max).map_err(|e| super::named(e, "priority_max"))?);
        }
        if let Some(q) = self.q {
            filter = filter.search(q);
        }
        if self.due_from.is_some() || self.due_before.is_some() {
            filter = filter.due_between(self.due_from, self.due_before);
        }
        if let Some(since) = self.updated_since {
            filter = filter.updated_since(since);
        }
        let key = match self.sort.unwrap_or(SortParam::Created) {
            SortParam::Created => SortKey::Created,
            SortParam::Updated => SortKey::Updated,
            SortParam::Priority => SortKey::Priority,
            SortParam::Due => SortKey::Due,
            SortParam::Title => SortKey::Title,
        };
        let order = match self.order.unwrap_or(OrderParam::Asc) {
            OrderParam::Asc => SortOrder::Asc,
            OrderParam::Desc => SortOrder::Desc,
        };
        let mut query = TaskQuery::new()
            .filter(filter)
            .sort(TaskSort { key, order });
        if let Some(limit) = self.limit {
            query = query.limit(limit);
        }
        if let Some(cursor) = self.cursor {
            query = query.after(cursor.parse::<Cursor>()?);
        }
        Ok(query)
    }
}

/// One page of a task list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskPage {
    /// The tasks of this page, in the list's order.
    pub items: Vec<TaskBody>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl From<Page<Task>> for TaskPage {
    fn from(page: Page<Task>) -> Self {
        Self {
            items: page.items.into_iter().map(TaskBody::from).collect(),
            next_cursor: page.next_cursor.map(|cursor| cursor.to_string()),
        }
    }
}

/// Tasks to delete at once.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkDeleteBody {
    /// The ids; ids that are not the caller's tasks are skipped.
    pub ids: Vec<Uuid>,
}

/// How many tasks a bulk delete removed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeletedCount {
    /// Tasks deleted.
    pub deleted: u64,
}
