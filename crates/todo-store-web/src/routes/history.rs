//! A task's history and the caller's change feed, for devices that keep a
//! copy of their tasks and catch up on what changed.

use axum::extract::State;
use todo_store::{SyncToken, TaskId};
use uuid::Uuid;

use crate::{
    AppState,
    auth::Caller,
    extract::{Path, Query},
    problem::{ApiError, Problem},
    wire::history::{ChangesBody, ChangesParams, HistoryBody, HistoryParams, SyncTokenBody},
};

/// A task's changes, newest first.
#[utoipa::path(get, path = "/v1/tasks/{id}/history", tag = "history",
    params(("id" = Uuid, Path), HistoryParams),
    responses(
        (status = 200, description = "A page of changes", body = HistoryBody),
        (status = 404, description = "No such task of the caller's", body = Problem, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub async fn task_history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Query(params): Query<HistoryParams>,
) -> Result<axum::Json<HistoryBody>, ApiError> {
    let page = state
        .store
        .task_history(&caller.owner, TaskId::from_uuid(id), &params.into_query()?)
        .await?;
    Ok(axum::Json(page.into()))
}

/// A token for the caller's tasks as they are now.
#[utoipa::path(get, path = "/v1/sync-token", tag = "history",
    responses((status = 200, description = "The token", body = SyncTokenBody)),
    security(("bearer" = [])))]
pub async fn sync_token(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<SyncTokenBody>, ApiError> {
    let token = state.store.sync_token(&caller.owner).await?;
    Ok(axum::Json(SyncTokenBody {
        token: token.to_string(),
    }))
}

/// What changed in the caller's tasks since a token.
#[utoipa::path(get, path = "/v1/changes", tag = "history", params(ChangesParams),
    responses(
        (status = 200, description = "The changes", body = ChangesBody),
        (status = 410, description = "The token is too old: read all tasks again", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed token", body = Problem, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub async fn changes(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ChangesParams>,
) -> Result<axum::Json<ChangesBody>, ApiError> {
    let token: SyncToken = params
        .since
        .parse()
        .map_err(|err| crate::wire::named(err, "since"))?;
    let limit = params.limit.unwrap_or(todo_store::DEFAULT_PAGE_SIZE);
    let changes = state
        .store
        .changes_since(&caller.owner, &token, limit)
        .await?;
    Ok(axum::Json(changes.into()))
}
