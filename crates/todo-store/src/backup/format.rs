//! The lines of a backup file, as serde types: what the module docs of
//! [`backup`](super) describe, written and read.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::{
    Error, Priority, TaskId, UserId,
    bulk::{ChangeRecord, PasswordHash, Secrets, SyncStateRecord, TaskRecord, UserRecord},
    history::{Actor, ChangeKind},
};

/// The `format` of the header.
pub const FORMAT: &str = "todo-store";
/// The version this library writes: 2, which carries the task history.
pub const VERSION: u64 = 2;
/// The oldest version this library still reads: 1, without history.
pub const OLDEST_VERSION: u64 = 1;
/// Longest line accepted on import: far above the longest valid record
/// (a 10,000-character description, every character escaped).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// The first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Header<'a> {
    /// Always [`FORMAT`].
    format: &'a str,
    /// [`VERSION`] when written; [`OLDEST_VERSION`] to [`VERSION`] when read.
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

/// Checks the first line and returns the file's version and whether it
/// holds secrets. The format and version are checked before anything else
/// about the line, so that a file of a later version is refused as such,
/// whatever its header holds besides.
///
/// # Errors
/// [`Error::Validation`] if the line is not a header of a version from
/// [`OLDEST_VERSION`] to [`VERSION`].
pub(super) fn read_header(line: &[u8]) -> Result<(u64, Secrets), Error> {
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
    let readable = OLDEST_VERSION..=VERSION;
    match value.get("version") {
        Some(version) if version.as_u64().is_some_and(|v| readable.contains(&v)) => {}
        Some(version) => {
            return Err(Error::validation(
                "format version",
                format!(
                    "the file is version {version} of the todo-store format; \
                     this todo-store reads versions {OLDEST_VERSION} to {VERSION}"
                ),
            ));
        }
        None => return Err(not_ours()),
    }
    Header::deserialize(&value)
        .map(|header| {
            let secrets = match header.secrets {
                true => Secrets::Include,
                false => Secrets::Omit,
            };
            (header.version, secrets)
        })
        .map_err(|err| Error::validation("header on line 1", err.to_string()))
}

/// A line after the header, as written.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum LineOut<'a> {
    /// An account.
    User(UserOut<'a>),
    /// A task.
    Task(TaskOut<'a>),
    /// An owner's sync state.
    SyncState(SyncStateOut),
    /// A change of the task history.
    Change(ChangeOut<'a>),
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

/// A sync state line, as written.
#[derive(Debug, Serialize)]
pub(super) struct SyncStateOut {
    user_id: UserId,
    last_seq: u64,
}

impl SyncStateOut {
    /// The line of `owner`'s sync state.
    pub(super) fn new(owner: UserId, state: &SyncStateRecord) -> Self {
        Self {
            user_id: owner,
            last_seq: state.last_seq,
        }
    }
}

/// A change line, as written: the columns of `task_history`.
#[derive(Debug, Serialize)]
pub(super) struct ChangeOut<'a> {
    user_id: UserId,
    seq: u64,
    task_id: TaskId,
    version: i32,
    kind: ChangeKind,
    #[serde(serialize_with = "micros")]
    changed_at: DateTime<Utc>,
    actor_user_id: Option<UserId>,
    actor_role: &'a str,
    #[serde(serialize_with = "object_or_null")]
    old_values: Option<&'a Value>,
    #[serde(serialize_with = "object_or_null")]
    new_values: Option<&'a Value>,
}

impl<'a> ChangeOut<'a> {
    /// The line of `change`, of `owner`'s history.
    pub(super) fn new(owner: UserId, change: &'a ChangeRecord) -> Self {
        Self {
            user_id: owner,
            seq: change.seq,
            task_id: change.task_id,
            version: change.version,
            kind: change.kind,
            changed_at: change.changed_at,
            actor_user_id: change.actor.owner,
            actor_role: &change.actor.role,
            old_values: change.old_values.as_ref(),
            new_values: change.new_values.as_ref(),
        }
    }
}

/// The last line: how many records came before it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(super) struct End {
    /// User lines in the file.
    pub(super) users: u64,
    /// Task lines in the file.
    pub(super) tasks: u64,
    /// Sync state lines in the file.
    pub(super) sync_states: u64,
    /// Change lines in the file.
    pub(super) changes: u64,
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

/// A JSON value with the keys of every object in name order, whatever map
/// `serde_json` was built with (sorted, or in the order read, with its
/// `preserve_order` feature): the bytes of a line depend on the data alone.
/// There is no written order to keep: `jsonb` stores keys in an order of
/// its own (shorter keys first), whatever order they came in.
struct SortedKeys<'a>(&'a Value);

impl Serialize for SortedKeys<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => {
                let sorted: BTreeMap<&String, SortedKeys<'_>> = map
                    .iter()
                    .map(|(key, value)| (key, SortedKeys(value)))
                    .collect();
                serializer.collect_map(sorted)
            }
            Value::Array(items) => serializer.collect_seq(items.iter().map(SortedKeys)),
            other => other.serialize(serializer),
        }
    }
}

