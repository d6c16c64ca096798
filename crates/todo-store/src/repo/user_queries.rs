//! The user queries, as functions over `&mut PgConnection`.

use diesel::{pg::Pg, prelude::*, sql_types::Text};

use super::{cached::Cached, scope};
use crate::{
    ConflictKind, Entity, Error, NewUser, OnMissingSubject, Owner, Password, Result, User, UserId,
    UserPatch, password, schema::users, session::CallSettings, validate,
};

diesel::define_sql_function! {
    /// PostgreSQL's `lower(text)`; `lower(email)` is what the unique index holds.
    fn lower(text: Text) -> Text;
}

/// A validated new account, password already hashed: ready to insert.
#[derive(Insertable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub(crate) struct UserRow<'a> {
    id: UserId,
    email: &'a str,
    password_hash: Option<String>,
    auth_subject: Option<&'a str>,
    display_name: Option<&'a str>,
    time_zone: Option<&'a str>,
}

impl<'a> UserRow<'a> {
    /// Validates everything, then hashes the password: slow, so done last and
    /// outside any transaction.
    pub(crate) fn validated(new: &'a NewUser) -> Result<Self> {
        let row = Self::validated_unhashed(new)?;
        let hash = new.password.as_ref().map(password::hash_new).transpose()?;
        Ok(row.with_password_hash(hash))
    }

    /// Validates everything but the password, which is left unhashed (for
    /// a caller that hashes it elsewhere, off an async runtime's threads).
    pub(crate) fn validated_unhashed(new: &'a NewUser) -> Result<Self> {
        Ok(Self {
            id: UserId::new_v7(),
            email: validate::email(&new.email)?,
            password_hash: None,
            auth_subject: validate::optional(new.auth_subject.as_deref(), validate::auth_subject)?,
            display_name: validate::optional(new.display_name.as_deref(), validate::display_name)?,
            time_zone: validate::optional(new.time_zone.as_deref(), validate::time_zone)?,
        })
    }

    /// This row with the password's hash.
    pub(crate) fn with_password_hash(self, password_hash: Option<String>) -> Self {
        Self {
            password_hash,
            ..self
        }
    }
}

/// A validated profile patch.
#[derive(AsChangeset)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub(crate) struct UserChanges<'a> {
    email: Option<&'a str>,
    display_name: Option<Option<&'a str>>,
    time_zone: Option<Option<&'a str>>,
}

impl<'a> UserChanges<'a> {
    pub(crate) fn validated(patch: &'a UserPatch) -> Result<Self> {
        Ok(Self {
            email: patch.email.as_deref().map(validate::email).transpose()?,
            display_name: patch
                .display_name
                .as_ref()
                .map(|name| name.as_deref().map(validate::display_name).transpose())
                .transpose()?,
            time_zone: patch
                .time_zone
                .as_ref()
                .map(|zone| zone.as_deref().map(validate::time_zone).transpose())
                .transpose()?,
        })
    }
}

pub(crate) fn insert(conn: &mut PgConnection, row: &UserRow<'_>) -> Result<User> {
    Ok(insert_statement(row).get_result(conn)?)
}

/// The INSERT of a new account.
pub(crate) fn insert_statement<'a>(row: &'a UserRow<'a>) -> Cached<'a, Users> {
    Cached::new(
        diesel::insert_into(users::table)
            .values(row)
            .returning(User::as_returning()),
    )
}

pub(crate) fn get(conn: &mut PgConnection, id: UserId) -> Result<User> {
    get_statement(id)
        .get_result(conn)
        .optional()?
        .ok_or(Error::NotFound(Entity::User))
}

/// The account `id`.
pub(crate) fn get_statement(
    id: UserId,
) -> diesel::dsl::Select<diesel::dsl::Find<users::table, UserId>, diesel::dsl::AsSelect<User, Pg>> {
    users::table.find(id).select(User::as_select())
}

pub(crate) fn find_by_email(conn: &mut PgConnection, email: &str) -> Result<Option<User>> {
    Ok(by_email_statement(validate::email(email)?)
        .get_result(conn)
        .optional()?)
}

/// The account with the (validated) `email`, in any letter case.
pub(crate) fn by_email_statement(email: &str) -> Cached<'_, Users> {
    Cached::new(
        users::table
            .filter(lower(users::email).eq(lower(email)))
            .select(User::as_select()),
    )
}

/// The SQL type of a [`User`] row.
pub(crate) type Users = diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<User, Pg>>;

pub(crate) fn list(
    conn: &mut PgConnection,
    limit: u32,
    after: Option<UserId>,
) -> Result<Vec<User>> {
    Ok(list_statement(limit, after)?.load(conn)?)
}

/// Refuses a page of no accounts.
pub(crate) fn check_list_limit(limit: u32) -> Result<()> {
    match limit {
        0 => Err(Error::validation("limit", "must be at least 1")),
        _ => Ok(()),
    }
}

