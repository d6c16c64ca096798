//! The routes, their middleware and the fallbacks: the whole service as
//! one axum `Router`.

use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{get, post},
};
use utoipa::OpenApi;

use crate::{AppState, Limits, openapi, problem, request_log, routes};

/// The whole service: `/v1` routes, probes and `/openapi.json`, with the
/// body and time limits and one log line per request.
pub fn router(state: AppState, limits: Limits) -> Router {
    use routes::{account, health, history, tasks};
    Router::new()
        .route("/v1/tasks", get(tasks::list).post(tasks::create))
        .route("/v1/tasks/bulk-delete", post(tasks::bulk_delete))
        .route(
            "/v1/tasks/{id}",
            get(tasks::get).patch(tasks::patch).delete(tasks::delete),
        )
        .route("/v1/tasks/{id}/complete", post(tasks::complete))
        .route("/v1/tasks/{id}/reopen", post(tasks::reopen))
        .route("/v1/tasks/{id}/history", get(history::task_history))
        .route("/v1/sync-token", get(history::sync_token))
        .route("/v1/changes", get(history::changes))
        .route(
            "/v1/account",
            get(account::get)
                .patch(account::patch)
                .delete(account::delete),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/openapi.json", get(openapi_json))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limits.body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            limits,
            request_log::log_and_limit,
        ))
        .with_state(state)
}

async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(openapi::ApiDoc::openapi())
}

async fn not_found() -> problem::ApiError {
    problem::ApiError::not_found("resource")
}

async fn method_not_allowed() -> problem::ApiError {
    problem::ApiError::method_not_allowed()
}
