//! `export` and `import`: the library's backups ([`todo_store::backup`])
//! to and from a file or the standard streams, with a progress bar.

pub mod export;
pub mod import;

use std::time::Duration;

use todo_store::backup::BackupError;

use crate::exit::Failure;

/// `rows` per second over `time` (0 for no time at all).
fn per_second(rows: u64, time: Duration) -> f64 {
    match time.as_secs_f64() {
        secs if secs > 0.0 => rows as f64 / secs,
        _ => 0.0,
    }
}

/// The exit code of the store's error behind `err` (1 for a failed read or
/// write), with the backup's own message, which names the line or batch.
fn failure(err: BackupError) -> Failure {
    match err {
        BackupError::Store(err) => err.into(),
        err => match err.store_error() {
            Some(store) => Failure::from(store.clone()).with_message(err.to_string()),
            None => Failure::other(err.to_string()),
        },
    }
}
