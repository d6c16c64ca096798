//! What a command prints: commands return a [`Report`], and `main` prints it
//! once, either as exactly one JSON document or as text for people.

use std::io::{self, Write};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use todo_store::{Page, Task, TaskId, User, UserId};

use crate::{
    commands::{
        backup::{export::ExportReport, import::ImportReport},
        demo::DemoSummary,
        setup::SetupReport,
    },
    table::Table,
};

/// Longest title shown in a task table; `task show` prints it whole.
const TABLE_TITLE_CHARS: usize = 60;

/// The result of a successful command.
#[derive(Debug)]
pub enum Report {
    /// `setup`.
    Setup(SetupReport),
    /// `migrate run`: the versions applied.
    Migrated(Vec<String>),
    /// `migrate revert`: the version reverted.
    Reverted(String),
    /// `migrate status`.
    MigrationStatus {
        /// Versions applied, oldest first.
        applied: Vec<String>,
        /// Versions not applied yet, oldest first.
        pending: Vec<String>,
    },
    /// `user add`, `user show`.
    User(UserEvent, User),
    /// `user list`: every account.
    Users(Vec<User>),
    /// `user delete`.
    UserDeleted {
        /// The account as it was.
        user: User,
        /// How many tasks went with it.
        tasks_deleted: u64,
    },
    /// `user passwd`.
    PasswordChanged(User),
    /// `task add|show|edit|done|undo`.
    Task(TaskEvent, Task),
    /// `task list`.
    Tasks(Page<Task>),
    /// `task rm`.
    TaskDeleted(TaskId),
    /// `demo`.
    Demo(DemoSummary),
    /// `export`: printed only when the export went to a file (on stdout,
    /// the lines are the output).
    Export(ExportReport),
    /// `import`.
    Import(ImportReport),
}

/// What happened to the user a [`Report::User`] shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserEvent {
    /// Just created.
    Created,
    /// Looked up.
    Shown,
}

/// What happened to the task a [`Report::Task`] shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskEvent {
    /// Just created.
    Created,
    /// Looked up.
    Shown,
    /// Fields changed.
    Updated,
    /// Marked done.
    Done,
    /// Marked open again.
    Reopened,
}

/// `{"deleted": true, ...}` for commands whose object is gone.
#[derive(Serialize)]
struct Deleted<Id> {
    deleted: bool,
    id: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tasks_deleted: Option<u64>,
}

#[derive(Serialize)]
struct PasswordChanged<'a> {
    password_changed: bool,
    id: UserId,
    email: &'a str,
}

#[derive(Serialize)]
struct Applied<'a> {
    applied: &'a [String],
}

#[derive(Serialize)]
struct Reverted<'a> {
    reverted: &'a str,
}

#[derive(Serialize)]
struct MigrationStatus<'a> {
    applied: &'a [String],
    pending: &'a [String],
}

/// Users are listed in full, so there is never a next page.
#[derive(Serialize)]
struct UserList<'a> {
    items: &'a [User],
    next_cursor: Option<()>,
}

impl Report {
    /// Prints the report on stdout: one JSON document if `json`, else text.
    ///
    /// # Errors
    /// If stdout cannot be written (e.g. a closed pipe).
    pub fn print(&self, json: bool) -> io::Result<()> {
        if matches!(self, Report::Export(ExportReport { output: None, .. })) {
            return Ok(());
        }
        let mut out = io::stdout().lock();
        if json {
            self.write_json(&mut out)?;
            writeln!(out)?;
        } else {
            out.write_all(self.text().as_bytes())?;
        }
        out.flush()
    }

    fn write_json(&self, mut out: impl Write) -> io::Result<()> {
        let written = match self {
            Report::Setup(report) => serde_json::to_writer_pretty(&mut out, report),
            Report::Migrated(applied) => {
                serde_json::to_writer_pretty(&mut out, &Applied { applied })
            }
            Report::Reverted(version) => {
                serde_json::to_writer_pretty(&mut out, &Reverted { reverted: version })
            }
            Report::MigrationStatus { applied, pending } => {
                serde_json::to_writer_pretty(&mut out, &MigrationStatus { applied, pending })
            }
            Report::PasswordChanged(user) => serde_json::to_writer_pretty(
                &mut out,
                &PasswordChanged {
                    password_changed: true,
                    id: user.id,
                    email: &user.email,
                },
            ),
            Report::User(_, user) => serde_json::to_writer_pretty(&mut out, user),
            Report::Users(users) => serde_json::to_writer_pretty(
                &mut out,
                &UserList {
                    items: users,
                    next_cursor: None,
                },
            ),
            Report::UserDeleted {
                user,
                tasks_deleted,
            } => serde_json::to_writer_pretty(
                &mut out,
                &Deleted {
                    deleted: true,
                    id: user.id,
                    email: Some(user.email.clone()),
                    tasks_deleted: Some(*tasks_deleted),
                },
            ),
            Report::Task(_, task) => serde_json::to_writer_pretty(&mut out, task),
            Report::Tasks(page) => serde_json::to_writer_pretty(&mut out, page),
            Report::TaskDeleted(id) => serde_json::to_writer_pretty(
                &mut out,
                &Deleted {
                    deleted: true,
                    id: *id,
                    email: None,
                    tasks_deleted: None,
                },
            ),
            Report::Demo(summary) => serde_json::to_writer_pretty(&mut out, summary),
            Report::Export(report) => serde_json::to_writer_pretty(&mut out, report),
            Report::Import(report) => serde_json::to_writer_pretty(&mut out, report),
        };
        written.map_err(io::Error::from)
    }

