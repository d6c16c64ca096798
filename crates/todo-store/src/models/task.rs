//! Tasks: the [`Task`] read model, the [`NewTask`] and [`TaskPatch`] input forms.

use chrono::{DateTime, Utc};
use diesel::{
    deserialize::{self, FromSql},
    pg::{Pg, PgValue},
    prelude::*,
    serialize::{self, Output, ToSql},
    sql_types,
};
use serde::{Deserialize, Serialize};

use crate::{Error, Result, TaskId, schema::tasks};

/// A task as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = tasks, check_for_backend(Pg))]
#[non_exhaustive]
pub struct Task {
    /// The task's id.
    pub id: TaskId,
    /// 1 to [`MAX_TITLE_CHARS`](crate::MAX_TITLE_CHARS) characters, trimmed.
    pub title: String,
    /// Up to [`MAX_DESCRIPTION_CHARS`](crate::MAX_DESCRIPTION_CHARS) characters.
    pub description: Option<String>,
    /// Whether the task is done.
    pub completed: bool,
    /// When the task was last marked done; set exactly when `completed` is true.
    pub completed_at: Option<DateTime<Utc>>,
    /// Urgency, 1 (most urgent) to 5.
    pub priority: Priority,
    /// When the task is due, if ever.
    pub due_at: Option<DateTime<Utc>>,
    /// 1 when created, +1 on every change; pass it back as
    /// [`VersionCheck::Exactly`](crate::VersionCheck::Exactly) to update safely.
    pub version: i32,
    /// When the task was created (database clock).
    pub created_at: DateTime<Utc>,
    /// When the task last changed (database clock).
    pub updated_at: DateTime<Utc>,
}

impl Task {
    /// Open or done, as an enum.
    pub fn status(&self) -> TaskStatus {
        if self.completed {
            TaskStatus::Done
        } else {
            TaskStatus::Open
        }
    }
}

/// Whether a task is still to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    /// Still to do.
    Open,
    /// Completed.
    Done,
}

/// A task's urgency: 1 (most urgent) to 5 (least); 3 by default.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = sql_types::SmallInt)]
#[serde(try_from = "i16", into = "i16")]
pub struct Priority(i16);

impl Priority {
    /// The most urgent priority, 1.
    pub const HIGHEST: Priority = Priority(1);
    /// The default priority, 3.
    pub const NORMAL: Priority = Priority(3);
    /// The least urgent priority, 5.
    pub const LOWEST: Priority = Priority(5);

    /// A priority from its number.
    ///
    /// # Errors
    /// [`Error::Validation`] on `priority` unless `1 <= value <= 5`.
    pub fn new(value: i16) -> Result<Self> {
        if (Self::HIGHEST.0..=Self::LOWEST.0).contains(&value) {
            Ok(Self(value))
        } else {
            Err(Error::validation(
                "priority",
                format!("must be between 1 and 5 (got {value})"),
            ))
        }
    }

    /// The number, 1 to 5.
    pub const fn get(self) -> i16 {
        self.0
    }
}

impl Default for Priority {
    fn default() -> Self {
        Self::NORMAL
    }
}

impl TryFrom<i16> for Priority {
    type Error = Error;
    fn try_from(value: i16) -> Result<Self> {
        Self::new(value)
    }
}

impl From<Priority> for i16 {
    fn from(priority: Priority) -> i16 {
        priority.0
    }
}

impl std::fmt::Display for Priority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ToSql<sql_types::SmallInt, Pg> for Priority {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <i16 as ToSql<sql_types::SmallInt, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<sql_types::SmallInt, Pg> for Priority {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        let value = <i16 as FromSql<sql_types::SmallInt, Pg>>::from_sql(bytes)?;
        Priority::new(value).map_err(Into::into)
    }
}

