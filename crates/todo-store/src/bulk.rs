//! Bulk loading with PostgreSQL `COPY`: whole accounts and their tasks, as
//! stored, for seeding and restoring a database.
//!
//! This is an operator path (cargo feature `operator`), not an owner-scoped
//! one: a [`LoadBatch`] writes ids, timestamps and versions as given, which
//! the ordinary [`TaskRepo`](crate::TaskRepo) never lets a client do. Every
//! record is checked by the same rules as the repositories before anything
//! is sent, and stored as they store it (titles trimmed, a blank description
//! as none); the database's constraints hold as always.
//!
//! ```no_run
//! use chrono::Utc;
//! use todo_store::{StoreConfig, TaskId, UserId, bulk::{self, LoadBatch, TaskRecord, UserRecord}};
//!
//! # fn main() -> Result<(), todo_store::Error> {
//! let mut conn = StoreConfig::from_env()?.establish()?;
//! let now = Utc::now();
//! let user = UserRecord::new(UserId::new_v7(), "seed@example.com", now);
//! let tasks = vec![TaskRecord::new(TaskId::new_v7(), "Water the plants", now)];
//! let mut batch = LoadBatch::default();
//! batch.add_user(user, tasks);
//! let loaded = bulk::load(&mut conn, &batch)?;
//! assert_eq!((loaded.users, loaded.tasks), (1, 1));
//! # Ok(()) }
//! ```

use chrono::{DateTime, Utc};
use diesel::{PgConnection, prelude::*};

use crate::{
    Error, Priority, Result, TaskId, UserId,
    repo::user_sql,
    schema::{tasks, users},
    validate::{self, MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS},
};

/// An account as stored, without credentials: it cannot log in with a
/// password until one is set.
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
            created_at,
            updated_at: created_at,
        }
    }
}

/// A task as stored, without its owner (which the [`LoadBatch`] gives).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskRecord {
    /// The task's id.
    pub id: TaskId,
    /// 1 to 500 characters, trimmed.
    pub title: String,
    /// Up to 10,000 characters.
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

/// Accounts and tasks loaded together, in one transaction.
///
/// A task's owner is either an account of the same batch or one already in
/// the database.
#[derive(Debug, Clone, Default)]
pub struct LoadBatch {
    users: Vec<UserRecord>,
    tasks: Vec<(UserId, TaskRecord)>,
}

impl LoadBatch {
    /// Adds an account and its tasks.
    pub fn add_user(&mut self, user: UserRecord, tasks: impl IntoIterator<Item = TaskRecord>) {
        let owner = user.id;
        self.users.push(user);
        self.add_tasks(owner, tasks);
    }

    /// Adds tasks of the account `owner` (in this batch or already stored).
    pub fn add_tasks(&mut self, owner: UserId, tasks: impl IntoIterator<Item = TaskRecord>) {
        self.tasks
            .extend(tasks.into_iter().map(|task| (owner, task)));
    }

    /// Accounts in the batch.
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// Tasks in the batch.
    pub fn task_count(&self) -> usize {
        self.tasks.len()
    }

    /// Whether the batch holds nothing.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.tasks.is_empty()
    }
}

/// What [`load`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Loaded {
    /// Accounts created.
    pub users: usize,
    /// Tasks created.
    pub tasks: usize,
}

/// Writes the whole batch with two `COPY` statements (accounts, then tasks) in
/// one transaction: all of it, or nothing.
///
/// # Errors
/// [`Error::Validation`] naming the record, e.g. `tasks[7].title`, before
/// anything is sent; [`Error::Conflict`] for an email or id already stored
/// ([`ConflictKind::EmailTaken`](crate::ConflictKind::EmailTaken),
/// [`DuplicateUserId`](crate::ConflictKind::DuplicateUserId),
/// [`DuplicateTaskId`](crate::ConflictKind::DuplicateTaskId));
/// [`Error::NotFound`] if a task's owner does not exist. Nothing is written
/// on error.
pub fn load(conn: &mut PgConnection, batch: &LoadBatch) -> Result<Loaded> {
    let users = batch
        .users
        .iter()
        .enumerate()
        .map(|(i, user)| UserCopyRow::validated(user).map_err(|err| at("users", i, err)))
        .collect::<Result<Vec<_>>>()?;
    let tasks = batch
        .tasks
        .iter()
        .enumerate()
        .map(|(i, (owner, task))| {
            TaskCopyRow::validated(*owner, task).map_err(|err| at("tasks", i, err))
        })
        .collect::<Result<Vec<_>>>()?;
    conn.transaction(|conn| {
        let users = match users.is_empty() {
            true => 0,
            false => diesel::copy_from(users::table)
                .from_insertable(&users)
                .execute(conn)?,
        };
        let tasks = match tasks.is_empty() {
            true => 0,
            false => diesel::copy_from(tasks::table)
                .from_insertable(&tasks)
                .execute(conn)?,
        };
        Ok(Loaded { users, tasks })
    })
}

/// Prefixes a validation error's field with the record it is about.
fn at(list: &str, index: usize, err: Error) -> Error {
    match err {
        Error::Validation { field, reason } => {
            Error::validation(format!("{list}[{index}].{field}"), reason)
        }
        other => other,
    }
}

/// Every column, so that COPY writes exactly these values (no defaults).
#[derive(Insertable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg), treat_none_as_default_value = false)]
struct UserCopyRow<'a> {
    id: UserId,
    email: &'a str,
    password_hash: Option<&'a str>,
    auth_subject: Option<&'a str>,
    display_name: Option<&'a str>,
    time_zone: Option<&'a str>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl<'a> UserCopyRow<'a> {
    fn validated(user: &'a UserRecord) -> Result<Self> {
        Ok(Self {
            id: user.id,
            email: validate::email(&user.email)?,
            password_hash: None,
            auth_subject: None,
            display_name: user
                .display_name
                .as_deref()
                .map(user_sql::display_name)
                .transpose()?,
            time_zone: user
                .time_zone
                .as_deref()
                .map(user_sql::time_zone)
                .transpose()?,
            created_at: validate::timestamp("created_at", user.created_at)?,
            updated_at: validate::timestamp("updated_at", user.updated_at)?,
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = tasks, check_for_backend(diesel::pg::Pg), treat_none_as_default_value = false)]
struct TaskCopyRow<'a> {
    user_id: UserId,
    id: TaskId,
    title: &'a str,
    description: Option<&'a str>,
    completed: bool,
    completed_at: Option<DateTime<Utc>>,
    priority: Priority,
    due_at: Option<DateTime<Utc>>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl<'a> TaskCopyRow<'a> {
    fn validated(owner: UserId, task: &'a TaskRecord) -> Result<Self> {
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
}
