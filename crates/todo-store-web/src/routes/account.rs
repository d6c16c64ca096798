//! `/v1/account`: the caller's own account.

use axum::{extract::State, http::StatusCode};

use crate::{
    AppState,
    auth::AccountCaller,
    extract::Json,
    problem::{ApiError, Problem},
    wire::account::{AccountBody, PatchAccountBody},
};

/// The caller's account (created from the token on the first request).
#[utoipa::path(get, path = "/v1/account", tag = "account",
    responses((status = 200, description = "The account", body = AccountBody)),
    security(("bearer" = [])))]
pub async fn get(AccountCaller(caller): AccountCaller) -> axum::Json<AccountBody> {
    axum::Json(caller.user.into())
}

/// Changes the caller's display name or time zone.
#[utoipa::path(patch, path = "/v1/account", tag = "account", request_body = PatchAccountBody,
    responses(
        (status = 200, description = "The account, changed", body = AccountBody),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub async fn patch(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    Json(body): Json<PatchAccountBody>,
) -> Result<axum::Json<AccountBody>, ApiError> {
    let user = state
        .store
        .update_profile(&caller.owner, body.into_patch())
        .await?;
    state.owners.put(&caller.subject, &user, &caller.owner);
    Ok(axum::Json(user.into()))
}

/// Deletes the caller's account here and, with it, all their tasks. Their
/// Better Auth account is Better Auth's: a later request with a valid token
/// starts a new, empty account.
#[utoipa::path(delete, path = "/v1/account", tag = "account",
    responses((status = 204, description = "Deleted, with every task")),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
) -> Result<StatusCode, ApiError> {
    state.store.delete_user(&caller.owner).await?;
    // A next request with the same token starts a new account at once.
    state.owners.forget(&caller.subject);
    Ok(StatusCode::NO_CONTENT)
}
