//! [`BackupError`]: what can stop an export or an import, and where in the
//! file it happened.

use std::io;

use crate::Error;

/// Why [`export`](super::export) or [`import`](super::import) (or a
/// [`BackupReader`](super::BackupReader)) stopped.
///
/// The store's own [`Error`] is inside every variant that has one
/// ([`store_error`](Self::store_error)), so a caller can tell a bad file
/// ([`Error::Validation`]) from a conflict with stored data
/// ([`Error::Conflict`]) or an unreachable database
/// ([`Error::Unavailable`]). Messages name lines, fields and ids, never a
/// password hash.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The input could not be read.
    #[error("cannot read the input: {0}")]
    Read(#[source] io::Error),
    /// The output could not be written. The export stopped without its end
    /// line, so that the part written is refused as truncated.
    #[error("cannot write the export: {0}")]
    Write(#[source] io::Error),
    /// Line `line` is not what the format or the store's rules allow (always
    /// an [`Error::Validation`] whose field names the line), or the file
    /// ends before its end line (`line` is then one past the last). On
    /// import, batches before the line's batch are committed, and nothing
    /// from it on is written.
    #[error("{error}")]
    Line {
        /// The line at fault, counting from 1 (the header).
        line: u64,
        /// What is wrong with it.
        error: Error,
    },
    /// The database refused or failed one batch of an import: none of its
    /// lines were written, the batches before it were, and up to
    /// `in_flight_after` batches after it (written at the same time on
    /// other connections) may have been.
    #[error("{error} ({}the batch of lines {first_line} to {last_line} was not imported; \
             the batches before it were{}; import is idempotent, so run it again once fixed)",
             record_line.map(|line| format!("line {line}; ")).unwrap_or_default(),
             match in_flight_after {
                 0 => String::new(),
                 1 => ", and the batch after it may have been".to_owned(),
                 n => format!(", and up to {n} batches after it may have been"),
             })]
    Batch {
        /// The first line of the batch.
        first_line: u64,
        /// The last line of the batch.
        last_line: u64,
        /// The line of the record the database refused, where the error
        /// names one (a record that contradicts the one stored under its id).
        record_line: Option<u64>,
        /// Batches after this one that may have been committed meanwhile.
        in_flight_after: usize,
        /// The database's answer.
        error: Error,
    },
    /// The store failed outside any batch: opening the export's snapshot,
    /// reading a page of it, or the `VACUUM (ANALYZE)` after an import.
    #[error(transparent)]
    Store(#[from] Error),
}

impl BackupError {
    /// The store's error behind this one, if there is one (every variant but
    /// [`Read`](Self::Read) and [`Write`](Self::Write)).
    pub fn store_error(&self) -> Option<&Error> {
        match self {
            BackupError::Line { error, .. }
            | BackupError::Batch { error, .. }
            | BackupError::Store(error) => Some(error),
            BackupError::Read(_) | BackupError::Write(_) => None,
        }
    }

    /// A validation error about line `line`: its field becomes
    /// "FIELD on line N", so the message reads "invalid title on line 7: …".
    pub(super) fn on_line(line: u64, err: Error) -> Self {
        let error = match err {
            Error::Validation { field, reason } => {
                Error::validation(format!("{field} on line {line}"), reason)
            }
            other => other,
        };
        BackupError::Line { line, error }
    }
}
