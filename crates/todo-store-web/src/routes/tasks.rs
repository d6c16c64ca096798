//! `/v1/tasks`: the caller's tasks. Each handler is one library call on
//! behalf of the [`Caller`]'s owner; a task of another user is 404, exactly
//! as an unknown one, because the library answers both alike.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use todo_store::{TaskId, TaskStatus};
use uuid::Uuid;

use crate::{
    AppState,
    auth::Caller,
    etag::{IfMatch, etag, version_check},
    extract::{Json, Path, Query},
    problem::{ApiError, Problem},
    wire::task::{
        BulkDeleteBody, CreateTaskBody, DeletedCount, ListParams, PatchTaskBody, TaskBody, TaskPage,
    },
};

/// A task with its `ETag`.
fn with_etag(status: StatusCode, task: todo_store::Task) -> Response {
    let tag = etag(task.version);
    let mut response = (status, axum::Json(TaskBody::from(task))).into_response();
    response.headers_mut().insert(header::ETAG, tag);
    response
}

/// Lists the caller's tasks, a page at a time.
#[utoipa::path(get, path = "/v1/tasks", tag = "tasks", params(ListParams),
    responses(
        (status = 200, description = "A page of tasks", body = TaskPage),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter or cursor", body = Problem, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<TaskPage>, ApiError> {
    let query = params.into_query()?;
    let page = state
        .store
        .list_tasks(&caller.owner, &query)
        .await
        .map_err(|err| match &err {
            // The library's names for what the client sent as `q`.
            todo_store::Error::Validation { field, .. } if field == "search" => {
                crate::wire::named(err, "q")
            }
            _ => err,
        })?;
    Ok(axum::Json(page.into()))
}

/// Creates a task. With a client-chosen `id`, a retry returns the task
/// made the first time.
#[utoipa::path(post, path = "/v1/tasks", tag = "tasks", request_body = CreateTaskBody,
    responses(
        (status = 201, description = "The task, as stored", body = TaskBody, headers(("ETag" = String), ("Location" = String))),
        (status = 409, description = "The id is taken by another task, or the task limit is reached", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateTaskBody>,
) -> Result<Response, ApiError> {
    let task = state
        .store
        .create_task(&caller.owner, body.into_new_task()?)
        .await?;
    let location = format!("/v1/tasks/{}", task.id);
    let mut response = with_etag(StatusCode::CREATED, task);
    if let Ok(location) = location.parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// One task.
#[utoipa::path(get, path = "/v1/tasks/{id}", tag = "tasks", params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The task", body = TaskBody, headers(("ETag" = String))),
        (status = 404, description = "No such task of the caller's", body = Problem, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let task = state
        .store
        .get_task(&caller.owner, TaskId::from_uuid(id))
        .await?;
    Ok(with_etag(StatusCode::OK, task))
}

/// Changes a task's fields; with `If-Match`, only if it is still at that
/// version.
#[utoipa::path(patch, path = "/v1/tasks/{id}", tag = "tasks", request_body = PatchTaskBody,
    params(("id" = Uuid, Path), IfMatch),
    responses(
        (status = 200, description = "The task, changed", body = TaskBody, headers(("ETag" = String))),
        (status = 404, description = "No such task of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The task changed since that ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Json(body): Json<PatchTaskBody>,
) -> Result<Response, ApiError> {
    let check = version_check(&headers)?;
    let task = state
        .store
        .update_task(
            &caller.owner,
            TaskId::from_uuid(id),
            body.into_patch()?,
            check,
        )
        .await?;
    Ok(with_etag(StatusCode::OK, task))
}

/// Marks a task done.
#[utoipa::path(post, path = "/v1/tasks/{id}/complete", tag = "tasks",
    params(("id" = Uuid, Path), IfMatch),
    responses(
        (status = 200, description = "The task, done", body = TaskBody, headers(("ETag" = String))),
        (status = 404, description = "No such task of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The task changed since that ETag", body = Problem, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub async fn complete(
    state: State<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    set_status(state, caller, id, &headers, TaskStatus::Done).await
}

/// Marks a task open again.
#[utoipa::path(post, path = "/v1/tasks/{id}/reopen", tag = "tasks",
    params(("id" = Uuid, Path), IfMatch),
    responses(
        (status = 200, description = "The task, open", body = TaskBody, headers(("ETag" = String))),
        (status = 404, description = "No such task of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The task changed since that ETag", body = Problem, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub async fn reopen(
    state: State<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    set_status(state, caller, id, &headers, TaskStatus::Open).await
}

async fn set_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    headers: &HeaderMap,
    status: TaskStatus,
) -> Result<Response, ApiError> {
    let check = version_check(headers)?;
    let task = state
        .store
        .set_task_status(&caller.owner, TaskId::from_uuid(id), status, check)
        .await?;
    Ok(with_etag(StatusCode::OK, task))
}

/// Deletes a task; with `If-Match`, only if it is still at that version.
#[utoipa::path(delete, path = "/v1/tasks/{id}", tag = "tasks",
    params(("id" = Uuid, Path), IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such task of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The task changed since that ETag", body = Problem, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let check = version_check(&headers)?;
    state
        .store
        .delete_task(&caller.owner, TaskId::from_uuid(id), check)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes several of the caller's tasks at once; ids that are not the
/// caller's tasks are skipped.
#[utoipa::path(post, path = "/v1/tasks/bulk-delete", tag = "tasks", request_body = BulkDeleteBody,
    responses(
        (status = 200, description = "How many were deleted", body = DeletedCount),
    ), security(("bearer" = [])))]
pub async fn bulk_delete(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<BulkDeleteBody>,
) -> Result<axum::Json<DeletedCount>, ApiError> {
    let ids: Vec<TaskId> = body.ids.into_iter().map(TaskId::from_uuid).collect();
    let deleted = state.store.delete_tasks(&caller.owner, &ids).await?;
    Ok(axum::Json(DeletedCount { deleted }))
}
