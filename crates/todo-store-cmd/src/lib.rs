//! What the workspace's command-line tools (`todo-store`, `todo-store-bench`)
//! share, so that they take the database the same way and fail the same way:
//! the global flags ([`GlobalArgs`]), `.env` ([`load_dotenv`]), and a
//! [`Failure`] with its exit code and its one line on stderr.

#![warn(missing_docs)]

mod exit;
mod global;

pub use exit::{CONFLICT, Failure, NOT_FOUND, OTHER, UNAVAILABLE, USAGE, VALIDATION};
pub use global::{DEFAULT_DATABASE_URL, GlobalArgs, load_dotenv};
