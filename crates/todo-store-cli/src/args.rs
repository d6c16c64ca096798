//! The command line, as clap definitions.
//!
//! Values the library has rules for (priorities, ids, dates, cursors, versions,
//! limits) are taken as plain text here and parsed by [`crate::input`], so that a
//! bad value is a validation error (exit 3) with the library's wording rather
//! than a clap usage error (exit 2). Clap keeps what is purely syntax: unknown
//! flags, missing arguments, and the fixed choices of `--status`, `--sort` and
//! `--order`, each of which converts into its library type by `From`.

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use todo_store::{
    DEFAULT_HISTORY_RETENTION_DAYS, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, SortKey, SortOrder,
    StatusFilter,
};
use todo_store_cmd::GlobalArgs;

/// The whole command line.
#[derive(Debug, Parser)]
#[command(
    name = "todo-store",
    version,
    about = "Operator tool for the todo-store database: schema, users and their tasks."
)]
pub struct Cli {
    // `--database-url URL`, `--json`.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the database if it is missing, then run pending migrations
    /// (and, with --app-role, set up the role the application connects as)
    Setup(SetupArgs),
    /// Apply, revert or list schema migrations
    #[command(subcommand)]
    Migrate(MigrateCommand),
    /// Guided tour: two users, their tasks, and how they are kept apart; cleans up after itself
    Demo,
    /// Manage user accounts
    #[command(subcommand)]
    User(UserCommand),
    /// Manage one user's tasks
    #[command(subcommand)]
    Task(TaskCommand),
    /// Write users and then tasks as JSON Lines: a logical backup that
    /// `import` restores
    #[command(long_about = EXPORT_HELP)]
    Export(ExportArgs),
    /// Read an `export` file back into the database, in batches; safe to run
    /// again
    #[command(long_about = IMPORT_HELP)]
    Import(ImportArgs),
    /// Look after the task history that the database records (every user's)
    #[command(subcommand)]
    History(HistoryCommand),
    /// Show or set how many tasks a user may have (the database enforces it)
    #[command(subcommand)]
    Limit(LimitCommand),
}

const EXPORT_HELP: &str = "\
Write users and then tasks as JSON Lines: a logical backup that `import` restores.

The first line is a header, {\"format\":\"todo-store\",\"version\":1,\"secrets\":false}; then one
line per user (by id), one per task (by owner, then id), and an end line that counts them.
Times are RFC 3339 UTC with six fractional digits. Nothing in the file depends on when or
where it was written: exporting the same data twice gives the same bytes.

The export reads one consistent snapshot (a REPEATABLE READ transaction) in pages of 10,000
rows, in constant memory, without blocking writers. Password hashes are left out unless
--include-secrets is given: restored users then have no password until one is set (an
external auth subject is kept either way). A file with secrets must be kept like the
database itself.

With --output, the file is written beside FILE (FILE.partial) and renamed into place only
once complete and synced, and a summary is printed; without it, the lines go to stdout and
nothing else does.";

const IMPORT_HELP: &str = "\
Read an `export` file back into the database, in batches; safe to run again.

The header is checked first: a file that is not a todo-store export, or of a format version
this program does not know, is refused before anything is written (exit 3). Lines are then
read one at a time and checked by the same rules as every other write (a bad line is named
by its number, exit 3); every task's user must come on an earlier line of the file.

Each batch of --batch-rows lines is one transaction; --jobs batches are written at once, on
as many connections (a batch holding users alone, before the tasks after it). Import is
idempotent: users and tasks keep their ids, timestamps and versions, and a record already
stored under its id with the same values is left as it is and counted as already present,
so importing the same file twice changes nothing the second time. Users and tasks already in
the database are never changed or removed, and no record is dropped without a word: two
accounts under one id anywhere in the file, or two tasks under one id in one batch, with
other values, are refused naming both lines (exit 3); a record that contradicts the one
stored under its id (changed since the backup, or stored by another batch of the file) is
refused naming the id and its line (exit 5).

If a line is bad (or the file is cut short, which the missing end line reveals), the
batches before it stay committed and nothing from its batch on is written; the error names
the line. If the database refuses a batch (a new user whose email address or auth subject
another account already has: a conflict, exit 5), that batch is not written, the batches
before it are, and with --jobs N up to N-1 batches after it may be; the error names the
batch's lines. Either way, fix the cause and run the same import again: what was imported
is skipped.";

/// `setup`
#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Also create (if missing) the role NAME that the application connects
    /// as: LOGIN, no superuser, no BYPASSRLS, granted only what the library
    /// needs on this database, so that row-level security holds it to one
    /// user's rows per call. Refused if the role would bypass row-level
    /// security. Set its password afterwards, e.g. psql's `\password NAME`.
    #[arg(long, value_name = "NAME")]
    pub app_role: Option<String>,
    /// Also link accounts to Better Auth's "user" table in this database:
    /// users.auth_subject becomes a foreign key to "user"(id), ON DELETE
    /// CASCADE, so that deleting a user in Better Auth deletes their account
    /// and tasks here. Run Better Auth's migrations first
    #[arg(long, conflicts_with = "unlink_better_auth")]
    pub better_auth: bool,
    /// Remove that link again (accounts and tasks stay)
    #[arg(long)]
    pub unlink_better_auth: bool,
}

