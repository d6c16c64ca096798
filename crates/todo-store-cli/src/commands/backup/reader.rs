//! Reading an export: lines of bounded length, parsed and checked into
//! batches on a thread of their own, in file order.

use std::{
    collections::HashSet,
    io::{BufRead, Read},
    sync::mpsc,
};

use todo_store::{Error, UserId, bulk::ImportBatch};

use super::format::{self, End, LineIn, MAX_LINE_BYTES};
use crate::exit::Failure;

/// Records of consecutive lines, checked and ready for one transaction.
pub struct Batch {
    /// The records.
    pub records: ImportBatch,
    /// The line of the first record.
    pub first_line: u64,
    /// The line of the last record (or of the end line, for the last batch).
    pub last_line: u64,
    /// Input bytes read up to the end of the batch.
    pub offset: u64,
}

impl Batch {
    /// The error of a batch that was not written, saying which lines are in
    /// and which are not; `jobs` is the number of batches written at once.
    pub fn failed(&self, err: Error, jobs: usize) -> Failure {
        let message = err.to_string();
        let after = match jobs {
            1 => String::new(),
            2 => ", and the batch after it may have been".to_owned(),
            n => format!(", and up to {} batches after it may have been", n - 1),
        };
        Failure::from(err).with_message(format!(
            "{message} (the batch of lines {} to {} was not imported; the batches before \
             it were{after}; import is idempotent, so run it again once fixed)",
            self.first_line, self.last_line
        ))
    }
}

/// Reads the lines after the header into batches and sends them; returns the
/// counts of the end line once it has been checked. The last batch is sent
/// only after the end line: a truncated file has its last lines left out.
pub fn parse(
    reader: &mut Lines<impl BufRead>,
    secrets: bool,
    batch_rows: usize,
    sender: &mpsc::SyncSender<Result<Batch, Failure>>,
) -> Result<End, Failure> {
    // Ids of the accounts read so far: a task's owner must come before it.
    let mut users = HashSet::<UserId>::new();
    let mut counts = End { users: 0, tasks: 0 };
    let mut batch = Batch {
        records: ImportBatch::default(),
        first_line: 2,
        last_line: 1,
        offset: 0,
    };
    loop {
        let number = reader.number + 1;
        let at = |err: Error| on_line(number, err);
        let Some(line) = reader.next_line()? else {
            return Err(Error::validation(
                "input",
                format!(
                    "it ends at line {} without the end line {{\"type\":\"end\",…}}: it is \
                     truncated, or not a complete export (lines from {} on were not imported)",
                    number - 1,
                    batch.first_line
                ),
            )
            .into());
        };
        let parsed: LineIn = serde_json::from_slice(line)
            .map_err(|err| Error::validation(format!("line {number}"), format::json_error(&err)))?;
        match parsed {
            LineIn::User(user) => {
                let user = user.into_record(secrets).map_err(at)?;
                let id = user.id;
                batch.records.push_user(user).map_err(at)?;
                users.insert(id);
                counts.users += 1;
            }
            LineIn::Task(task) => {
                if !users.contains(&task.user_id) {
                    return Err(at(Error::validation(
                        "user_id",
                        "no user line with this id comes before this task",
                    )));
                }
                let (owner, task) = task.into_record().map_err(at)?;
                batch.records.push_task(owner, task).map_err(at)?;
                counts.tasks += 1;
            }
            LineIn::End(end) => {
                if end != counts {
                    return Err(at(Error::validation(
                        "end",
                        format!(
                            "says {} users and {} tasks, but the file has {} and {}",
                            end.users, end.tasks, counts.users, counts.tasks
                        ),
                    )));
                }
                if reader.next_line()?.is_some() {
                    return Err(on_line(
                        number + 1,
                        Error::validation("input", "nothing may follow the end line"),
                    ));
                }
                if !batch.records.is_empty() {
                    batch.last_line = number;
                    batch.offset = reader.offset;
                    let _ = sender.send(Ok(batch));
                }
                return Ok(counts);
            }
        }
        if batch.records.len() >= batch_rows {
            let next = number + 1;
            batch.last_line = number;
            batch.offset = reader.offset;
            let full = std::mem::replace(
                &mut batch,
                Batch {
                    records: ImportBatch::default(),
                    first_line: next,
                    last_line: number,
                    offset: 0,
                },
            );
            if sender.send(Ok(full)).is_err() {
                // The writers stopped (one failed); its error is the one to report.
                return Ok(counts);
            }
        }
    }
}

/// A validation error about line `number`: "invalid title on line 7: …".
fn on_line(number: u64, err: Error) -> Failure {
    match err {
        Error::Validation { field, reason } => {
            Error::validation(format!("{field} on line {number}"), reason).into()
        }
        other => other.into(),
    }
}

/// Lines of at most [`MAX_LINE_BYTES`], counted, in one reused buffer.
pub struct Lines<R> {
    reader: R,
    buffer: Vec<u8>,
    /// Lines read so far.
    number: u64,
    /// Bytes read so far.
    offset: u64,
}

impl<R: BufRead> Lines<R> {
    /// Lines of `reader`, from its start.
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            buffer: Vec::new(),
            number: 0,
            offset: 0,
        }
    }

    /// The next line without its line break, or `None` at the end.
    pub fn next_line(&mut self) -> Result<Option<&[u8]>, Failure> {
        self.buffer.clear();
        let limit = MAX_LINE_BYTES as u64 + 1;
        let read = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buffer)
            .map_err(|err| Failure::other(format!("cannot read the input: {err}")))?;
        if read == 0 {
            return Ok(None);
        }
        self.number += 1;
        self.offset += read as u64;
        let mut line = self.buffer.as_slice();
        if let Some(rest) = line.strip_suffix(b"\n") {
            line = rest;
        } else if read as u64 == limit {
            return Err(on_line(
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
