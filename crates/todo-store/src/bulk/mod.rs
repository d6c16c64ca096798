//! Bulk paths with PostgreSQL `COPY`: whole accounts and their tasks, as
//! stored, for seeding ([`load`]), backing up ([`export`]) and restoring
//! ([`import`]) a database; the last two carry the task history too.
//!
//! These are operator paths (cargo feature `bulk`), not owner-scoped
//! ones: records carry ids, timestamps, versions, history and password
//! hashes as stored, which the ordinary [`TaskRepo`](crate::TaskRepo) never
//! lets a client set. Every record is checked by the same rules as the repositories
//! before anything is sent, and stored as they store it (titles trimmed, a
//! blank description as none, times in whole microseconds); the database's
//! constraints hold as always.
//!
//! - [`load`] writes a [`LoadBatch`] all or nothing, and fails on any id or
//!   email already stored: the seeding path. The tasks it writes are
//!   recorded in the history as created, like any other insert.
//! - [`export`] reads accounts (by id), tasks (by owner, then id), the
//!   owners' sync states ([`SyncStateRecord`], by owner) and their task
//!   history ([`ChangeRecord`], by owner, then number) in keyset pages of a
//!   consistent snapshot, in constant memory.
//! - [`import`] writes an [`ImportBatch`] in one transaction and is
//!   idempotent: rows whose ids are already stored are left as they are and
//!   counted, so a restore can be run again. It writes the history it is
//!   given and records none of its own.
//!
//! Copying one database into another, page by page ([`backup`](crate::backup)
//! does the same through a file):
//!
//! ```no_run
//! use todo_store::{StoreConfig, bulk::{self, ExportChunk, ExportOptions, ImportBatch}};
//!
//! # fn main() -> Result<(), todo_store::Error> {
//! let mut source = StoreConfig::new("postgres://localhost/todo_store").establish()?;
//! let mut target = StoreConfig::new("postgres://localhost/todo_store_copy").establish()?;
//! let copied = bulk::export(&mut source, &ExportOptions::default(), |chunk| {
//!     let mut batch = ImportBatch::default();
//!     match chunk {
//!         ExportChunk::Users(users) => users.into_iter().try_for_each(|u| batch.push_user(u))?,
//!         ExportChunk::Tasks(tasks) => {
//!             tasks.into_iter().try_for_each(|(owner, t)| batch.push_task(owner, t))?
//!         }
//!         ExportChunk::SyncStates(states) => {
//!             states.into_iter().try_for_each(|(owner, s)| batch.push_sync_state(owner, s))?
//!         }
//!         ExportChunk::Changes(changes) => {
//!             changes.into_iter().try_for_each(|(owner, c)| batch.push_change(owner, c))?
//!         }
//!     }
//!     bulk::import(&mut target, &batch).map(|_| ())
//! })?;
//! println!("copied {} users, {} tasks and {} changes", copied.users, copied.tasks, copied.changes);
//! # Ok(()) }
//! ```
//!
//! Seeding:
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

mod export;
mod import;
mod records;

use diesel::{PgConnection, prelude::*};

use crate::{
    Error, Result, UserId,
    schema::{tasks, users},
};
use records::{ChangeCopyRow, TaskCopyRow, UserCopyRow};

/// Makes a query that row-level security would filter fail instead, as
/// `pg_dump` does: a bulk path sees every row or none.
const ROW_SECURITY_OFF: &str = "SET LOCAL row_security = off";

pub use export::{Accounts, ExportChunk, ExportOptions, Exported, Secrets, export};
pub use import::{ImportBatch, Imported, import};
pub(crate) use import::{
    refused_change, stored_change, stored_sync_state, stored_task, stored_user,
};
pub use records::{ChangeRecord, PasswordHash, SyncStateRecord, TaskRecord, UserRecord};

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
        let (users, tasks) = copy_rows(conn, &users, &tasks)?;
        Ok(Loaded { users, tasks })
    })
}

/// Two `COPY` statements, accounts then tasks (skipped when empty): the
/// number of rows of each written.
fn copy_rows(
    conn: &mut PgConnection,
    users: &[UserCopyRow<'_>],
    tasks: &[TaskCopyRow<'_>],
) -> QueryResult<(usize, usize)> {
    let users = match users.is_empty() {
        true => 0,
        false => diesel::copy_from(users::table)
            .from_insertable(users)
            .execute(conn)?,
    };
    let tasks = match tasks.is_empty() {
        true => 0,
        false => diesel::copy_from(tasks::table)
            .from_insertable(tasks)
            .execute(conn)?,
    };
    Ok((users, tasks))
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