/// `export`
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Only this account and its tasks (email address, any letter case)
    #[arg(long = "user", value_name = "EMAIL")]
    pub user: Option<String>,
    /// Write to FILE (replaced only once the export is complete) instead of stdout
    #[arg(long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// Include password hashes, so that users can log in after a restore
    #[arg(long)]
    pub include_secrets: bool,
}

/// `import`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Read FILE instead of stdin
    #[arg(long, value_name = "FILE")]
    pub input: Option<std::path::PathBuf>,
    /// Lines per transaction
    #[arg(long, value_name = "ROWS", default_value_t = 20_000)]
    pub batch_rows: u32,
    /// Batches written at once, each on a connection of its own (batches
    /// holding users are always written alone, before the tasks after them)
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub jobs: u32,
}

/// `migrate …`
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum MigrateCommand {
    /// Apply every pending migration
    Run,
    /// Revert the most recent migration
    Revert,
    /// List applied and pending migrations
    Status,
}

/// `user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account
    Add(UserAdd),
    /// List every account
    List,
    /// Show one account
    Show {
        /// The account's email address (any letter case)
        email: String,
    },
    /// Delete an account and all of its tasks
    Delete {
        /// The account's email address (any letter case)
        email: String,
    },
    /// Set an account's password, read from stdin
    Passwd(UserPasswd),
}

/// `user add`
#[derive(Debug, Args)]
pub struct UserAdd {
    /// The new account's email address
    pub email: String,
    /// Display name
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Read a password from the first line of stdin (without it the account
    /// cannot log in with a password)
    #[arg(long)]
    pub password_stdin: bool,
    /// Subject id at an external auth service (a JWT `sub`)
    #[arg(long, value_name = "SUB")]
    pub auth_subject: Option<String>,
}

/// `user passwd`
#[derive(Debug, Args)]
pub struct UserPasswd {
    /// The account's email address
    pub email: String,
    /// Read the new password from the first line of stdin (required: passwords
    /// are never taken as arguments, which other users can see in `ps`)
    #[arg(long, required = true)]
    pub password_stdin: bool,
}

/// `task …`
#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Create a task
    Add(TaskAdd),
    /// List tasks, one page at a time
    List(TaskList),
    /// Show one task
    Show(TaskRef),
    /// Change a task's fields
    Edit(TaskEdit),
    /// Mark a task done
    Done(TaskTarget),
    /// Mark a task open again
    Undo(TaskTarget),
    /// Delete a task
    Rm(TaskTarget),
    /// Show a task's changes, newest first (also once it is deleted, for as
    /// long as its history is kept)
    History(TaskHistory),
    /// Print a user's sync token, or with --since what changed after one
    #[command(long_about = CHANGES_HELP)]
    Changes(TaskChanges),
}

const CHANGES_HELP: &str = "\
Follow a user's change feed, as a device that syncs does.

Without --since, print the user's current sync token and nothing else: the starting point.
Take it before reading all tasks (`task list`), so that no change made meanwhile is missed.

With --since TOKEN, print the tasks created or changed since TOKEN (as they are now), the ids
of those deleted since, the token to ask with next time, and whether more changes are
waiting (then ask again at once with the new token). A token is the user's own: an edited
one, or another user's, is invalid input (exit 3). A token older than the history kept (see
`history prune`), or made before the database was restored, cannot be answered (exit 5):
take a new token, then read all tasks again.";

/// The account whose tasks a `task` command works on.
#[derive(Debug, Args)]
pub struct UserArg {
    /// Email address of the account whose tasks to use
    #[arg(long = "user", value_name = "EMAIL")]
    pub email: String,
}

