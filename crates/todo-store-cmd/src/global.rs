//! The flags every tool takes, and the `.env` file they may come from.

use clap::Args;

use crate::exit::Failure;

/// The database used when neither `--database-url` nor `DATABASE_URL` is set.
pub const DEFAULT_DATABASE_URL: &str = "postgres://localhost/todo_store";

/// `--database-url` and `--json`, for a tool's `#[command(flatten)]`.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// PostgreSQL URL, e.g. postgres://user:password@host:5432/db?sslmode=require
    // `hide_env_values`: `--help` would otherwise print the URL from the
    // environment, password included.
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        hide_env_values = true,
        value_name = "URL",
        default_value = DEFAULT_DATABASE_URL
    )]
    pub database_url: String,

    /// Print exactly one JSON document on stdout instead of text
    #[arg(long, global = true)]
    pub json: bool,
}

/// Loads `.env` from the working directory or a parent, if there is one,
/// before the command line is parsed (`--database-url` falls back to
/// `DATABASE_URL`). Variables already set in the environment win. Only the
/// tools read `.env`, never the library.
///
/// # Errors
/// A `.env` that cannot be read or parsed; the message says where, never
/// what (a line may hold a password).
pub fn load_dotenv() -> Result<(), Failure> {
    match dotenvy::dotenv() {
        Ok(_) => Ok(()),
        Err(err) if err.not_found() => Ok(()),
        Err(dotenvy::Error::LineParse(_, index)) => Err(Failure::other(format!(
            "cannot read .env: malformed line (at character {index})"
        ))),
        Err(dotenvy::Error::Io(err)) => Err(Failure::other(format!("cannot read .env: {err}"))),
        Err(_) => Err(Failure::other("cannot read .env")),
    }
}
