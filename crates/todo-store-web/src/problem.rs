//! Errors as `application/problem+json` (RFC 9457): every failure a handler
//! can meet, with the status a client can act on and a detail that helps the
//! caller without helping an attacker.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use todo_store::{ConflictKind, Entity, Error};
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Seconds a client should wait before retrying when the database is out
/// of reach.
const RETRY_AFTER_SECONDS: &str = "1";

/// An error response body (RFC 9457).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem; `about:blank` when the
    /// status says it all.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code, repeated.
    pub status: u16,
    /// What went wrong with this request, for a person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The input field at fault, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For a stale write: the task's current version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i32>,
}

/// A failed request: its status, body and the headers a client needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    // Boxed: an error travels through every `Result` of a handler, and a
    // small `Err` keeps those cheap.
    problem: Box<Problem>,
    /// `WWW-Authenticate` for a 401, `Retry-After` for a 503.
    challenge: Option<&'static str>,
    retry_after: bool,
}

impl ApiError {
    fn new(status: StatusCode, kind: &str, title: &str, detail: Option<String>) -> Self {
        Self {
            status,
            problem: Box::new(Problem {
                kind: kind.to_owned(),
                title: title.to_owned(),
                status: status.as_u16(),
                detail,
                field: None,
                current_version: None,
            }),
            challenge: None,
            retry_after: false,
        }
    }

    /// 401 for any token problem: the same body whatever was wrong, so a
    /// forger learns nothing about which check failed.
    pub fn unauthorized() -> Self {
        Self {
            challenge: Some("Bearer"),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "about:blank",
                "Unauthorized",
                Some("a valid bearer token is required".to_owned()),
            )
        }
    }

    /// 403: a valid token the service refuses (e.g. an unverified email
    /// where a verified one is required).
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "about:blank",
            "Forbidden",
            Some(detail.into()),
        )
    }

    /// 400 for a request the service cannot read at all.
    pub fn bad_request(field: Option<&str>, detail: impl Into<String>) -> Self {
        let mut error = Self::new(
            StatusCode::BAD_REQUEST,
            "about:blank",
            "Bad Request",
            Some(detail.into()),
        );
        error.problem.field = field.map(str::to_owned);
        error
    }

    /// 404 for a task that is not the caller's, exactly as for one that
    /// does not exist.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "about:blank",
            "Not Found",
            Some(format!("{what} not found")),
        )
    }

    /// 409: the request clashes with what is stored.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "about:blank",
            "Conflict",
            Some(detail.into()),
        )
    }

    /// 405 for a route that exists with other methods.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "about:blank",
            "Method Not Allowed",
            None,
        )
    }

    /// 412 for an `If-Match` that no longer holds.
    pub fn precondition_failed(current_version: Option<i32>) -> Self {
        let mut error = Self::new(
            StatusCode::PRECONDITION_FAILED,
            "about:blank",
            "Precondition Failed",
            Some("the task has changed since that version: read it again".to_owned()),
        );
        error.problem.current_version = current_version;
        error
    }

    /// 413 for a body over the limit.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "about:blank",
            "Payload Too Large",
            Some(format!("the request body must be at most {limit} bytes")),
        )
    }

    /// 415 for a body that is not `application/json`.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "about:blank",
            "Unsupported Media Type",
            Some("the request body must be application/json".to_owned()),
        )
    }

    /// 503 with `Retry-After`: the database is out of reach for now.
    pub fn unavailable() -> Self {
        Self::retry_later("the database is out of reach; try again shortly")
    }

    /// 503 with `Retry-After` for a request that ran out of time (a slow
    /// database, or a client slow to send its body).
    pub fn timed_out() -> Self {
        Self::retry_later("the request did not finish within its time limit")
    }

    fn retry_later(detail: &str) -> Self {
        Self {
            retry_after: true,
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "about:blank",
                "Service Unavailable",
                Some(detail.to_owned()),
            )
        }
    }

    /// 500 for what the caller cannot fix. The cause goes to the log, not
    /// to the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "about:blank",
            "Internal Server Error",
            None,
        )
    }

    /// The response status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response body.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        match err {
            Error::NotFound(Entity::Task) => Self::not_found("task"),
            Error::NotFound(Entity::User) => Self::not_found("account"),
            Error::NotFound(other) => Self::not_found(&other.to_string()),
            Error::Validation { field, reason } => {
                let mut error = Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "about:blank",
                    "Unprocessable Content",
                    Some(format!("invalid {field}: {reason}")),
                );
                error.problem.field = Some(field.to_string());
                error
            }
            Error::Conflict(ConflictKind::StaleVersion { actual, .. }) => {
                Self::precondition_failed(Some(actual))
            }
            Error::Conflict(ConflictKind::ConcurrentUpdate) => Self::unavailable(),
            Error::Conflict(kind) => Self::conflict(kind.to_string()),
            Error::TaskLimitReached { limit } => Self::conflict(format!(
                "task limit reached: an account may have at most {limit} tasks"
            )),
            Error::ResyncRequired => Self::new(
                StatusCode::GONE,
                "about:blank",
                "Gone",
                Some("the sync token is too old: read all tasks again".to_owned()),
            ),
            err if err.is_retryable() => {
                tracing::warn!(cause = %err, "database unavailable");
                Self::unavailable()
            }
            err => Self::internal(&err),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(*self.problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(challenge) = self.challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if self.retry_after {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        response
    }
}