/// `task add`
#[derive(Debug, Args)]
pub struct TaskAdd {
    // `--user EMAIL`.
    #[command(flatten)]
    pub user: UserArg,
    /// The title: one line, 1 to 500 characters
    pub title: String,
    /// Longer free text
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// 1 (most urgent) to 5; 3 by default
    #[arg(long, value_name = "1-5", allow_negative_numbers = true)]
    pub priority: Option<String>,
    /// Due time, RFC 3339, e.g. 2030-01-31T17:00:00Z
    #[arg(long, value_name = "RFC3339")]
    pub due: Option<String>,
    /// The task's id (a UUID), chosen by the caller: running the same command
    /// again then returns the same task instead of making a second one
    #[arg(long, value_name = "UUID")]
    pub id: Option<String>,
}

/// `task list`
#[derive(Debug, Args)]
pub struct TaskList {
    // `--user EMAIL`.
    #[command(flatten)]
    pub user: UserArg,
    /// Which tasks, by completion
    #[arg(long, value_enum, default_value_t = StatusArg::All)]
    pub status: StatusArg,
    /// Only priorities of at least N (1 is the most urgent)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub priority_min: Option<String>,
    /// Only priorities of at most N
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub priority_max: Option<String>,
    /// Only tasks whose title or description contains TEXT (any case)
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// Sort key
    #[arg(long, value_enum, default_value_t = SortArg::Created)]
    pub sort: SortArg,
    /// Sort direction
    #[arg(long, value_enum, default_value_t = OrderArg::Asc)]
    pub order: OrderArg,
    /// Tasks per page (default 50, at most 200)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub limit: Option<String>,
    /// Continue after this cursor, printed with the previous page
    #[arg(long, value_name = "CURSOR")]
    pub after: Option<String>,
}

/// One task of one user: `task show`.
#[derive(Debug, Args)]
pub struct TaskRef {
    // `--user EMAIL`.
    #[command(flatten)]
    pub user: UserArg,
    /// The task's id
    pub id: String,
}

/// A change to one task that may be guarded by its version: `done`, `undo`, `rm`.
#[derive(Debug, Args)]
pub struct TaskTarget {
    // `--user EMAIL ID`.
    #[command(flatten)]
    pub task: TaskRef,
    /// Act only if the task is still at version V
    #[arg(long, value_name = "V", allow_negative_numbers = true)]
    pub if_version: Option<String>,
}

/// `task edit`
#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("changes")
        .required(true)
        .multiple(true)
        .args(["title", "description", "clear_description", "priority", "due", "clear_due"])
))]
pub struct TaskEdit {
    // `--user EMAIL`.
    #[command(flatten)]
    pub user: UserArg,
    /// The task's id
    pub id: String,
    /// New title
    #[arg(long, value_name = "T")]
    pub title: Option<String>,
    /// New description
    #[arg(long, value_name = "D", conflicts_with = "clear_description")]
    pub description: Option<String>,
    /// Remove the description
    #[arg(long)]
    pub clear_description: bool,
    /// New priority, 1 to 5
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub priority: Option<String>,
    /// New due time, RFC 3339
    #[arg(long, value_name = "RFC3339", conflicts_with = "clear_due")]
    pub due: Option<String>,
    /// Remove the due time
    #[arg(long)]
    pub clear_due: bool,
    /// Change only if the task is still at version V
    #[arg(long, value_name = "V", allow_negative_numbers = true)]
    pub if_version: Option<String>,
}

/// `task history`
#[derive(Debug, Args)]
pub struct TaskHistory {
    // `--user EMAIL ID`.
    #[command(flatten)]
    pub task: TaskRef,
    // The page size; its help names the library's limits.
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help = page_help("Changes per page")
    )]
    pub limit: Option<String>,
    /// Only changes numbered below SEQ: the next page, printed with the
    /// previous one
    #[arg(long, value_name = "SEQ", allow_negative_numbers = true)]
    pub before: Option<String>,
}

/// `task changes`
#[derive(Debug, Args)]
pub struct TaskChanges {
    // `--user EMAIL`.
    #[command(flatten)]
    pub user: UserArg,
    /// The token printed last time (or by `task changes` without --since)
    #[arg(long, value_name = "TOKEN")]
    pub since: Option<String>,
    // The page size; its help names the library's limits.
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        requires = "since",
        help = page_help("Changes per call with --since")
    )]
    pub limit: Option<String>,
}

