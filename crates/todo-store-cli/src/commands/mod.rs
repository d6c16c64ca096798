//! The commands. Each parses and checks its arguments first, then connects,
//! then calls the library, and returns a [`Report`] for `main` to print.

pub mod backup;
pub mod bench;
pub mod demo;
pub mod migrate;
pub mod seed;
pub mod setup;
pub mod task;
pub mod user;

use todo_store::DatabaseUrl;

// `backup::export` finds the `--user` account here.
pub use crate::owner::operator_owner;
use crate::{args::Command, exit::Failure, output::Report};

/// Runs `command` against the database at `url`. `json` only silences the
/// narration of `demo`; printing the report is the caller's job.
///
/// # Errors
/// Whatever the command failed with.
pub fn run(command: Command, url: &DatabaseUrl, json: bool) -> Result<Report, Failure> {
    match command {
        Command::Setup(args) => setup::run(url, args.app_role.as_deref()).map(Report::Setup),
        Command::Migrate(command) => migrate::run(command, url),
        Command::Demo => demo::run(url, json).map(Report::Demo),
        Command::User(command) => user::run(command, url),
        Command::Task(command) => task::run(command, url),
        Command::Seed(args) => seed::run(&args, url).map(Report::Seed),
        Command::Bench(args) => bench::run(&args, url).map(Report::Bench),
        Command::Export(args) => backup::export::run(&args, url).map(Report::Export),
        Command::Import(args) => backup::import::run(&args, url).map(Report::Import),
    }
}