/// The page of accounts [`list`] reads.
pub(crate) fn list_statement(limit: u32, after: Option<UserId>) -> Result<Cached<'static, Users>> {
    check_list_limit(limit)?;
    let mut query = users::table
        .select(User::as_select())
        .order_by(users::id)
        .limit(i64::from(limit.min(crate::MAX_PAGE_SIZE)))
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(users::id.gt(after));
    }
    Ok(Cached::new(query))
}

/// The id and password hash of the account with this email, if any.
pub(crate) type Credentials = Option<(UserId, Option<String>)>;

pub(crate) fn credentials(conn: &mut PgConnection, email: &str) -> Result<Credentials> {
    let Ok(email) = validate::email(email) else {
        return Ok(None);
    };
    Ok(credentials_statement(email).get_result(conn).optional()?)
}

/// The id and password hash of the account with the (validated) `email`.
pub(crate) fn credentials_statement(
    email: &str,
) -> Cached<'_, (diesel::sql_types::Uuid, diesel::sql_types::Nullable<Text>)> {
    Cached::new(
        users::table
            .filter(lower(users::email).eq(lower(email)))
            .select((users::id, users::password_hash)),
    )
}

/// Verifies `pw` against the stored credentials; slow by design, so callers
/// holding a pooled connection should release it first.
pub(crate) fn check_password(account: Credentials, pw: &Password) -> Result<Owner> {
    match account {
        Some((id, Some(hash))) if password::verify(pw, &hash) => Ok(Owner::verified(id)),
        Some((_, Some(_))) => Err(Error::InvalidCredentials),
        // Unknown account or no password: spend the same time as a real check.
        _ => {
            password::verify_dummy(pw);
            Err(Error::InvalidCredentials)
        }
    }
}

pub(crate) fn owner_for_subject(
    conn: &mut PgConnection,
    subject: &str,
    on_missing: &OnMissingSubject,
) -> Result<(User, Owner)> {
    let subject = validate::auth_subject(subject)?;
    let by_subject =
        |conn: &mut PgConnection| by_subject_statement(subject).get_result(conn).optional();
    if let Some(user) = by_subject(conn)? {
        return Ok(with_owner(user));
    }
    let new = subject_account(subject, on_missing)?;
    let row = UserRow::validated(&new)?;
    conn.transaction(|conn| {
        // Two first requests of the same new user may race. The loser's insert
        // waits for the winner's commit, then does nothing (whichever unique
        // index it hits), and finds the winner's row.
        insert_if_absent_statement(&row).execute(conn)?;
        first_sight(by_subject(conn)?)
    })
}

/// The account linked to the (validated) auth `subject`.
pub(crate) fn by_subject_statement(subject: &str) -> Cached<'_, Users> {
    Cached::new(
        users::table
            .filter(users::auth_subject.eq(subject))
            .select(User::as_select()),
    )
}

/// The account to create for an unknown `subject`, if `on_missing` says so.
pub(crate) fn subject_account(subject: &str, on_missing: &OnMissingSubject) -> Result<NewUser> {
    let OnMissingSubject::Create(profile) = on_missing else {
        return Err(Error::NotFound(Entity::User));
    };
    Ok(NewUser {
        email: profile.email.clone(),
        display_name: profile.display_name.clone(),
        time_zone: profile.time_zone.clone(),
        password: None,
        auth_subject: Some(subject.to_owned()),
    })
}

/// The INSERT of a first-sight account: nothing if its subject or email is
/// taken.
pub(crate) fn insert_if_absent_statement<'a>(row: &'a UserRow<'a>) -> Cached<'a, ()> {
    Cached::new(
        diesel::insert_into(users::table)
            .values(row)
            .on_conflict_do_nothing(),
    )
}

/// The answer to a first sight, from the subject's account read after the
/// insert: none means the insert did nothing and the subject is still
/// unknown, so the email belongs to another account.
pub(crate) fn first_sight(user: Option<User>) -> Result<(User, Owner)> {
    user.map(with_owner)
        .ok_or(Error::Conflict(ConflictKind::EmailTaken))
}

/// An account and its owner: only for an account found by a verified
/// identity.
pub(crate) fn with_owner(user: User) -> (User, Owner) {
    let owner = Owner::verified(user.id);
    (user, owner)
}

#[cfg(feature = "operator")]
pub(crate) fn operator_owner(conn: &mut PgConnection, email: &str) -> Result<Owner> {
    find_by_email(conn, email)?
        .map(|user| Owner::verified(user.id))
        .ok_or(Error::NotFound(Entity::User))
}

