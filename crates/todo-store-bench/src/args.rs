//! The command line, as clap definitions. The flags of each command are the
//! library's own types ([`seed::Plan`], [`bench::Settings`]), so the binary
//! and a caller of the library mean the same thing by each setting.

use clap::{Args, Parser, Subcommand};
use todo_store_bench::{bench, seed};
use todo_store_cmd::GlobalArgs;

/// The whole command line.
#[derive(Debug, Parser)]
#[command(
    name = "todo-store-bench",
    version,
    about = "Benchmark tooling for todo-store: deterministic synthetic data, and the library measured beside pgbench."
)]
pub struct Cli {
    // `--database-url URL`, `--json`.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load deterministic synthetic users and tasks (for benchmarks); adds
    /// only its own users, and finishes an interrupted run when run again
    Seed(SeedArgs),
    /// Measure the library on the data the database holds (seed it first),
    /// beside pgbench running the library's own statements; prints a
    /// Markdown table
    Bench(bench::Settings),
}

/// `seed`
#[derive(Debug, Args)]
pub struct SeedArgs {
    // `--users N`, `--tasks-per-user M`, `--heavy-users K`, `--heavy-tasks T`, `--seed S`.
    #[command(flatten)]
    pub plan: seed::Plan,
    /// Tasks per COPY transaction (whole users; at least one user per batch)
    #[arg(long, value_name = "ROWS", default_value_t = seed::DEFAULT_BATCH_ROWS)]
    pub batch_rows: u32,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
