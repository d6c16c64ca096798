//! Benchmark tooling for the todo-store library, apart from the operator's
//! CLI: it uses the library's public API only, as any other consumer does.
//!
//! - [`seed`]: deterministic synthetic users and tasks, loaded through the
//!   library's bulk path (`todo_store::bulk::load`).
//! - [`bench`](mod@bench): the library's calls measured beside `pgbench` replaying the
//!   library's own statements, on whatever the database holds.
//!
//! The `todo-store-bench` binary runs both (`todo-store-bench seed …`,
//! `todo-store-bench bench …`); tests seed through [`seed::run`] directly.

#![warn(missing_docs)]

pub mod bench;
pub mod seed;

mod rng;
mod stats;
