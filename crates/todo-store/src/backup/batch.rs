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
use crate::{
    ConflictKind, Entity, Error, UserId,
    bulk::{ImportBatch, TaskRecord},
};

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
    /// of this very batch has that id with other values (the import stored
    /// the first, then found the second differing), it is the file that
    /// contradicts itself, and both lines are named.
    pub(super) fn failed(&self, error: Error, in_flight_after: usize) -> BackupError {
        let mut record_line = None;
        if let Error::Conflict(ConflictKind::StoredDiffers { entity, id }) = &error {
            let (first, twin) = self.lines_with(*entity, *id);
            if let (Some(first), Some(twin)) = (first, twin) {
                return BackupError::on_line(
                    twin,
                    Error::validation(
                        entity.to_string(),
                        format!(
                            "id {id} is also on line {first}, with other values: a record \
                             may be repeated only unchanged"
                        ),
                    ),
                );
            }
            record_line = first;
        }
        BackupError::Batch {
            first_line: self.first_line,
            last_line: self.last_line,
            record_line,
            in_flight_after,
            error,
        }
    }

    /// The line of the first record of this batch with the id `id`, and
    /// the line of a later one that gives the same record (a task is its
    /// owner and its id) other values, if any. The reader already refuses
    /// two different accounts under one id.
    fn lines_with(&self, entity: Entity, id: Uuid) -> (Option<u64>, Option<u64>) {
        if entity == Entity::User {
            let users = self.records.users().iter().zip(&self.user_lines);
            let first = users.clone().find(|(user, _)| user.id.as_uuid() == id);
            return (first.map(|(_, line)| *line), None);
        }
        let mut firsts: Vec<(&UserId, &TaskRecord, u64)> = Vec::new();
        let tasks = self.records.tasks().iter().zip(&self.task_lines);
        for ((owner, task), &line) in tasks.filter(|((_, task), _)| task.id.as_uuid() == id) {
            match firsts
                .iter()
                .find(|(first_owner, ..)| *first_owner == owner)
            {
                Some((_, first, first_line)) if *first != task => {
                    return (Some(*first_line), Some(line));
                }
                Some(_) => {}
                None => firsts.push((owner, task, line)),
            }
        }
        (firsts.first().map(|(.., line)| *line), None)
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
