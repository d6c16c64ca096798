//! Lines of bounded length, counted, in one reused buffer.

use std::io::{BufRead, Read};

use super::{error::BackupError, format::MAX_LINE_BYTES};
use crate::Error;

/// The lines of a reader, each at most [`MAX_LINE_BYTES`]: a file that is
/// not a backup (one huge line) cannot exhaust memory.
#[derive(Debug)]
pub(super) struct Lines<R> {
    reader: R,
    buffer: Vec<u8>,
    /// Lines read so far.
    pub(super) number: u64,
    /// Bytes read so far.
    pub(super) offset: u64,
}

impl<R: BufRead> Lines<R> {
    pub(super) fn new(reader: R) -> Self {
        Self {
            reader,
            buffer: Vec::new(),
            number: 0,
            offset: 0,
        }
    }

    /// The next line without its line break (`\n` or `\r\n`), or `None` at
    /// the end.
    pub(super) fn next_line(&mut self) -> Result<Option<&[u8]>, BackupError> {
        self.buffer.clear();
        let limit = MAX_LINE_BYTES as u64 + 1;
        let read = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buffer)
            .map_err(BackupError::Read)?;
        if read == 0 {
            return Ok(None);
        }
        self.number += 1;
        self.offset += read as u64;
        let mut line = self.buffer.as_slice();
        if let Some(rest) = line.strip_suffix(b"\n") {
            line = rest;
        } else if read as u64 == limit {
            return Err(BackupError::on_line(
                self.number,
                Error::validation(
                    "input",
                    format!("longer than {MAX_LINE_BYTES} bytes: not a line of an export"),
                ),
            ));
        }
        Ok(Some(line.strip_suffix(b"\r").unwrap_or(line)))
    }
}
