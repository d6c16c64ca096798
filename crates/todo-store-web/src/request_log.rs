//! One log line per request (method, path, status, time: never a header
//! or a body, so no token and no user data beyond the ids in a path), and
//! the time limit: a request over it ends as 503 with `Retry-After`.

use std::time::Instant;

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{Limits, problem::ApiError};

pub(crate) async fn log_and_limit(
    State(limits): State<Limits>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    // For the body extractor, to name the configured limit in a 413.
    request.extensions_mut().insert(limits);
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = match tokio::time::timeout(limits.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(%method, %path, "request timed out");
            ApiError::timed_out().into_response()
        }
    };
    tracing::info!(
        %method,
        %path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}
