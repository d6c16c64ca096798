//! `task add|list|show|edit|done|undo|rm|history|changes`: one user's tasks
//! (the last two in [`history`](super::history)).
//!
//! Every command acts for the account named by `--user`, whose
//! [`Owner`] comes from the operator path; the library then
//! scopes every query to it, so another user's task is "task not found",
//! exactly like an id that does not exist.

use diesel::PgConnection;
use serde::Serialize;
use todo_store::{
    DatabaseUrl, NewTask, Owner, Page, Task, TaskFilter, TaskId, TaskPatch, TaskQuery, TaskRepo,
    TaskSort, TaskStatus,
};

use todo_store_cmd::Failure;

use crate::{
    args::{TaskAdd, TaskCommand, TaskEdit, TaskList, TaskRef, TaskTarget},
    commands::history,
    db, input,
    output::{Format, Headed, Report},
    owner::operator_owner,
    render::{fields, or_dash, safe, shortened, time},
    table::Table,
};

/// Longest title shown in a task table; `task show` prints it whole.
const TABLE_TITLE_CHARS: usize = 60;

/// Runs a `task` command.
///
/// # Errors
/// Validation (bad title, priority, id, date, cursor, version, sync token),
/// not found (user or task), conflict (`--if-version` stale, sync token too
/// old), unavailable.
pub fn run(command: TaskCommand, url: &DatabaseUrl, format: Format) -> Result<(), Failure> {
    match command {
        TaskCommand::Add(args) => format.print(&add(args, url)?),
        TaskCommand::List(args) => format.print(&list(args, url)?),
        TaskCommand::Show(args) => format.print(&show(&args, url)?),
        TaskCommand::Edit(args) => format.print(&edit(args, url)?),
        TaskCommand::Done(args) => format.print(&set_status(&args, TaskStatus::Done, url)?),
        TaskCommand::Undo(args) => format.print(&set_status(&args, TaskStatus::Open, url)?),
        TaskCommand::Rm(args) => format.print(&remove(&args, url)?),
        TaskCommand::History(args) => format.print(&history::task_history(&args, url)?),
        TaskCommand::Changes(args) => format.print(&history::task_changes(&args, url)?),
    }
}

/// One task, every field.
impl Report for Task {
    fn text(&self) -> String {
        let status = match self.completed_at {
            Some(at) if self.completed => format!("done ({})", time(at)),
            _ => "open".to_owned(),
        };
        fields(&[
            ("id", self.id.to_string()),
            ("title", safe(&self.title)),
            ("status", status),
            ("priority", self.priority.to_string()),
            ("due", or_dash(self.due_at.map(time))),
            (
                "description",
                or_dash(self.description.as_deref().map(safe)),
            ),
            ("version", self.version.to_string()),
            ("created", time(self.created_at)),
            ("updated", time(self.updated_at)),
        ])
    }
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
impl Report for Page<Task> {
    fn text(&self) -> String {
        let mut text = task_table(&self.items);
        if let Some(cursor) = &self.next_cursor {
            text.push_str(&format!("next page: --after {cursor}\n"));
        }
        text
    }
}

/// `task rm`: the task is gone.
#[derive(Debug, Serialize)]
struct Deleted {
    deleted: bool,
    id: TaskId,
}

impl Report for Deleted {
    fn text(&self) -> String {
        format!("Deleted task {}.\n", self.id)
    }
}

/// A connection, and the owner whose tasks to use. Called only once the
/// arguments are known to be valid, so bad input never waits on the network.
pub fn open(url: &DatabaseUrl, email: &str) -> Result<(PgConnection, Owner), Failure> {
    let mut conn = db::connect(url)?;
    let owner = operator_owner(&mut conn, email)?;
    Ok((conn, owner))
}

fn add(args: TaskAdd, url: &DatabaseUrl) -> Result<Headed<Task>, Failure> {
    let mut new = NewTask::new(args.title);
    if let Some(description) = args.description {
        new = new.description(description);
    }
    if let Some(priority) = &args.priority {
        new = new.priority(input::priority(priority)?);
    }
    if let Some(due) = &args.due {
        new = new.due_at(input::due(due)?);
    }
    if let Some(id) = &args.id {
        new = new.id(input::task_id(id)?);
    }
    let (mut conn, owner) = open(url, &args.user.email)?;
    let task = conn.create_task(&owner, new)?;
    Ok(Headed::new("Created task", task))
}

fn list(args: TaskList, url: &DatabaseUrl) -> Result<Page<Task>, Failure> {
    let mut filter = TaskFilter::default().status(args.status.into());
    if let Some(min) = &args.priority_min {
        filter = filter.priority_at_least(input::priority(min)?);
    }
    if let Some(max) = &args.priority_max {
        filter = filter.priority_at_most(input::priority(max)?);
    }
    if let Some(text) = args.search {
        filter = filter.search(text);
    }
    let sort = TaskSort::new(args.sort.into(), args.order.into());
    let mut query = TaskQuery::new().filter(filter).sort(sort);
    if let Some(limit) = &args.limit {
        query = query.limit(input::limit(limit)?);
    }
    if let Some(after) = &args.after {
        query = query.after(input::cursor(after)?);
    }
    let (mut conn, owner) = open(url, &args.user.email)?;
    Ok(conn.list_tasks(&owner, &query)?)
}

fn show(args: &TaskRef, url: &DatabaseUrl) -> Result<Task, Failure> {
    let id = input::task_id(&args.id)?;
    let (mut conn, owner) = open(url, &args.user.email)?;
    Ok(conn.get_task(&owner, id)?)
}

fn edit(args: TaskEdit, url: &DatabaseUrl) -> Result<Headed<Task>, Failure> {
    let id = input::task_id(&args.id)?;
    let mut patch = TaskPatch::default();
    if let Some(title) = args.title {
        patch = patch.title(title);
    }
    // Clap rejects a description together with --clear-description.
    if let Some(description) = args.description {
        patch = patch.description(description);
    } else if args.clear_description {
        patch = patch.clear_description();
    }
    if let Some(priority) = &args.priority {
        patch = patch.priority(input::priority(priority)?);
    }
    if let Some(due) = &args.due {
        patch = patch.due_at(input::due(due)?);
    } else if args.clear_due {
        patch = patch.clear_due_at();
    }
    let check = input::version_check(args.if_version.as_deref())?;
    let (mut conn, owner) = open(url, &args.user.email)?;
    let task = conn.update_task(&owner, id, patch, check)?;
    Ok(Headed::new("Updated task", task))
}

fn set_status(
    args: &TaskTarget,
    status: TaskStatus,
    url: &DatabaseUrl,
) -> Result<Headed<Task>, Failure> {
    let id = input::task_id(&args.task.id)?;
    let check = input::version_check(args.if_version.as_deref())?;
    let (mut conn, owner) = open(url, &args.task.user.email)?;
    let task = conn.set_task_status(&owner, id, status, check)?;
    let heading = match status {
        TaskStatus::Done => "Marked done",
        TaskStatus::Open => "Marked open",
    };
    Ok(Headed::new(heading, task))
}

fn remove(args: &TaskTarget, url: &DatabaseUrl) -> Result<Deleted, Failure> {
    let id = input::task_id(&args.task.id)?;
    let check = input::version_check(args.if_version.as_deref())?;
    let (mut conn, owner) = open(url, &args.task.user.email)?;
    conn.delete_task(&owner, id, check)?;
    Ok(Deleted { deleted: true, id })
}
