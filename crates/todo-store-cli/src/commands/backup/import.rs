//! `import`: read an export line by line and write it back in batches, one
//! transaction each, skipping what is already stored.
//!
//! One thread reads and checks the lines ([`reader`](super::reader)); up to
//! `--jobs` threads, each with a connection of its own, write the batches.
//! A batch that holds users is written alone, after every batch before it
//! and before any after it, so that a task's user is always committed before
//! the task is written (the file puts users first: in practice the first
//! batch or two run alone, then the tasks run `--jobs` at a time).

use std::{
    fs::File,
    io::{self, BufReader, Read},
    path::PathBuf,
    sync::{Mutex, mpsc},
    thread,
    time::Instant,
};

use diesel::{PgConnection, RunQueryDsl, sql_query};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use todo_store::{
    DatabaseUrl, Error,
    bulk::{self, Imported},
};

use super::{
    format, per_second,
    reader::{self, Batch, Lines},
};
use crate::{args::ImportArgs, exit::Failure};

/// Bytes read from the input at a time.
const READ_BUFFER: usize = 1 << 20;

/// What `import` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportReport {
    /// The file read; `None` for stdin.
    pub input: Option<PathBuf>,
    /// Whether the file held password hashes.
    pub secrets: bool,
    /// User lines read.
    pub users_read: u64,
    /// Accounts written.
    pub users_inserted: u64,
    /// Accounts whose id was already stored (left as they were).
    pub users_present: u64,
    /// Task lines read.
    pub tasks_read: u64,
    /// Tasks written.
    pub tasks_inserted: u64,
    /// Tasks already stored (left as they were).
    pub tasks_present: u64,
    /// Transactions committed.
    pub batches: u64,
    /// Time spent reading and writing, in seconds.
    pub load_seconds: f64,
    /// Rows (users and tasks) read per second.
    pub rows_per_second: f64,
    /// Time spent on `VACUUM (ANALYZE)` afterwards (0 if nothing was written).
    pub vacuum_seconds: f64,
}

