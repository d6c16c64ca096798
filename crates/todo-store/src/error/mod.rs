//! The library's one error type, and the single place where database errors
//! are turned into domain errors.

mod by_message;

use std::fmt;

use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind};

use crate::DatabaseUrl;

/// Shorthand for `Result<T, todo_store::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `todo-store`.
///
/// Messages are written for the person using the application: they never
/// contain SQL, connection strings, passwords or password hashes.
///
/// # How database errors are classified
/// Constraint violations and serialization failures come typed from
/// Diesel (its `DatabaseErrorKind` and the constraint name). The classes
/// Diesel 2.3 has no kind for ([`Misconfigured`](Error::Misconfigured),
/// [`TooManyConnections`](Error::TooManyConnections),
/// [`StorageFull`](Error::StorageFull), [`Timeout`](Error::Timeout), a
/// deadlock as [`ConflictKind::ConcurrentUpdate`], a server shutting down as
/// [`Unavailable`](Error::Unavailable)) are recognised by PostgreSQL's
/// English message text. On a server whose `lc_messages` is not English
/// they arrive as [`Error::Database`] (a connection refusal as
/// [`Error::Unavailable`]), and a deadlock is then not retried
/// automatically: nothing is lost, only the class is coarser.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The record does not exist, or belongs to another user: the two cases are
    /// deliberately indistinguishable.
    #[error("{0} not found")]
    NotFound(Entity),
    /// The change collides with the current state of the data.
    #[error("conflict: {0}")]
    Conflict(ConflictKind),
    /// The input was rejected before (or, as a last line of defence, by) the
    /// database. Nothing was changed.
    #[error("invalid {field}: {reason}")]
    Validation {
        /// The input field at fault, e.g. `title` or `tasks[3].priority`.
        field: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A [`SyncToken`](crate::SyncToken) the change feed can no longer
    /// answer: the history after it has been pruned (see
    /// [`prune_history`](crate::prune_history)), it points beyond the
    /// owner's last change, or it belongs to another numbering of the
    /// owner's changes (the database was restored since it was made).
    /// The device must read all its tasks again: take a fresh token with
    /// [`TaskRepo::sync_token`](crate::TaskRepo::sync_token) first, then list.
    #[error("sync token too old: read all tasks again")]
    ResyncRequired,
    /// The write would leave the owner with more tasks than they may have
    /// (see [`limits`](crate::limits)): nothing was written, a bulk create
    /// not even its first task. The database enforces it, whoever writes.
    /// Retrying will not help until tasks are deleted or the limit raised.
    #[error("task limit reached: a user may have at most {limit} tasks")]
    TaskLimitReached {
        /// The owner's limit.
        limit: u32,
    },
    /// Email and password do not match an account that can log in with a password.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// The database could not be reached in time (pool timeout, lost
    /// connection, a server starting up or shutting down, a session ended by
    /// the server). Retrying later may succeed.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The server refused the connection for a reason that retrying cannot
    /// fix: the database or role does not exist, the password is wrong, or
    /// `pg_hba.conf` or a missing `CONNECT` privilege refuses it (SQLSTATEs
    /// `3D000`, `28P01`, `28000`, `42501` at start-up). A configuration
    /// problem: not retryable.
    #[error("database refused the connection: {0}")]
    Misconfigured(String),
    /// The encrypted connection the URL asks for could not be made: the
    /// server's certificate failed verification (`verify-ca`, `verify-full`:
    /// unknown authority, wrong host name), the root certificate file is
    /// missing, or the server does not offer TLS. A configuration problem:
    /// retrying will not help.
    #[error("TLS: {0}")]
    Tls(String),
    /// The server refused a new connection because all its connection slots
    /// (or the role's or database's `CONNECTION LIMIT`) are taken (SQLSTATE
    /// `53300`). Retrying later may succeed; a smaller pool, or a pooler such
    /// as Neon's, avoids it.
    #[error("too many connections: {0}")]
    TooManyConnections(String),
    /// The server has no room left for the change (SQLSTATE `53100`, disk
    /// full; Neon reports its project size limit the same way). Nothing was
    /// written; retrying will not help until space is freed or the limit
    /// raised.
    #[error("database storage full: {0}")]
    StorageFull(String),
    /// The server cancelled the statement: it ran longer than
    /// [`StoreConfig::statement_timeout`](crate::StoreConfig::statement_timeout)
    /// (SQLSTATE `57014`), or waited too long for a lock (`55P03`). Nothing
    /// was changed.
    #[error("database timeout: {0}")]
    Timeout(String),
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(String),
}

