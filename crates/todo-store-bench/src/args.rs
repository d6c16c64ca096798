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
    Bench(Box<bench::Settings>),
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
    use clap::{CommandFactory, Parser};

    use super::{Cli, Command};

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn bench(args: &[&str]) -> Result<todo_store_bench::bench::Settings, clap::Error> {
        let all = ["todo-store-bench", "bench"]
            .into_iter()
            .chain(args.iter().copied());
        match Cli::try_parse_from(all)?.command {
            Command::Bench(settings) => Ok(*settings),
            Command::Seed(_) => unreachable!("bench was asked for"),
        }
    }

    #[test]
    fn bench_takes_the_side_by_side_flags() {
        let plain = bench(&[]).expect("valid");
        assert!(!plain.heavy_vs_light && plain.compare_url.is_none());
        assert_eq!(plain.rounds, 3);
        let settings = bench(&[
            "--heavy-vs-light",
            "--compare-url",
            "postgres://localhost/todo_bench_a",
            "--compare-label",
            "volume A",
            "--main-label",
            "volume B",
            "--rounds",
            "2",
        ])
        .expect("valid");
        assert!(settings.heavy_vs_light);
        let url = settings.compare_url.as_ref().map(|url| url.expose());
        assert_eq!(url, Some("postgres://localhost/todo_bench_a"));
        assert_eq!(settings.compare_label.as_deref(), Some("volume A"));
        assert_eq!(settings.main_label.as_deref(), Some("volume B"));
        assert_eq!(settings.rounds, 2);
        // The earlier flag still runs as it did.
        let old = bench(&[
            "--without-history-url",
            "postgres://localhost/a0",
            "--rounds",
            "3",
        ])
        .expect("valid");
        assert!(old.without_history_url.is_some() && old.compare_url.is_none());
    }

    #[test]
    fn bench_refuses_two_second_databases_and_labels_without_one() {
        for args in [
            &["--compare-url", "a", "--without-history-url", "b"][..],
            &["--compare-label", "volume A"],
            &["--main-label", "volume B"],
            &["--heavy-vs-light", "yes"],
        ] {
            let err = bench(args).expect_err("a usage error");
            assert_eq!(err.exit_code(), 2, "{args:?}: {err}");
        }
    }
}
