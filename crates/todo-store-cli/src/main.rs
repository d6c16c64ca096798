//! `todo-store`: the operator's command line for the todo-store database.
//!
//! Parses the command line, runs one command, prints its result (text, or one
//! JSON document with `--json`) and exits with a code that says what went
//! wrong: 0 ok, 2 usage, 3 validation, 4 not found, 5 conflict, 6 database
//! unavailable, 1 anything else. Errors are one line on stderr.

mod args;
mod commands;
mod db;
mod input;
mod output;
mod owner;
mod render;
mod table;

use std::process::ExitCode;

use clap::Parser;
use todo_store::DatabaseUrl;
use todo_store_cmd::{USAGE, load_dotenv};

use crate::{args::Cli, output::Format};

fn main() -> ExitCode {
    if let Err(failure) = load_dotenv() {
        eprintln!("{}", failure.line(&DatabaseUrl::new("")));
        return failure.exit_code();
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Clap's own report and code: 2 for usage errors, 0 for --help.
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(USAGE));
        }
    };
    let url = DatabaseUrl::new(cli.global.database_url);
    let format = if cli.global.json {
        Format::Json
    } else {
        Format::Text
    };
    match commands::run(cli.command, &url, format) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{}", failure.line(&url));
            failure.exit_code()
        }
    }
}
