//! Writing accounts and tasks back, idempotently.

use std::{collections::HashMap, ops::AddAssign};

use chrono::{DateTime, Utc};
use diesel::{
    PgConnection,
    connection::SimpleConnection,
    prelude::*,
    result::{DatabaseErrorKind, Error as DieselError},
    sql_query,
};

use super::{
    PasswordHash, ROW_SECURITY_OFF, TaskCopyRow, TaskRecord, UserCopyRow, UserRecord, copy_rows,
};
use crate::{
    ConflictKind, Error, Priority, Result, TaskId, UserId,
    schema::{tasks, users},
};

/// Accounts and tasks to [`import`] in one transaction, each checked when it
/// is added.
///
/// A task's owner must be an account of the same batch, of an earlier batch,
/// or one already in the database.
#[derive(Debug, Clone, Default)]
pub struct ImportBatch {
    users: Vec<UserRecord>,
    tasks: Vec<(UserId, TaskRecord)>,
}

impl ImportBatch {
    /// Checks `user` by the repositories' rules and adds it, as it will be
    /// stored (trimmed, times cut to microseconds).
    ///
    /// # Errors
    /// [`Error::Validation`] naming the field
    /// (e.g. `email`); the batch is unchanged.
    pub fn push_user(&mut self, user: UserRecord) -> Result<()> {
        self.users.push(stored_user(user)?);
        Ok(())
    }

    /// Checks `task` of the account `owner` by the repositories' rules and
    /// adds it, as it will be stored (title trimmed, a blank description as
    /// none, times cut to microseconds).
    ///
    /// # Errors
    /// [`Error::Validation`] naming the field
    /// (e.g. `title`); the batch is unchanged.
    pub fn push_task(&mut self, owner: UserId, task: TaskRecord) -> Result<()> {
        self.tasks.push((owner, stored_task(owner, task)?));
        Ok(())
    }

    /// Adds an account that [`stored_user`] returned.
    pub(crate) fn push_stored_user(&mut self, user: UserRecord) {
        self.users.push(user);
    }

    /// Adds a task that [`stored_task`] returned.
    pub(crate) fn push_stored_task(&mut self, owner: UserId, task: TaskRecord) {
        self.tasks.push((owner, task));
    }

    /// The accounts, in the order added.
    pub(crate) fn users(&self) -> &[UserRecord] {
        &self.users
    }

    /// The tasks and their owners, in the order added.
    pub(crate) fn tasks(&self) -> &[(UserId, TaskRecord)] {
        &self.tasks
    }

    /// Accounts in the batch.
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// Tasks in the batch.
    pub fn task_count(&self) -> usize {
        self.tasks.len()
    }

    /// Accounts and tasks in the batch.
    pub fn len(&self) -> usize {
        self.users.len() + self.tasks.len()
    }

    /// Whether the batch holds nothing.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.tasks.is_empty()
    }
}

/// `user` checked by the repositories' rules, as it will be stored
/// (trimmed, times cut to microseconds).
pub(crate) fn stored_user(user: UserRecord) -> Result<UserRecord> {
    Ok(UserCopyRow::validated(&user)?.to_record(&user))
}

/// `task` of `owner` checked by the repositories' rules, as it will be
/// stored (title trimmed, a blank description as none, times cut to
/// microseconds).
pub(crate) fn stored_task(owner: UserId, task: TaskRecord) -> Result<TaskRecord> {
    Ok(TaskCopyRow::validated(owner, &task)?.to_record())
}

/// What [`import`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Imported {
    /// Accounts written.
    pub users_inserted: u64,
    /// Accounts whose id was already stored: left as they were.
    pub users_present: u64,
    /// Tasks written.
    pub tasks_inserted: u64,
    /// Tasks whose owner and id were already stored: left as they were.
    pub tasks_present: u64,
}

impl AddAssign for Imported {
    fn add_assign(&mut self, other: Self) {
        self.users_inserted += other.users_inserted;
        self.users_present += other.users_present;
        self.tasks_inserted += other.tasks_inserted;
        self.tasks_present += other.tasks_present;
    }
}

