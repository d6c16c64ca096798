//! The async store's account calls that need no password (those that do
//! are in `passwords.rs`): looking an
//! account up, the owner for a verified identity's subject (created on
//! first sight), and the owner's own profile and deletion. Each is one
//! statement, so one round trip (owner-scoped ones one flight); a first
//! sight takes a second flight for its insert and read-back, in one
//! transaction.

use diesel::OptionalExtension;
use diesel_async::RunQueryDsl;

use super::{
    AsyncStore,
    flight::{in_one_flight, owner_call, plain_call},
};
use crate::{
    Entity, Error, OnMissingSubject, Owner, Result, User, UserId, UserPatch,
    repo::user_queries::{self, UserChanges, UserRow},
    validate,
};

impl AsyncStore {
    /// The account `id`, as [`UserRepo::get_user`](crate::UserRepo::get_user).
    /// For administration; it grants no access to tasks.
    ///
    /// # Errors
    /// [`Error::NotFound`]; connection and database errors as the sync
    /// store's.
    pub async fn get_user(&self, id: UserId) -> Result<User> {
        self.read(move |mut conn| async move {
            plain_call!(self, conn, |c| async {
                user_queries::get_statement(id)
                    .get_result::<User>(&mut c)
                    .await
                    .optional()
            })?
            .ok_or(Error::NotFound(Entity::User))
        })
        .await
    }

    /// The account with this email, in any letter case, as
    /// [`UserRepo::find_user_by_email`](crate::UserRepo::find_user_by_email).
    ///
    /// # Errors
    /// [`Error::Validation`] if `email` is not an address; connection and
    /// database errors as the sync store's.
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        let email = validate::email(email)?;
        self.read(move |mut conn| async move {
            plain_call!(self, conn, |c| async {
                user_queries::by_email_statement(email)
                    .get_result::<User>(&mut c)
                    .await
                    .optional()
            })
        })
        .await
    }

    /// The account linked to an auth service's subject (a verified JWT
    /// `sub`), created on first sight if `on_missing` says so, as
    /// [`UserRepo::owner_for_subject`](crate::UserRepo::owner_for_subject).
    /// One round trip for a known subject; a first sight sends its insert
    /// and the read-back in one flight more, in one transaction.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown subject with
    /// [`OnMissingSubject::Reject`]; [`Error::Conflict`] if a new account's
    /// email is taken; [`Error::Validation`]; connection and database
    /// errors as the sync store's.
    pub async fn owner_for_subject(
        &self,
        subject: &str,
        on_missing: OnMissingSubject,
    ) -> Result<(User, Owner)> {
        let subject = validate::auth_subject(subject)?;
        let known = self
            .read(move |mut conn| async move {
                plain_call!(self, conn, |c| async {
                    user_queries::by_subject_statement(subject)
                        .get_result::<User>(&mut c)
                        .await
                        .optional()
                })
            })
            .await?;
        if let Some(user) = known {
            return Ok(user_queries::with_owner(user));
        }
        let new = user_queries::subject_account(subject, &on_missing)?;
        let row = &UserRow::validated(&new)?;
        self.write(move || async move {
            let mut conn = self.conn().await?;
            // Two first requests of the same new user may race: the loser's
            // insert waits for the winner's commit, then does nothing, and
            // its read finds the winner's account.
            let user = in_one_flight!(&mut conn, self.sending, "BEGIN".to_owned(), |c| {
                let mut read_on = c;
                async move {
                    let (inserted, user) = futures_util::join!(
                        user_queries::insert_if_absent_statement(row).execute(&mut c),
                        user_queries::by_subject_statement(subject)
                            .get_result::<User>(&mut read_on),
                    );
                    inserted?;
                    user.optional()
                }
            })?;
            user_queries::first_sight(user)
        })
        .await
    }

    /// Updates the owner's own profile, as
    /// [`UserRepo::update_profile`](crate::UserRepo::update_profile).
    ///
    /// # Errors
    /// [`Error::Validation`]; [`Error::Conflict`] if the new email is taken;
    /// [`Error::NotFound`] if the account was deleted; connection and
    /// database errors as the sync store's.
    pub async fn update_profile(&self, owner: &Owner, patch: UserPatch) -> Result<User> {
        let changes = &UserChanges::validated(&patch)?;
        if patch == UserPatch::default() {
            return self.get_user(owner.user_id()).await;
        }
        self.write(move || async move {
            let mut conn = self.conn().await?;
            owner_call!(self, conn, owner, |c| async {
                user_queries::update_profile_statement(owner, changes)
                    .get_result::<User>(&mut c)
                    .await
                    .optional()
            })?
            .ok_or(Error::NotFound(Entity::User))
        })
        .await
    }

    /// Deletes the owner's account and, in the same statement, all its
    /// tasks, as [`UserRepo::delete_user`](crate::UserRepo::delete_user).
    ///
    /// # Errors
    /// [`Error::NotFound`] if the account was already deleted; connection
    /// and database errors as the sync store's.
    pub async fn delete_user(&self, owner: &Owner) -> Result<()> {
        let rows = self
            .write(move || async move {
                let mut conn = self.conn().await?;
                owner_call!(self, conn, owner, |c| {
                    user_queries::delete_statement(owner).execute(&mut c)
                })
            })
            .await?;
        user_queries::deleted(rows)
    }
}
