//! Reading accounts, tasks and their history out, in a fixed order and
//! constant memory.

use chrono::{DateTime, Utc};
use diesel::{
    PgConnection,
    connection::SimpleConnection,
    dsl::sql,
    prelude::*,
    sql_types::{BigInt, Bool, Uuid as SqlUuid},
};
use uuid::Uuid;

use super::{
    ChangeRecord, PasswordHash, ROW_SECURITY_OFF, SyncStateRecord, TaskRecord, UserRecord,
    records::ChangeRow,
};
use crate::{
    Error, Owner, Priority, TaskId, UserId,
    repo::scope,
    schema::{task_history, task_sync_state, tasks, users},
};

/// Rows per query when [`ExportOptions::page_rows`] is left as it is.
const DEFAULT_PAGE_ROWS: u32 = 10_000;

/// Whose accounts and tasks [`export`] reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Accounts {
    /// Every account and every task: an operator's backup. Needs a role
    /// that bypasses row-level security.
    #[default]
    All,
    /// One account and its tasks, read in that owner's row-level-security
    /// scope: a user's own export, which the application role may make.
    /// Leave [`Secrets`] at [`Secrets::Omit`] for an export that goes to
    /// the user: their password hash is a secret of the server's, not
    /// theirs to carry around.
    One(Owner),
}

/// Whether [`export`] reads password hashes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Secrets {
    /// Leave them in the database: every [`UserRecord::password_hash`] is
    /// `None`, and the hashes are not even read.
    #[default]
    Omit,
    /// Read them too, for an operator's backup that must let users log in
    /// after a restore. Such a backup must be kept like the database
    /// itself, and never handed to a user.
    Include,
}

/// What [`export`] reads, and how much per query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ExportOptions {
    /// Whose data.
    pub accounts: Accounts,
    /// With or without password hashes.
    pub secrets: Secrets,
    /// Rows per query, and so per [`ExportChunk`] (at least 1): memory is
    /// bounded by a few chunks whatever the size of the database.
    pub page_rows: u32,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            accounts: Accounts::All,
            secrets: Secrets::Omit,
            page_rows: DEFAULT_PAGE_ROWS,
        }
    }
}

impl ExportOptions {
    /// Sets [`accounts`](Self::accounts).
    pub fn accounts(mut self, accounts: Accounts) -> Self {
        self.accounts = accounts;
        self
    }

    /// Sets [`secrets`](Self::secrets).
    pub fn secrets(mut self, secrets: Secrets) -> Self {
        self.secrets = secrets;
        self
    }

    /// Sets [`page_rows`](Self::page_rows).
    pub fn page_rows(mut self, rows: u32) -> Self {
        self.page_rows = rows;
        self
    }
}

/// One page of an export, in export order. Deliberately exhaustive: a
/// consumer that copies data should fail to compile, not skip records, if a
/// kind of record is ever added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportChunk {
    /// Accounts, by id.
    Users(Vec<UserRecord>),
    /// Tasks with their owners, by owner, then id.
    Tasks(Vec<(UserId, TaskRecord)>),
    /// Where each owner's change sequence stands, by owner.
    SyncStates(Vec<(UserId, SyncStateRecord)>),
    /// The task history with its owners, by owner, then number.
    Changes(Vec<(UserId, ChangeRecord)>),
}

/// What [`export`] read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Exported {
    /// Accounts.
    pub users: u64,
    /// Tasks.
    pub tasks: u64,
    /// Owners' sync states.
    pub sync_states: u64,
    /// Changes of the task history.
    pub changes: u64,
}

