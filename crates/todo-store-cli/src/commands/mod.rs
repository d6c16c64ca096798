//! The commands. Each checks its arguments first, then connects, calls the
//! library, and prints its own result.

pub mod demo;
pub mod export;
pub mod history;
pub mod import;
pub mod limit;
pub mod migrate;
pub mod setup;
pub mod task;
pub mod user;

use todo_store::DatabaseUrl;

use todo_store_cmd::Failure;

use crate::{args::Command, output::Format};

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
        Command::Export(args) => export::run(&args, url, format),
        Command::Import(args) => import::run(&args, url, format),
        Command::History(command) => history::run(command, url, format),
        Command::Limit(command) => limit::run(command, url, format),
    }
}
