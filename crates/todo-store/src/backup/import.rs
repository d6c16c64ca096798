//! [`import`]: a backup file written back in batches, one transaction each,
//! on as many connections as the caller gives.
//!
//! One thread reads and checks the lines ([`BackupReader`]) and cuts them
//! into batches; the calling thread hands each batch to a writer thread per
//! connection. A batch that holds users is written alone, after every batch
//! before it and before any after it, so that a task's user is always
//! committed before the task is written (the file puts users first: in
//! practice the first batch or two run alone, then the tasks run on every
//! connection at once).

use std::{
    io::BufRead,
    sync::{Mutex, mpsc},
    thread,
    time::{Duration, Instant},
};

use diesel::{PgConnection, RunQueryDsl, sql_query};

use super::{
    batch::{Batch, cut},
    error::BackupError,
    reader::BackupReader,
};
use crate::{
    Error,
    bulk::{self, Imported, Secrets},
};

/// Lines per batch when [`ImportOptions::batch_rows`] is left as it is.
const DEFAULT_BATCH_ROWS: u32 = 20_000;

/// What [`import`] does after the last batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AfterImport {
    /// `VACUUM (ANALYZE) users, tasks, task_history, task_sync_state` if
    /// anything was written (the default): the planner's statistics then know the new rows, which
    /// decide its index choices, and the visibility map lets index-only
    /// scans skip the heap. Needs the tables' owner (or a superuser).
    #[default]
    VacuumAnalyze,
    /// Nothing: autovacuum gets to it in time. For small imports into a
    /// large live database, or a role that does not own the tables.
    Nothing,
}

/// How [`import`] cuts and writes the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ImportOptions {
    /// Records per batch, and so per transaction (at least 1).
    pub batch_rows: u32,
    /// What to do once every batch is written.
    pub after: AfterImport,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            batch_rows: DEFAULT_BATCH_ROWS,
            after: AfterImport::default(),
        }
    }
}

impl ImportOptions {
    /// Sets [`batch_rows`](Self::batch_rows).
    pub fn batch_rows(mut self, rows: u32) -> Self {
        self.batch_rows = rows;
        self
    }

    /// Sets [`after`](Self::after).
    pub fn after(mut self, after: AfterImport) -> Self {
        self.after = after;
        self
    }
}

/// How far an [`import`] has come: handed to its `progress` callback after
/// each batch is committed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportProgress {
    /// Input bytes up to the end of the furthest batch committed.
    pub bytes: u64,
    /// Lines up to the end of the furthest batch committed.
    pub lines: u64,
    /// What the committed batches did.
    pub imported: Imported,
    /// Batches committed.
    pub batches: u64,
}

/// What [`import`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportSummary {
    /// Whether the file held password hashes.
    pub secrets: Secrets,
    /// User lines read.
    pub users_read: u64,
    /// Task lines read.
    pub tasks_read: u64,
    /// Sync state lines read (none in a version 1 file).
    pub sync_states_read: u64,
    /// Change lines read (none in a version 1 file).
    pub changes_read: u64,
    /// What was written, and what was already stored.
    pub imported: Imported,
    /// Transactions committed.
    pub batches: u64,
    /// Time spent reading and writing the batches.
    pub load_time: Duration,
    /// Time spent on [`AfterImport::VacuumAnalyze`] (zero if it did not run).
    pub vacuum_time: Duration,
}

