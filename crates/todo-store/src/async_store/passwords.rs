//! The async store's account calls that hash or check a password: the
//! Argon2id work (tens of milliseconds of CPU) runs on tokio's blocking
//! threads (`spawn_blocking`), never on the runtime's own, and while no
//! connection is checked out, as the sync store does it outside its
//! transactions.

use diesel::OptionalExtension;
use diesel_async::RunQueryDsl;

use super::{
    AsyncStore,
    flight::{owner_call, plain_call},
};
use crate::{
    Error, NewUser, Owner, Password, Result, User, UserId, password,
    repo::user_queries::{self, UserRow},
    validate,
};

/// Runs the CPU-bound `work` on tokio's blocking threads.
async fn off_the_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| Error::Database(format!("password hashing did not finish: {err}")))?
}

impl AsyncStore {
    /// Creates an account, as [`UserRepo::create_user`](crate::UserRepo::create_user):
    /// a password is stored only as an Argon2id hash, made off the
    /// runtime's threads. One round trip.
    ///
    /// # Errors
    /// As the sync store's: [`Error::Validation`], [`Error::Conflict`] if
    /// the email or auth subject is taken, connection and database errors.
    pub async fn create_user(&self, new: NewUser) -> Result<User> {
        let row = UserRow::validated_unhashed(&new)?;
        let hash = match new.password.clone() {
            Some(pw) => Some(off_the_runtime(move || password::hash_new(&pw)).await?),
            None => None,
        };
        let row = &row.with_password_hash(hash);
        self.write(move || async move {
            let mut conn = self.conn().await?;
            plain_call!(self, conn, |c| {
                user_queries::insert_statement(row).get_result::<User>(&mut c)
            })
        })
        .await
    }

    /// Up to `limit` accounts in id order, after `after` if given, as
    /// [`UserRepo::list_users`](crate::UserRepo::list_users). For
    /// administration.
    ///
    /// # Errors
    /// [`Error::Validation`] on `limit` if it is 0; connection and database
    /// errors as the sync store's.
    pub async fn list_users(&self, limit: u32, after: Option<UserId>) -> Result<Vec<User>> {
        // Refused before a connection is checked out.
        user_queries::check_list_limit(limit)?;
        self.read(move |mut conn| async move {
            let statement = user_queries::list_statement(limit, after)?;
            plain_call!(self, conn, |c| statement.load::<User>(&mut c))
        })
        .await
    }

    /// Logs in with email and password, as
    /// [`UserRepo::authenticate`](crate::UserRepo::authenticate): the same
    /// work, off the runtime's threads, whatever the outcome; a hash made
    /// with weaker parameters than today's is replaced (best effort).
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`] for an unknown email, a wrong password
    /// or an account without one; connection and database errors.
    pub async fn authenticate(&self, email: &str, password: &Password) -> Result<Owner> {
        let address = validate::email(email).ok();
        let account = match address {
            None => None,
            Some(address) => {
                self.read(move |mut conn| async move {
                    plain_call!(self, conn, |c| async {
                        user_queries::credentials_statement(address)
                            .get_result::<(UserId, Option<String>)>(&mut c)
                            .await
                            .optional()
                    })
                })
                .await?
            }
        };
        let outdated = user_queries::outdated_hash(&account);
        let pw = password.clone();
        let owner = off_the_runtime(move || user_queries::check_password(account, &pw)).await?;
        if let Some(outdated) = outdated {
            // Best effort: the login stands if this fails, and the next
            // login tries again.
            let pw = password.clone();
            if let Ok(new) = off_the_runtime(move || password::hash(&pw)).await {
                let _ = self.replace_password_hash(&owner, &outdated, &new).await;
            }
        }
        Ok(owner)
    }

    /// Replaces the owner's password, as
    /// [`UserRepo::change_password`](crate::UserRepo::change_password),
    /// hashed off the runtime's threads. One flight.
    ///
    /// # Errors
    /// [`Error::Validation`] for a password shorter than
    /// [`MIN_PASSWORD_CHARS`](crate::MIN_PASSWORD_CHARS); [`Error::NotFound`]
    /// if the account was deleted; connection and database errors.
    pub async fn change_password(&self, owner: &Owner, password: &Password) -> Result<()> {
        let pw = password.clone();
        let hash = &off_the_runtime(move || password::hash_new(&pw)).await?;
        let rows = self
            .write(move || async move {
                let mut conn = self.conn().await?;
                owner_call!(self, conn, owner, |c| {
                    user_queries::set_password_hash_statement(owner, hash).execute(&mut c)
                })
            })
            .await?;
        user_queries::deleted(rows)
    }

    /// Stores `new` in place of the owner's hash `old`, unless it changed
    /// meanwhile (a password change is never undone by a login's rehash).
    async fn replace_password_hash(&self, owner: &Owner, old: &str, new: &str) -> Result<usize> {
        self.write(move || async move {
            let mut conn = self.conn().await?;
            owner_call!(self, conn, owner, |c| {
                user_queries::replace_password_hash_statement(owner, old, new).execute(&mut c)
            })
        })
        .await
    }
}
