//! The records of bulk loading, export and import, and the rows they become:
//! one set of rules for every bulk path.

use std::fmt;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::Value;

use crate::{
    Error, Priority, Result, TaskId, UserId,
    history::{Actor, ChangeKind, TaskFields},
    schema::{task_history, tasks, users},
    validate::{self, MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS},
};

/// An account as stored.
///
/// Its credentials are optional: without a [`password_hash`](Self::password_hash)
/// the account cannot log in with a password until one is set.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserRecord {
    /// The account's id.
    pub id: UserId,
    /// Unique whatever its letter case.
    pub email: String,
    /// The name to show, if any.
    pub display_name: Option<String>,
    /// IANA time zone name, if known.
    pub time_zone: Option<String>,
    /// Subject id at an external auth service, if linked; unique.
    pub auth_subject: Option<String>,
    /// The stored Argon2id hash of the account's password, if it has one.
    pub password_hash: Option<PasswordHash>,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When the account last changed.
    pub updated_at: DateTime<Utc>,
}

impl UserRecord {
    /// An account with only an email address, unchanged since `created_at`.
    pub fn new(id: UserId, email: impl Into<String>, created_at: DateTime<Utc>) -> Self {
        Self {
            id,
            email: email.into(),
            display_name: None,
            time_zone: None,
            auth_subject: None,
            password_hash: None,
            created_at,
            updated_at: created_at,
        }
    }
}

/// A task as stored, without its owner (which comes beside it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskRecord {
    /// The task's id.
    pub id: TaskId,
    /// 1 to [`MAX_TITLE_CHARS`](crate::MAX_TITLE_CHARS) characters, trimmed.
    pub title: String,
    /// Up to [`MAX_DESCRIPTION_CHARS`](crate::MAX_DESCRIPTION_CHARS) characters.
    pub description: Option<String>,
    /// Urgency, 1 (most urgent) to 5.
    pub priority: Priority,
    /// When the task was marked done; `None` for an open task.
    pub completed_at: Option<DateTime<Utc>>,
    /// When the task is due, if ever.
    pub due_at: Option<DateTime<Utc>>,
    /// At least 1.
    pub version: i32,
    /// When the task was created.
    pub created_at: DateTime<Utc>,
    /// When the task last changed.
    pub updated_at: DateTime<Utc>,
}

impl TaskRecord {
    /// An open task at version 1, unchanged since `created_at`.
    pub fn new(id: TaskId, title: impl Into<String>, created_at: DateTime<Utc>) -> Self {
        Self {
            id,
            title: title.into(),
            description: None,
            priority: Priority::default(),
            completed_at: None,
            due_at: None,
            version: 1,
            created_at,
            updated_at: created_at,
        }
    }
}

impl From<crate::Task> for TaskRecord {
    fn from(task: crate::Task) -> Self {
        Self {
            id: task.id,
            title: task.title,
            description: task.description,
            priority: task.priority,
            completed_at: task.completed_at,
            due_at: task.due_at,
            version: task.version,
            created_at: task.created_at,
            updated_at: task.updated_at,
        }
    }
}

/// Where a user's change sequence stands (the table `task_sync_state`),
/// without its owner (which comes beside it).
///
/// A high-water mark rather than a record: an import raises the stored one
/// to it, never lowers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SyncStateRecord {
    /// The number of the user's last change; 0 before the first.
    pub last_seq: u64,
}

impl SyncStateRecord {
    /// A sync state at `last_seq`.
    pub fn new(last_seq: u64) -> Self {
        Self { last_seq }
    }
}

/// One change of a task as the history stores it (a row of `task_history`),
/// without its owner (which comes beside it): what a
/// [`TaskChange`](crate::TaskChange) is read from.
///
/// The fields before and after are the JSON objects the history holds,
/// carried as they are: a restore writes back what was recorded, whatever
/// the library would make of it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChangeRecord {
    /// The change's number in its owner's change sequence, from 1.
    pub seq: u64,
    /// The task changed (which may be deleted since).
    pub task_id: TaskId,
    /// The version the change produced (for a delete, the task's last one).
    pub version: i32,
    /// What the change did.
    pub kind: ChangeKind,
    /// When: the time of the writing transaction.
    pub changed_at: DateTime<Utc>,
    /// Who made it.
    pub actor: Actor,
    /// The fields before (`old_values`): `None` for a create, and only then.
    pub old_values: Option<Value>,
    /// The fields after (`new_values`): `None` for a delete, and only then.
    pub new_values: Option<Value>,
}

