//! [`export`]: a consistent snapshot written as a backup file.

use std::{io::Write, sync::mpsc, thread};

use diesel::PgConnection;

use super::{error::BackupError, writer::LineWriter};
use crate::bulk::{self, ExportChunk, ExportOptions, Exported, Secrets};

/// What [`export`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportSummary {
    /// User lines.
    pub users: u64,
    /// Task lines.
    pub tasks: u64,
    /// Sync state lines.
    pub sync_states: u64,
    /// Change lines (the task history).
    pub changes: u64,
    /// Bytes, all lines included.
    pub bytes: u64,
}

/// What the reading side hands the writing one.
enum Piece {
    /// A page to write.
    Chunk(ExportChunk),
    /// The snapshot is read whole: write the end line.
    End,
}

/// Writes the accounts that `options` select, their tasks, sync states and
/// task history to `out` as a backup file of the current
/// [`VERSION`](super::VERSION) (see the [module docs](super)):
/// [`bulk::export`]'s consistent snapshot, in its order, in constant memory. Pages are read on this
/// thread while a second one turns the previous page into lines, and
/// `progress` hears the rows read so far after each page.
///
/// The header is written with the first page, so that an export failing at
/// once writes nothing. If reading fails midway, what is still buffered is
/// dropped and no end line is written, so that an import refuses the
/// output as truncated. `out` is flushed at the end; making a file durable
/// (`File::sync_all`) is the caller's choice.
///
/// # Errors
/// [`BackupError::Store`] if the snapshot cannot be read (e.g. a role
/// subject to row-level security exporting every account);
/// [`BackupError::Write`] if `out` fails.
pub fn export<W>(
    conn: &mut PgConnection,
    options: &ExportOptions,
    out: &mut W,
    mut progress: impl FnMut(Exported),
) -> Result<ExportSummary, BackupError>
where
    W: Write + Send + ?Sized,
{
    let secrets = options.secrets == Secrets::Include;
    let (sender, pieces) = mpsc::sync_channel::<Piece>(2);
    let (read, written) = thread::scope(|scope| {
        let writer = scope.spawn(|| write_pieces(pieces, out, secrets));
        let mut so_far = Exported::default();
        let read = bulk::export::<BackupError>(conn, options, |chunk| {
            match &chunk {
                ExportChunk::Users(users) => so_far.users += users.len() as u64,
                ExportChunk::Tasks(tasks) => so_far.tasks += tasks.len() as u64,
                ExportChunk::SyncStates(states) => so_far.sync_states += states.len() as u64,
                ExportChunk::Changes(changes) => so_far.changes += changes.len() as u64,
            }
            // The writer stops only when it fails; its error is the one to report.
            sender
                .send(Piece::Chunk(chunk))
                .map_err(|_| BackupError::Write(std::io::Error::other("the writer stopped")))?;
            progress(so_far);
            Ok(())
        });
        if read.is_ok() {
            let _ = sender.send(Piece::End);
        }
        drop(sender);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the writer panicked")));
        (read, written)
    });
    let written = written.map_err(BackupError::Write)?;
    read?;
    written.ok_or_else(|| BackupError::Write(std::io::Error::other("stopped before its end")))
}

/// Writes every page it is handed, then the end line when told the
/// snapshot is complete; `None` (and no end line) if it never is.
fn write_pieces<W: Write + ?Sized>(
    pieces: mpsc::Receiver<Piece>,
    out: &mut W,
    secrets: bool,
) -> std::io::Result<Option<ExportSummary>> {
    let mut lines = LineWriter::new(out, secrets);
    for piece in pieces {
        match piece {
            Piece::Chunk(ExportChunk::Users(users)) => lines.users(&users)?,
            Piece::Chunk(ExportChunk::Tasks(tasks)) => lines.tasks(&tasks)?,
            Piece::Chunk(ExportChunk::SyncStates(states)) => lines.sync_states(&states)?,
            Piece::Chunk(ExportChunk::Changes(changes)) => lines.changes(&changes)?,
            Piece::End => {
                let (end, bytes) = lines.finish()?;
                return Ok(Some(ExportSummary {
                    users: end.users,
                    tasks: end.tasks,
                    sync_states: end.sync_states,
                    changes: end.changes,
                    bytes,
                }));
            }
        }
    }
    lines.abandon();
    Ok(None)
}