impl Error {
    /// A [`Error::Validation`] for `field`, e.g. for callers that check their
    /// own inputs in the library's vocabulary.
    pub fn validation(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Validation {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Whether the same call may succeed if retried later without changes.
    ///
    /// [`Store`](crate::Store) already retries a
    /// [`ConflictKind::ConcurrentUpdate`] itself, a few times (see
    /// [`RetryPolicy`](crate::RetryPolicy)); one that reaches the caller
    /// outlasted those attempts.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Unavailable(_)
                | Error::TooManyConnections(_)
                | Error::Conflict(ConflictKind::ConcurrentUpdate)
        )
    }
}

/// The kind of record an [`Error::NotFound`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Entity {
    /// A user account.
    User,
    /// A task.
    Task,
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Entity::User => "user",
            Entity::Task => "task",
        })
    }
}

/// What an [`Error::Conflict`] collided with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConflictKind {
    /// Another account already uses this email address (in any letter case).
    #[error("email address already in use")]
    EmailTaken,
    /// Another account is already linked to this external auth subject.
    #[error("auth subject already linked to another account")]
    AuthSubjectTaken,
    /// A task with this id already exists.
    #[error("a task with this id already exists")]
    DuplicateTaskId,
    /// An account with this id already exists (bulk loading only: the
    /// repositories choose new ids themselves).
    #[error("a user with this id already exists")]
    DuplicateUserId,
    /// A restored record has the id of a stored one but other values (bulk
    /// import only): restoring it would either drop it or overwrite the
    /// stored one, so neither happens.
    #[error("{} is already stored with other values", match task {
        Some(task) => format!("task {task} of user {owner}"),
        None => format!("user {owner}"),
    })]
    StoredDiffers {
        /// The account, or the owner of the task.
        owner: crate::UserId,
        /// The task, if the record is a task.
        task: Option<crate::TaskId>,
    },
    /// The caller expected another version: someone changed the task meanwhile.
    #[error("task is at version {actual}, not the expected {expected}")]
    StaleVersion {
        /// The version the caller asked for.
        expected: i32,
        /// The version the task has now.
        actual: i32,
    },
    /// A concurrent transaction interfered (serialization failure or
    /// deadlock, or a create whose id was deleted meanwhile); nothing was
    /// written, and retrying the whole operation is safe.
    #[error("concurrent update, try again")]
    ConcurrentUpdate,
}

/// A failed connection attempt (direct, or a pool checkout that timed out).
/// Messages pass through [`DatabaseUrl::scrub`]: libpq quotes parts of a
/// malformed URL, password included.
pub(crate) fn connection_error(
    url: &DatabaseUrl,
    err: impl fmt::Display,
    invalid_url: bool,
) -> Error {
    let message = url.scrub(&one_line(&err.to_string()));
    if invalid_url {
        return Error::validation("database_url", message);
    }
    match by_message::classify_connection_error(&message) {
        Some(class) => class.error(message),
        None => Error::Unavailable(message),
    }
}

impl Error {
    pub(crate) fn from_connection(url: &DatabaseUrl, err: diesel::ConnectionError) -> Self {
        use diesel::ConnectionError as C;
        let invalid_url = matches!(err, C::InvalidConnectionUrl(_) | C::InvalidCString(_));
        connection_error(url, err, invalid_url)
    }

    pub(crate) fn from_checkout(url: &DatabaseUrl, err: r2d2::Error) -> Self {
        // r2d2 only fails a checkout on timeout; its message carries libpq's
        // last connection error.
        connection_error(url, err, false)
    }
}

impl From<diesel::result::Error> for Error {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::Error as D;
        match err {
            D::DatabaseError(kind, info) => from_database_error(kind, info.as_ref()),
            D::BrokenTransactionManager => {
                Error::Unavailable("connection left in a broken transaction state".into())
            }
            // The library asks for optional rows explicitly; a bare NotFound here
            // is a bug, not a missing record, so it is not reported as one.
            D::NotFound => Error::Database("unexpected empty result".into()),
            other => Error::Database(other.to_string()),
        }
    }
}

/// libpq messages span several lines (one per address tried, plus hints);
/// an error message is one line.
fn one_line(message: &str) -> String {
    let lines: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    lines.join("; ")
}

