//! Running the `todo-store` binary in tests.

#![allow(dead_code)] // each test binary uses some of these

use std::{
    io::Write,
    process::{Command, Stdio},
};

use serde_json::Value;
use todo_store_tests::TestDb;

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `todo-store --database-url URL ARGS…`, feeding `stdin` if given.
pub fn run_at(url: &str, args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_todo-store"))
        .arg("--database-url")
        .arg(url)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut input = child.stdin.take().expect("stdin is piped");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("stdin is writable");
    }
    // Closing stdin: a command waiting for a line gets end of file.
    drop(input);
    let output = child.wait_with_output().expect("the binary finishes");
    Run {
        code: output.status.code().expect("the binary exits, not killed"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

pub fn run(db: &TestDb, args: &[&str]) -> Run {
    run_at(db.url().expose(), args, None)
}

/// Runs with `--json`, expects success, and returns the one JSON document.
pub fn json(db: &TestDb, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let run = run(db, &all);
    assert_eq!(run.code, 0, "{args:?} failed: {}", run.stderr);
    assert_eq!(run.stderr, "", "{args:?} wrote to stderr");
    serde_json::from_str(&run.stdout).unwrap_or_else(|err| {
        panic!(
            "{args:?}: stdout is not one JSON document ({err}): {}",
            run.stdout
        )
    })
}

/// Expects `run` to have failed with `code`, printing exactly one line on
/// stderr and nothing on stdout; returns that line.
pub fn failed(run: &Run, code: i32) -> String {
    assert_eq!(
        run.code, code,
        "stdout: {} stderr: {}",
        run.stdout, run.stderr
    );
    assert_eq!(run.stdout, "", "a failure prints nothing on stdout");
    assert!(
        run.stderr.starts_with("error: ") && run.stderr.ends_with('\n'),
        "stderr: {:?}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "stderr: {:?}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "stderr: {:?}", run.stderr);
    run.stderr.trim_end().to_owned()
}

pub fn str_field<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {value}"))
}
