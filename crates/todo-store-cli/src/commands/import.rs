//! `import`: a file or stdin through [`backup::import`], on `--jobs`
//! connections, with a progress bar on stderr.

use std::{
    fs::File,
    io::{self, BufReader, Read},
    path::PathBuf,
};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use todo_store::{
    DatabaseUrl, Error,
    backup::{self, BackupReader, ImportOptions},
    bulk::Secrets,
};

use todo_store_cmd::Failure;

use crate::{
    args::ImportArgs,
    output::{Format, Report},
    render::per_second,
};

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
    /// The file's format version (1 carries no history).
    pub version: u64,
    /// Sync state lines read.
    pub sync_states_read: u64,
    /// Change lines read (the task history).
    pub changes_read: u64,
    /// Changes written.
    pub changes_inserted: u64,
    /// Changes already stored (left as they were).
    pub changes_present: u64,
    /// Transactions committed.
    pub batches: u64,
    /// Time spent reading and writing, in seconds.
    pub load_seconds: f64,
    /// Records (users, tasks, sync states and changes) read per second.
    pub rows_per_second: f64,
    /// Time spent on `VACUUM (ANALYZE)` afterwards (0 if nothing was written).
    pub vacuum_seconds: f64,
}

impl Report for ImportReport {
    fn text(&self) -> String {
        let input = self
            .input
            .as_ref()
            .map_or_else(|| "stdin".to_owned(), |path| path.display().to_string());
        format!(
            "Imported {input} (version {}, {}) in {} batch(es), {:.1} s ({:.0} rows/s); VACUUM (ANALYZE) took {:.1} s.\n\
             users: {} read, {} inserted, {} already present\n\
             tasks: {} read, {} inserted, {} already present\n\
             history: {} changes read, {} inserted, {} already present\n",
            self.version,
            if self.secrets {
                "with password hashes"
            } else {
                "without password hashes"
            },
            self.batches,
            self.load_seconds,
            self.rows_per_second,
            self.vacuum_seconds,
            self.users_read,
            self.users_inserted,
            self.users_present,
            self.tasks_read,
            self.tasks_inserted,
            self.tasks_present,
            self.changes_read,
            self.changes_inserted,
            self.changes_present
        )
    }
}

/// Runs `import`, and prints what it did.
///
/// # Errors
/// Exit 3 for a file that is not an export of a version this program reads
/// (before anything is written) or a bad or self-contradicting line, exit 5
/// for a conflict with stored data, each naming the lines; the library's
/// error if the database fails. Batches committed before the error stay.
pub fn run(args: &ImportArgs, url: &DatabaseUrl, format: Format) -> Result<(), Failure> {
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
    // A file this program cannot read is refused before connecting.
    let reader = BackupReader::new(BufReader::with_capacity(READ_BUFFER, input))?;
    let version = reader.version();
    let config = crate::db::config(url)?;
    let mut conns = (0..args.jobs)
        .map(|_| config.establish())
        .collect::<Result<Vec<_>, _>>()?;

    let bar = progress_bar(size);
    let options = ImportOptions::default().batch_rows(args.batch_rows);
    let summary = backup::import(&mut conns, reader, &options, |progress| {
        bar.set_position(progress.bytes);
        bar.set_message(format!("{} lines", progress.lines.saturating_sub(1)));
    });
    bar.finish_and_clear();
    let summary = summary?;
    let imported = summary.imported;
    format.print(&ImportReport {
        input: args.input.clone(),
        secrets: summary.secrets == Secrets::Include,
        users_read: summary.users_read,
        users_inserted: imported.users_inserted,
        users_present: imported.users_present,
        tasks_read: summary.tasks_read,
        tasks_inserted: imported.tasks_inserted,
        tasks_present: imported.tasks_present,
        version,
        sync_states_read: summary.sync_states_read,
        changes_read: summary.changes_read,
        changes_inserted: imported.changes_inserted,
        changes_present: imported.changes_present,
        batches: summary.batches,
        load_seconds: summary.load_time.as_secs_f64(),
        rows_per_second: per_second(
            summary.users_read
                + summary.tasks_read
                + summary.sync_states_read
                + summary.changes_read,
            summary.load_time,
        ),
        vacuum_seconds: summary.vacuum_time.as_secs_f64(),
    })
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
