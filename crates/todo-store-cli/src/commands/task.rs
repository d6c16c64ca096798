//! `task add|list|show|edit|done|undo|rm`: one user's tasks.
//!
//! Every command acts for the account named by `--user`, whose
//! [`Owner`] comes from the operator path; the library then
//! scopes every query to it, so another user's task is "task not found",
//! exactly like an id that does not exist.

use diesel::PgConnection;
use todo_store::{
    DatabaseUrl, NewTask, Owner, TaskFilter, TaskPatch, TaskQuery, TaskRepo, TaskSort, TaskStatus,
};

use crate::{
    args::{TaskAdd, TaskCommand, TaskEdit, TaskList, TaskRef, TaskTarget},
    db,
    exit::Failure,
    input,
    output::{Report, TaskEvent},
    owner::operator_owner,
};

/// Runs a `task` command.
///
/// # Errors
/// Validation (bad title, priority, id, date, cursor, version), not found
/// (user or task), conflict (`--if-version` stale), unavailable.
pub fn run(command: TaskCommand, url: &DatabaseUrl) -> Result<Report, Failure> {
    match command {
        TaskCommand::Add(args) => add(args, url),
        TaskCommand::List(args) => list(args, url),
        TaskCommand::Show(args) => show(&args, url),
        TaskCommand::Edit(args) => edit(args, url),
        TaskCommand::Done(args) => set_status(&args, TaskStatus::Done, url),
        TaskCommand::Undo(args) => set_status(&args, TaskStatus::Open, url),
        TaskCommand::Rm(args) => remove(&args, url),
    }
}

/// A connection, and the owner whose tasks to use. Called only once the
/// arguments are known to be valid, so bad input never waits on the network.
fn open(url: &DatabaseUrl, email: &str) -> Result<(PgConnection, Owner), Failure> {
    let mut conn = db::connect(url)?;
    let owner = operator_owner(&mut conn, email)?;
    Ok((conn, owner))
}

fn add(args: TaskAdd, url: &DatabaseUrl) -> Result<Report, Failure> {
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
    Ok(Report::Task(TaskEvent::Created, task))
}

fn list(args: TaskList, url: &DatabaseUrl) -> Result<Report, Failure> {
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
    let page = conn.list_tasks(&owner, &query)?;
    Ok(Report::Tasks(page))
}

fn show(args: &TaskRef, url: &DatabaseUrl) -> Result<Report, Failure> {
    let id = input::task_id(&args.id)?;
    let (mut conn, owner) = open(url, &args.user.email)?;
    let task = conn.get_task(&owner, id)?;
    Ok(Report::Task(TaskEvent::Shown, task))
}

fn edit(args: TaskEdit, url: &DatabaseUrl) -> Result<Report, Failure> {
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
    Ok(Report::Task(TaskEvent::Updated, task))
}

fn set_status(args: &TaskTarget, status: TaskStatus, url: &DatabaseUrl) -> Result<Report, Failure> {
    let id = input::task_id(&args.task.id)?;
    let check = input::version_check(args.if_version.as_deref())?;
    let (mut conn, owner) = open(url, &args.task.user.email)?;
    let task = conn.set_task_status(&owner, id, status, check)?;
    let event = match status {
        TaskStatus::Done => TaskEvent::Done,
        TaskStatus::Open => TaskEvent::Reopened,
    };
    Ok(Report::Task(event, task))
}

fn remove(args: &TaskTarget, url: &DatabaseUrl) -> Result<Report, Failure> {
    let id = input::task_id(&args.task.id)?;
    let check = input::version_check(args.if_version.as_deref())?;
    let (mut conn, owner) = open(url, &args.task.user.email)?;
    conn.delete_task(&owner, id, check)?;
    Ok(Report::TaskDeleted(id))
}
