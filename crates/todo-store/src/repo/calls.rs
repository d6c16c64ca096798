//! The one implementation of each repository trait, for every [`Backend`]
//! (a caller's `PgConnection`, the pool-backed `Store`): validation and SQL
//! live in `task_queries` / `user_queries`, the scope in `scope`, and how a closure
//! is run (once, or with retries on a pooled connection) in the backend.

use super::{
    OnMissingSubject, TaskRepo, UserRepo, VersionCheck, backend::Backend, task_queries,
    user_queries,
};
use crate::{
    Changes, HistoryPage, HistoryQuery, NewTask, NewUser, Owner, Page, Password, Result, SyncToken,
    Task, TaskFilter, TaskId, TaskPatch, TaskQuery, TaskStatus, User, UserId, UserPatch, history,
    password,
};

impl<B: Backend> TaskRepo for B {
    fn create_task(&mut self, owner: &Owner, new: NewTask) -> Result<Task> {
        self.scoped_write(owner, |conn, txn| {
            task_queries::create(conn, owner, &new, txn)
        })
    }

    fn create_tasks(&mut self, owner: &Owner, tasks: Vec<NewTask>) -> Result<Vec<Task>> {
        self.scoped_write(owner, |conn, txn| {
            task_queries::create_many(conn, owner, &tasks, txn)
        })
    }

    fn get_task(&mut self, owner: &Owner, id: TaskId) -> Result<Task> {
        self.scoped_read(owner, |conn, _| task_queries::get(conn, owner, id))
    }

    fn list_tasks(&mut self, owner: &Owner, query: &TaskQuery) -> Result<Page<Task>> {
        self.scoped_read(owner, |conn, _| task_queries::list(conn, owner, query))
    }

    fn count_tasks(&mut self, owner: &Owner, filter: &TaskFilter) -> Result<u64> {
        self.scoped_read(owner, |conn, _| task_queries::count(conn, owner, filter))
    }

    fn update_task(
        &mut self,
        owner: &Owner,
        id: TaskId,
        patch: TaskPatch,
        check: VersionCheck,
    ) -> Result<Task> {
        self.scoped_write(owner, |conn, txn| {
            task_queries::update(conn, owner, id, &patch, check, txn)
        })
    }

    fn set_task_status(
        &mut self,
        owner: &Owner,
        id: TaskId,
        status: TaskStatus,
        check: VersionCheck,
    ) -> Result<Task> {
        self.scoped_write(owner, |conn, txn| {
            task_queries::set_status(conn, owner, id, status, check, txn)
        })
    }

    fn delete_task(&mut self, owner: &Owner, id: TaskId, check: VersionCheck) -> Result<()> {
        self.scoped_write(owner, |conn, txn| {
            task_queries::delete(conn, owner, id, check, txn)
        })
    }

    fn delete_tasks(&mut self, owner: &Owner, ids: &[TaskId]) -> Result<u64> {
        self.scoped_write(owner, |conn, _| task_queries::delete_many(conn, owner, ids))
    }

    fn task_history(
        &mut self,
        owner: &Owner,
        id: TaskId,
        query: &HistoryQuery,
    ) -> Result<HistoryPage> {
        self.scoped_read(owner, |conn, _| {
            history::queries::task_history(conn, owner, id, query)
        })
    }

    fn sync_token(&mut self, owner: &Owner) -> Result<SyncToken> {
        self.scoped_read(owner, |conn, _| history::queries::sync_token(conn, owner))
    }

    fn changes_since(&mut self, owner: &Owner, token: &SyncToken, limit: u32) -> Result<Changes> {
        self.scoped_read(owner, |conn, _| {
            history::queries::changes_since(conn, owner, token, limit)
        })
    }
}

impl<B: Backend> UserRepo for B {
    fn create_user(&mut self, new: NewUser) -> Result<User> {
        // Validated and hashed (slow) before the database is touched.
        let row = user_queries::UserRow::validated(&new)?;
        self.write(|conn| user_queries::insert(conn, &row))
    }

    fn get_user(&mut self, id: UserId) -> Result<User> {
        self.read(|conn| user_queries::get(conn, id))
    }

    fn find_user_by_email(&mut self, email: &str) -> Result<Option<User>> {
        self.read(|conn| user_queries::find_by_email(conn, email))
    }

    fn list_users(&mut self, limit: u32, after: Option<UserId>) -> Result<Vec<User>> {
        self.read(|conn| user_queries::list(conn, limit, after))
    }

    fn authenticate(&mut self, email: &str, password: &Password) -> Result<Owner> {
        let account = self.read(|conn| user_queries::credentials(conn, email))?;
        let outdated = user_queries::outdated_hash(&account);
        // Verified while no database work is under way (tens of ms of CPU).
        let owner = user_queries::check_password(account, password)?;
        if let Some(outdated) = outdated {
            // Best effort: the login stands if this fails, and the next
            // login tries again.
            if let Ok(new) = password::hash(password) {
                let settings = self.call_settings();
                let _ = self
                    .write(|conn| user_queries::rehash(conn, &owner, &outdated, &new, settings));
            }
        }
        Ok(owner)
    }

    fn owner_for_subject(
        &mut self,
        subject: &str,
        on_missing: OnMissingSubject,
    ) -> Result<(User, Owner)> {
        self.write(|conn| user_queries::owner_for_subject(conn, subject, &on_missing))
    }

    fn update_profile(&mut self, owner: &Owner, patch: UserPatch) -> Result<User> {
        self.scoped_write(owner, |conn, _| {
            user_queries::update_profile(conn, owner, &patch)
        })
    }

    fn change_password(&mut self, owner: &Owner, password: &Password) -> Result<()> {
        let hash = password::hash_new(password)?;
        self.scoped_write(owner, |conn, _| {
            user_queries::set_password_hash(conn, owner, &hash)
        })
    }

    fn delete_user(&mut self, owner: &Owner) -> Result<()> {
        self.scoped_write(owner, |conn, _| user_queries::delete(conn, owner))
    }
}

#[cfg(feature = "operator")]
impl<B: Backend> super::OperatorRepo for B {
    fn operator_owner(&mut self, email: &str) -> Result<Owner> {
        self.read(|conn| user_queries::operator_owner(conn, email))
    }
}
