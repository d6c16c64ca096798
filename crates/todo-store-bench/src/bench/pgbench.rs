//! The physical limit: the library's own statements replayed by `pgbench -M
//! prepared`, one script per parameter set, for the same time and clients.
//! Each script is the library's SQL with its placeholders turned into pgbench
//! variables, defined with `-D`: pgbench sends them as parameters of a
//! prepared statement, as the library does, so PostgreSQL plans both alike.
//!
//! A scoped call is replayed as the library's whole transaction, `BEGIN`,
//! the scope, the statement and `COMMIT`, in one pipeline
//! (`\startpipeline` … `\endpipeline`): every message in one write and one
//! `Sync` at the end, the fewest round trips and server responses the
//! protocol allows for what the library must send.

use std::{
    fs,
    os::unix::fs::DirBuilderExt,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use todo_store::{DatabaseUrl, sql_text::SqlText};

use crate::stats::Summary;

/// What pgbench replays for one call.
pub struct Script {
    /// The library's statement.
    pub statement: SqlText,
    /// The owner whose scope the library sets first (its user id as text);
    /// `None` for the statement alone.
    pub scope: Option<String>,
}

/// Runs `scripts` (one is picked at random per transaction) with
/// `clients` connections for `duration`.
///
/// # Errors
/// Why `pgbench` could not run or failed, as one line without secrets.
pub fn run(
    program: &Path,
    url: &DatabaseUrl,
    scripts: &[Script],
    clients: u32,
    duration: Duration,
) -> Result<Summary, String> {
    let dir = ScratchDir::new()?;
    let mut command = Command::new(program);
    command
        .args(["--no-vacuum", "--protocol=prepared", "--log"])
        .arg(format!("--client={clients}"))
        .arg(format!("--jobs={}", jobs(clients)))
        .arg(format!("--time={}", duration.as_secs().max(1)))
        .arg(format!("--log-prefix={}", dir.0.join("log").display()))
        // The URL goes in the environment, not on the command line where
        // other users could read its password: pgbench reads PGDATABASE as
        // a connection string.
        .env("PGDATABASE", url.expose());
    for (i, replayed) in scripts.iter().enumerate() {
        let (text, variables) = script(i, replayed);
        let script = dir.0.join(format!("statement{i}.sql"));
        fs::write(&script, text).map_err(|err| format!("cannot write a pgbench script: {err}"))?;
        command.arg(format!("--file={}", script.display()));
        for (name, value) in variables {
            command.arg(format!("--define={name}={value}"));
        }
    }
    let output = command
        .output()
        .map_err(|err| format!("cannot run {}: {err}", program.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        // The first error names the statement's problem; hints follow it.
        let last = stderr
            .lines()
            .find(|line| line.contains("error"))
            .or_else(|| stderr.lines().rev().find(|line| !line.trim().is_empty()));
        return Err(url.scrub(&format!(
            "pgbench failed ({}): {}",
            output.status,
            last.unwrap_or("no message")
        )));
    }
    let latencies = read_logs(&dir.0)?;
    Summary::of(latencies, duration).ok_or_else(|| "pgbench ran no transaction".to_owned())
}

/// Script `i`: the statement with `$n` as the variable `:s<i>_<n>`, and
/// the variables' values. A NULL cannot be a pgbench variable, so it is
/// written into the script as a typed literal. With a scope, the statement
/// goes inside the library's transaction, pipelined.
fn script(i: usize, replayed: &Script) -> (String, Vec<(String, String)>) {
    let statement = &replayed.statement;
    let values = statement.values();
    let sql = statement.with_params(|n| match &values[n - 1] {
        Some(_) => format!(":s{i}_{n}"),
        None => statement.params()[n - 1].clone(),
    });
    let mut variables: Vec<(String, String)> = values
        .iter()
        .enumerate()
        .filter_map(|(at, value)| Some((format!("s{i}_{}", at + 1), value.clone()?)))
        .collect();
    match &replayed.scope {
        None => (format!("{sql};\n"), variables),
        Some(owner) => {
            variables.push((format!("s{i}_owner"), owner.clone()));
            (scoped(i, &sql), variables)
        }
    }
}

/// `sql` inside the library's scoped transaction, as one pipeline; the
/// owner is the variable `:s<i>_owner`.
fn scoped(i: usize, sql: &str) -> String {
    format!(
        "\\startpipeline\nBEGIN;\nSELECT set_config('{SCOPE_SETTING}', :s{i}_owner, true);\n\
         {sql};\nCOMMIT;\n\\endpipeline\n"
    )
}

/// The setting the library's row-level security policies read.
const SCOPE_SETTING: &str = "todo.user_id";

/// pgbench's worker threads: as many as the clients divide evenly onto,
/// up to the machine's cores.
fn jobs(clients: u32) -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    (1..=cores.min(clients).max(1))
        .rev()
        .find(|jobs| clients.is_multiple_of(*jobs))
        .unwrap_or(1)
}

/// Per-transaction latencies (µs) from pgbench's logs: one line per
/// transaction, `client_id transaction_no latency_us script_no epoch epoch_us`.
fn read_logs(dir: &Path) -> Result<Vec<u64>, String> {
    let mut latencies = Vec::new();
    let entries = fs::read_dir(dir).map_err(|err| format!("cannot read pgbench logs: {err}"))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with("log") {
            continue;
        }
        let text = fs::read_to_string(entry.path())
            .map_err(|err| format!("cannot read pgbench log: {err}"))?;
        latencies.extend(parse_log(&text));
    }
    Ok(latencies)
}

fn parse_log(text: &str) -> impl Iterator<Item = u64> + '_ {
    text.lines()
        .filter_map(|line| line.split_whitespace().nth(2)?.parse::<u64>().ok())
}

/// A private directory for scripts and logs, removed on drop.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> Result<Self, String> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir =
            std::env::temp_dir().join(format!("todo-store-bench-{}-{stamp}", std::process::id()));
        // A new directory only the current user can read: `create` fails
        // rather than reuse one that someone else made under that name.
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_give_latencies() {
        let log = "0 1 312 4 1700000000 123456\n1 1 298 0 1700000000 123999\n\nbad line\n";
        assert_eq!(parse_log(log).collect::<Vec<_>>(), vec![312, 298]);
    }

    #[test]
    fn a_scoped_script_is_the_whole_transaction_pipelined() {
        assert_eq!(
            scoped(3, "SELECT 1 FROM tasks WHERE id = :s3_1"),
            "\\startpipeline\nBEGIN;\nSELECT set_config('todo.user_id', :s3_owner, true);\n\
             SELECT 1 FROM tasks WHERE id = :s3_1;\nCOMMIT;\n\\endpipeline\n"
        );
    }

    #[test]
    fn jobs_divide_clients() {
        for clients in 1..=16 {
            let jobs = jobs(clients);
            assert!(jobs >= 1 && clients % jobs == 0);
        }
    }
}