    /// The report as text for people.
    pub fn text(&self) -> String {
        match self {
            Report::Setup(report) => setup_text(report),
            Report::Migrated(applied) if applied.is_empty() => {
                "The schema is up to date: no pending migrations.\n".to_owned()
            }
            Report::Migrated(applied) => format!(
                "Applied {} migration(s): {}\n",
                applied.len(),
                applied.join(", ")
            ),
            Report::Reverted(version) => format!("Reverted migration {version}.\n"),
            Report::MigrationStatus { applied, pending } => {
                let mut table = Table::new(["VERSION", "STATE"]);
                for version in applied {
                    table.row(vec![version.clone(), "applied".into()]);
                }
                for version in pending {
                    table.row(vec![version.clone(), "pending".into()]);
                }
                format!(
                    "{}{} applied, {} pending\n",
                    table.render(),
                    applied.len(),
                    pending.len()
                )
            }
            Report::User(event, user) => {
                let heading = match event {
                    UserEvent::Created => "Created user:\n",
                    UserEvent::Shown => "",
                };
                format!("{heading}{}", user_block(user))
            }
            Report::Users(users) if users.is_empty() => "No users.\n".to_owned(),
            Report::Users(users) => user_table(users),
            Report::UserDeleted {
                user,
                tasks_deleted,
            } => format!(
                "Deleted user {} ({}) and {tasks_deleted} task(s).\n",
                user.email, user.id
            ),
            Report::PasswordChanged(user) => format!("Password changed for {}.\n", user.email),
            Report::Task(event, task) => {
                let heading = match event {
                    TaskEvent::Created => "Created task:\n",
                    TaskEvent::Shown => "",
                    TaskEvent::Updated => "Updated task:\n",
                    TaskEvent::Done => "Marked done:\n",
                    TaskEvent::Reopened => "Marked open:\n",
                };
                format!("{heading}{}", task_block(task))
            }
            Report::Tasks(page) => task_page(page),
            Report::TaskDeleted(id) => format!("Deleted task {id}.\n"),
            Report::Demo(summary) => format!(
                "Demo finished: {} users and their tasks were deleted; nothing was left behind.\n",
                summary.users.len()
            ),
            Report::Export(report) => export_text(report),
            Report::Import(report) => import_text(report),
        }
    }
}

fn export_text(report: &ExportReport) -> String {
    let output = report
        .output
        .as_ref()
        .map_or_else(|| "stdout".to_owned(), |path| path.display().to_string());
    format!(
        "Exported {} users and {} tasks ({}) to {output}: {} bytes in {:.1} s ({:.0} rows/s).\n",
        report.users,
        report.tasks,
        if report.secrets {
            "with password hashes: keep this file secret"
        } else {
            "without password hashes"
        },
        report.bytes,
        report.seconds,
        report.rows_per_second
    )
}

fn import_text(report: &ImportReport) -> String {
    let input = report
        .input
        .as_ref()
        .map_or_else(|| "stdin".to_owned(), |path| path.display().to_string());
    format!(
        "Imported {input} ({}) in {} batch(es), {:.1} s ({:.0} rows/s); VACUUM (ANALYZE) took {:.1} s.\n\
         users: {} read, {} inserted, {} already present\n\
         tasks: {} read, {} inserted, {} already present\n",
        if report.secrets {
            "with password hashes"
        } else {
            "without password hashes"
        },
        report.batches,
        report.load_seconds,
        report.rows_per_second,
        report.vacuum_seconds,
        report.users_read,
        report.users_inserted,
        report.users_present,
        report.tasks_read,
        report.tasks_inserted,
        report.tasks_present
    )
}

