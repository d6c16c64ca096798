//! The lines of a backup file, as serde types: what the module docs of
//! [`backup`](super) describe, written and read.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::{
    Error, Priority, TaskId, UserId,
    bulk::{PasswordHash, Secrets, TaskRecord, UserRecord},
};

/// The `format` of the header.
pub const FORMAT: &str = "todo-store";
/// The only version this library writes and reads.
pub const VERSION: u64 = 1;
/// Longest line accepted on import: far above the longest valid record
/// (a 10,000-character description, every character escaped).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// The first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Header<'a> {
    /// Always [`FORMAT`].
    format: &'a str,
    /// Always [`VERSION`].
    version: u64,
    /// Whether user lines carry password hashes.
    secrets: bool,
}

impl Header<'static> {
    /// The header of a file written now.
    pub(super) fn current(secrets: bool) -> Self {
        Self {
            format: FORMAT,
            version: VERSION,
            secrets,
        }
    }
}

/// Checks the first line and returns whether the file holds secrets. The
/// format and version are checked before anything else about the line, so
/// that a file of a later version is refused as such, whatever its header
/// holds besides.
///
/// # Errors
/// [`Error::Validation`] if the line is not a header of version 1.
pub(super) fn read_header(line: &[u8]) -> Result<Secrets, Error> {
    let not_ours = || {
        Error::validation(
            "input",
            format!(
                "not a todo-store export: line 1 must be a header like \
                 {{\"format\":\"{FORMAT}\",\"version\":{VERSION},\"secrets\":false}}"
            ),
        )
    };
    let value: Value = serde_json::from_slice(line).map_err(|_| not_ours())?;
    if value.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(not_ours());
    }
    match value.get("version") {
        Some(version) if version.as_u64() == Some(VERSION) => {}
        Some(version) => {
            return Err(Error::validation(
                "format version",
                format!(
                    "the file is version {version} of the todo-store format; \
                     this todo-store reads version {VERSION} only"
                ),
            ));
        }
        None => return Err(not_ours()),
    }
    Header::deserialize(&value)
        .map(|header| match header.secrets {
            true => Secrets::Include,
            false => Secrets::Omit,
        })
        .map_err(|err| Error::validation("header on line 1", err.to_string()))
}

/// A line after the header, as written.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub(super) enum LineOut<'a> {
    /// An account.
    User(UserOut<'a>),
    /// A task.
    Task(TaskOut<'a>),
    /// The last line.
    End(End),
}

/// A user line, as written.
#[derive(Serialize)]
pub(super) struct UserOut<'a> {
    id: UserId,
    email: &'a str,
    display_name: Option<&'a str>,
    time_zone: Option<&'a str>,
    auth_subject: Option<&'a str>,
    /// Absent from a file without secrets; `null` or the hash in one with.
    #[serde(skip_serializing_if = "Option::is_none")]
    password_hash: Option<Option<&'a str>>,
    #[serde(serialize_with = "micros")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "micros")]
    updated_at: DateTime<Utc>,
}

impl<'a> UserOut<'a> {
    /// The line of `user`; with `secrets`, its password hash (or `null`).
    pub(super) fn new(user: &'a UserRecord, secrets: bool) -> Self {
        Self {
            id: user.id,
            email: &user.email,
            display_name: user.display_name.as_deref(),
            time_zone: user.time_zone.as_deref(),
            auth_subject: user.auth_subject.as_deref(),
            password_hash: secrets.then(|| user.password_hash.as_ref().map(PasswordHash::expose)),
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// A task line, as written.
#[derive(Debug, Serialize)]
pub(super) struct TaskOut<'a> {
    user_id: UserId,
    id: TaskId,
    title: &'a str,
    description: Option<&'a str>,
    priority: i16,
    #[serde(serialize_with = "micros_or_null")]
    due_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "micros_or_null")]
    completed_at: Option<DateTime<Utc>>,
    version: i32,
    #[serde(serialize_with = "micros")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "micros")]
    updated_at: DateTime<Utc>,
}

impl<'a> TaskOut<'a> {
    /// The line of `task`, owned by `owner`.
    pub(super) fn new(owner: UserId, task: &'a TaskRecord) -> Self {
        Self {
            user_id: owner,
            id: task.id,
            title: &task.title,
            description: task.description.as_deref(),
            priority: task.priority.get(),
            due_at: task.due_at,
            completed_at: task.completed_at,
            version: task.version,
            created_at: task.created_at,
            updated_at: task.updated_at,
        }
    }
}

/// The last line: how many records came before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct End {
    /// User lines in the file.
    pub(super) users: u64,
    /// Task lines in the file.
    pub(super) tasks: u64,
}

/// RFC 3339 in UTC with exactly six fractional digits.
fn micros<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&time.format("%Y-%m-%dT%H:%M:%S%.6fZ"))
}

