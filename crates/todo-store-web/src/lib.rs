//! An HTTP service over [`todo_store`]: a Better Auth token in, the caller's
//! tasks out. Thin by design: each route turns HTTP into one call of the
//! library's [`AsyncStore`] on behalf of the token's owner, and the
//! library's answer back into HTTP; every persistence rule stays in the
//! library.
//!
//! The [`router`] is the whole service, for tests and for embedding in a
//! larger axum application; the `todo-store-web` binary serves it.
//!
//! ```no_run
//! use std::time::Duration;
//! use todo_store::{AsyncStore, StoreConfig};
//! use todo_store_web::{AppState, AuthPolicy, KeyRing, KeyRingConfig, KeySource, Limits};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let store = AsyncStore::connect(&StoreConfig::from_env()?).await?;
//!     let keys = KeyRing::load(KeyRingConfig {
//!         source: KeySource::Url("http://localhost:3000/api/auth/jwks".parse()?),
//!         issuer: "http://localhost:3000".to_owned(),
//!         audience: "http://localhost:3000".to_owned(),
//!         min_refetch_interval: Duration::from_secs(60),
//!         fetch_timeout: Duration::from_secs(5),
//!     })
//!     .await?;
//!     let state = AppState::new(store, keys, AuthPolicy::default());
//!     let app = todo_store_web::router(state, Limits::default());
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```

pub mod auth;
pub mod etag;
pub mod extract;
pub mod keys;
pub mod openapi;
pub mod problem;
pub mod routes;
pub mod wire;

mod request_log;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{get, post},
};
use todo_store::AsyncStore;
use utoipa::OpenApi;

pub use keys::{KeyLoadError, KeyRing, KeyRingConfig, KeySource};

/// The largest request body accepted, in bytes: a task's longest fields
/// with room to spare, and a bulk delete of the library's largest batch.
pub const BODY_LIMIT_BYTES: usize = 256 * 1024;

/// What a request may take.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest request body, in bytes; larger is 413.
    pub body_bytes: usize,
    /// The longest a request may run; longer is 503 with `Retry-After`.
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            body_bytes: BODY_LIMIT_BYTES,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Who may in.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthPolicy {
    /// Refuse (403) tokens whose `emailVerified` claim is not `true`.
    pub require_verified_email: bool,
}

/// What every handler shares: the store, the token verifier and the
/// policy. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub(crate) store: AsyncStore,
    pub(crate) keys: Arc<KeyRing>,
    pub(crate) auth: AuthPolicy,
}

impl AppState {
    /// The state of a service over `store`, checking tokens with `keys`.
    pub fn new(store: AsyncStore, keys: KeyRing, auth: AuthPolicy) -> Self {
        Self {
            store,
            keys: Arc::new(keys),
            auth,
        }
    }
}

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
