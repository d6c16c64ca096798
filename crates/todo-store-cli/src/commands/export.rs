//! `export`: [`backup::export`] to a file (replaced only once complete) or
//! stdout, with a row counter on stderr.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Write},
    path::{Path, PathBuf},
    time::Instant,
};

use diesel::PgConnection;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use todo_store::{
    DatabaseUrl,
    backup::{self, ExportSummary},
    bulk::{Accounts, ExportOptions, Secrets},
};

use todo_store_cmd::Failure;

use crate::{
    args::ExportArgs,
    db,
    output::{Format, Report},
    owner::operator_owner,
    render::per_second,
};

/// What an export to a file did (one to stdout prints only its lines).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportReport {
    /// The file written.
    pub output: PathBuf,
    /// Whether password hashes were written.
    pub secrets: bool,
    /// User lines written.
    pub users: u64,
    /// Task lines written.
    pub tasks: u64,
    /// Sync state lines written (one per user with history).
    pub sync_states: u64,
    /// Change lines written (the task history).
    pub changes: u64,
    /// Size of the output.
    pub bytes: u64,
    /// Time taken, in seconds.
    pub seconds: f64,
    /// Rows (users, tasks, sync states and changes) per second.
    pub rows_per_second: f64,
}

impl Report for ExportReport {
    fn text(&self) -> String {
        format!(
            "Exported {} users and {} tasks with {} changes of history ({}) to {}: \
             {} bytes in {:.1} s ({:.0} rows/s).\n",
            self.users,
            self.tasks,
            self.changes,
            if self.secrets {
                "with password hashes: keep this file secret"
            } else {
                "without password hashes"
            },
            self.output.display(),
            self.bytes,
            self.seconds,
            self.rows_per_second
        )
    }
}

/// Runs `export`, and prints its summary when it went to a file.
///
/// # Errors
/// "user not found" (exit 4) for an unknown `--user`; the library's error if
/// the database fails; exit 1 if the output cannot be written. A file named
/// by `--output` is then left as it was: the export is written beside it and
/// renamed into place only when complete.
pub fn run(args: &ExportArgs, url: &DatabaseUrl, format: Format) -> Result<(), Failure> {
    let mut conn = db::connect(url)?;
    let accounts = match &args.user {
        Some(email) => Accounts::One(operator_owner(&mut conn, email)?),
        None => Accounts::All,
    };
    let secrets = match args.include_secrets {
        true => Secrets::Include,
        false => Secrets::Omit,
    };
    let options = ExportOptions::default().accounts(accounts).secrets(secrets);
    let Some(path) = &args.output else {
        write(&mut conn, &options, &mut io::stdout())?;
        return Ok(());
    };
    let started = Instant::now();
    let partial = partial_path(path);
    let result = create(&partial, args.include_secrets)
        .map_err(|err| io_failure("cannot create", &partial, &err))
        .and_then(|mut file| {
            let written = write(&mut conn, &options, &mut file)?;
            file.sync_all()
                .map_err(|err| io_failure("cannot sync", &partial, &err))?;
            fs::rename(&partial, path)
                .map_err(|err| io_failure("cannot rename the export to", path, &err))?;
            Ok(written)
        });
    let written = result.inspect_err(|_| {
        let _ = fs::remove_file(&partial);
    })?;
    let time = started.elapsed();
    format.print(&ExportReport {
        output: path.clone(),
        secrets: args.include_secrets,
        users: written.users,
        tasks: written.tasks,
        sync_states: written.sync_states,
        changes: written.changes,
        bytes: written.bytes,
        seconds: time.as_secs_f64(),
        rows_per_second: per_second(
            written.users + written.tasks + written.sync_states + written.changes,
            time,
        ),
    })
}

/// The export, with the row counter drawn meanwhile.
fn write(
    conn: &mut PgConnection,
    options: &ExportOptions,
    out: &mut (impl Write + Send),
) -> Result<ExportSummary, Failure> {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{elapsed_precise} {spinner} {human_pos} rows exported, {per_sec}",
    ) {
        bar.set_style(style);
    }
    let written = backup::export(conn, options, out, |read| {
        bar.set_position(read.users + read.tasks + read.sync_states + read.changes);
    });
    bar.finish_and_clear();
    Ok(written?)
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
