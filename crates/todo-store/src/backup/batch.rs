//! Cutting a backup into batches: records of consecutive lines, checked
//! for one transaction, each record's line kept for the error that may name
//! it.

use std::{io::BufRead, sync::mpsc};

use super::{
    error::BackupError,
    format::End,
    reader::{BackupReader, BackupRecord},
};
use crate::{
    ConflictKind, Error, TaskId, UserId,
    bulk::{self, ImportBatch},
};

/// Records of consecutive lines, checked, for one transaction.
pub(super) struct Batch {
    pub(super) records: ImportBatch,
    /// The line of each account of `records`, in order.
    user_lines: Vec<u64>,
    /// The line of each task of `records`, in order.
    task_lines: Vec<u64>,
    /// The line of each change of `records`, in order.
    change_lines: Vec<u64>,
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
            change_lines: Vec::new(),
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
            BackupRecord::SyncState { owner, state } => {
                self.records.push_stored_sync_state(owner, state);
            }
            BackupRecord::Change { owner, change } => {
                self.records.push_stored_change(owner, change);
                self.change_lines.push(line);
            }
        }
        self.last_line = line;
    }

    /// The error of a batch the database refused. A record that contradicts
    /// the one stored under its id is named by its line; if another record
    /// of this very batch has that id with other values (the import stored
    /// the first, then found the second differing), it is the file that
    /// contradicts itself: a validation error naming both lines. A change
    /// that contradicts the stored history is named by its line.
    pub(super) fn failed(&self, error: Error, in_flight_after: usize) -> BackupError {
        let mut error = error;
        let mut record_line = None;
        let change_line = bulk::refused_change(&error).and_then(|i| self.change_lines.get(i));
        if let (Some(line), Error::Validation { reason, .. }) = (change_line, &error) {
            record_line = Some(*line);
            error = Error::validation(format!("change on line {line}"), reason.clone());
        }
        if let Error::Conflict(ConflictKind::StoredDiffers { owner, task }) = error {
            let (first, twin) = match task {
                None => (self.user_line(owner), None),
                Some(task) => self.task_lines(owner, task),
            };
            record_line = twin.or(first);
            if let (Some(first), Some(twin)) = (first, twin) {
                error = Error::validation(
                    format!("task on line {twin}"),
                    format!(
                        "id {} of user {owner} is also on line {first}, with other values: \
                         a record may be repeated only unchanged",
                        task.map(|id| id.to_string()).unwrap_or_default()
                    ),
                );
            }
        }
        BackupError::Batch {
            first_line: self.first_line,
            last_line: self.last_line,
            record_line,
            in_flight_after,
            error,
        }
    }

    /// The line of the account `id` in this batch. (The reader already
    /// refuses two different accounts under one id.)
    fn user_line(&self, id: UserId) -> Option<u64> {
        let mut users = self.records.users().iter().zip(&self.user_lines);
        users.find(|(user, _)| user.id == id).map(|(_, line)| *line)
    }

    /// The line of the first task `id` of `owner` in this batch, and the
    /// line of a later one with other values, if any.
    fn task_lines(&self, owner: UserId, id: TaskId) -> (Option<u64>, Option<u64>) {
        let tasks = self.records.tasks().iter().zip(&self.task_lines);
        let mut same_key = tasks.filter(|((o, task), _)| *o == owner && task.id == id);
        let Some(((_, first), first_line)) = same_key.next() else {
            return (None, None);
        };
        let twin = same_key.find(|((_, task), _)| task != first);
        (Some(*first_line), twin.map(|(_, line)| *line))
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
        sync_states: backup.sync_states_read(),
        changes: backup.changes_read(),
    })
}