/// Writes the records of `backup` back, [`batch_rows`](ImportOptions::batch_rows)
/// at a time, each batch in one transaction of [`bulk::import`], up to one
/// batch per connection of `conns` at once (a batch holding users alone).
///
/// Import is idempotent: records keep their ids, timestamps and versions,
/// and one whose id is already stored with the same values is left as it
/// is and counted as already present, so importing the same file twice
/// changes nothing the second time. It never loses data silently: a record
/// that contradicts another of the file or the one stored under its id (a
/// change: under its owner and number) is refused, naming both lines (or
/// the stored id), and its batch is not written. Accounts, tasks and
/// history already in the database are never changed or removed; sync
/// states are only ever raised.
///
/// The history comes from the file alone: the import records none of its
/// own, so a version 2 file restores the history it carries, and the tasks
/// of a version 1 file arrive without any.
///
/// A file is refused before anything is written if its header is not of a
/// version from [`OLDEST_VERSION`](super::OLDEST_VERSION) to
/// [`VERSION`](super::VERSION) ([`BackupReader::new`] checks it). The last
/// batch is written only once the end line is read and checked, so a
/// truncated file has its last records left out.
///
/// # Errors
/// [`BackupError::Line`] for a bad line (batches before its batch stay
/// committed; nothing from it on is written); [`BackupError::Batch`] when
/// the database refuses a batch, e.g. a new account whose email address
/// another account has ([`EmailTaken`](crate::ConflictKind::EmailTaken)),
/// a record that contradicts the stored one
/// ([`StoredDiffers`](crate::ConflictKind::StoredDiffers)), two tasks
/// of the batch under one id with other values (a validation error naming
/// both lines), or a change that contradicts the stored history (a
/// validation error naming its line);
/// [`BackupError::Store`] for an empty `conns` or a `batch_rows` of 0
/// (validation errors, before anything is read), or a failed `VACUUM`.
/// Fix the cause and run the same import again: what was imported is
/// skipped.
pub fn import<'c, R>(
    conns: impl IntoIterator<Item = &'c mut PgConnection>,
    backup: BackupReader<R>,
    options: &ImportOptions,
    progress: impl FnMut(ImportProgress),
) -> Result<ImportSummary, BackupError>
where
    R: BufRead + Send,
{
    let mut conns: Vec<&mut PgConnection> = conns.into_iter().collect();
    if conns.is_empty() {
        return Err(Error::validation("connections", "at least one is needed").into());
    }
    if options.batch_rows == 0 {
        return Err(Error::validation("batch_rows", "must be at least 1").into());
    }
    let secrets = backup.secrets();
    let batch_rows = options.batch_rows as usize;
    let started = Instant::now();
    let (sender, batches) = mpsc::sync_channel::<Batch>(1);
    let (written, backup) = thread::scope(|scope| {
        let cutter = scope.spawn(move || cut(backup, batch_rows, &sender));
        let written = write(&mut conns, batches, progress)?;
        let backup = cutter
            .join()
            .unwrap_or_else(|_| Err(BackupError::Read(std::io::Error::other("reader panicked"))))?;
        Ok::<_, BackupError>((written, backup))
    })?;
    let load_time = started.elapsed();

    let started = Instant::now();
    let imported = written.imported;
    let wrote = imported.users_inserted + imported.tasks_inserted + imported.changes_inserted > 0;
    if wrote && options.after == AfterImport::VacuumAnalyze {
        sql_query("VACUUM (ANALYZE) users, tasks, task_history, task_sync_state")
            .execute(&mut *conns[0])
            .map_err(Error::from)?;
    }
    Ok(ImportSummary {
        secrets,
        users_read: backup.users,
        tasks_read: backup.tasks,
        sync_states_read: backup.sync_states,
        changes_read: backup.changes,
        imported,
        batches: written.batches,
        load_time,
        vacuum_time: started.elapsed(),
    })
}

/// What the writers did.
#[derive(Debug, Clone, Copy, Default)]
struct Written {
    imported: Imported,
    batches: u64,
}

/// A batch written by a worker: what it did, and how far into the input.
struct Done {
    imported: Imported,
    offset: u64,
    last_line: u64,
}