impl ChangeRecord {
    /// A change without field values: set [`old_values`](Self::old_values)
    /// and [`new_values`](Self::new_values) as its kind requires.
    pub fn new(
        seq: u64,
        task_id: TaskId,
        version: i32,
        kind: ChangeKind,
        changed_at: DateTime<Utc>,
        actor: Actor,
    ) -> Self {
        Self {
            seq,
            task_id,
            version,
            kind,
            changed_at,
            actor,
            old_values: None,
            new_values: None,
        }
    }
}

/// A stored password hash (an Argon2id PHC string): a secret.
///
/// It is only ever copied from one database to another, never shown: its
/// `Debug` output is redacted, and it implements neither `Display` nor
/// `Serialize`, so it cannot reach a log, an error or JSON by accident.
/// [`expose`](Self::expose) is the one deliberate way to read it, for a
/// backup that is meant to hold secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a hash read from a backup.
    ///
    /// # Errors
    /// [`Error::Validation`] on `password_hash` unless it is an Argon2id PHC
    /// string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`). The message never
    /// quotes the value.
    pub fn new(phc: impl Into<String>) -> Result<Self> {
        let phc = phc.into();
        let parsed = argon2::PasswordHash::new(&phc).ok();
        let argon2id = parsed.is_some_and(|hash| hash.algorithm.as_str() == "argon2id");
        if !argon2id || !phc.starts_with("$argon2id$") {
            return Err(Error::validation(
                "password_hash",
                "must be an Argon2id hash in PHC form ($argon2id$…)",
            ));
        }
        Ok(Self(phc))
    }

    /// A hash as the database holds it (its CHECK constraint already ran).
    pub(crate) fn stored(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string itself. Only for writing it where secrets belong (a
    /// backup made with secrets on purpose).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// Every column, so that COPY writes exactly these values (no defaults).
#[derive(Insertable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg), treat_none_as_default_value = false)]
pub(super) struct UserCopyRow<'a> {
    pub(super) id: UserId,
    pub(super) email: &'a str,
    pub(super) password_hash: Option<&'a str>,
    pub(super) auth_subject: Option<&'a str>,
    pub(super) display_name: Option<&'a str>,
    pub(super) time_zone: Option<&'a str>,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
}

impl<'a> UserCopyRow<'a> {
    /// Checks `user` by the repositories' rules; the row holds the values as
    /// they will be stored (trimmed, times cut to microseconds).
    pub(super) fn validated(user: &'a UserRecord) -> Result<Self> {
        Ok(Self {
            id: user.id,
            email: validate::email(&user.email)?,
            password_hash: user.password_hash.as_ref().map(PasswordHash::expose),
            auth_subject: validate::optional(user.auth_subject.as_deref(), validate::auth_subject)?,
            display_name: validate::optional(user.display_name.as_deref(), validate::display_name)?,
            time_zone: validate::optional(user.time_zone.as_deref(), validate::time_zone)?,
            created_at: validate::timestamp("created_at", user.created_at)?,
            updated_at: validate::timestamp("updated_at", user.updated_at)?,
        })
    }

    /// The record as it will be stored.
    pub(super) fn to_record(&self, source: &UserRecord) -> UserRecord {
        UserRecord {
            id: self.id,
            email: self.email.to_owned(),
            display_name: self.display_name.map(str::to_owned),
            time_zone: self.time_zone.map(str::to_owned),
            auth_subject: self.auth_subject.map(str::to_owned),
            password_hash: source.password_hash.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    /// The row of a record that [`validated`](Self::validated) already
    /// normalised.
    pub(super) fn of_checked(user: &'a UserRecord) -> Self {
        Self {
            id: user.id,
            email: &user.email,
            password_hash: user.password_hash.as_ref().map(PasswordHash::expose),
            auth_subject: user.auth_subject.as_deref(),
            display_name: user.display_name.as_deref(),
            time_zone: user.time_zone.as_deref(),
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// Every column of a task, for COPY.
#[derive(Insertable)]
#[diesel(table_name = tasks, check_for_backend(diesel::pg::Pg), treat_none_as_default_value = false)]
pub(super) struct TaskCopyRow<'a> {
    pub(super) user_id: UserId,
    pub(super) id: TaskId,
    pub(super) title: &'a str,
    pub(super) description: Option<&'a str>,
    pub(super) completed: bool,
    pub(super) completed_at: Option<DateTime<Utc>>,
    pub(super) priority: Priority,
    pub(super) due_at: Option<DateTime<Utc>>,
    pub(super) version: i32,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
}

impl<'a> TaskCopyRow<'a> {
    /// Checks `task` by the repositories' rules; the row holds the values as
    /// they will be stored (title trimmed, a blank description as none,
    /// times cut to microseconds).
    pub(super) fn validated(owner: UserId, task: &'a TaskRecord) -> Result<Self> {
        if task.version < 1 {
            return Err(Error::validation("version", "must be at least 1"));
        }
        let stamp = |field, time: Option<DateTime<Utc>>| {
            time.map(|t| validate::timestamp(field, t)).transpose()
        };
        Ok(Self {
            user_id: owner,
            id: task.id,
            title: validate::line("title", &task.title, MAX_TITLE_CHARS)?,
            description: match &task.description {
                Some(text) => validate::free_text("description", text, MAX_DESCRIPTION_CHARS)?,
                None => None,
            },
            completed: task.completed_at.is_some(),
            completed_at: stamp("completed_at", task.completed_at)?,
            priority: task.priority,
            due_at: stamp("due_at", task.due_at)?,
            version: task.version,
            created_at: validate::timestamp("created_at", task.created_at)?,
            updated_at: validate::timestamp("updated_at", task.updated_at)?,
        })
    }

    /// The record as it will be stored.
    pub(super) fn to_record(&self) -> TaskRecord {
        TaskRecord {
            id: self.id,
            title: self.title.to_owned(),
            description: self.description.map(str::to_owned),
            priority: self.priority,
            completed_at: self.completed_at,
            due_at: self.due_at,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    /// The row of a record that [`validated`](Self::validated) already
    /// normalised.
    pub(super) fn of_checked(owner: UserId, task: &'a TaskRecord) -> Self {
        Self {
            user_id: owner,
            id: task.id,
            title: &task.title,
            description: task.description.as_deref(),
            completed: task.completed_at.is_some(),
            completed_at: task.completed_at,
            priority: task.priority,
            due_at: task.due_at,
            version: task.version,
            created_at: task.created_at,
            updated_at: task.updated_at,
        }
    }
}

/// A change sequence number as the database stores it (`bigint`, from 1).
fn seq_number(field: &str, seq: u64, min: u64) -> Result<i64> {
    match i64::try_from(seq) {
        Ok(number) if seq >= min => Ok(number),
        _ => Err(Error::validation(
            field,
            format!("must be between {min} and {}", i64::MAX),
        )),
    }
}

/// `state` checked as the database will take it: the number in range.
pub(super) fn checked_sync_state(state: SyncStateRecord) -> Result<i64> {
    seq_number("last_seq", state.last_seq, 0)
}

/// A history row with its owner, as stored: read by the export's pages and
/// by the import's comparison with the stored history.
#[derive(Queryable, QueryableByName, Selectable)]
#[diesel(table_name = task_history, check_for_backend(diesel::pg::Pg))]
pub(super) struct ChangeRow {
    user_id: UserId,
    seq: i64,
    task_id: TaskId,
    version: i32,
    kind: String,
    changed_at: DateTime<Utc>,
    actor_user_id: Option<UserId>,
    actor_role: String,
    old_values: Option<Value>,
    new_values: Option<Value>,
}

impl ChangeRow {
    /// The owner and the record.
    ///
    /// # Errors
    /// [`Error::Database`] for a kind the library does not know (the
    /// table's CHECK allows none).
    pub(super) fn into_record(self) -> Result<(UserId, ChangeRecord)> {
        let kind = ChangeKind::parse(&self.kind).ok_or_else(|| {
            Error::Database(format!(
                "history row {} of user {} has an unreadable kind",
                self.seq, self.user_id
            ))
        })?;
        let change = ChangeRecord {
            // The table's CHECK keeps it at 1 or more.
            seq: self.seq.unsigned_abs(),
            task_id: self.task_id,
            version: self.version,
            kind,
            changed_at: self.changed_at,
            actor: Actor {
                owner: self.actor_user_id,
                role: self.actor_role,
            },
            old_values: self.old_values,
            new_values: self.new_values,
        };
        Ok((self.user_id, change))
    }
}

/// Every column of a history row, for COPY.
#[derive(Insertable)]
#[diesel(table_name = task_history, check_for_backend(diesel::pg::Pg), treat_none_as_default_value = false)]
pub(super) struct ChangeCopyRow<'a> {
    pub(super) user_id: UserId,
    pub(super) seq: i64,
    pub(super) task_id: TaskId,
    pub(super) version: i32,
    pub(super) kind: &'static str,
    pub(super) changed_at: DateTime<Utc>,
    pub(super) actor_user_id: Option<UserId>,
    pub(super) actor_role: &'a str,
    pub(super) old_values: Option<&'a Value>,
    pub(super) new_values: Option<&'a Value>,
}

impl<'a> ChangeCopyRow<'a> {
    /// Checks `change` by the history's rules (the migration's CHECKs, and
    /// field values the history can read back); the row holds the values as
    /// they will be stored (the time cut to microseconds, the JSON as it is).
    pub(super) fn validated(owner: UserId, change: &'a ChangeRecord) -> Result<Self> {
        let seq = seq_number("seq", change.seq, 1)?;
        if change.version < 1 {
            return Err(Error::validation("version", "must be at least 1"));
        }
        if change.actor.role.is_empty() {
            return Err(Error::validation("actor_role", "must not be empty"));
        }
        let values = |field: &str, value: &'a Option<Value>, absent_for: ChangeKind| {
            let what = absent_for.as_str();
            match value {
                None if change.kind == absent_for => Ok(None),
                None => Err(Error::validation(
                    field,
                    format!("must be an object of fields unless the change is a {what}"),
                )),
                Some(_) if change.kind == absent_for => Err(Error::validation(
                    field,
                    format!("must be null for a {what}"),
                )),
                Some(value) if value.is_object() && TaskFields::deserialize(value).is_ok() => {
                    Ok(Some(value))
                }
                Some(_) => Err(Error::validation(
                    field,
                    "must be an object of task fields (title, description, completed, \
                     completed_at, priority, due_at)",
                )),
            }
        };
        Ok(Self {
            user_id: owner,
            seq,
            task_id: change.task_id,
            version: change.version,
            kind: change.kind.as_str(),
            changed_at: validate::timestamp("changed_at", change.changed_at)?,
            actor_user_id: change.actor.owner,
            actor_role: &change.actor.role,
            old_values: values("old_values", &change.old_values, ChangeKind::Create)?,
            new_values: values("new_values", &change.new_values, ChangeKind::Delete)?,
        })
    }

    /// The record as it will be stored.
    pub(super) fn to_record(&self, source: &ChangeRecord) -> ChangeRecord {
        ChangeRecord {
            changed_at: self.changed_at,
            ..source.clone()
        }
    }

    /// The row of a record that [`validated`](Self::validated) already
    /// normalised.
    pub(super) fn of_checked(owner: UserId, change: &'a ChangeRecord) -> Self {
        Self {
            user_id: owner,
            seq: i64::try_from(change.seq).unwrap_or(i64::MAX),
            task_id: change.task_id,
            version: change.version,
            kind: change.kind.as_str(),
            changed_at: change.changed_at,
            actor_user_id: change.actor.owner,
            actor_role: &change.actor.role,
            old_values: change.old_values.as_ref(),
            new_values: change.new_values.as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$\
                       n7bVXTzTR4A2bJX3sFUy0uz8tUgz5YXw4fhF0lQCoUU";

    #[test]
    fn password_hashes_must_be_argon2id_and_never_show() {
        let hash = PasswordHash::new(PHC).expect("a valid PHC string");
        assert_eq!(hash.expose(), PHC);
        assert_eq!(format!("{hash:?}"), "PasswordHash(<redacted>)");
        let mut user = UserRecord::new(UserId::new_v7(), "ada@example.com", DateTime::UNIX_EPOCH);
        user.password_hash = Some(hash);
        assert!(!format!("{user:?}").contains("argon2id"));

        for bad in [
            "",
            "secret",
            "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$n7bVXTzTR4A2bJX3sFUy0uz8tUgz5YXw4fhF0lQCoUU",
            "$argon2id$not a hash",
        ] {
            let err = PasswordHash::new(bad).expect_err(bad);
            assert!(matches!(&err, Error::Validation { field, .. } if field == "password_hash"));
            assert!(bad.is_empty() || !err.to_string().contains(bad), "{err}");
        }
    }
}
