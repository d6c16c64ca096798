//! `export`: users then tasks as JSON Lines, streamed in constant memory.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, BufWriter, Write},
    path::{Path, PathBuf},
    sync::mpsc,
    thread,
    time::Instant,
};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use todo_store::{
    DatabaseUrl,
    bulk::{self, ExportChunk, ExportOptions, ExportScope, Secrets},
};

use super::{
    format::{End, Header, LineOut, TaskOut, UserOut},
    per_second,
};
use crate::{args::ExportArgs, commands::operator_owner, db, exit::Failure};

/// Bytes buffered before a write to the output.
const WRITE_BUFFER: usize = 1 << 20;

/// What `export` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportReport {
    /// The file written; `None` for stdout, in which case nothing else is
    /// printed there.
    pub output: Option<PathBuf>,
    /// Whether password hashes were written.
    pub secrets: bool,
    /// User lines written.
    pub users: u64,
    /// Task lines written.
    pub tasks: u64,
    /// Size of the output.
    pub bytes: u64,
    /// Time taken, in seconds.
    pub seconds: f64,
    /// Rows (users and tasks) per second.
    pub rows_per_second: f64,
}

/// Runs `export`.
///
/// # Errors
/// "user not found" (exit 4) for an unknown `--user`; the library's error if
/// the database fails; exit 1 if the output cannot be written. A file named
/// by `--output` is then left as it was: the export is written beside it and
/// renamed into place only when complete.
pub fn run(args: &ExportArgs, url: &DatabaseUrl) -> Result<ExportReport, Failure> {
    let mut conn = db::connect(url)?;
    let scope = match &args.user {
        Some(email) => ExportScope::User(operator_owner(&mut conn, email)?.user_id()),
        None => ExportScope::All,
    };
    let secrets = match args.include_secrets {
        true => Secrets::Include,
        false => Secrets::Omit,
    };
    let options = ExportOptions::default().scope(scope).secrets(secrets);
    let started = Instant::now();
    let report = match &args.output {
        None => {
            let written = write_all(&mut conn, &options, io::stdout())?;
            report(None, args.include_secrets, written, started)
        }
        Some(path) => {
            let partial = partial_path(path);
            let result = create(&partial, args.include_secrets)
                .map_err(|err| io_failure("cannot create", &partial, &err))
                .and_then(|file| write_all(&mut conn, &options, file))
                .and_then(|written| {
                    fs::rename(&partial, path)
                        .map_err(|err| io_failure("cannot rename the export to", path, &err))?;
                    Ok(written)
                });
            match result {
                Ok(written) => report(Some(path.clone()), args.include_secrets, written, started),
                Err(failure) => {
                    let _ = fs::remove_file(&partial);
                    return Err(failure);
                }
            }
        }
    };
    Ok(report)
}

fn report(
    output: Option<PathBuf>,
    secrets: bool,
    written: Written,
    started: Instant,
) -> ExportReport {
    let time = started.elapsed();
    ExportReport {
        output,
        secrets,
        users: written.users,
        tasks: written.tasks,
        bytes: written.bytes,
        seconds: time.as_secs_f64(),
        rows_per_second: per_second(written.users + written.tasks, time),
    }
}

