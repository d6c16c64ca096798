//! The commands. Each parses and checks its arguments first, then connects,
//! then calls the library, and returns a [`Report`] for `main` to print.

pub mod backup;
pub mod demo;
pub mod migrate;
pub mod setup;
pub mod task;
pub mod user;

use diesel::PgConnection;
use todo_store::{DatabaseUrl, Entity, Error, OperatorRepo, Owner};

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
        Command::Export(args) => backup::export::run(&args, url).map(Report::Export),
        Command::Import(args) => backup::import::run(&args, url).map(Report::Import),
    }
}

/// The owner of the account `email`, by the library's operator path: this
/// tool is run by the operator, who may act on any account.
///
/// # Errors
/// "user not found: EMAIL" (exit 4), or the library's error.
pub fn operator_owner(conn: &mut PgConnection, email: &str) -> Result<Owner, Failure> {
    conn.operator_owner(email)
        .map_err(|err| about_user(err, email))
}

/// `err` as a [`Failure`], naming `email` if the account does not exist.
pub fn about_user(err: Error, email: &str) -> Failure {
    let missing = matches!(err, Error::NotFound(Entity::User));
    let failure = Failure::from(err);
    if missing {
        failure.with_message(format!("user not found: {email}"))
    } else {
        failure
    }
}