fn object_or_null<S: Serializer>(value: &Option<&Value>, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => SortedKeys(value).serialize(serializer),
        None => serializer.serialize_none(),
    }
}

/// A line after the header, as read.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum LineIn {
    /// An account.
    User(UserIn),
    /// A task.
    Task(TaskIn),
    /// An owner's sync state (version 2).
    SyncState(SyncStateIn),
    /// A change of the task history (version 2).
    Change(ChangeIn),
    /// The last line.
    End(EndIn),
}

impl LineIn {
    /// The name of the line's type, as the file spells it.
    pub(super) fn type_name(&self) -> &'static str {
        match self {
            LineIn::User(_) => "user",
            LineIn::Task(_) => "task",
            LineIn::SyncState(_) => "sync_state",
            LineIn::Change(_) => "change",
            LineIn::End(_) => "end",
        }
    }
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

/// A sync state line, as read.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SyncStateIn {
    /// The owner.
    pub(super) user_id: UserId,
    last_seq: u64,
}

impl SyncStateIn {
    /// The owner and the record.
    pub(super) fn into_record(self) -> (UserId, SyncStateRecord) {
        (self.user_id, SyncStateRecord::new(self.last_seq))
    }
}

/// A change line, as read. Missing optional keys count as `null`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChangeIn {
    /// The owner.
    pub(super) user_id: UserId,
    seq: u64,
    task_id: TaskId,
    version: i32,
    kind: ChangeKind,
    changed_at: DateTime<Utc>,
    #[serde(default)]
    actor_user_id: Option<UserId>,
    actor_role: String,
    #[serde(default)]
    old_values: Option<Value>,
    #[serde(default)]
    new_values: Option<Value>,
}

impl ChangeIn {
    /// The owner and the record.
    pub(super) fn into_record(self) -> (UserId, ChangeRecord) {
        let actor = Actor {
            owner: self.actor_user_id,
            role: self.actor_role,
        };
        let mut change = ChangeRecord::new(
            self.seq,
            self.task_id,
            self.version,
            self.kind,
            self.changed_at,
            actor,
        );
        change.old_values = self.old_values;
        change.new_values = self.new_values;
        (self.user_id, change)
    }
}

/// The end line, as read: version 1 counts users and tasks, version 2 also
/// sync states and changes.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EndIn {
    users: u64,
    tasks: u64,
    #[serde(default)]
    sync_states: Option<u64>,
    #[serde(default)]
    changes: Option<u64>,
}