/// Constraint name → domain error. Names are those of the migrations.
fn from_database_error(kind: DatabaseErrorKind, info: &dyn DatabaseErrorInformation) -> Error {
    use DatabaseErrorKind as K;
    let constraint = info.constraint_name().unwrap_or_default();
    match kind {
        K::UniqueViolation => match constraint {
            "users_email_lower_key" => Error::Conflict(ConflictKind::EmailTaken),
            "users_auth_subject_key" => Error::Conflict(ConflictKind::AuthSubjectTaken),
            "tasks_pkey" => Error::Conflict(ConflictKind::DuplicateTaskId),
            "users_pkey" => Error::Conflict(ConflictKind::DuplicateUserId),
            _ => Error::Database(info.message().to_owned()),
        },
        // A task's owner, or the account whose limit is set, vanished
        // (deleted concurrently).
        K::ForeignKeyViolation
            if matches!(
                constraint,
                "tasks_user_id_fkey" | "task_counts_user_id_fkey"
            ) =>
        {
            Error::NotFound(Entity::User)
        }
        // Linked to Better Auth (`link_better_auth`): a first sight of a
        // subject that Better Auth does not (or no longer) know.
        K::ForeignKeyViolation if constraint == crate::BETTER_AUTH_LINK => Error::validation(
            "auth_subject",
            "is not a user in Better Auth's \"user\" table",
        ),
        // Only reachable by bypassing the library: its forms cannot omit a
        // required value.
        K::NotNullViolation => match info.column_name() {
            Some(column) => Error::validation(column, "is required"),
            None => Error::Database(info.message().to_owned()),
        },
        K::CheckViolation if constraint == "task_counts_limit" => {
            match limit_in_message(info.message()) {
                Some(limit) => Error::TaskLimitReached { limit },
                None => Error::Database(info.message().to_owned()),
            }
        }
        K::CheckViolation => match check_constraint_field(constraint) {
            Some((field, reason)) => Error::validation(field, reason),
            None => Error::Database(info.message().to_owned()),
        },
        K::SerializationFailure => Error::Conflict(ConflictKind::ConcurrentUpdate),
        K::ClosedConnection | K::UnableToSendCommand => {
            Error::Unavailable(one_line(info.message()))
        }
        _ => match by_message::classify_statement_error(info.message()) {
            Some(class) => class.error(one_line(info.message())),
            None => Error::Database(info.message().to_owned()),
        },
    }
}

/// The limit in the message of the trigger that enforces it (migration
/// `task_counts`): "too many tasks: the limit is N per user". The message is
/// the migration's own text, not translated by `lc_messages`.
fn limit_in_message(message: &str) -> Option<u32> {
    let (_, rest) = message.split_once("the limit is ")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The input field and the rule behind each CHECK constraint (and trigger),
/// the limits taken from `validate`, where they are defined.
fn check_constraint_field(constraint: &str) -> Option<(&'static str, String)> {
    use crate::validate::{
        MAX_AUTH_SUBJECT_CHARS, MAX_DESCRIPTION_CHARS, MAX_DISPLAY_NAME_CHARS, MAX_EMAIL_CHARS,
        MAX_TIME_ZONE_CHARS, MAX_TITLE_CHARS, MIN_EMAIL_CHARS,
    };
    let chars = |min: usize, max: usize| format!("must be {min} to {max} characters");
    Some(match constraint {
        "users_email_check" => (
            "email",
            format!("must be a plain address of {MIN_EMAIL_CHARS} to {MAX_EMAIL_CHARS} characters"),
        ),
        "users_password_hash_check" => ("password_hash", "must be an Argon2id hash".into()),
        "users_auth_subject_check" => ("auth_subject", chars(1, MAX_AUTH_SUBJECT_CHARS)),
        "users_display_name_check" => ("display_name", chars(1, MAX_DISPLAY_NAME_CHARS)),
        "users_time_zone_check" => ("time_zone", chars(1, MAX_TIME_ZONE_CHARS)),
        "tasks_title_check" => (
            "title",
            format!("{} after trimming", chars(1, MAX_TITLE_CHARS)),
        ),
        "tasks_description_check" => (
            "description",
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
        ),
        "tasks_completed_at_check" => ("completed_at", "must be set exactly when completed".into()),
        "tasks_priority_check" => ("priority", "must be between 1 and 5".into()),
        "tasks_version_check" => ("version", "must be at least 1".into()),
        "tasks_user_id_immutable" => ("user_id", "a task cannot be moved to another user".into()),
        "tasks_id_immutable" => ("id", "a task's id cannot change".into()),
        "task_counts_max_tasks_check" | "store_settings_max_tasks_check" => {
            ("max_tasks", "must be at least 0".into())
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::limit_in_message;

    #[test]
    fn the_limit_is_read_from_the_triggers_message() {
        assert_eq!(
            limit_in_message("too many tasks: the limit is 10000 per user"),
            Some(10_000)
        );
        assert_eq!(limit_in_message("too many tasks"), None);
        assert_eq!(limit_in_message("the limit is 99999999999 per user"), None);
    }
}
