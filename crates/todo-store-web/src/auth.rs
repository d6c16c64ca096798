//! Who is calling: the bearer token, verified, turned into the library's
//! [`Owner`]. Every route under `/v1` takes a [`Caller`] (or, for the
//! account routes, an [`AccountCaller`]), so no handler can reach a task
//! without one, and the owner never comes from the request's body, path or
//! query.

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts},
};
use todo_store::{ConflictKind, Entity, Error, OnMissingSubject, Owner, User, UserPatch};

use crate::{AppState, problem::ApiError};

/// The authenticated caller of a request. The account may be the one
/// remembered from the caller's last request, a few seconds old (see
/// [`AuthPolicy::owner_cache`](crate::AuthPolicy::owner_cache)).
#[derive(Debug)]
pub struct Caller {
    /// The caller's account.
    pub user: User,
    /// The owner every task call is made for.
    pub owner: Owner,
    /// The token's subject.
    pub subject: String,
}

/// The authenticated caller, with their account looked up for this
/// request: for the account routes, which show and change it.
#[derive(Debug)]
pub struct AccountCaller(pub Caller);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        resolve(parts, state, true).await
    }
}

impl FromRequestParts<AppState> for AccountCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        resolve(parts, state, false).await.map(AccountCaller)
    }
}

/// The token verified, then the caller's account: remembered (if
/// `remembered` allows and the token's email is the account's), else looked
/// up, created on first sight, and remembered.
async fn resolve(parts: &Parts, state: &AppState, remembered: bool) -> Result<Caller, ApiError> {
    let token = bearer_token(parts).ok_or_else(ApiError::unauthorized)?;
    let verified = state.keys.verify(token).await.map_err(|err| {
        // The reason goes to the log only: the client gets the same 401
        // whatever check failed.
        tracing::debug!(reason = %err, "token refused");
        ApiError::unauthorized()
    })?;
    if state.auth.require_verified_email && verified.email_verified() != Some(true) {
        return Err(ApiError::forbidden(
            "this service requires a verified email address",
        ));
    }
    let profile = verified.first_sight_profile();
    let token_email = profile.as_ref().map(|profile| profile.email.clone());
    let subject = verified.subject().to_owned();
    if remembered && let Some((user, owner)) = state.owners.get(&subject) {
        let same_email = token_email
            .as_deref()
            .is_none_or(|email| email.eq_ignore_ascii_case(&user.email));
        if same_email {
            return Ok(Caller {
                user,
                owner,
                subject,
            });
        }
    }
    let on_missing = match profile {
        Some(profile) => OnMissingSubject::Create(profile),
        None => OnMissingSubject::Reject,
    };
    let (user, owner) = state
        .store
        .owner_for_subject(&subject, on_missing)
        .await
        .map_err(first_sight_error)?;
    let user = match token_email {
        Some(email) if !email.eq_ignore_ascii_case(&user.email) => {
            follow_email_change(state, &owner, user, email).await
        }
        _ => user,
    };
    state.owners.put(&subject, &user, &owner);
    Ok(Caller {
        user,
        owner,
        subject,
    })
}

/// The email is Better Auth's: when a known user's token carries another
/// one (they changed it there), the account follows, so that the old
/// address is free for whoever takes it next. If the new address is held
/// by another account here, or the update fails, the account keeps the old
/// one and the request goes on: the caller is who the token says.
async fn follow_email_change(state: &AppState, owner: &Owner, user: User, email: String) -> User {
    let patch = UserPatch {
        email: Some(email),
        display_name: None,
        time_zone: None,
    };
    match state.store.update_profile(owner, patch).await {
        Ok(updated) => updated,
        Err(err) => {
            tracing::warn!(cause = %err, "the token's new email was not taken over");
            user
        }
    }
}

/// The token of `Authorization: Bearer <token>` (the scheme in any case).
fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// What a first sight's failures mean to the caller.
fn first_sight_error(err: Error) -> ApiError {
    match err {
        Error::Conflict(ConflictKind::EmailTaken) => {
            ApiError::conflict("the token's email address is already linked to another account")
        }
        Error::NotFound(Entity::User) => ApiError::forbidden(
            "no account for this subject, and the token carries no usable email to create one",
        ),
        // A subject the library refuses (over-long, or, linked to Better
        // Auth, a user Better Auth no longer holds): a problem with the
        // token, answered as every other one, with the reason in the log.
        Error::Validation { field, reason } => {
            tracing::debug!(%field, %reason, "subject refused");
            ApiError::unauthorized()
        }
        err => err.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(authorization: Option<&str>) -> Parts {
        let mut request = Request::builder();
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        request
            .body(())
            .map(|r| r.into_parts().0)
            .unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn bearer_tokens_are_read_in_any_case_and_nothing_else_is() {
        assert_eq!(bearer_token(&parts(Some("Bearer abc"))), Some("abc"));
        assert_eq!(bearer_token(&parts(Some("bearer  abc "))), Some("abc"));
        assert_eq!(bearer_token(&parts(Some("Basic abc"))), None);
        assert_eq!(bearer_token(&parts(Some("Bearer "))), None);
        assert_eq!(bearer_token(&parts(Some("Bearer"))), None);
        assert_eq!(bearer_token(&parts(None)), None);
    }
}
