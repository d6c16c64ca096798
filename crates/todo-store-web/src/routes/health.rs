//! Probes: `/healthz` says the process answers, `/readyz` that the
//! database does too (a load balancer sends traffic only then).

use axum::{extract::State, http::StatusCode};

use crate::{AppState, problem::ApiError};

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 204, description = "Up")))]
pub async fn healthz() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// The database answers.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 204, description = "Ready"),
        (status = 503, description = "The database is out of reach", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    state.store.ping().await.map_err(|err| {
        tracing::warn!(cause = %err, "not ready");
        ApiError::unavailable()
    })?;
    Ok(StatusCode::NO_CONTENT)
}