/// Writes the batch in one transaction, accounts first; rows already stored
/// are skipped, so importing the same records again changes nothing.
///
/// Every record keeps its id, timestamps and version. "Already stored" means
/// an account with the same id, or a task with the same owner and id, with
/// the same values; such a row is left exactly as it is and counted in
/// [`Imported::users_present`] / [`Imported::tasks_present`]. A record whose
/// id is stored with other values (or that the batch holds twice, with
/// other values) is refused: the batch fails with
/// [`ConflictKind::StoredDiffers`]
/// naming it, so that a restore never drops data without a word. An account
/// record without a password hash says nothing about the stored one (a
/// backup made without secrets); one with a hash must match it.
///
/// The batch is first sent with plain `COPY` (under a savepoint): the fast
/// path of a restore into an empty database. If any row collides with a
/// stored one, that attempt is rolled back and the batch goes through
/// temporary staging tables instead (`COPY` into them, then `INSERT …
/// SELECT … ON CONFLICT DO NOTHING`), which is safe beside concurrent
/// writers; the staging tables are dropped in the same transaction.
///
/// Like [`export`](super::export), it switches row-level security off for
/// its transaction, so that a role subject to it fails at once.
///
/// # Errors
/// [`Error::Conflict`] if a new account's email
/// ([`EmailTaken`](crate::ConflictKind::EmailTaken)) or auth subject
/// ([`AuthSubjectTaken`](crate::ConflictKind::AuthSubjectTaken)) belongs to
/// another account, or a record contradicts the stored one
/// ([`StoredDiffers`](crate::ConflictKind::StoredDiffers)); [`Error::NotFound`] if a task's
/// owner does not exist; the library's errors if the database fails.
/// Nothing of the batch is written on error.
pub fn import(conn: &mut PgConnection, batch: &ImportBatch) -> Result<Imported> {
    let users: Vec<_> = batch.users.iter().map(UserCopyRow::of_checked).collect();
    let tasks: Vec<_> = batch
        .tasks
        .iter()
        .map(|(owner, task)| TaskCopyRow::of_checked(*owner, task))
        .collect();
    conn.transaction(|conn| {
        conn.batch_execute(ROW_SECURITY_OFF)?;
        let direct = conn.transaction::<_, DieselError, _>(|conn| copy_rows(conn, &users, &tasks));
        match direct {
            Ok((users, tasks)) => Ok(Imported {
                users_inserted: users as u64,
                tasks_inserted: tasks as u64,
                ..Imported::default()
            }),
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                staged(conn, batch, &users, &tasks)
            }
            Err(err) => Err(err.into()),
        }
    })
}

