//! A task's fields as a history row holds them: some or all of them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::Priority;

/// Some of a task's fields: those a change touched (or all of them, for the
/// state a task was created with or deleted in). `None` means "not part of
/// this change"; for the fields that may be empty, `Some(None)` means "empty".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskFields {
    /// The title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The description (`Some(None)`: none).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<Option<String>>,
    /// Whether the task was done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<bool>,
    /// When it was marked done (`Some(None)`: not done).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub completed_at: Option<Option<DateTime<Utc>>>,
    /// The priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// When it was due (`Some(None)`: never).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub due_at: Option<Option<DateTime<Utc>>>,
}

impl TaskFields {
    /// Whether no field is present.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The names of the fields present, in the order of [`Task`](crate::Task)'s.
    pub fn names(&self) -> Vec<&'static str> {
        [
            ("title", self.title.is_some()),
            ("description", self.description.is_some()),
            ("completed", self.completed.is_some()),
            ("completed_at", self.completed_at.is_some()),
            ("priority", self.priority.is_some()),
            ("due_at", self.due_at.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, present)| present.then_some(name))
        .collect()
    }

    /// The fields as a history row's JSON holds them.
    pub(crate) fn from_json(value: Option<serde_json::Value>) -> serde_json::Result<Self> {
        match value {
            Some(value) => serde_json::from_value(value),
            None => Ok(Self::default()),
        }
    }
}

/// A field that is present, possibly as `null`: `Some(None)`; an absent one
/// stays `None` through `#[serde(default)]`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_and_null_fields_differ() {
        let fields = TaskFields::from_json(Some(serde_json::json!({
            "description": null,
            "completed_at": "2026-12-03T10:00:00.123456Z",
            "priority": 2
        })))
        .expect("fields");
        assert_eq!(fields.title, None);
        assert_eq!(fields.description, Some(None));
        assert!(matches!(fields.completed_at, Some(Some(_))));
        assert_eq!(fields.priority, Some(Priority::new(2).expect("priority")));
        assert_eq!(fields.due_at, None);
        assert_eq!(fields.names(), ["description", "completed_at", "priority"]);
        assert!(TaskFields::from_json(None).expect("none").is_empty());
    }
}
