//! The commands. Each checks its arguments first, then connects, calls the
//! library, and prints its own result.

pub mod backup;
pub mod backup_output;
pub mod bench;
pub mod demo;
pub mod migrate;
pub mod seed;
pub mod seed_bench_output;
pub mod setup;
pub mod task;
pub mod user;

use todo_store::DatabaseUrl;

// `backup::export` finds the `--user` account here.
pub use crate::owner::operator_owner;
use crate::{args::Command, exit::Failure, output::Format};

/// Runs `command` against the database at `url`, and prints its result in
/// `format`.
///
/// # Errors
/// Whatever the command failed with.
pub fn run(command: Command, url: &DatabaseUrl, format: Format) -> Result<(), Failure> {
    match command {
        Command::Setup(args) => setup::run(&args, url, format),
        Command::Migrate(command) => migrate::run(command, url, format),
        Command::Demo => demo::run(url, format),
        Command::User(command) => user::run(command, url, format),
        Command::Task(command) => task::run(command, url, format),
        Command::Seed(args) => format.print(&seed::run(&args, url)?),
        Command::Bench(args) => format.print(&bench::run(&args, url)?),
        Command::Export(args) => backup_output::export(&args, url, format),
        Command::Import(args) => format.print(&backup::import::run(&args, url)?),
    }
}
