//! The pool-backed repositories: each call checks out a connection, runs the
//! same code as the `PgConnection` implementation, and returns it to the pool.
//! Password hashing and verification (tens of milliseconds of CPU) run while no
//! connection is checked out, so logins cannot starve the pool.
//!
//! A read that fails because its connection turned out to be lost (e.g. the
//! server restarted while the connection sat in the pool) is made once more
//! on another connection, which the pool checks first; reads change nothing,
//! so this is always safe. Writes are not repeated after a lost connection:
//! whether a lost write reached the database is the caller's question (a
//! create with a client-chosen id can simply be sent again).
//!
//! Every call, read or write, is repeated under the store's
//! [`RetryPolicy`](crate::RetryPolicy) when PostgreSQL aborted its
//! transaction for a serialization failure or a deadlock: each call is one
//! whole transaction (or one statement), rolled back by the abort, so the
//! repeat is safe.

use diesel::PgConnection;

use super::{Scoped, scope, user_sql};
use crate::{
    Error, NewTask, NewUser, OnMissingSubject, Owner, Page, Password, Result, Store, Task,
    TaskFilter, TaskId, TaskPatch, TaskQuery, TaskRepo, TaskStatus, User, UserId, UserPatch,
    UserRepo, VersionCheck, password,
};

impl Store {
    /// The task repository on `conn`, scoped as configured.
    fn tasks<'a>(&self, conn: &'a mut PgConnection) -> Scoped<'a> {
        Scoped::new(conn, self.row_security)
    }

    /// Runs the write `write` on a pooled connection, repeated under the
    /// retry policy.
    fn write<T>(&self, mut write: impl FnMut(&mut PgConnection) -> Result<T>) -> Result<T> {
        self.retry.run(|| write(&mut *self.conn()?))
    }

    /// Runs the read `read` as [`Store::write`] does, and once more on
    /// another connection if the first one was lost (`Unavailable` from the
    /// statement, not from checkout).
    fn read<T>(&self, read: impl Fn(&mut PgConnection) -> Result<T>) -> Result<T> {
        self.retry.run(|| {
            let mut conn = self.conn()?;
            match read(&mut conn) {
                Err(Error::Unavailable(_)) => {
                    drop(conn);
                    read(&mut *self.conn()?)
                }
                answer => answer,
            }
        })
    }
}

impl TaskRepo for Store {
    fn create_task(&mut self, owner: &Owner, new: NewTask) -> Result<Task> {
        self.write(|conn| self.tasks(conn).create_ref(owner, &new))
    }

    fn create_tasks(&mut self, owner: &Owner, tasks: Vec<NewTask>) -> Result<Vec<Task>> {
        self.write(|conn| self.tasks(conn).create_many_ref(owner, &tasks))
    }

    fn get_task(&mut self, owner: &Owner, id: TaskId) -> Result<Task> {
        self.read(|conn| self.tasks(conn).get_task(owner, id))
    }

    fn list_tasks(&mut self, owner: &Owner, query: &TaskQuery) -> Result<Page<Task>> {
        self.read(|conn| self.tasks(conn).list_tasks(owner, query))
    }

    fn count_tasks(&mut self, owner: &Owner, filter: &TaskFilter) -> Result<u64> {
        self.read(|conn| self.tasks(conn).count_tasks(owner, filter))
    }

    fn update_task(
        &mut self,
        owner: &Owner,
        id: TaskId,
        patch: TaskPatch,
        check: VersionCheck,
    ) -> Result<Task> {
        self.write(|conn| self.tasks(conn).update_ref(owner, id, &patch, check))
    }

    fn set_task_status(
        &mut self,
        owner: &Owner,
        id: TaskId,
        status: TaskStatus,
        check: VersionCheck,
    ) -> Result<Task> {
        self.write(|conn| self.tasks(conn).set_task_status(owner, id, status, check))
    }

    fn delete_task(&mut self, owner: &Owner, id: TaskId, check: VersionCheck) -> Result<()> {
        self.write(|conn| self.tasks(conn).delete_task(owner, id, check))
    }

    fn delete_tasks(&mut self, owner: &Owner, ids: &[TaskId]) -> Result<u64> {
        self.write(|conn| self.tasks(conn).delete_tasks(owner, ids))
    }
}

impl UserRepo for Store {
    fn create_user(&mut self, new: NewUser) -> Result<User> {
        let row = user_sql::UserRow::validated(&new)?;
        self.write(|conn| user_sql::insert(conn, &row))
    }

    fn get_user(&mut self, id: UserId) -> Result<User> {
        self.read(|conn| conn.get_user(id))
    }

    fn find_user_by_email(&mut self, email: &str) -> Result<Option<User>> {
        self.read(|conn| conn.find_user_by_email(email))
    }

    fn list_users(&mut self, limit: u32, after: Option<UserId>) -> Result<Vec<User>> {
        self.read(|conn| conn.list_users(limit, after))
    }

    fn authenticate(&mut self, email: &str, password: &Password) -> Result<Owner> {
        let account = self.read(|conn| user_sql::credentials(conn, email))?;
        let outdated = user_sql::outdated_hash(&account);
        // Verified while no connection is checked out (tens of ms of CPU).
        let owner = user_sql::check_password(account, password)?;
        if let Some(outdated) = outdated {
            // Hashed before a connection is checked out, as above.
            if let (Ok(new), Ok(mut conn)) = (password::hash(password), self.conn()) {
                user_sql::rehash(&mut conn, &owner, &outdated, &new, self.row_security);
            }
        }
        Ok(owner)
    }

    fn owner_for_subject(
        &mut self,
        subject: &str,
        on_missing: OnMissingSubject,
    ) -> Result<(User, Owner)> {
        self.write(|conn| conn.owner_for_subject(subject, on_missing.clone()))
    }

    fn update_profile(&mut self, owner: &Owner, patch: UserPatch) -> Result<User> {
        self.write(|conn| {
            scope::run(conn, owner, self.row_security, |conn, _| {
                user_sql::update_profile(conn, owner, &patch)
            })
        })
    }

    fn change_password(&mut self, owner: &Owner, password: &Password) -> Result<()> {
        let hash = password::hash_new(password)?;
        self.write(|conn| {
            scope::run(conn, owner, self.row_security, |conn, _| {
                user_sql::set_password_hash(conn, owner, hash.clone())
            })
        })
    }

    fn delete_user(&mut self, owner: &Owner) -> Result<()> {
        self.write(|conn| {
            scope::run(conn, owner, self.row_security, |conn, _| {
                user_sql::delete(conn, owner)
            })
        })
    }
}

#[cfg(feature = "operator")]
impl crate::OperatorRepo for Store {
    fn operator_owner(&mut self, email: &str) -> Result<Owner> {
        self.read(|conn| user_sql::operator_owner(conn, email))
    }
}
