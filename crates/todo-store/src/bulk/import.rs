//! Writing accounts, tasks and their history back, idempotently.

use std::{
    collections::{BTreeMap, HashMap},
    ops::AddAssign,
};

use chrono::{DateTime, Utc};
use diesel::{
    PgConnection,
    connection::SimpleConnection,
    prelude::*,
    result::{DatabaseErrorKind, Error as DieselError},
    sql_query,
    sql_types::{Array, BigInt, Uuid as SqlUuid},
};
use serde_json::Value;
use uuid::Uuid;

use super::{
    ChangeCopyRow, ChangeRecord, PasswordHash, ROW_SECURITY_OFF, SyncStateRecord, TaskCopyRow,
    TaskRecord, UserCopyRow, UserRecord, copy_rows,
    records::{ChangeRow, checked_sync_state},
};
use crate::{
    ConflictKind, Error, Priority, Result, TaskId, UserId,
    schema::{task_history, tasks, users},
};

/// The history triggers record nothing in a transaction that sets this
/// beside [`ROW_SECURITY_OFF`] (see the migration `task_history`): an import
/// writes the history it is given, and the tasks it inserts are not
/// recorded again as created now, by whoever ran the restore.
const HISTORY_OFF: &str = "SET LOCAL todo.history = 'off'";

/// The field of an error about the change at an index of the batch:
/// `changes[7]` (see [`refused_change`]).
const CHANGES_FIELD: &str = "changes";

/// Accounts, tasks, sync states and history to [`import`] in one
/// transaction, each checked when it is added.
///
/// The owner of a task, sync state or change must be an account of the same
/// batch, of an earlier batch, or one already in the database.
#[derive(Debug, Clone, Default)]
pub struct ImportBatch {
    users: Vec<UserRecord>,
    tasks: Vec<(UserId, TaskRecord)>,
    sync_states: Vec<(UserId, SyncStateRecord)>,
    changes: Vec<(UserId, ChangeRecord)>,
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

    /// Checks the sync state of the account `owner` and adds it.
    ///
    /// # Errors
    /// [`Error::Validation`] on `last_seq` unless `last_seq <= i64::MAX`;
    /// the batch is unchanged.
    pub fn push_sync_state(&mut self, owner: UserId, state: SyncStateRecord) -> Result<()> {
        self.sync_states.push((owner, stored_sync_state(state)?));
        Ok(())
    }