/// The input form for a new task. The owner comes from the [`Owner`](crate::Owner)
/// passed alongside, never from here.
///
/// ```
/// use todo_store::{NewTask, Priority};
/// let task = NewTask::new("Water the plants")
///     .description("The fern too")
///     .priority(Priority::HIGHEST);
/// assert_eq!(task.title, "Water the plants");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    /// Required: 1 to [`MAX_TITLE_CHARS`](crate::MAX_TITLE_CHARS) characters after trimming, single line.
    pub title: String,
    /// Optional; an empty string means none.
    #[serde(default)]
    pub description: Option<String>,
    /// Defaults to [`Priority::NORMAL`].
    #[serde(default)]
    pub priority: Option<Priority>,
    /// Optional due time.
    #[serde(default)]
    pub due_at: Option<DateTime<Utc>>,
    /// An id chosen by the client (e.g. a UUIDv7 made on the device), which
    /// makes the create idempotent: repeating it after an ambiguous failure
    /// (the request was sent, the reply was lost) returns the task created
    /// the first time instead of a second task. Without one, the library
    /// picks a fresh UUIDv7.
    #[serde(default)]
    pub id: Option<TaskId>,
}

impl NewTask {
    /// A task with only a title.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            ..Self::default()
        }
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the priority.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = Some(priority);
        self
    }

    /// Sets the due time.
    pub fn due_at(mut self, due_at: DateTime<Utc>) -> Self {
        self.due_at = Some(due_at);
        self
    }

    /// Sets the client-chosen id that makes the create idempotent.
    ///
    /// ```
    /// use todo_store::{NewTask, TaskId};
    /// let id = TaskId::new_v7(); // made once, on the device, and kept for retries
    /// let task = NewTask::new("Call the bank").id(id);
    /// assert_eq!(task.id, Some(id));
    /// ```
    pub fn id(mut self, id: TaskId) -> Self {
        self.id = Some(id);
        self
    }
}

/// A partial update: `None` leaves a field as it is. For nullable fields,
/// `Some(None)` clears the value and `Some(Some(v))` sets it.
///
/// There is no owner field: a task can never be moved to another user.
///
/// ```
/// use todo_store::{Priority, TaskPatch};
/// let patch = TaskPatch::default()
///     .title("Water the plants on Monday")
///     .clear_due_at()
///     .priority(Priority::LOWEST);
/// assert_eq!(patch.due_at, Some(None));
/// assert!(patch.description.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    /// New title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// New description (`Some(None)`: remove it). In JSON, `null` removes it and
    /// an absent field leaves it.
    #[serde(
        default,
        deserialize_with = "super::present_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<Option<String>>,
    /// New priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// New due time (`Some(None)`: remove it). In JSON, `null` removes it and an
    /// absent field leaves it.
    #[serde(
        default,
        deserialize_with = "super::present_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub due_at: Option<Option<DateTime<Utc>>>,
}

impl TaskPatch {
    /// Sets a new title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets a new description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(Some(description.into()));
        self
    }

    /// Removes the description.
    pub fn clear_description(mut self) -> Self {
        self.description = Some(None);
        self
    }

    /// Sets a new priority.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = Some(priority);
        self
    }

    /// Sets a new due time.
    pub fn due_at(mut self, due_at: DateTime<Utc>) -> Self {
        self.due_at = Some(Some(due_at));
        self
    }

    /// Removes the due time.
    pub fn clear_due_at(mut self) -> Self {
        self.due_at = Some(None);
        self
    }

    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_bounds() {
        assert!(Priority::new(0).is_err());
        assert!(Priority::new(6).is_err());
        assert_eq!(Priority::new(1).map(Priority::get), Ok(1));
        assert_eq!(Priority::default(), Priority::NORMAL);
    }

    #[test]
    fn patch_json_distinguishes_absent_from_null() {
        let patch: TaskPatch = serde_json::from_str(r#"{"description": null}"#).unwrap_or_default();
        assert_eq!(patch.description, Some(None));
        assert_eq!(patch.due_at, None);
        let patch: TaskPatch =
            serde_json::from_str(r#"{"due_at": "2030-01-01T00:00:00Z"}"#).unwrap_or_default();
        assert!(matches!(patch.due_at, Some(Some(_))));
        assert!(serde_json::from_str::<TaskPatch>(r#"{"user_id": "x"}"#).is_err());
        assert!(serde_json::from_str::<TaskPatch>(r#"{"priority": 9}"#).is_err());
    }
}
