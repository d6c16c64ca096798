//! `export` and `import`: a logical backup of users and tasks as JSON Lines
//! (see [`format`]), through the library's bulk paths.

pub mod export;
pub mod format;
pub mod import;
mod reader;

use std::time::Duration;

/// `rows` per second over `time` (0 for no time at all).
fn per_second(rows: u64, time: Duration) -> f64 {
    match time.as_secs_f64() {
        secs if secs > 0.0 => rows as f64 / secs,
        _ => 0.0,
    }
}