    /// Checks a change of the account `owner`'s history by the history's
    /// rules and adds it, as it will be stored (the time cut to
    /// microseconds, the field values as they are).
    ///
    /// # Errors
    /// [`Error::Validation`] naming the field: `seq` or `version` below 1,
    /// an empty `actor_role`, `old_values` / `new_values` present or absent
    /// against the kind (absent for a create, respectively a delete, and
    /// only then) or not an object of task fields; the batch is unchanged.
    pub fn push_change(&mut self, owner: UserId, change: ChangeRecord) -> Result<()> {
        self.changes.push((owner, stored_change(owner, change)?));
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

    /// Adds a sync state that [`stored_sync_state`] returned.
    pub(crate) fn push_stored_sync_state(&mut self, owner: UserId, state: SyncStateRecord) {
        self.sync_states.push((owner, state));
    }

    /// Adds a change that [`stored_change`] returned.
    pub(crate) fn push_stored_change(&mut self, owner: UserId, change: ChangeRecord) {
        self.changes.push((owner, change));
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

    /// Sync states in the batch.
    pub fn sync_state_count(&self) -> usize {
        self.sync_states.len()
    }

    /// Changes of the task history in the batch.
    pub fn change_count(&self) -> usize {
        self.changes.len()
    }

    /// Records of every kind in the batch.
    pub fn len(&self) -> usize {
        self.users.len() + self.tasks.len() + self.sync_states.len() + self.changes.len()
    }

    /// Whether the batch holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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

/// `state` checked as the database will take it.
pub(crate) fn stored_sync_state(state: SyncStateRecord) -> Result<SyncStateRecord> {
    checked_sync_state(state)?;
    Ok(state)
}

/// `change` of `owner` checked by the history's rules, as it will be stored
/// (the time cut to microseconds, the field values as they are).
pub(crate) fn stored_change(owner: UserId, change: ChangeRecord) -> Result<ChangeRecord> {
    let row = ChangeCopyRow::validated(owner, &change)?;
    Ok(row.to_record(&change))
}

/// The index in its batch of the change an [`import`] error is about, if
/// it is about one: the import refused it because its user's history holds
/// another change under its number.
pub(crate) fn refused_change(err: &Error) -> Option<usize> {
    let Error::Validation { field, .. } = err else {
        return None;
    };
    let index = field.strip_prefix(CHANGES_FIELD)?.strip_prefix('[')?;
    index.strip_suffix(']')?.parse().ok()
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
    /// Changes of the task history written.
    pub changes_inserted: u64,
    /// Changes whose owner and number were already stored: left as they
    /// were.
    pub changes_present: u64,
}

impl AddAssign for Imported {
    fn add_assign(&mut self, other: Self) {
        self.users_inserted += other.users_inserted;
        self.users_present += other.users_present;
        self.tasks_inserted += other.tasks_inserted;
        self.tasks_present += other.tasks_present;
        self.changes_inserted += other.changes_inserted;
        self.changes_present += other.changes_present;
    }
}

/// Writes the batch in one transaction, accounts first; rows already stored
/// are skipped, so importing the same records again changes nothing.
///
/// Every record keeps its id, timestamps and version. "Already stored" means
/// an account with the same id, a task with the same owner and id, or a
/// change with the same owner and number, with the same values; such a row
/// is left exactly as it is and counted in [`Imported::users_present`] /
/// [`Imported::tasks_present`] / [`Imported::changes_present`]. An account
/// or task whose id is stored with other values (or that the batch holds
/// twice, with other values) is refused: the batch fails with
/// [`ConflictKind::StoredDiffers`] naming it, so that a restore never drops
/// data without a word. An account record without a password hash says
/// nothing about the stored one (a backup made without secrets); one with a
/// hash must match it.
///
/// The history is written as given, and the import records none of its
/// own: the tasks it inserts are not recorded as created. A change whose
/// number the owner's stored history holds with other values (the stored
/// history is another one than the batch's) is refused likewise, as a
/// validation error on `changes[i]`, `i` its index in the batch. A sync
/// state is a high-water mark: the stored one is raised to it, never
/// lowered, and so is an owner's `last_seq` to the number of each change
/// (so that the owner's next change never takes a number already used).
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
/// ([`StoredDiffers`](crate::ConflictKind::StoredDiffers));
/// [`Error::Validation`] on `changes[i]` for a change that contradicts the
/// stored history; [`Error::NotFound`] if a task's owner does not exist;
/// the library's errors if the database fails. Nothing of the batch is
/// written on error.
pub fn import(conn: &mut PgConnection, batch: &ImportBatch) -> Result<Imported> {
    let users: Vec<_> = batch.users.iter().map(UserCopyRow::of_checked).collect();
    let tasks: Vec<_> = batch
        .tasks
        .iter()
        .map(|(owner, task)| TaskCopyRow::of_checked(*owner, task))
        .collect();
    let changes: Vec<_> = batch
        .changes
        .iter()
        .map(|(owner, change)| ChangeCopyRow::of_checked(*owner, change))
        .collect();
    conn.transaction(|conn| {
        conn.batch_execute(&format!("{ROW_SECURITY_OFF}; {HISTORY_OFF}"))?;
        let direct = conn.transaction::<_, DieselError, _>(|conn| {
            let (users, tasks) = copy_rows(conn, &users, &tasks)?;
            Ok((users, tasks, copy_changes(conn, &changes)?))
        });
        let imported = match direct {
            Ok((users, tasks, changes)) => Imported {
                users_inserted: users as u64,
                tasks_inserted: tasks as u64,
                changes_inserted: changes as u64,
                ..Imported::default()
            },
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                staged(conn, batch, &users, &tasks, &changes)?
            }
            Err(err) => return Err(err.into()),
        };
        raise_sync_states(conn, batch)?;
        Ok(imported)
    })
}

/// One `COPY` of history rows (skipped when there are none).
fn copy_changes(conn: &mut PgConnection, changes: &[ChangeCopyRow<'_>]) -> QueryResult<usize> {
    match changes.is_empty() {
        true => Ok(0),
        false => diesel::copy_from(task_history::table)
            .from_insertable(changes)
            .execute(conn),
    }
}

/// Raises each owner's `last_seq` to the batch's sync state and to their
/// highest change of the batch, in owner order (the order in which the
/// history triggers lock these rows too). A row that is already as high is
/// not written. A new row gets a new epoch (the column's default): the
/// numbering restored is a new one for the devices, whose tokens from
/// before the restore then ask for a reload.
const RAISE_SYNC_STATES: &str = "
    INSERT INTO task_sync_state AS s (user_id, last_seq)
    SELECT user_id, last_seq
      FROM unnest($1::uuid[], $2::bigint[]) AS m (user_id, last_seq)
     ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE
       SET last_seq = excluded.last_seq
     WHERE excluded.last_seq > s.last_seq";

fn raise_sync_states(conn: &mut PgConnection, batch: &ImportBatch) -> Result<()> {
    let number = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let mut marks: BTreeMap<UserId, i64> = BTreeMap::new();
    for (owner, state) in &batch.sync_states {
        let mark = marks.entry(*owner).or_default();
        *mark = (*mark).max(number(state.last_seq));
    }
    for (owner, change) in &batch.changes {
        let mark = marks.entry(*owner).or_default();
        *mark = (*mark).max(number(change.seq));
    }
    if marks.is_empty() {
        return Ok(());
    }
    let owners: Vec<Uuid> = marks.keys().map(UserId::as_uuid).collect();
    let last: Vec<i64> = marks.into_values().collect();
    sql_query(RAISE_SYNC_STATES)
        .bind::<Array<SqlUuid>, _>(owners)
        .bind::<Array<BigInt>, _>(last)
        .execute(conn)?;
    Ok(())
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
    /// Staging for history rows: the columns of `task_history`, no
    /// constraints.
    pg_temp.todo_store_import_history (user_id, seq) {
        user_id -> Uuid,
        seq -> Int8,
        task_id -> Uuid,
        version -> Int4,
        kind -> Text,
        changed_at -> Timestamptz,
        actor_user_id -> Nullable<Uuid>,
        actor_role -> Text,
        old_values -> Nullable<Jsonb>,
        new_values -> Nullable<Jsonb>,
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
    CREATE TEMP TABLE todo_store_import_tasks (LIKE tasks);
    CREATE TEMP TABLE todo_store_import_history (LIKE task_history);";

const DROP_STAGING: &str = "DROP TABLE pg_temp.todo_store_import_users, \
     pg_temp.todo_store_import_tasks, pg_temp.todo_store_import_history";

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

const INSERT_CHANGES: &str = "
    INSERT INTO task_history (user_id, seq, task_id, version, kind, changed_at, actor_user_id,
                              actor_role, old_values, new_values)
    SELECT user_id, seq, task_id, version, kind, changed_at, actor_user_id,
           actor_role, old_values, new_values
      FROM pg_temp.todo_store_import_history
    ON CONFLICT (user_id, seq) DO NOTHING";

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

/// Stored history rows whose values differ from a staged row with their
/// owner and number (`jsonb` compares the field values by content, whatever
/// the order of their keys).
const CHANGES_DIFFERING: &str = "
    SELECT h.user_id, h.seq, h.task_id, h.version, h.kind, h.changed_at, h.actor_user_id,
           h.actor_role, h.old_values, h.new_values
      FROM pg_temp.todo_store_import_history s JOIN task_history h USING (user_id, seq)
     WHERE (h.task_id, h.version, h.kind, h.changed_at, h.actor_user_id, h.actor_role,
            h.old_values, h.new_values)
           IS DISTINCT FROM
           (s.task_id, s.version, s.kind, s.changed_at, s.actor_user_id, s.actor_role,
            s.old_values, s.new_values)";

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
    changes: &[ChangeCopyRow<'_>],
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
    if !changes.is_empty() {
        let rows: Vec<_> = changes.iter().map(StagedChange::from).collect();
        let staged = diesel::copy_from(todo_store_import_history::table)
            .from_insertable(&rows)
            .execute(conn)?;
        let inserted = sql_query(INSERT_CHANGES).execute(conn)?;
        if inserted < staged {
            check_changes(conn, &batch.changes)?;
        }
        imported.changes_inserted = inserted as u64;
        imported.changes_present = staged.saturating_sub(inserted) as u64;
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

/// Fails for the first change of the batch whose owner's stored history
/// holds another change under its number: the batch's history is not the
/// stored one, and keeping either silently would lose the other. The
/// candidates come from the database, which compares the field values by
/// content; a change stored by this very batch (the batch holds two changes
/// under one number) is told apart in the message.
fn check_changes(conn: &mut PgConnection, batch: &[(UserId, ChangeRecord)]) -> Result<()> {
    let candidates: Vec<ChangeRow> = sql_query(CHANGES_DIFFERING).load(conn)?;
    for row in candidates {
        let (owner, stored) = row.into_record()?;
        let seq = stored.seq;
        let mut same_key = batch
            .iter()
            .enumerate()
            .filter(|(_, (o, change))| *o == owner && change.seq == seq);
        let Some((index, _)) = same_key.clone().find(|(_, (_, change))| *change != stored) else {
            continue;
        };
        let reason = match same_key.any(|(_, (_, change))| *change == stored) {
            true => format!(
                "change {seq} of user {owner} is given twice, with other values: \
                 a change may be repeated only unchanged"
            ),
            false => format!(
                "change {seq} of user {owner} is already stored with other values: \
                 the stored history of this user is not the one imported"
            ),
        };
        return Err(Error::validation(
            format!("{CHANGES_FIELD}[{index}]"),
            reason,
        ));
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

#[derive(Insertable)]
#[diesel(table_name = todo_store_import_history, check_for_backend(diesel::pg::Pg))]
#[diesel(treat_none_as_default_value = false)]
struct StagedChange<'a> {
    user_id: UserId,
    seq: i64,
    task_id: TaskId,
    version: i32,
    kind: &'static str,
    changed_at: DateTime<Utc>,
    actor_user_id: Option<UserId>,
    actor_role: &'a str,
    old_values: Option<&'a Value>,
    new_values: Option<&'a Value>,
}

impl<'a> From<&ChangeCopyRow<'a>> for StagedChange<'a> {
    fn from(row: &ChangeCopyRow<'a>) -> Self {
        Self {
            user_id: row.user_id,
            seq: row.seq,
            task_id: row.task_id,
            version: row.version,
            kind: row.kind,
            changed_at: row.changed_at,
            actor_user_id: row.actor_user_id,
            actor_role: row.actor_role,
            old_values: row.old_values,
            new_values: row.new_values,
        }
    }
}
