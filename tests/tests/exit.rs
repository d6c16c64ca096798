//! A short-lived program that opens a `Store` and returns from `main` while
//! the pool is still opening its idle connections in the background must
//! exit cleanly. Exit-time clean-up in a library that libpq uses (OpenSSL's
//! `atexit` handler, Kerberos' library finalisers) must not pull state from
//! under an r2d2 worker that is in the middle of `PQconnectdb`: that killed
//! such programs with SIGSEGV or SIGABRT in a few runs out of a hundred.
//!
//! The race is a matter of timing, so the program runs many times, each run
//! returning a little later than the one before, from 0 to 9.5 ms after
//! `Store::connect` (the span of the pool's handshakes here), so that the
//! runs together meet every stage of them.

#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::{
    os::unix::process::ExitStatusExt,
    process::{Command, Output},
    thread,
    time::Instant,
};

use diesel::{RunQueryDsl, dsl::sql, sql_types::Bool};
use todo_store_tests::TestDb;

/// Enough runs that the races this guards against showed in almost every
/// run of the test (0.5–8 % of programs died before the fixes).
const RUNS: u32 = 400;
/// Programs running at once (the machine has two cores).
const THREADS: u32 = 2;
/// How much later each run returns than the one before, in microseconds,
/// over a cycle of 20 runs.
const WAIT_STEP_MICROS: u32 = 500;
/// The pool's size and `min_idle`: the connections it opens in the background.
const MIN_IDLE: u32 = 4;

#[test]
fn a_program_that_returns_while_its_pool_connects_exits_cleanly() {
    runs_exit_cleanly(First::Library);
}

/// When libpq, not the library, made the program's first TLS connection,
/// OpenSSL's exit-time clean-up is registered after all; dropping the store
/// then waits for the connections its pool is still opening.
#[test]
fn a_program_whose_first_connection_was_not_the_librarys_exits_cleanly_too() {
    runs_exit_cleanly(First::PlainDiesel);
}

/// Which connection the short-lived program opens first.
#[derive(Debug, Clone, Copy)]
enum First {
    Library,
    PlainDiesel,
}

fn runs_exit_cleanly(first: First) {
    let db = TestDb::new();
    let tls: bool = diesel::select(sql::<Bool>(
        "(SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())",
    ))
    .get_result(&mut db.conn())
    .unwrap();

    if !tls {
        // The OpenSSL race needs TLS; the Kerberos one is still exercised.
        eprintln!(
            "note: the test server does not speak TLS, so OpenSSL's exit-time race is not \
             exercised here"
        );
    }
    let started = Instant::now();
    let runs: Vec<(u32, Output)> = thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|worker| {
                let db = &db;
                scope.spawn(move || {
                    (worker..RUNS)
                        .step_by(THREADS as usize)
                        .map(|run| (run, run_once(db, run, first)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap())
            .collect()
    });
    let elapsed = started.elapsed();

    let signalled = runs
        .iter()
        .filter(|(_, output)| output.status.signal().is_some())
        .count();
    let failed: Vec<_> = runs
        .iter()
        .filter(|(_, output)| !output.status.success())
        .collect();
    println!(
        "{RUNS} runs ({first:?} first, {THREADS} at a time, TLS {}) in {elapsed:.1?}: \
         {signalled} ended by a signal, {} did not exit 0",
        if tls { "on" } else { "off" },
        failed.len(),
    );
    let examples: Vec<String> = failed
        .iter()
        .take(3)
        .map(|(run, output)| {
            format!(
                "run {run} (returned after {} µs): {}\n{}",
                wait_micros(*run),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim_end()
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{signalled} of {RUNS} runs ended by a signal, {} did not exit 0; for example\n{}",
        failed.len(),
        examples.join("\n")
    );
}

fn wait_micros(run: u32) -> u32 {
    (run % 20) * WAIT_STEP_MICROS
}

/// One run of the short-lived program, with the defaults a user gets for TLS
/// and GSSAPI encryption (libpq's `sslmode=prefer`, the library's
/// `gssencmode=disable`) unless the test database's URL sets them.
fn run_once(db: &TestDb, run: u32, first: First) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_short_lived_store"));
    command
        .arg(MIN_IDLE.to_string())
        .arg(wait_micros(run).to_string());
    if let First::PlainDiesel = first {
        command.arg("plain-first");
    }
    command
        .env("DATABASE_URL", db.url().expose())
        .env_remove("PGSSLMODE")
        .env_remove("PGGSSENCMODE")
        .output()
        .unwrap()
}
