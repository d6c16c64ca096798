//! The repositories: [`TaskRepo`] (always scoped to an [`Owner`]) and
//! [`UserRepo`] (accounts, and the only way to obtain an `Owner`).
//!
//! Both are implemented once (`calls.rs`) for every backend (`backend.rs`):
//! a plain [`PgConnection`](diesel::PgConnection), so they also run inside a
//! caller's transaction, and the pool-backed [`Store`](crate::Store).

mod backend;
mod bulk_insert;
pub(crate) mod cached;
mod calls;
mod keyset;
pub(crate) mod scope;
mod search;
pub(crate) mod task_queries;
pub(crate) mod user_queries;

use crate::{
    Changes, ConflictKind, Error, HistoryPage, HistoryQuery, NewProfile, NewTask, NewUser, Owner,
    Page, Password, Result, SyncToken, Task, TaskFilter, TaskId, TaskPatch, TaskQuery, TaskStatus,
    User, UserId, UserPatch,
};

/// The version a write expects the task to be at (optimistic concurrency).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum VersionCheck {
    /// Write whatever the current version ("last write wins").
    #[default]
    Any,
    /// Write only if the task is still at this version; otherwise
    /// [`ConflictKind::StaleVersion`].
    Exactly(i32),
}

impl VersionCheck {
    pub(crate) fn verify(self, actual: i32) -> Result<()> {
        match self {
            VersionCheck::Exactly(expected) if expected != actual => {
                Err(Error::Conflict(ConflictKind::StaleVersion {
                    expected,
                    actual,
                }))
            }
            _ => Ok(()),
        }
    }
}

/// What [`UserRepo::owner_for_subject`] does with a subject it has not seen.
#[derive(Debug, Clone)]
pub enum OnMissingSubject {
    /// Fail with [`Error::NotFound`].
    Reject,
    /// Create the account from this profile, linked to the subject given.
    Create(NewProfile),
}

/// Task persistence, always on behalf of an [`Owner`]. Implemented for the
/// pool-backed [`Store`](crate::Store) and for a plain
/// [`PgConnection`](diesel::PgConnection) (a caller's transaction).
///
/// A task that belongs to another user behaves exactly like one that does not
/// exist: [`Error::NotFound`] and no change.
///
/// # Errors
/// Every method may fail with [`Error::Unavailable`] (database out of reach;
/// retryable) or [`Error::Database`]. Method docs list the others.
pub trait TaskRepo {
    /// Creates a task owned by `owner`.
    ///
    /// With a client-chosen [`NewTask::id`], the create is idempotent: if the
    /// owner already has a task under that id with the same title,
    /// description, priority and due time (a retry after a lost reply), that
    /// task is returned and nothing is written. Concurrent retries create it
    /// once. Completing or reopening the task does not count as a change for
    /// this comparison; a retry that arrives after the task was deleted
    /// creates it again (deleted ids are not remembered).
    ///
    /// # Errors
    /// [`Error::Validation`] for a bad title, description or priority;
    /// [`Error::NotFound`] if the owner's account was deleted meanwhile;
    /// [`Error::Conflict`] with [`ConflictKind::DuplicateTaskId`] if the
    /// owner's task under the client-chosen id is another task, or has been
    /// changed since it was created.
    fn create_task(&mut self, owner: &Owner, new: NewTask) -> Result<Task>;

    /// Creates all `tasks` in one transaction: all or nothing. Client-chosen
    /// ids make it idempotent as for [`create_task`](Self::create_task); the
    /// result is in the order given, and an id given twice with the same
    /// fields yields the same task twice.
    ///
    /// # Errors
    /// As [`create_task`](Self::create_task); a validation error names the
    /// failing element, e.g. `tasks[3].title`.
    fn create_tasks(&mut self, owner: &Owner, tasks: Vec<NewTask>) -> Result<Vec<Task>>;

    /// The owner's task `id`.
    ///
    /// # Errors
    /// [`Error::NotFound`] if there is no such task of the owner's.
    fn get_task(&mut self, owner: &Owner, id: TaskId) -> Result<Task>;

    /// One page of the owner's tasks.
    ///
    /// # Errors
    /// [`Error::Validation`] for an empty range, a zero limit, an over-long
    /// search, or a cursor that is malformed or from another sort order.
    fn list_tasks(&mut self, owner: &Owner, query: &TaskQuery) -> Result<Page<Task>>;

    /// How many of the owner's tasks match `filter`.
    ///
    /// # Errors
    /// [`Error::Validation`] as for [`list_tasks`](Self::list_tasks).
    fn count_tasks(&mut self, owner: &Owner, filter: &TaskFilter) -> Result<u64>;

    /// Applies `patch`; the version advances by one. An empty patch changes
    /// nothing and returns the task.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Conflict`] with
    /// [`ConflictKind::StaleVersion`] if `check` fails; [`Error::Validation`].
    fn update_task(
        &mut self,
        owner: &Owner,
        id: TaskId,
        patch: TaskPatch,
        check: VersionCheck,
    ) -> Result<Task>;

