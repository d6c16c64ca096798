//! `todo-store-bench`: deterministic synthetic data (`seed`) and the library
//! measured beside pgbench (`bench`), for whoever benchmarks todo-store.
//!
//! Prints the result as text (or one JSON document with `--json`) and exits
//! with a code that says what went wrong, as `todo-store` does: 0 ok,
//! 2 usage, 3 validation, 4 not found, 5 conflict, 6 database unavailable,
//! 1 anything else. Errors are one line on stderr.

mod args;

use std::{
    io::{self, Write},
    process::ExitCode,
};

use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use todo_store::{DatabaseUrl, StoreConfig};
use todo_store_bench::{
    bench::{self, BenchReport},
    seed::{self, SeedReport},
};
use todo_store_cmd::{Failure, USAGE, load_dotenv};

use crate::args::{Cli, Command, SeedArgs};

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
    let result = match cli.command {
        Command::Seed(args) => run_seed(&args, &url).map(Report::Seed),
        Command::Bench(settings) => bench::run(&url, &settings)
            .map(Report::Bench)
            .map_err(Failure::from),
    };
    match result.and_then(|report| print(&report, cli.global.json)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{}", failure.line(&url));
            failure.exit_code()
        }
    }
}

/// `seed`, with a progress bar on stderr while the batches load.
fn run_seed(args: &SeedArgs, url: &DatabaseUrl) -> Result<SeedReport, Failure> {
    // Checked before connecting: impossible counts are a validation error
    // whatever state the server is in.
    args.plan.validated()?;
    let mut conn = StoreConfig::new(url.expose())
        .settings_from_env()?
        .establish()?;
    let bar = progress_bar();
    let report = seed::run(&mut conn, &args.plan, args.batch_rows, |loaded, total| {
        bar.set_length(total);
        bar.set_position(loaded);
        if loaded == total {
            // The load is over; `VACUUM (ANALYZE)` follows, which has no progress.
            bar.finish_and_clear();
        }
    });
    bar.finish_and_clear();
    Ok(report?)
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{elapsed_precise} [{wide_bar}] {human_pos}/{human_len} tasks, {per_sec}, ETA {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// What a command produced.
#[derive(Debug)]
enum Report {
    Seed(SeedReport),
    Bench(BenchReport),
}

/// Prints `report` on stdout: one JSON document if `json`, else text.
fn print(report: &Report, json: bool) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    let written = if json {
        match report {
            Report::Seed(report) => serde_json::to_writer_pretty(&mut out, report),
            Report::Bench(report) => serde_json::to_writer_pretty(&mut out, report),
        }
        .map_err(io::Error::from)
        .and_then(|()| writeln!(out))
    } else {
        let text = match report {
            Report::Seed(report) => report.text(),
            Report::Bench(report) => report.markdown(),
        };
        out.write_all(text.as_bytes())
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // The reader went away (`todo-store-bench bench | head`): not our failure.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(err) => Err(Failure::other(format!("cannot write output: {err}"))),
    }
}