/// Reads the accounts `options` select (ordered by id), then their tasks
/// (ordered by owner, then id), then their owners' sync states (by owner)
/// and task history (by owner, then number), and hands them to `sink` one
/// page at a time.
///
/// Pages are keyset queries of [`ExportOptions::page_rows`] rows along the
/// primary keys, so each costs the same however deep it is, and memory stays
/// at a page or two whatever the size of the database. All of them run in one
/// `REPEATABLE READ READ ONLY` transaction: the export is one consistent
/// snapshot (every task's owner is in it), taken without blocking writers.
/// The order and the values depend only on the data, so exporting the same
/// data twice gives the same records.
///
/// For [`Accounts::All`], row-level security is switched off for the
/// transaction, as `pg_dump` does: for a role that bypasses it (a superuser
/// or `BYPASSRLS` role, as operator tools connect with) this changes
/// nothing, and a role subject to it gets an error instead of an export
/// silently missing the tasks its policies hide. For [`Accounts::One`] the
/// transaction is scoped to that owner instead, so the application role can
/// export the data of the user it serves, and only theirs.
///
/// The connection must not be inside a transaction already.
///
/// # Errors
/// [`Error::Validation`] on `page_rows` if it is 0; [`Error::Database`] for a
/// role subject to row-level security; the library's errors if a query
/// fails (e.g. [`Error::Unavailable`]); whatever `sink` returns, which stops
/// the export.
pub fn export<E>(
    conn: &mut PgConnection,
    options: &ExportOptions,
    mut sink: impl FnMut(ExportChunk) -> Result<(), E>,
) -> Result<Exported, E>
where
    E: From<Error>,
{
    if options.page_rows == 0 {
        return Err(Error::validation("page_rows", "must be at least 1").into());
    }
    let limit = i64::from(options.page_rows);
    let run = conn
        .build_transaction()
        .repeatable_read()
        .read_only()
        .run(|conn| {
            match &options.accounts {
                Accounts::All => conn.batch_execute(ROW_SECURITY_OFF)?,
                Accounts::One(owner) => scope::set_for_transaction(conn, owner)?,
            }
            let mut exported = Exported::default();
            let mut after = None;
            loop {
                let page = user_page(conn, options, after, limit)?;
                let Some(last) = page.last() else { break };
                after = Some(last.id);
                let full = page.len() as i64 == limit;
                exported.users += page.len() as u64;
                sink(ExportChunk::Users(page)).map_err(Stop::Sink)?;
                if !full {
                    break;
                }
            }
            let mut after = None;
            loop {
                let page = task_page(conn, &options.accounts, after, limit)?;
                let Some((owner, last)) = page.last() else {
                    break;
                };
                after = Some((*owner, last.id));
                let full = page.len() as i64 == limit;
                exported.tasks += page.len() as u64;
                sink(ExportChunk::Tasks(page)).map_err(Stop::Sink)?;
                if !full {
                    break;
                }
            }
            let mut after = None;
            loop {
                let page = sync_state_page(conn, &options.accounts, after, limit)?;
                let Some((owner, _)) = page.last() else { break };
                after = Some(*owner);
                let full = page.len() as i64 == limit;
                exported.sync_states += page.len() as u64;
                sink(ExportChunk::SyncStates(page)).map_err(Stop::Sink)?;
                if !full {
                    break;
                }
            }
            let mut after = None;
            loop {
                let page = change_page(conn, &options.accounts, after, limit)?;
                let Some((owner, last)) = page.last() else {
                    break;
                };
                after = Some((*owner, last.seq));
                let full = page.len() as i64 == limit;
                exported.changes += page.len() as u64;
                sink(ExportChunk::Changes(page)).map_err(Stop::Sink)?;
                if !full {
                    break;
                }
            }
            Ok(exported)
        });
    run.map_err(|stop| match stop {
        Stop::Store(err) => E::from(err),
        Stop::Sink(err) => err,
    })
}

/// Why the export's transaction ended early.
enum Stop<E> {
    Store(Error),
    Sink(E),
}

impl<E> From<diesel::result::Error> for Stop<E> {
    fn from(err: diesel::result::Error) -> Self {
        Stop::Store(err.into())
    }
}

impl<E> From<Error> for Stop<E> {
    fn from(err: Error) -> Self {
        Stop::Store(err)
    }
}

/// The columns of a [`UserRecord`], without the password hash.
type UserColumns = (
    UserId,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    DateTime<Utc>,
    DateTime<Utc>,
);

/// The next page of accounts after `after`, by id.
fn user_page(
    conn: &mut PgConnection,
    options: &ExportOptions,
    after: Option<UserId>,
    limit: i64,
) -> QueryResult<Vec<UserRecord>> {
    let mut query = users::table.order_by(users::id).limit(limit).into_boxed();
    if let Accounts::One(owner) = &options.accounts {
        query = query.filter(users::id.eq(owner.user_id()));
    }
    if let Some(after) = after {
        query = query.filter(users::id.gt(after));
    }
    let columns = (
        users::id,
        users::email,
        users::display_name,
        users::time_zone,
        users::auth_subject,
        users::created_at,
        users::updated_at,
    );
    Ok(match options.secrets {
        Secrets::Omit => query
            .select(columns)
            .load::<UserColumns>(conn)?
            .into_iter()
            .map(|row| user_record(row, None))
            .collect(),
        Secrets::Include => query
            .select((columns, users::password_hash))
            .load::<(UserColumns, Option<String>)>(conn)?
            .into_iter()
            .map(|(row, hash)| user_record(row, hash.map(PasswordHash::stored)))
            .collect(),
    })
}

fn user_record(row: UserColumns, password_hash: Option<PasswordHash>) -> UserRecord {
    let (id, email, display_name, time_zone, auth_subject, created_at, updated_at) = row;
    UserRecord {
        id,
        email,
        display_name,
        time_zone,
        auth_subject,
        password_hash,
        created_at,
        updated_at,
    }
}