/// Runs `import`.
///
/// # Errors
/// A validation error (exit 3) for an input that is not a version 1 export
/// (before anything is written), or for a bad line, naming it; a conflict
/// (exit 5) for an account whose email or auth subject another account has;
/// the library's error if the database fails. Batches committed before the
/// error stay; the message says which lines were not imported.
pub fn run(args: &ImportArgs, url: &DatabaseUrl) -> Result<ImportReport, Failure> {
    for (field, value) in [("batch_rows", args.batch_rows), ("jobs", args.jobs)] {
        if value == 0 {
            return Err(Error::validation(field, "must be at least 1").into());
        }
    }
    let (input, size): (Box<dyn Read + Send>, Option<u64>) = match &args.input {
        Some(path) => {
            let file = File::open(path)
                .map_err(|err| Failure::other(format!("cannot open {}: {err}", path.display())))?;
            let size = file.metadata().ok().map(|meta| meta.len());
            (Box::new(file), size)
        }
        None => (Box::new(io::stdin()), None),
    };
    let mut lines = Lines::new(BufReader::with_capacity(READ_BUFFER, input));
    // The header is checked before connecting: a file this program cannot
    // read is refused before anything is written.
    let secrets = match lines.next_line()? {
        Some(line) => format::read_header(line)?,
        None => {
            return Err(Error::validation("input", "empty: not a todo-store export").into());
        }
    };
    let config = crate::db::config(url)?;
    let mut conns = (0..args.jobs)
        .map(|_| config.establish())
        .collect::<Result<Vec<_>, _>>()?;

    let bar = progress_bar(size);
    let started = Instant::now();
    let batch_rows = args.batch_rows as usize;
    let (sender, batches) = mpsc::sync_channel::<Result<Batch, Failure>>(1);
    let (written, counts) = thread::scope(|scope| {
        let parser = scope.spawn(move || {
            let result = reader::parse(&mut lines, secrets, batch_rows, &sender);
            if let Err(failure) = &result {
                let _ = sender.send(Err(failure.clone()));
            }
            result
        });
        let written = write(&mut conns, batches, &bar)?;
        let counts = parser
            .join()
            .unwrap_or_else(|_| Err(Failure::other("the reader panicked")))?;
        Ok::<_, Failure>((written, counts))
    })?;
    let load_time = started.elapsed();
    bar.finish_and_clear();

    let started = Instant::now();
    let imported = written.imported;
    if imported.users_inserted + imported.tasks_inserted > 0
        && let Some(conn) = conns.first_mut()
    {
        sql_query("VACUUM (ANALYZE) users, tasks")
            .execute(conn)
            .map_err(Error::from)?;
    }
    let vacuum_time = started.elapsed();
    Ok(ImportReport {
        input: args.input.clone(),
        secrets,
        users_read: counts.users,
        users_inserted: imported.users_inserted,
        users_present: imported.users_present,
        tasks_read: counts.tasks,
        tasks_inserted: imported.tasks_inserted,
        tasks_present: imported.tasks_present,
        batches: written.batches,
        load_seconds: load_time.as_secs_f64(),
        rows_per_second: per_second(counts.users + counts.tasks, load_time),
        vacuum_seconds: vacuum_time.as_secs_f64(),
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
/// batch before it and is waited for. On the first error, no new batch is
/// started; those under way finish (and may commit) before it is reported.
fn write(
    conns: &mut [PgConnection],
    batches: mpsc::Receiver<Result<Batch, Failure>>,
    bar: &ProgressBar,
) -> Result<Written, Failure> {
    let jobs = conns.len();
    let (job_sender, queue) = mpsc::sync_channel::<Batch>(0);
    let queue = Mutex::new(queue);
    let (done_sender, done) = mpsc::channel::<Result<Done, Failure>>();
    thread::scope(|scope| {
        for conn in conns.iter_mut() {
            let done_sender = done_sender.clone();
            let queue = &queue;
            scope.spawn(move || work(conn, queue, &done_sender, jobs));
        }
        drop(done_sender);
        let mut progress = Progress {
            written: Written::default(),
            in_flight: 0,
            offset: 0,
            last_line: 1,
            done,
            bar,
        };
        let result = dispatch(batches, &job_sender, &mut progress, jobs);
        // Stops the workers once their batch is done; what is under way is
        // settled before an error is reported.
        drop(job_sender);
        while progress.in_flight > 0 {
            let _ = progress.wait_one();
        }
        result.map(|()| progress.written)
    })
}

/// Sends each batch to the workers once its turn has come.
fn dispatch(
    batches: mpsc::Receiver<Result<Batch, Failure>>,
    workers: &mpsc::SyncSender<Batch>,
    progress: &mut Progress<'_>,
    jobs: usize,
) -> Result<(), Failure> {
    for batch in batches {
        let batch = batch?;
        let alone = batch.records.user_count() > 0;
        progress.wait_until_below(if alone { 1 } else { jobs })?;
        workers
            .send(batch)
            .map_err(|_| Failure::other("the writers stopped"))?;
        progress.in_flight += 1;
        if alone {
            progress.wait_until_below(1)?;
        }
    }
    progress.wait_until_below(1)
}

/// One writer: imports the batches it takes from `queue` on its connection
/// until the queue closes.
fn work(
    conn: &mut PgConnection,
    queue: &Mutex<mpsc::Receiver<Batch>>,
    done: &mpsc::Sender<Result<Done, Failure>>,
    jobs: usize,
) {
    loop {
        let next = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(batch) = next else { return };
        let result = bulk::import(conn, &batch.records)
            .map(|imported| Done {
                imported,
                offset: batch.offset,
                last_line: batch.last_line,
            })
            // A batch with users is written alone (see `dispatch`).
            .map_err(|err| match batch.records.user_count() {
                0 => batch.failed(err, jobs),
                _ => batch.failed(err, 1),
            });
        if done.send(result).is_err() {
            return;
        }
    }
}

/// Batches under way, and what the finished ones did.
struct Progress<'a> {
    written: Written,
    in_flight: usize,
    offset: u64,
    last_line: u64,
    done: mpsc::Receiver<Result<Done, Failure>>,
    bar: &'a ProgressBar,
}

impl Progress<'_> {
    /// Waits for batches to finish until fewer than `limit` are under way.
    fn wait_until_below(&mut self, limit: usize) -> Result<(), Failure> {
        while self.in_flight >= limit {
            self.wait_one()?;
        }
        Ok(())
    }

    fn wait_one(&mut self) -> Result<(), Failure> {
        let result = self
            .done
            .recv()
            .map_err(|_| Failure::other("the writers stopped"));
        self.in_flight -= 1;
        let done = result??;
        self.written.imported += done.imported;
        self.written.batches += 1;
        self.offset = self.offset.max(done.offset);
        self.last_line = self.last_line.max(done.last_line);
        self.bar.set_position(self.offset);
        self.bar
            .set_message(format!("{} lines", self.last_line.saturating_sub(1)));
        Ok(())
    }
}

/// Input read, in bytes (of a file of known size) or in lines, on stderr,
/// drawn only when stderr is a terminal.
fn progress_bar(size: Option<u64>) -> ProgressBar {
    let (template, length) = match size {
        Some(size) => (
            "{elapsed_precise} [{wide_bar}] {bytes}/{total_bytes}, {msg} imported, ETA {eta}",
            Some(size),
        ),
        None => ("{elapsed_precise} {spinner} {msg} imported", None),
    };
    let bar = ProgressBar::with_draw_target(length, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
