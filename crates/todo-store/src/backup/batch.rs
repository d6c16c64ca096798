//! Cutting a backup into batches: records of consecutive lines, checked
//! for one transaction, each record's line kept for the error that may name
//! it.

use std::{io::BufRead, sync::mpsc};

use uuid::Uuid;

use super::{
    error::BackupError,
    format::End,
    reader::{BackupReader, BackupRecord},
};
use crate::{ConflictKind, Entity, Error, UserId, bulk::ImportBatch};

/// Records of consecutive lines, checked, for one transaction.
pub(super) struct Batch {
    pub(super) records: ImportBatch,
    /// The line of each account of `records`, in order.
    user_lines: Vec<u64>,
    /// The line of each task of `records`, in order.
    task_lines: Vec<u64>,
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
            first_line,
            last_line: first_line,
            offset: 0,
        }
    }

    fn push(&mut self, line: u64, record: BackupRecord) {
        match record {
            BackupRecord::User(user) => {
                self.records.push_stored_user(user);
                self.user_lines.push(line);
            }
            BackupRecord::Task { owner, task } => {
                self.records.push_stored_task(owner, task);
                self.task_lines.push(line);
            }
        }
        self.last_line = line;
    }

    /// The error of a batch the database refused. A record that contradicts
    /// the one stored under its id is named by its line; if another record
    /// of this very batch holds that id (the import stored the first, then
    /// found the second differing), it is the file that contradicts itself,
    /// and both lines are named.
    pub(super) fn failed(&self, error: Error, in_flight_after: usize) -> BackupError {
        let mut record_line = None;
        if let Error::Conflict(ConflictKind::StoredDiffers { entity, id }) = &error {
            let lines = self.lines_with(*entity, *id);
            if let [first, .., last] = lines[..] {
                return BackupError::on_line(
                    last,
                    Error::validation(
                        entity.to_string(),
                        format!(
                            "id {id} is also on line {first}, with other values: a record \
                             may be repeated only unchanged"
                        ),
                    ),
                );
            }
            record_line = lines.first().copied();
        }
        BackupError::Batch {
            first_line: self.first_line,
            last_line: self.last_line,
            record_line,
            in_flight_after,
            error,
        }
    }

    /// The lines of the records of this batch with the id `id`: every
    /// account with it, or the tasks with it of one owner (one that has
    /// two, if any does: a task is its owner and its id).
    fn lines_with(&self, entity: Entity, id: Uuid) -> Vec<u64> {
        let lines = |owner: Option<UserId>| {
            let tasks = self.records.tasks().iter().zip(&self.task_lines);
            tasks
                .filter(|((o, task), _)| task.id.as_uuid() == id && owner.is_none_or(|x| x == *o))
                .map(|(_, line)| *line)
                .collect::<Vec<_>>()
        };
        match entity {
            Entity::User => (self.records.users().iter().zip(&self.user_lines))
                .filter(|(user, _)| user.id.as_uuid() == id)
                .map(|(_, line)| *line)
                .collect(),
            _ => {
                let owners = self
                    .records
                    .tasks()
                    .iter()
                    .filter(|(_, t)| t.id.as_uuid() == id);
                let mut seen = Vec::new();
                for (owner, _) in owners {
                    if seen.contains(owner) {
                        return lines(Some(*owner));
                    }
                    seen.push(*owner);
                }
                lines(seen.first().copied()).into_iter().take(1).collect()
            }
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
        batch.push(line, record);
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