fn setup_text(report: &SetupReport) -> String {
    let mut text = if report.created {
        format!("Created database {} ({}).\n", report.database, report.url)
    } else {
        format!(
            "Database {} ({}) already exists.\n",
            report.database, report.url
        )
    };
    if report.applied.is_empty() {
        text.push_str("The schema is up to date: no pending migrations.\n");
    } else {
        text.push_str(&format!(
            "Applied {} migration(s): {}\n",
            report.applied.len(),
            report.applied.join(", ")
        ));
    }
    if let Some(role) = &report.app_role {
        text.push_str(&format!(
            "{} application role {}: it may read and write users and tasks, under row-level security.\n",
            if role.created { "Created" } else { "Granted again the" },
            role.name
        ));
    }
    text
}

/// A time as RFC 3339 in UTC, to the second: the form `--due` accepts.
pub fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Free text made safe for a terminal: control characters other than
/// newline and tab (e.g. escape sequences stored in a description) are shown
/// escaped instead of being interpreted.
fn safe(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\t' => c.to_string(),
            c if c.is_control() => c.escape_unicode().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// `text` cut to `max` characters, with an ellipsis if it was longer.
fn shortened(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
    short.push('…');
    short
}

/// `label  value` lines; continuation lines of a value are indented under it.
fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs
        .iter()
        .map(|(label, _)| label.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (label, value) in pairs {
        let mut lines = value.lines();
        out.push_str(&format!(
            "{label:<width$}  {}\n",
            lines.next().unwrap_or_default()
        ));
        for line in lines {
            out.push_str(&format!("{:<width$}  {line}\n", ""));
        }
    }
    out
}

fn or_dash(value: Option<String>) -> String {
    value.unwrap_or_else(|| "-".to_owned())
}

/// One task, every field.
pub fn task_block(task: &Task) -> String {
    let status = match task.completed_at {
        Some(at) if task.completed => format!("done ({})", time(at)),
        _ => "open".to_owned(),
    };
    fields(&[
        ("id", task.id.to_string()),
        ("title", safe(&task.title)),
        ("status", status),
        ("priority", task.priority.to_string()),
        ("due", or_dash(task.due_at.map(time))),
        (
            "description",
            or_dash(task.description.as_deref().map(safe)),
        ),
        ("version", task.version.to_string()),
        ("created", time(task.created_at)),
        ("updated", time(task.updated_at)),
    ])
}

/// Tasks as a table, one line each.
pub fn task_table(tasks: &[Task]) -> String {
    if tasks.is_empty() {
        return "No tasks.\n".to_owned();
    }
    let mut table = Table::new(["ID", "STATUS", "PRI", "DUE", "VER", "TITLE"]);
    for task in tasks {
        table.row(vec![
            task.id.to_string(),
            if task.completed { "done" } else { "open" }.to_owned(),
            task.priority.to_string(),
            or_dash(task.due_at.map(time)),
            task.version.to_string(),
            shortened(&safe(&task.title), TABLE_TITLE_CHARS),
        ]);
    }
    table.render()
}

/// A page of tasks, and how to get the next one.
fn task_page(page: &Page<Task>) -> String {
    let mut text = task_table(&page.items);
    if let Some(cursor) = &page.next_cursor {
        text.push_str(&format!("next page: --after {cursor}\n"));
    }
    text
}

/// One account, every field (there is no password hash to show: the library
/// never reads it out).
fn user_block(user: &User) -> String {
    fields(&[
        ("id", user.id.to_string()),
        ("email", user.email.clone()),
        ("name", or_dash(user.display_name.as_deref().map(safe))),
        (
            "password",
            if user.has_password { "set" } else { "not set" }.to_owned(),
        ),
        (
            "auth subject",
            or_dash(user.auth_subject.as_deref().map(safe)),
        ),
        ("time zone", or_dash(user.time_zone.clone())),
        ("created", time(user.created_at)),
        ("updated", time(user.updated_at)),
    ])
}

fn user_table(users: &[User]) -> String {
    let mut table = Table::new(["ID", "EMAIL", "NAME", "PASSWORD", "AUTH SUBJECT", "CREATED"]);
    for user in users {
        table.row(vec![
            user.id.to_string(),
            user.email.clone(),
            or_dash(user.display_name.as_deref().map(safe)),
            if user.has_password { "set" } else { "-" }.to_owned(),
            or_dash(user.auth_subject.as_deref().map(safe)),
            time(user.created_at),
        ]);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_for_the_terminal() {
        assert_eq!(safe("a\u{1b}[31mb\nc"), "a\\u{1b}[31mb\nc");
    }

    #[test]
    fn long_titles_are_shortened_in_tables() {
        assert_eq!(shortened("abcdef", 4), "abc…");
        assert_eq!(shortened("abcd", 4), "abcd");
    }

    #[test]
    fn multi_line_values_stay_aligned() {
        let text = fields(&[("id", "1".into()), ("description", "a\nb".into())]);
        assert_eq!(text, "id           1\ndescription  a\n             b\n");
    }
}