/// A new (or emptied) file; one holding password hashes is readable by its
/// owner only, even if a file of that name (a killed run's) already existed
/// with wider permissions: `mode` applies only to a file it creates.
fn create(path: &Path, secrets: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secrets {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path)?;
    #[cfg(unix)]
    if secrets {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = secrets;
    Ok(file)
}

/// `FILE.partial` beside `FILE`.
fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

fn io_failure(what: &str, path: &Path, err: &io::Error) -> Failure {
    Failure::other(format!("{what} {}: {err}", path.display()))
}

/// What the writer wrote.
#[derive(Debug, Clone, Copy, Default)]
struct Written {
    /// Lines started (0 until the header is written).
    lines: u64,
    users: u64,
    tasks: u64,
    bytes: u64,
}

/// Somewhere to write the lines: stdout or a file, synced to disk at the end.
trait Sink: Write + Send {
    fn finish(&mut self) -> io::Result<()>;
}

impl Sink for io::Stdout {
    fn finish(&mut self) -> io::Result<()> {
        self.flush()
    }
}

impl Sink for File {
    fn finish(&mut self) -> io::Result<()> {
        self.flush()?;
        self.sync_all()
    }
}

/// What the reading thread hands the writing one.
enum Piece {
    /// A page to write.
    Chunk(ExportChunk),
    /// The export is complete: write the end line.
    End,
}

/// Reads on this thread while a second one turns the previous page into
/// lines and writes them.
fn write_all(
    conn: &mut diesel::PgConnection,
    options: &ExportOptions,
    sink: impl Sink,
) -> Result<Written, Failure> {
    let secrets = options.secrets == Secrets::Include;
    let bar = progress_bar();
    let (sender, pieces) = mpsc::sync_channel::<Piece>(2);
    let (read, written) = thread::scope(|scope| {
        let writer = scope.spawn(|| write_lines(pieces, sink, secrets, &bar));
        let read = bulk::export(conn, options, |chunk| {
            // The writer stopped (it failed): stop reading; its error is the one to report.
            sender
                .send(Piece::Chunk(chunk))
                .map_err(|_| Failure::other("the writer stopped"))
        });
        if read.is_ok() {
            let _ = sender.send(Piece::End);
        }
        drop(sender);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the writer panicked")));
        (read, written)
    });
    bar.finish_and_clear();
    let written =
        written.map_err(|err| Failure::other(format!("cannot write the export: {err}")))?;
    read?;
    written.ok_or_else(|| Failure::other("the export stopped before its end"))
}

/// Writes the header when the first page arrives (so that an export failing
/// at once writes nothing), then every page, then the end line when told the
/// export is complete. Without that word (the reading failed), what is still
/// buffered is dropped and there is no end line, so that an import refuses
/// the output as truncated; `None` then.
fn write_lines(
    pieces: mpsc::Receiver<Piece>,
    sink: impl Sink,
    secrets: bool,
    bar: &ProgressBar,
) -> io::Result<Option<Written>> {
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, Counting::new(sink));
    let mut written = Written::default();
    for piece in pieces {
        if written.lines == 0 {
            line(&mut out, &Header::current(secrets))?;
            written.lines += 1;
        }
        match piece {
            Piece::Chunk(ExportChunk::Users(users)) => {
                for user in &users {
                    line(&mut out, &LineOut::User(UserOut::new(user, secrets)))?;
                }
                written.users += users.len() as u64;
                bar.inc(users.len() as u64);
            }
            Piece::Chunk(ExportChunk::Tasks(tasks)) => {
                for (owner, task) in &tasks {
                    line(&mut out, &LineOut::Task(TaskOut::new(*owner, task)))?;
                }
                written.tasks += tasks.len() as u64;
                bar.inc(tasks.len() as u64);
            }
            Piece::End => {
                let end = End {
                    users: written.users,
                    tasks: written.tasks,
                };
                line(&mut out, &LineOut::End(end))?;
                let mut counting = out.into_inner().map_err(io::IntoInnerError::into_error)?;
                counting.inner.finish()?;
                written.bytes = counting.bytes;
                return Ok(Some(written));
            }
        }
    }
    // Not flushed: the buffer is dropped unwritten.
    let _ = out.into_parts();
    Ok(None)
}

fn line(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

/// A writer that counts the bytes it passes on.
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W> Counting<W> {
    fn new(inner: W) -> Self {
        Self { inner, bytes: 0 }
    }
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

/// A row counter on stderr, drawn only when stderr is a terminal.
fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{elapsed_precise} {spinner} {human_pos} rows exported, {per_sec}",
    ) {
        bar.set_style(style);
    }
    bar
}