fn micros_or_null<S: Serializer>(
    time: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => micros(time, serializer),
        None => serializer.serialize_none(),
    }
}

/// A line after the header, as read.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub(super) enum LineIn {
    /// An account.
    User(UserIn),
    /// A task.
    Task(TaskIn),
    /// The last line.
    End(End),
}

/// A user line, as read. Missing optional keys count as `null`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UserIn {
    id: UserId,
    email: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    auth_subject: Option<String>,
    #[serde(default)]
    password_hash: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl UserIn {
    /// The record; `secrets` is what the header says.
    ///
    /// # Errors
    /// [`Error::Validation`] for a password hash that is not one, or any
    /// hash in a file without secrets.
    pub(super) fn into_record(self, secrets: Secrets) -> Result<UserRecord, Error> {
        let mut user = UserRecord::new(self.id, self.email, self.created_at);
        user.display_name = self.display_name;
        user.time_zone = self.time_zone;
        user.auth_subject = self.auth_subject;
        user.updated_at = self.updated_at;
        user.password_hash = match self.password_hash {
            Some(_) if secrets == Secrets::Omit => {
                return Err(Error::validation(
                    "password_hash",
                    "not expected: the header says this file holds no secrets",
                ));
            }
            Some(phc) => Some(PasswordHash::new(phc)?),
            None => None,
        };
        Ok(user)
    }
}

/// A task line, as read. Missing optional keys count as `null`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TaskIn {
    /// The owner.
    pub(super) user_id: UserId,
    id: TaskId,
    title: String,
    #[serde(default)]
    description: Option<String>,
    priority: i16,
    #[serde(default)]
    due_at: Option<DateTime<Utc>>,
    #[serde(default)]
    completed_at: Option<DateTime<Utc>>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TaskIn {
    /// The owner and the record.
    ///
    /// # Errors
    /// [`Error::Validation`] on `priority` unless it is 1 to 5.
    pub(super) fn into_record(self) -> Result<(UserId, TaskRecord), Error> {
        let mut task = TaskRecord::new(self.id, self.title, self.created_at);
        task.description = self.description;
        task.priority = Priority::new(self.priority)?;
        task.due_at = self.due_at;
        task.completed_at = self.completed_at;
        task.version = self.version;
        task.updated_at = self.updated_at;
        Ok((self.user_id, task))
    }
}

/// A JSON error without serde_json's "at line 1 column N" (every line is
/// parsed alone, so its line is always 1), with the column kept.
pub(super) fn json_error(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let message = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(message, _)| message);
    format!("{message} (column {})", err.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_have_exactly_six_fractional_digits_in_utc() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().expect("a time");
        let text = |t: DateTime<Utc>| {
            let mut out = Vec::new();
            micros(&t, &mut serde_json::Serializer::new(&mut out)).expect("json");
            String::from_utf8(out).expect("utf-8")
        };
        assert_eq!(
            text(at("2030-01-31T17:00:00Z")),
            "\"2030-01-31T17:00:00.000000Z\""
        );
        assert_eq!(
            text(at("2030-01-31T18:00:00.1234+01:00")),
            "\"2030-01-31T17:00:00.123400Z\""
        );
        assert_eq!(
            text(at("0042-01-01T00:00:00Z")),
            "\"0042-01-01T00:00:00.000000Z\""
        );
    }

    #[test]
    fn headers_are_checked_format_and_version_first() {
        assert_eq!(
            read_header(br#"{"format":"todo-store","version":1,"secrets":true}"#),
            Ok(Secrets::Include)
        );
        let field = |line: &[u8]| match read_header(line) {
            Err(Error::Validation { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(br#"{"format":"todo-store","version":2,"anything":[]}"#),
            "format version"
        );
        assert_eq!(field(br#"{"type":"user"}"#), "input");
        assert_eq!(field(b"not json"), "input");
        assert_eq!(
            field(br#"{"format":"todo-store","version":1,"secrets":false,"x":1}"#),
            "header on line 1"
        );
    }

    #[test]
    fn lines_are_written_with_the_type_first_and_in_a_fixed_order() {
        let line = serde_json::to_string(&LineOut::End(End { users: 2, tasks: 3 })).expect("json");
        assert_eq!(line, r#"{"type":"end","users":2,"tasks":3}"#);
        let parsed: LineIn = serde_json::from_str(&line).expect("parses back");
        assert!(matches!(parsed, LineIn::End(End { users: 2, tasks: 3 })));
    }

    #[test]
    fn json_errors_name_the_column_only() {
        let Err(err) = serde_json::from_str::<LineIn>(r#"{"type":"end","users":}"#) else {
            panic!("parsed a line without a value")
        };
        let text = json_error(&err);
        assert_eq!(text, "expected value (column 23)");
        assert!(!text.contains("line"), "{text}");
    }
}
