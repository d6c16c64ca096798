//! An HTTP service over [`todo_store`]: a Better Auth token in, the caller's
//! tasks out. Thin by design: each route turns HTTP into one call of the
//! library's [`AsyncStore`](todo_store::AsyncStore) on behalf of the token's owner, and the
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

mod limits;
mod owners;
mod request_log;
mod router;
mod serve;
mod state;

pub use keys::{KeyLoadError, KeyRing, KeyRingConfig, KeySource};
pub use limits::{BODY_LIMIT_BYTES, Limits};
pub use router::router;
pub use serve::{ServeOptions, Stopped, serve};
pub use state::{AppState, AuthPolicy};
