//! `todo-store`: the operator's command line for the todo-store database.
//!
//! Parses the command line, runs one command, prints its result (text, or one
//! JSON document with `--json`) and exits with a code that says what went
//! wrong: 0 ok, 2 usage, 3 validation, 4 not found, 5 conflict, 6 database
//! unavailable, 1 anything else. Errors are one line on stderr.

mod args;
mod commands;
mod db;
mod exit;
mod input;
mod output;
mod owner;
mod render;
mod table;

use std::process::ExitCode;

use clap::Parser;
use todo_store::DatabaseUrl;

use crate::{args::Cli, exit::Failure, output::Format};

fn main() -> ExitCode {
    // Before parsing: `--database-url` falls back to DATABASE_URL, which a
    // `.env` file may set. Only this binary reads `.env`, never the library.
    if let Err(failure) = load_dotenv() {
        eprintln!("{}", failure.line(&DatabaseUrl::new("")));
        return failure.exit_code();
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Clap's own report and code: 2 for usage errors, 0 for --help.
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(exit::USAGE));
        }
    };
    let url = DatabaseUrl::new(cli.database_url);
    let format = if cli.json { Format::Json } else { Format::Text };
    match commands::run(cli.command, &url, format) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{}", failure.line(&url));
            failure.exit_code()
        }
    }
}

/// Loads `.env` from the working directory or a parent, if there is one.
/// Variables already set in the environment win.
fn load_dotenv() -> Result<(), Failure> {
    match dotenvy::dotenv() {
        Ok(_) => Ok(()),
        Err(err) if err.not_found() => Ok(()),
        // The parse error's own message quotes the offending line, which may
        // hold a password: say where, not what.
        Err(dotenvy::Error::LineParse(_, index)) => Err(Failure::other(format!(
            "cannot read .env: malformed line (at character {index})"
        ))),
        Err(dotenvy::Error::Io(err)) => Err(Failure::other(format!("cannot read .env: {err}"))),
        Err(_) => Err(Failure::other("cannot read .env")),
    }
}