diesel::table! {
    /// Staging for accounts: the columns of `users`, no constraints.
    pg_temp.todo_store_import_users (id) {
        id -> Uuid,
        email -> Text,
        password_hash -> Nullable<Text>,
        auth_subject -> Nullable<Text>,
        display_name -> Nullable<Text>,
        time_zone -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// Staging for tasks: the columns of `tasks`, no constraints.
    pg_temp.todo_store_import_tasks (user_id, id) {
        user_id -> Uuid,
        id -> Uuid,
        title -> Text,
        description -> Nullable<Text>,
        completed -> Bool,
        completed_at -> Nullable<Timestamptz>,
        priority -> Int2,
        due_at -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

const CREATE_STAGING: &str = "
    CREATE TEMP TABLE todo_store_import_users (LIKE users);
    CREATE TEMP TABLE todo_store_import_tasks (LIKE tasks);";

const DROP_STAGING: &str =
    "DROP TABLE pg_temp.todo_store_import_users, pg_temp.todo_store_import_tasks";

const INSERT_USERS: &str = "
    INSERT INTO users (id, email, password_hash, auth_subject, display_name, time_zone,
                       created_at, updated_at)
    SELECT id, email, password_hash, auth_subject, display_name, time_zone,
           created_at, updated_at
      FROM pg_temp.todo_store_import_users
    ON CONFLICT (id) DO NOTHING";

const INSERT_TASKS: &str = "
    INSERT INTO tasks (user_id, id, title, description, completed, completed_at, priority,
                       due_at, version, created_at, updated_at)
    SELECT user_id, id, title, description, completed, completed_at, priority,
           due_at, version, created_at, updated_at
      FROM pg_temp.todo_store_import_tasks
    ON CONFLICT (user_id, id) DO NOTHING";

/// Stored accounts whose values differ from a staged account with their id:
/// candidates, which [`check_users`] normalises before it compares. A
/// staged row without a password hash leaves the stored hash out.
const USERS_DIFFERING: &str = "
    SELECT u.id, u.email, u.password_hash, u.auth_subject, u.display_name, u.time_zone,
           u.created_at, u.updated_at
      FROM pg_temp.todo_store_import_users s JOIN users u USING (id)
     WHERE (u.email, u.auth_subject, u.display_name, u.time_zone, u.created_at, u.updated_at)
           IS DISTINCT FROM
           (s.email, s.auth_subject, s.display_name, s.time_zone, s.created_at, s.updated_at)
        OR (s.password_hash IS NOT NULL AND s.password_hash IS DISTINCT FROM u.password_hash)";

/// Stored tasks whose values differ from a staged task with their owner and
/// id: candidates, which [`check_tasks`] normalises before it compares.
const TASKS_DIFFERING: &str = "
    SELECT t.user_id, t.id, t.title, t.description, t.priority, t.completed_at, t.due_at,
           t.version, t.created_at, t.updated_at
      FROM pg_temp.todo_store_import_tasks s JOIN tasks t USING (user_id, id)
     WHERE (t.title, t.description, t.completed, t.completed_at, t.priority, t.due_at,
            t.version, t.created_at, t.updated_at)
           IS DISTINCT FROM
           (s.title, s.description, s.completed, s.completed_at, s.priority, s.due_at,
            s.version, s.created_at, s.updated_at)";

/// A stored account, as [`USERS_DIFFERING`] reads it.
#[derive(QueryableByName)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
struct StoredUser {
    id: UserId,
    email: String,
    password_hash: Option<String>,
    auth_subject: Option<String>,
    display_name: Option<String>,
    time_zone: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A stored task, as [`TASKS_DIFFERING`] reads it.
#[derive(QueryableByName)]
#[diesel(table_name = tasks, check_for_backend(diesel::pg::Pg))]
struct StoredTask {
    user_id: UserId,
    id: TaskId,
    title: String,
    description: Option<String>,
    priority: Priority,
    completed_at: Option<DateTime<Utc>>,
    due_at: Option<DateTime<Utc>>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// The idempotent path: COPY into staging tables of this transaction, then
/// insert what is not stored yet, then compare what was skipped with what
/// is stored. Only an id conflict with the same values is skipped; other
/// values under that id, or an email or auth subject of another account,
/// fail the batch.
fn staged(
    conn: &mut PgConnection,
    batch: &ImportBatch,
    users: &[UserCopyRow<'_>],
    tasks: &[TaskCopyRow<'_>],
) -> Result<Imported> {
    conn.batch_execute(CREATE_STAGING)?;
    let mut imported = Imported::default();
    if !users.is_empty() {
        let rows: Vec<_> = users.iter().map(StagedUser::from).collect();
        let staged = diesel::copy_from(todo_store_import_users::table)
            .from_insertable(&rows)
            .execute(conn)?;
        let inserted = sql_query(INSERT_USERS).execute(conn)?;
        if inserted < staged {
            check_users(conn, &batch.users)?;
        }
        imported.users_inserted = inserted as u64;
        imported.users_present = staged.saturating_sub(inserted) as u64;
    }
    if !tasks.is_empty() {
        let rows: Vec<_> = tasks.iter().map(StagedTask::from).collect();
        let staged = diesel::copy_from(todo_store_import_tasks::table)
            .from_insertable(&rows)
            .execute(conn)?;
        let inserted = sql_query(INSERT_TASKS).execute(conn)?;
        if inserted < staged {
            check_tasks(conn, &batch.tasks)?;
        }
        imported.tasks_inserted = inserted as u64;
        imported.tasks_present = staged.saturating_sub(inserted) as u64;
    }
    conn.batch_execute(DROP_STAGING)?;
    Ok(imported)
}

/// Fails with [`ConflictKind::StoredDiffers`] for the first account of the
/// batch that a stored one with its id contradicts. Runs only when the
/// insert skipped a row: the rows it inserted match themselves. A statement
/// of its own, so under READ COMMITTED it also sees a row that another
/// import committed while this one waited for it.
///
/// The database names candidates; each is compared as the library would
/// store it (trimmed, a blank text as none), so that a row a bypassing
/// writer stored untrimmed still counts as the same record.
fn check_users(conn: &mut PgConnection, batch: &[UserRecord]) -> Result<()> {
    let candidates: Vec<StoredUser> = sql_query(USERS_DIFFERING).load(conn)?;
    if candidates.is_empty() {
        return Ok(());
    }
    let mut records: HashMap<UserId, Vec<&UserRecord>> = HashMap::new();
    for user in batch {
        records.entry(user.id).or_default().push(user);
    }
    for row in candidates {
        let stored = stored_user(UserRecord {
            id: row.id,
            email: row.email,
            display_name: row.display_name,
            time_zone: row.time_zone,
            auth_subject: row.auth_subject,
            password_hash: row.password_hash.map(PasswordHash::stored),
            created_at: row.created_at,
            updated_at: row.updated_at,
        });
        // A record without a hash (a backup without secrets) says nothing
        // about the stored one: it takes the stored hash for the comparison.
        let same = |user: &&UserRecord| {
            stored.as_ref().is_ok_and(|stored| {
                let hash = user
                    .password_hash
                    .as_ref()
                    .or(stored.password_hash.as_ref());
                let compared = UserRecord {
                    password_hash: hash.cloned(),
                    ..(*user).clone()
                };
                compared == *stored
            })
        };
        let ours = records.get(&row.id).map_or(&[][..], Vec::as_slice);
        if !ours.iter().all(same) {
            return Err(Error::Conflict(ConflictKind::StoredDiffers {
                owner: row.id,
                task: None,
            }));
        }
    }
    Ok(())
}

/// As [`check_users`], for tasks (a task is its owner and its id).
fn check_tasks(conn: &mut PgConnection, batch: &[(UserId, TaskRecord)]) -> Result<()> {
    let candidates: Vec<StoredTask> = sql_query(TASKS_DIFFERING).load(conn)?;
    if candidates.is_empty() {
        return Ok(());
    }
    let mut records: HashMap<(UserId, TaskId), Vec<&TaskRecord>> = HashMap::new();
    for (owner, task) in batch {
        records.entry((*owner, task.id)).or_default().push(task);
    }
    for row in candidates {
        let key = (row.user_id, row.id);
        let stored = stored_task(
            row.user_id,
            TaskRecord {
                id: row.id,
                title: row.title,
                description: row.description,
                priority: row.priority,
                completed_at: row.completed_at,
                due_at: row.due_at,
                version: row.version,
                created_at: row.created_at,
                updated_at: row.updated_at,
            },
        );
        let ours = records.get(&key).map_or(&[][..], Vec::as_slice);
        if !ours
            .iter()
            .all(|task| stored.as_ref().is_ok_and(|s| s == *task))
        {
            return Err(Error::Conflict(ConflictKind::StoredDiffers {
                owner: row.user_id,
                task: Some(row.id),
            }));
        }
    }
    Ok(())
}

#[derive(Insertable)]
#[diesel(table_name = todo_store_import_users, check_for_backend(diesel::pg::Pg))]
#[diesel(treat_none_as_default_value = false)]
struct StagedUser<'a> {
    id: UserId,
    email: &'a str,
    password_hash: Option<&'a str>,
    auth_subject: Option<&'a str>,
    display_name: Option<&'a str>,
    time_zone: Option<&'a str>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl<'a> From<&UserCopyRow<'a>> for StagedUser<'a> {
    fn from(row: &UserCopyRow<'a>) -> Self {
        Self {
            id: row.id,
            email: row.email,
            password_hash: row.password_hash,
            auth_subject: row.auth_subject,
            display_name: row.display_name,
            time_zone: row.time_zone,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = todo_store_import_tasks, check_for_backend(diesel::pg::Pg))]
#[diesel(treat_none_as_default_value = false)]
struct StagedTask<'a> {
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

impl<'a> From<&TaskCopyRow<'a>> for StagedTask<'a> {
    fn from(row: &TaskCopyRow<'a>) -> Self {
        Self {
            user_id: row.user_id,
            id: row.id,
            title: row.title,
            description: row.description,
            completed: row.completed,
            completed_at: row.completed_at,
            priority: row.priority,
            due_at: row.due_at,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}