/// `history …`
#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Delete the history older than a number of days, for every user (a
    /// sync token from before it then needs a full reload)
    #[command(long_about = PRUNE_HELP)]
    Prune(HistoryPrune),
}

const PRUNE_HELP: &str = "\
Delete the task history recorded more than --older-than days ago, for every user, in one
transaction; print how many changes of how many users were deleted.

A user's sync token from before the deleted changes can no longer be answered: a device
holding one is told to read all its tasks again. Schedule this (daily, say, from cron) with
the retention you choose. It needs a role that bypasses row-level security (the tables'
owner or a superuser).";

/// `history prune`
#[derive(Debug, Args)]
pub struct HistoryPrune {
    // Required: deleting history is never a default. Its help names the
    // library's suggested retention.
    #[arg(
        long,
        value_name = "DAYS",
        required = true,
        allow_negative_numbers = true,
        help = older_than_help()
    )]
    pub older_than: String,
}

/// `limit …`
#[derive(Debug, Subcommand)]
pub enum LimitCommand {
    /// Show the deployment's task limit, or a user's tasks and limit
    Show(LimitShow),
    /// Set the deployment's task limit, or one user's own
    #[command(long_about = LIMIT_SET_HELP)]
    Set(LimitSet),
    /// Take a user back to the deployment's limit
    Reset(LimitReset),
}

const LIMIT_SET_HELP: &str = "\
Set the deployment's task limit (every user without a limit of their own), or with --user
one user's own limit.

The database refuses any write that would leave a user with more tasks than their limit
(exit 7), whoever sends it. Lowering a limit deletes nothing: a user above it can still
change and delete tasks, and create again once below. It needs the tables' owner or a role
that bypasses row-level security.";

/// `limit show`
#[derive(Debug, Args)]
pub struct LimitShow {
    /// A user's tasks and limit, instead of the deployment's limit
    #[arg(long, value_name = "EMAIL")]
    pub user: Option<String>,
}

/// `limit set`
#[derive(Debug, Args)]
pub struct LimitSet {
    /// The most tasks a user may have (0 forbids creating any)
    #[arg(value_name = "MAX_TASKS", allow_negative_numbers = true)]
    pub max_tasks: String,
    /// Set this user's own limit instead of the deployment's
    #[arg(long, value_name = "EMAIL")]
    pub user: Option<String>,
}

/// `limit reset`
#[derive(Debug, Args)]
pub struct LimitReset {
    /// The user whose own limit is dropped
    #[arg(long, value_name = "EMAIL", required = true)]
    pub user: String,
}

/// The help of a `--limit` flag, with the library's page sizes.
fn page_help(what: &str) -> String {
    format!("{what} (default {DEFAULT_PAGE_SIZE}, at most {MAX_PAGE_SIZE})")
}

/// The help of `--older-than`, with the library's suggested retention.
fn older_than_help() -> String {
    format!(
        "Delete history older than DAYS days (required; the suggested retention is \
         {DEFAULT_HISTORY_RETENTION_DAYS})"
    )
}

/// `--status`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    /// Tasks still to do
    Open,
    /// Completed tasks
    Done,
    /// Both
    All,
}

impl From<StatusArg> for StatusFilter {
    fn from(arg: StatusArg) -> Self {
        match arg {
            StatusArg::Open => Self::Open,
            StatusArg::Done => Self::Done,
            StatusArg::All => Self::All,
        }
    }
}

/// `--sort`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortArg {
    /// Creation time
    Created,
    /// Time of the last change
    Updated,
    /// Priority (ascending: most urgent first)
    Priority,
    /// Due time (ascending: soonest first, undated last)
    Due,
    /// Title, any case
    Title,
}

impl From<SortArg> for SortKey {
    fn from(arg: SortArg) -> Self {
        match arg {
            SortArg::Created => Self::Created,
            SortArg::Updated => Self::Updated,
            SortArg::Priority => Self::Priority,
            SortArg::Due => Self::Due,
            SortArg::Title => Self::Title,
        }
    }
}

/// `--order`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OrderArg {
    /// Smallest first
    Asc,
    /// Largest first
    Desc,
}

impl From<OrderArg> for SortOrder {
    fn from(arg: OrderArg) -> Self {
        match arg {
            OrderArg::Asc => Self::Asc,
            OrderArg::Desc => Self::Desc,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