    /// Marks the task done or open again. Setting the status it already has
    /// changes nothing (same version, same completion time).
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Conflict`] if `check` fails.
    fn set_task_status(
        &mut self,
        owner: &Owner,
        id: TaskId,
        status: TaskStatus,
        check: VersionCheck,
    ) -> Result<Task>;

    /// Deletes the task.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Conflict`] if `check` fails.
    fn delete_task(&mut self, owner: &Owner, id: TaskId, check: VersionCheck) -> Result<()>;

    /// Deletes those of `ids` that are the owner's tasks, in one statement, and
    /// returns how many were deleted. Other ids are ignored as if absent.
    ///
    /// # Errors
    /// Only the common ones.
    fn delete_tasks(&mut self, owner: &Owner, ids: &[TaskId]) -> Result<u64>;

    /// A page of the changes of the owner's task `id`, newest first (see
    /// [`history`](crate::history)), also after the task was deleted, for as
    /// long as the history is kept. One statement (a second one, whether
    /// the task exists, when it has no history).
    ///
    /// # Errors
    /// [`Error::NotFound`] if the owner has no such task and no history of
    /// one (another user's task id answers exactly like an unknown one);
    /// [`Error::Validation`] on `limit` if it is 0.
    fn task_history(
        &mut self,
        owner: &Owner,
        id: TaskId,
        query: &HistoryQuery,
    ) -> Result<HistoryPage>;

    /// The owner's current position in their change feed: the token to pass
    /// to [`changes_since`](Self::changes_since) after reading all tasks. Take
    /// it **before** reading them, so that no change made meanwhile is
    /// missed. One statement.
    ///
    /// # Errors
    /// Only the common ones.
    fn sync_token(&mut self, owner: &Owner) -> Result<SyncToken>;

    /// The owner's tasks created or changed after `token` (as they are now),
    /// the ids of those deleted after it, and the token to ask with next: at
    /// most `limit` changes (capped at [`MAX_PAGE_SIZE`](crate::MAX_PAGE_SIZE))
    /// at a time, [`Changes::more`] saying whether more are waiting. One
    /// statement, index-backed: its cost grows with the changes returned, not
    /// with the owner's number of tasks.
    ///
    /// # Errors
    /// [`Error::ResyncRequired`] if the token is older than the history kept
    /// (or newer than the owner's last change); [`Error::Validation`] on
    /// `token` if it is malformed, edited or another user's (the same answer
    /// for each), or on `limit` if it is 0.
    fn changes_since(&mut self, owner: &Owner, token: &SyncToken, limit: u32) -> Result<Changes>;
}

/// Accounts, and the only ways to obtain an [`Owner`]. Implemented for
/// [`Store`](crate::Store) and [`PgConnection`](diesel::PgConnection).
///
/// # Errors
/// Every method may fail with [`Error::Unavailable`] (database out of reach;
/// retryable) or [`Error::Database`]. Method docs list the others.
pub trait UserRepo {
    /// Creates an account; a password is stored only as an Argon2id hash.
    ///
    /// # Errors
    /// [`Error::Validation`] for a bad email or profile field, or a password
    /// shorter than [`MIN_PASSWORD_CHARS`](crate::MIN_PASSWORD_CHARS);
    /// [`Error::Conflict`] if the email (in any case) or auth subject is taken.
    fn create_user(&mut self, new: NewUser) -> Result<User>;

    /// The account `id`. For administration; it grants no access to tasks.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    fn get_user(&mut self, id: UserId) -> Result<User>;

    /// The account with this email, in any letter case.
    ///
    /// # Errors
    /// [`Error::Validation`] if `email` is not an address.
    fn find_user_by_email(&mut self, email: &str) -> Result<Option<User>>;

    /// Up to `limit` accounts (capped at [`MAX_PAGE_SIZE`](crate::MAX_PAGE_SIZE))
    /// in id order, after `after` if given. For administration.
    ///
    /// # Errors
    /// [`Error::Validation`] on `limit` if it is 0.
    fn list_users(&mut self, limit: u32, after: Option<UserId>) -> Result<Vec<User>>;

    /// Logs in with email and password.
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`] for an unknown email, a wrong password, or
    /// an account without one, after the same amount of work in every case.
    fn authenticate(&mut self, email: &str, password: &Password) -> Result<Owner>;

    /// The account linked to an external auth service's subject (a verified
    /// JWT `sub`), created on first sight if `on_missing` says so.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown subject with
    /// [`OnMissingSubject::Reject`]; [`Error::Conflict`] if a new account's
    /// email is taken; [`Error::Validation`].
    fn owner_for_subject(
        &mut self,
        subject: &str,
        on_missing: OnMissingSubject,
    ) -> Result<(User, Owner)>;

    /// Updates the owner's own profile.
    ///
    /// # Errors
    /// [`Error::Validation`]; [`Error::Conflict`] if the new email is taken;
    /// [`Error::NotFound`] if the account was deleted.
    fn update_profile(&mut self, owner: &Owner, patch: UserPatch) -> Result<User>;

    /// Replaces the owner's password (hashed with Argon2id).
    ///
    /// # Errors
    /// [`Error::Validation`] for a password shorter than
    /// [`MIN_PASSWORD_CHARS`](crate::MIN_PASSWORD_CHARS); [`Error::NotFound`]
    /// if the account was deleted.
    fn change_password(&mut self, owner: &Owner, password: &Password) -> Result<()>;

    /// Deletes the owner's account and, in the same statement, all its tasks.
    ///
    /// # Errors
    /// [`Error::NotFound`] if the account was already deleted.
    fn delete_user(&mut self, owner: &Owner) -> Result<()>;
}

/// **Operator path** (cargo feature `operator`): an [`Owner`] for an account
/// named by email, with no proof of identity.
///
/// Only for trusted tools run by whoever operates the database, such as the
/// `todo-store` CLI, and for tests; never with input from an end user. Being a
/// separate trait behind a feature, it shows up in a crate's `Cargo.toml`
/// and imports wherever it is used.
#[cfg(feature = "operator")]
pub trait OperatorRepo {
    /// The owner of the account with this email (in any letter case).
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Validation`] if `email` is not an address;
    /// [`Error::Unavailable`] or [`Error::Database`].
    fn operator_owner(&mut self, email: &str) -> Result<Owner>;
}