impl EndIn {
    /// The counts, as a file of `version` must give them.
    ///
    /// # Errors
    /// [`Error::Validation`] on `end` if the line has the counts of another
    /// version.
    pub(super) fn counts(self, version: u64) -> Result<End, Error> {
        let (sync_states, changes) = match (version, self.sync_states, self.changes) {
            (1, None, None) => (0, 0),
            (1, _, _) => {
                return Err(Error::validation(
                    "end",
                    "a version 1 file counts users and tasks only",
                ));
            }
            (_, Some(sync_states), Some(changes)) => (sync_states, changes),
            (_, _, _) => {
                return Err(Error::validation(
                    "end",
                    format!(
                        "a version {version} file counts users, tasks, sync_states and changes"
                    ),
                ));
            }
        };
        Ok(End {
            users: self.users,
            tasks: self.tasks,
            sync_states,
            changes,
        })
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
            Ok((1, Secrets::Include))
        );
        assert_eq!(
            read_header(br#"{"format":"todo-store","version":2,"secrets":false}"#),
            Ok((2, Secrets::Omit))
        );
        let field = |line: &[u8]| match read_header(line) {
            Err(Error::Validation { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(br#"{"format":"todo-store","version":3,"anything":[]}"#),
            "format version"
        );
        assert_eq!(
            field(br#"{"format":"todo-store","version":0,"secrets":false}"#),
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
        let end = End {
            users: 2,
            tasks: 3,
            sync_states: 1,
            changes: 4,
        };
        let line = serde_json::to_string(&LineOut::End(end)).expect("json");
        assert_eq!(
            line,
            r#"{"type":"end","users":2,"tasks":3,"sync_states":1,"changes":4}"#
        );
        let LineIn::End(parsed) = serde_json::from_str(&line).expect("parses back") else {
            panic!("not an end line")
        };
        assert_eq!(parsed.counts(2), Ok(end));
        assert!(parsed.counts(1).is_err());

        let v1: LineIn = serde_json::from_str(r#"{"type":"end","users":2,"tasks":3}"#).expect("v1");
        let LineIn::End(v1) = v1 else {
            panic!("not an end line")
        };
        assert_eq!(v1.counts(1).map(|end| end.changes), Ok(0));
        assert!(v1.counts(2).is_err());
    }

    #[test]
    fn change_lines_carry_the_columns_of_the_history_with_sorted_field_keys() {
        let owner = UserId::new_v7();
        let actor = Actor {
            owner: Some(owner),
            role: "todo_app".into(),
        };
        let at = "2030-01-31T17:00:00Z".parse().expect("a time");
        let mut change = ChangeRecord::new(7, TaskId::new_v7(), 2, ChangeKind::Update, at, actor);
        // Keys in jsonb's own order (shorter first), as the database sends them.
        change.old_values =
            Some(serde_json::from_str(r#"{"title":"A","due_at":null}"#).expect("json"));
        change.new_values = Some(
            serde_json::from_str(r#"{"title":"B","due_at":"2030-02-01T00:00:00.000000Z"}"#)
                .expect("json"),
        );
        let line =
            serde_json::to_string(&LineOut::Change(ChangeOut::new(owner, &change))).expect("json");
        let expected = format!(
            r#"{{"type":"change","user_id":"{owner}","seq":7,"task_id":"{}","version":2,"kind":"update","changed_at":"2030-01-31T17:00:00.000000Z","actor_user_id":"{owner}","actor_role":"todo_app","old_values":{{"due_at":null,"title":"A"}},"new_values":{{"due_at":"2030-02-01T00:00:00.000000Z","title":"B"}}}}"#,
            change.task_id
        );
        assert_eq!(line, expected);
        let LineIn::Change(parsed) = serde_json::from_str(&line).expect("parses back") else {
            panic!("not a change line")
        };
        assert_eq!(parsed.into_record(), (owner, change));
    }

    #[test]
    fn object_keys_are_written_in_name_order_at_every_depth() {
        let mut inner = serde_json::Map::new();
        inner.insert("b".into(), Value::from(1));
        inner.insert("a".into(), Value::from(2));
        let mut outer = serde_json::Map::new();
        outer.insert("z".into(), Value::Array(vec![Value::Object(inner.clone())]));
        outer.insert("y".into(), Value::Object(inner));
        let text = serde_json::to_string(&SortedKeys(&Value::Object(outer))).expect("json");
        assert_eq!(text, r#"{"y":{"a":2,"b":1},"z":[{"a":2,"b":1}]}"#);
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