/// Hands the batches to one worker per connection, as many at a time as
/// there are connections, except that a batch with users waits for every
/// batch before it and is waited for. On the first error no new batch is
/// started; those under way finish (and may commit) before it is reported.
fn write(
    conns: &mut [&mut PgConnection],
    batches: mpsc::Receiver<Batch>,
    progress: impl FnMut(ImportProgress),
) -> Result<Written, BackupError> {
    let jobs = conns.len();
    let (job_sender, queue) = mpsc::sync_channel::<Batch>(0);
    let queue = Mutex::new(queue);
    let (done_sender, done) = mpsc::channel::<Result<Done, BackupError>>();
    thread::scope(|scope| {
        for conn in conns.iter_mut() {
            let done_sender = done_sender.clone();
            let queue = &queue;
            scope.spawn(move || work(conn, queue, &done_sender, jobs));
        }
        drop(done_sender);
        let mut state = Dispatch {
            progress: ImportProgress::default(),
            in_flight: 0,
            done,
            report: progress,
        };
        let mut result = dispatch(batches, &job_sender, &mut state, jobs);
        // Stops the workers once their batch is done; what is under way is
        // settled before an error is reported, and of several errors the
        // one earliest in the file is, so that "the batches before it were
        // imported" holds.
        drop(job_sender);
        while state.in_flight > 0 {
            if let Err(later) = state.wait_one() {
                result = Err(match result {
                    Err(first) if starts_at(&first) <= starts_at(&later) => first,
                    _ => later,
                });
            }
        }
        result.map(|()| Written {
            imported: state.progress.imported,
            batches: state.progress.batches,
        })
    })
}

/// Sends each batch to the workers once its turn has come.
fn dispatch(
    batches: mpsc::Receiver<Batch>,
    workers: &mpsc::SyncSender<Batch>,
    state: &mut Dispatch<impl FnMut(ImportProgress)>,
    jobs: usize,
) -> Result<(), BackupError> {
    for batch in batches {
        let alone = batch.records.user_count() > 0;
        state.wait_until_below(if alone { 1 } else { jobs })?;
        if workers.send(batch).is_err() {
            break;
        }
        state.in_flight += 1;
        if alone {
            state.wait_until_below(1)?;
        }
    }
    state.wait_until_below(1)
}

/// One writer: imports the batches it takes from `queue` on its connection
/// until the queue closes.
fn work(
    conn: &mut PgConnection,
    queue: &Mutex<mpsc::Receiver<Batch>>,
    done: &mpsc::Sender<Result<Done, BackupError>>,
    jobs: usize,
) {
    loop {
        let next = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(batch) = next else { return };
        // A panic must still answer for its batch: the dispatcher waits for
        // one answer per batch.
        let unwinding = Unwinding(done);
        let imported = bulk::import(conn, &batch.records);
        std::mem::forget(unwinding);
        let result = imported
            .map(|imported| Done {
                imported,
                offset: batch.offset,
                last_line: batch.last_line,
            })
            // A batch with users is written alone (see `dispatch`).
            .map_err(|err| match batch.records.user_count() {
                0 => batch.failed(err, jobs - 1),
                _ => batch.failed(err, 0),
            });
        if done.send(result).is_err() {
            return;
        }
    }
}

/// Answers for a writer's batch if the writer panics while on it.
struct Unwinding<'a>(&'a mpsc::Sender<Result<Done, BackupError>>);

impl Drop for Unwinding<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            let panicked = Error::Database("an import writer panicked".into());
            let _ = self.0.send(Err(BackupError::Store(panicked)));
        }
    }
}

/// Where in the file an error stopped the import (errors without a line
/// come last).
fn starts_at(err: &BackupError) -> u64 {
    match err {
        BackupError::Batch { first_line, .. } => *first_line,
        BackupError::Line { line, .. } => *line,
        _ => u64::MAX,
    }
}

/// Batches under way, and what the finished ones did.
struct Dispatch<P> {
    progress: ImportProgress,
    in_flight: usize,
    done: mpsc::Receiver<Result<Done, BackupError>>,
    report: P,
}

impl<P: FnMut(ImportProgress)> Dispatch<P> {
    /// Waits for batches to finish until fewer than `limit` are under way.
    fn wait_until_below(&mut self, limit: usize) -> Result<(), BackupError> {
        while self.in_flight >= limit {
            self.wait_one()?;
        }
        Ok(())
    }

    fn wait_one(&mut self) -> Result<(), BackupError> {
        let result = self.done.recv().map_err(|_| {
            BackupError::Store(Error::Unavailable("the import's writers stopped".into()))
        });
        self.in_flight -= 1;
        let done = result??;
        let progress = &mut self.progress;
        progress.imported += done.imported;
        progress.batches += 1;
        progress.bytes = progress.bytes.max(done.offset);
        progress.lines = progress.lines.max(done.last_line);
        (self.report)(*progress);
        Ok(())
    }
}
