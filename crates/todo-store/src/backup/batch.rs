//! Cutting a backup into batches: records of consecutive lines, checked
//! for one transaction, each record's line kept for the error that may name
//! it.

use std::{
    collections::{HashMap, hash_map::Entry},
    io::BufRead,
    sync::mpsc,
};

use super::{
    error::BackupError,
    format::End,
    reader::{BackupReader, BackupRecord},
};
use crate::{ConflictKind, Entity, Error, TaskId, UserId, bulk::ImportBatch};

/// Records of consecutive lines, checked, for one transaction.
pub(super) struct Batch {
    pub(super) records: ImportBatch,
    /// The line of each account of `records`, in order.
    user_lines: Vec<u64>,
    /// The line of each task of `records`, in order.
    task_lines: Vec<u64>,
    /// Where each task of the batch is, to refuse a second one that says
    /// otherwise while both lines are at hand.
    tasks: HashMap<(UserId, TaskId), usize>,
    pub(super) first_line: u64,
    pub(super) last_line: u64,
    /// Input bytes read up to the end of the batch.
    pub(super) offset: u64,
}

impl Batch {
    fn starting_at(first_line: u64) -> Self {
        Self {
            records: ImportBatch::default(),
            user_lines: Vec::new(),
            task_lines: Vec::new(),
            tasks: HashMap::new(),
            first_line,
            last_line: first_line,
            offset: 0,
        }
    }

    fn push(&mut self, line: u64, record: BackupRecord) -> Result<(), BackupError> {
        match record {
            BackupRecord::User(user) => {
                self.records.push_stored_user(user);
                self.user_lines.push(line);
            }
            BackupRecord::Task { owner, task } => {
                let index = self.task_lines.len();
                match self.tasks.entry((owner, task.id)) {
                    Entry::Occupied(first) => {
                        let (first_line, same) = {
                            let (_, stored) = &self.records.tasks()[*first.get()];
                            (self.task_lines[*first.get()], *stored == task)
                        };
                        if !same {
                            return Err(BackupError::on_line(
                                line,
                                Error::validation(
                                    "task",
                                    format!(
                                        "id {} of user {owner} is also on line {first_line}, \
                                         with other values: a record may be repeated only \
                                         unchanged",
                                        task.id
                                    ),
                                ),
                            ));
                        }
                    }
                    Entry::Vacant(entry) => {
                        entry.insert(index);
                    }
                }
                self.records.push_stored_task(owner, task);
                self.task_lines.push(line);
            }
        }
        self.last_line = line;
        Ok(())
    }

    /// The line of the record a [`ConflictKind::StoredDiffers`] names.
    fn line_of(&self, err: &Error) -> Option<u64> {
        let Error::Conflict(ConflictKind::StoredDiffers { entity, id }) = err else {
            return None;
        };
        match entity {
            Entity::User => {
                let index = self
                    .records
                    .users()
                    .iter()
                    .position(|u| u.id.as_uuid() == *id)?;
                self.user_lines.get(index).copied()
            }
            _ => {
                let tasks = self.records.tasks();
                let index = tasks.iter().position(|(_, t)| t.id.as_uuid() == *id)?;
                self.task_lines.get(index).copied()
            }
        }
    }

    pub(super) fn failed(&self, error: Error, in_flight_after: usize) -> BackupError {
        BackupError::Batch {
            first_line: self.first_line,
            last_line: self.last_line,
            record_line: self.line_of(&error),
            in_flight_after,
            error,
        }
    }
}

/// Cuts the records of `backup` into batches and sends them; returns the
/// record counts once the end line is checked. The last batch is sent only
/// after the end line: a truncated file has its last lines left out.
pub(super) fn cut<R: BufRead>(
    mut backup: BackupReader<R>,
    batch_rows: usize,
    sender: &mpsc::SyncSender<Batch>,
) -> Result<End, BackupError> {
    let mut batch = Batch::starting_at(backup.lines_read() + 1);
    while let Some(next) = backup.next() {
        let (line, record) = next?;
        batch.push(line, record)?;
        if batch.records.len() >= batch_rows {
            batch.offset = backup.bytes_read();
            let full = std::mem::replace(&mut batch, Batch::starting_at(line + 1));
            if sender.send(full).is_err() {
                // The writers stopped: one failed, and its error is the one
                // to report.
                break;
            }
        }
    }
    if !batch.records.is_empty() {
        batch.last_line = backup.lines_read();
        batch.offset = backup.bytes_read();
        let _ = sender.send(batch);
    }
    Ok(End {
        users: backup.users_read(),
        tasks: backup.tasks_read(),
    })
}
