//! Writing the lines of a backup: header, records, end line.

use std::io::{self, BufWriter, Write};

use serde::Serialize;

use super::format::{ChangeOut, End, Header, LineOut, SyncStateOut, TaskOut, UserOut};
use crate::{
    UserId,
    bulk::{ChangeRecord, SyncStateRecord, TaskRecord, UserRecord},
};

/// Bytes buffered before a write to the output.
const WRITE_BUFFER: usize = 1 << 20;

/// Turns records into lines. The header goes out with the first records
/// (or the end line), so that an export failing at once writes nothing.
pub(super) struct LineWriter<W: Write> {
    out: BufWriter<Counting<W>>,
    secrets: bool,
    header_written: bool,
    counts: End,
}

impl<W: Write> LineWriter<W> {
    pub(super) fn new(out: W, secrets: bool) -> Self {
        Self {
            out: BufWriter::with_capacity(
                WRITE_BUFFER,
                Counting {
                    inner: out,
                    bytes: 0,
                },
            ),
            secrets,
            header_written: false,
            counts: End::default(),
        }
    }

    pub(super) fn users(&mut self, users: &[UserRecord]) -> io::Result<()> {
        self.header()?;
        for user in users {
            self.line(&LineOut::User(UserOut::new(user, self.secrets)))?;
        }
        self.counts.users += users.len() as u64;
        Ok(())
    }

    pub(super) fn tasks(&mut self, tasks: &[(UserId, TaskRecord)]) -> io::Result<()> {
        self.header()?;
        for (owner, task) in tasks {
            self.line(&LineOut::Task(TaskOut::new(*owner, task)))?;
        }
        self.counts.tasks += tasks.len() as u64;
        Ok(())
    }

    pub(super) fn sync_states(&mut self, states: &[(UserId, SyncStateRecord)]) -> io::Result<()> {
        self.header()?;
        for (owner, state) in states {
            self.line(&LineOut::SyncState(SyncStateOut::new(*owner, state)))?;
        }
        self.counts.sync_states += states.len() as u64;
        Ok(())
    }

    pub(super) fn changes(&mut self, changes: &[(UserId, ChangeRecord)]) -> io::Result<()> {
        self.header()?;
        for (owner, change) in changes {
            self.line(&LineOut::Change(ChangeOut::new(*owner, change)))?;
        }
        self.counts.changes += changes.len() as u64;
        Ok(())
    }

    /// Writes the end line and flushes; returns the counts and the bytes
    /// written in all.
    pub(super) fn finish(mut self) -> io::Result<(End, u64)> {
        self.header()?;
        let end = self.counts;
        self.line(&LineOut::End(end))?;
        let mut counting = self
            .out
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        counting.flush()?;
        Ok((end, counting.bytes))
    }

    /// Drops what is still buffered, unwritten: the output then has no end
    /// line, and an import refuses it as truncated.
    pub(super) fn abandon(self) {
        let _ = self.out.into_parts();
    }

    fn header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.header_written = true;
            self.line(&Header::current(self.secrets))?;
        }
        Ok(())
    }

    fn line(&mut self, value: &impl Serialize) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, value)?;
        self.out.write_all(b"\n")
    }
}

/// A writer that counts the bytes it passes on.
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