/// The columns of a task and its owner.
type TaskColumns = (
    UserId,
    TaskId,
    String,
    Option<String>,
    Priority,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    i32,
    DateTime<Utc>,
    DateTime<Utc>,
);

/// The next page of tasks after `after`, by owner, then id: a range of the
/// primary key index, `(user_id, id)`.
fn task_page(
    conn: &mut PgConnection,
    accounts: &Accounts,
    after: Option<(UserId, TaskId)>,
    limit: i64,
) -> QueryResult<Vec<(UserId, TaskRecord)>> {
    let mut query = tasks::table
        .select((
            tasks::user_id,
            tasks::id,
            tasks::title,
            tasks::description,
            tasks::priority,
            tasks::completed_at,
            tasks::due_at,
            tasks::version,
            tasks::created_at,
            tasks::updated_at,
        ))
        .order_by((tasks::user_id, tasks::id))
        .limit(limit)
        .into_boxed();
    query = match (accounts, after) {
        (Accounts::All, None) => query,
        // A row comparison, which PostgreSQL reads as one index range (an
        // `a > x OR (a = x AND b > y)` it would not).
        (Accounts::All, Some((owner, id))) => query.filter(
            sql::<Bool>("(tasks.user_id, tasks.id) > (")
                .bind::<SqlUuid, Uuid>(owner.as_uuid())
                .sql(", ")
                .bind::<SqlUuid, Uuid>(id.as_uuid())
                .sql(")"),
        ),
        (Accounts::One(owner), None) => query.filter(tasks::user_id.eq(owner.user_id())),
        (Accounts::One(owner), Some((_, id))) => query
            .filter(tasks::user_id.eq(owner.user_id()))
            .filter(tasks::id.gt(id)),
    };
    let rows = query.load::<TaskColumns>(conn)?;
    Ok(rows.into_iter().map(task_record).collect())
}

fn task_record(row: TaskColumns) -> (UserId, TaskRecord) {
    let (
        owner,
        id,
        title,
        description,
        priority,
        completed_at,
        due_at,
        version,
        created_at,
        updated_at,
    ) = row;
    let task = TaskRecord {
        id,
        title,
        description,
        priority,
        completed_at,
        due_at,
        version,
        created_at,
        updated_at,
    };
    (owner, task)
}

/// The next page of sync states after the owner `after`, by owner.
fn sync_state_page(
    conn: &mut PgConnection,
    accounts: &Accounts,
    after: Option<UserId>,
    limit: i64,
) -> QueryResult<Vec<(UserId, SyncStateRecord)>> {
    let mut query = task_sync_state::table
        .select((task_sync_state::user_id, task_sync_state::last_seq))
        .order_by(task_sync_state::user_id)
        .limit(limit)
        .into_boxed();
    if let Accounts::One(owner) = accounts {
        query = query.filter(task_sync_state::user_id.eq(owner.user_id()));
    }
    if let Some(after) = after {
        query = query.filter(task_sync_state::user_id.gt(after));
    }
    let rows = query.load::<(UserId, i64)>(conn)?;
    Ok(rows
        .into_iter()
        // The table's CHECK keeps it at 0 or more.
        .map(|(owner, last_seq)| (owner, SyncStateRecord::new(last_seq.unsigned_abs())))
        .collect())
}

/// The next page of history rows after `after`, by owner, then number: a
/// range of the primary key index, `(user_id, seq)`.
fn change_page(
    conn: &mut PgConnection,
    accounts: &Accounts,
    after: Option<(UserId, u64)>,
    limit: i64,
) -> Result<Vec<(UserId, ChangeRecord)>, Error> {
    let mut query = task_history::table
        .select(ChangeRow::as_select())
        .order_by((task_history::user_id, task_history::seq))
        .limit(limit)
        .into_boxed();
    let after = after.map(|(owner, seq)| (owner, i64::try_from(seq).unwrap_or(i64::MAX)));
    query = match (accounts, after) {
        (Accounts::All, None) => query,
        // A row comparison: one index range (see `task_page`).
        (Accounts::All, Some((owner, seq))) => query.filter(
            sql::<Bool>("(task_history.user_id, task_history.seq) > (")
                .bind::<SqlUuid, Uuid>(owner.as_uuid())
                .sql(", ")
                .bind::<BigInt, i64>(seq)
                .sql(")"),
        ),
        (Accounts::One(owner), None) => query.filter(task_history::user_id.eq(owner.user_id())),
        (Accounts::One(owner), Some((_, seq))) => query
            .filter(task_history::user_id.eq(owner.user_id()))
            .filter(task_history::seq.gt(seq)),
    };
    let rows = query.load::<ChangeRow>(conn)?;
    rows.into_iter().map(ChangeRow::into_record).collect()
}