pub(crate) fn update_profile(
    conn: &mut PgConnection,
    owner: &Owner,
    patch: &UserPatch,
) -> Result<User> {
    let changes = UserChanges::validated(patch)?;
    if *patch == UserPatch::default() {
        return get(conn, owner.user_id());
    }
    update_profile_statement(owner, &changes)
        .get_result(conn)
        .optional()?
        .ok_or(Error::NotFound(Entity::User))
}

/// The UPDATE of [`update_profile`] (for a patch that changes something).
pub(crate) fn update_profile_statement<'a>(
    owner: &Owner,
    changes: &'a UserChanges<'a>,
) -> Cached<'a, Users> {
    Cached::new(
        diesel::update(users::table.find(owner.user_id()))
            .set(changes)
            .returning(User::as_returning()),
    )
}

pub(crate) fn set_password_hash(conn: &mut PgConnection, owner: &Owner, hash: &str) -> Result<()> {
    deleted(set_password_hash_statement(owner, hash).execute(conn)?)
}

/// The UPDATE of [`set_password_hash`]; no row means no such account.
pub(crate) fn set_password_hash_statement<'a>(owner: &Owner, hash: &'a str) -> Cached<'a, ()> {
    Cached::new(
        diesel::update(users::table.find(owner.user_id())).set(users::password_hash.eq(hash)),
    )
}

/// Replaces the owner's password hash `old` by `new`, unless it changed
/// meanwhile (a password change must never be undone by a login's rehash).
fn replace_password_hash(
    conn: &mut PgConnection,
    owner: &Owner,
    old: &str,
    new: &str,
) -> Result<()> {
    replace_password_hash_statement(owner, old, new).execute(conn)?;
    Ok(())
}

/// The UPDATE of [`replace_password_hash`].
pub(crate) fn replace_password_hash_statement<'a>(
    owner: &Owner,
    old: &'a str,
    new: &'a str,
) -> Cached<'a, ()> {
    Cached::new(
        diesel::update(
            users::table
                .find(owner.user_id())
                .filter(users::password_hash.eq(old)),
        )
        .set(users::password_hash.eq(new)),
    )
}

/// The hash to replace after a successful login with `account`, if it is
/// weaker than a new one would be.
pub(crate) fn outdated_hash(account: &Credentials) -> Option<String> {
    match account {
        Some((_, Some(hash))) if password::needs_rehash(hash) => Some(hash.clone()),
        _ => None,
    }
}

/// After a successful login whose stored hash was `outdated`: stores `new`
/// (the password hashed with today's parameters), in the owner's scope, in a
/// savepoint when inside the caller's transaction (so that a failure leaves
/// it usable).
pub(crate) fn rehash(
    conn: &mut PgConnection,
    owner: &Owner,
    outdated: &str,
    new: &str,
    settings: CallSettings,
) -> Result<()> {
    conn.transaction(|conn| {
        scope::run(conn, owner, settings, |conn, _| {
            replace_password_hash(conn, owner, outdated, new)
        })
    })
}

pub(crate) fn delete(conn: &mut PgConnection, owner: &Owner) -> Result<()> {
    // The tasks go with the account: ON DELETE CASCADE, in the same statement.
    deleted(delete_statement(owner).execute(conn)?)
}

/// The DELETE of the owner's account (and, by cascade, its tasks).
pub(crate) fn delete_statement(
    owner: &Owner,
) -> diesel::dsl::delete<diesel::dsl::Find<users::table, UserId>> {
    diesel::delete(users::table.find(owner.user_id()))
}

/// [`delete`]'s (and [`set_password_hash`]'s) answer from the rows its
/// statement touched: none means the account is gone.
pub(crate) fn deleted(rows: usize) -> Result<()> {
    match rows {
        0 => Err(Error::NotFound(Entity::User)),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::password::tests::take_verifications;

    /// No user enumeration by timing: an unknown email, an account without
    /// a password, a wrong and a right password each cost exactly one
    /// Argon2 verification with today's parameters. (Counted, not timed: a
    /// test asserts behaviour, a benchmark reports seconds.)
    #[test]
    fn every_login_outcome_costs_one_verification_at_todays_parameters() {
        let pw = Password::new("correct horse battery").unwrap();
        let wrong = Password::new("wrong horse battery").unwrap();
        let hash = password::hash(&pw).unwrap();
        let id = UserId::new_v7();
        let today = (
            password::ARGON2_MEMORY_KIB,
            password::ARGON2_PASSES,
            password::ARGON2_LANES,
        );
        take_verifications();
        let outcomes = [
            (None, &pw, false),
            (Some((id, None)), &pw, false),
            (Some((id, Some(hash.clone()))), &wrong, false),
            (Some((id, Some(hash.clone()))), &pw, true),
        ];
        for (account, attempt, succeeds) in outcomes {
            let answer = check_password(account.clone(), attempt);
            assert_eq!(answer.is_ok(), succeeds, "{account:?}");
            assert_eq!(take_verifications(), [today], "{account:?}");
        }
    }
}
