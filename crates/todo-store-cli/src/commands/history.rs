//! `task history`, `task changes` and `history prune`: the history the
//! database records of every change of a task, and the change feed a device
//! syncs with. The library does the work; this module reads the arguments
//! and prints what comes back.

use std::time::Duration;

use serde::Serialize;
use todo_store::{
    Actor, ChangeKind, Changes, DatabaseUrl, Error, HistoryPage, HistoryQuery, Pruned, SyncToken,
    TaskChange, TaskFields, TaskRepo, UserId, prune_history,
};

use todo_store_cmd::Failure;

use crate::{
    args::{HistoryCommand, HistoryPrune, TaskChanges, TaskHistory},
    commands::task::{open, task_table},
    db, input,
    output::{Format, Report},
    render::{inline, or_dash, shortened, time},
    table::Table,
};

/// Longest text value (a title, a description) shown in a history table.
const VALUE_CHARS: usize = 40;
const SECONDS_PER_DAY: u64 = 86_400;

/// Runs a `history` command.
///
/// # Errors
/// Validation (`--older-than`), a database error if the role may not prune
/// (row-level security applies to it), unavailable.
pub fn run(command: HistoryCommand, url: &DatabaseUrl, format: Format) -> Result<(), Failure> {
    match command {
        HistoryCommand::Prune(args) => format.print(&prune(&args, url)?),
    }
}

/// `task history`: a page of one task's changes, newest first.
///
/// # Errors
/// Validation (id, `--limit`, `--before`), not found (user, or a task the
/// user has no history of), unavailable.
pub fn task_history(args: &TaskHistory, url: &DatabaseUrl) -> Result<TaskHistoryPage, Failure> {
    let id = input::task_id(&args.task.id)?;
    let mut query = HistoryQuery::new();
    if let Some(limit) = &args.limit {
        query = query.limit(input::limit(limit)?);
    }
    if let Some(before) = &args.before {
        query = query.before(input::before(before)?);
    }
    let (mut conn, owner) = open(url, &args.task.user.email)?;
    let page = conn.task_history(&owner, id, &query)?;
    Ok(TaskHistoryPage {
        page,
        owner: owner.user_id(),
    })
}

/// `task changes`: the current token, or what changed since one.
///
/// # Errors
/// Validation (token, `--limit`), not found (user), conflict if the token's
/// history is gone (the device must read everything again), unavailable.
pub fn task_changes(args: &TaskChanges, url: &DatabaseUrl) -> Result<Feed, Failure> {
    let since = args.since.as_deref().map(input::sync_token).transpose()?;
    let limit = match &args.limit {
        Some(limit) => input::limit(limit)?,
        None => todo_store::DEFAULT_PAGE_SIZE,
    };
    let (mut conn, owner) = open(url, &args.user.email)?;
    let Some(since) = since else {
        return Ok(Feed::Start(Start {
            next: conn.sync_token(&owner)?,
        }));
    };
    match conn.changes_since(&owner, &since, limit) {
        Ok(changes) => Ok(Feed::Changes(changes)),
        Err(err @ Error::ResyncRequired) => {
            let email = &args.user.email;
            Err(Failure::from(err).with_message(format!(
                "sync token too old: take a new token (`task changes --user {email}`), \
                 then read all tasks again (`task list --user {email}`)"
            )))
        }
        Err(err) => Err(err.into()),
    }
}

fn prune(args: &HistoryPrune, url: &DatabaseUrl) -> Result<PruneReport, Failure> {
    let days = input::older_than_days(&args.older_than)?;
    let mut conn = db::connect(url)?;
    let older_than = Duration::from_secs(u64::from(days) * SECONDS_PER_DAY);
    let pruned = prune_history(&mut conn, older_than)?;
    Ok(PruneReport {
        pruned,
        older_than_days: days,
    })
}

/// A page of a task's history, and whose task it is (to tell the owner's
/// own changes from others' in the actor column). The JSON document is the
/// library's [`HistoryPage`].
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct TaskHistoryPage {
    page: HistoryPage,
    #[serde(skip)]
    owner: UserId,
}

impl Report for TaskHistoryPage {
    fn text(&self) -> String {
        if self.page.changes.is_empty() {
            return "No history.\n".to_owned();
        }
        let mut table = Table::new(["SEQ", "KIND", "VER", "WHEN", "ACTOR", "CHANGES"]);
        for change in &self.page.changes {
            table.row(vec![
                change.seq.to_string(),
                change.kind.as_str().to_owned(),
                change.version.to_string(),
                time(change.changed_at),
                actor(&change.actor, self.owner),
                what_changed(change),
            ]);
        }
        let mut text = table.render();
        if let Some(before) = self.page.next_before {
            text.push_str(&format!("next page: --before {before}\n"));
        }
        text
    }
}

/// Who made a change: the database role, and whose scope it wrote in.
fn actor(actor: &Actor, owner: UserId) -> String {
    let role = inline(&actor.role);
    match actor.owner {
        Some(scope) if scope == owner => format!("{role} for owner"),
        Some(scope) => format!("{role} for {scope}"),
        None => format!("{role}, unscoped"),
    }
}

/// A change in one line: the fields a create or delete left the task with,
/// or each changed field as `name: old → new`.
fn what_changed(change: &TaskChange) -> String {
    match change.kind {
        ChangeKind::Create => state(&change.new),
        ChangeKind::Delete => state(&change.old),
        ChangeKind::Update | ChangeKind::Complete | ChangeKind::Reopen => {
            let old = rendered(&change.old);
            let changed: Vec<String> = rendered(&change.new)
                .into_iter()
                // The kind already says that the status changed.
                .filter(|(name, _)| !(*name == "completed" && change.kind != ChangeKind::Update))
                .map(|(name, new)| {
                    let was = old
                        .iter()
                        .find(|(old_name, _)| *old_name == name)
                        .map_or("-", |(_, value)| value.as_str());
                    format!("{name}: {was} → {new}")
                })
                .collect();
            if !changed.is_empty() {
                changed.join("; ")
            } else if change.new.is_empty() {
                "no field changed".to_owned()
            } else {
                "status only".to_owned()
            }
        }
    }
}

/// A whole state (of a created or deleted task), without its empty fields.
fn state(fields: &TaskFields) -> String {
    rendered(fields)
        .into_iter()
        .filter(|(name, value)| value != "-" && !(*name == "completed" && value == "false"))
        .map(|(name, value)| format!("{name}: {value}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The fields present, each by name and as shown: text quoted and
/// shortened, times as `--due` takes them, an empty value as `-`.
fn rendered(fields: &TaskFields) -> Vec<(&'static str, String)> {
    let text = |text: &str| format!("\"{}\"", shortened(&inline(text), VALUE_CHARS));
    let mut out = Vec::new();
    if let Some(title) = &fields.title {
        out.push(("title", text(title)));
    }
    if let Some(description) = &fields.description {
        out.push(("description", or_dash(description.as_deref().map(text))));
    }
    if let Some(completed) = fields.completed {
        out.push(("completed", completed.to_string()));
    }
    if let Some(at) = fields.completed_at {
        out.push(("completed_at", or_dash(at.map(time))));
    }
    if let Some(priority) = fields.priority {
        out.push(("priority", priority.to_string()));
    }
    if let Some(at) = fields.due_at {
        out.push(("due_at", or_dash(at.map(time))));
    }
    out
}

/// What `task changes` prints.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Feed {
    /// Without `--since`: the starting point.
    Start(Start),
    /// With `--since`: the library's [`Changes`].
    Changes(Changes),
}

/// The user's current sync token, `{"next": TOKEN}` in JSON: the same key
/// as the token to ask with next in [`Changes`].
#[derive(Debug, Serialize)]
pub struct Start {
    next: SyncToken,
}

impl Report for Feed {
    fn text(&self) -> String {
        match self {
            // The token alone, so that a script can capture it.
            Feed::Start(start) => format!("{}\n", start.next),
            Feed::Changes(changes) => changes_text(changes),
        }
    }
}

fn changes_text(changes: &Changes) -> String {
    let mut text = String::new();
    if changes.changed.is_empty() && changes.deleted.is_empty() {
        text.push_str("No changes.\n");
    }
    if !changes.changed.is_empty() {
        text.push_str(&format!("Changed ({}):\n", changes.changed.len()));
        text.push_str(&task_table(&changes.changed));
    }
    if !changes.deleted.is_empty() {
        text.push_str(&format!("Deleted ({}):\n", changes.deleted.len()));
        for id in &changes.deleted {
            text.push_str(&format!("{id}\n"));
        }
    }
    let state = match changes.more {
        true => "more changes are waiting: ask again now",
        false => "up to date",
    };
    text.push_str(&format!("next: --since {} ({state})\n", changes.next));
    text
}

/// `history prune`: the library's [`Pruned`], and the retention applied.
#[derive(Debug, Serialize)]
struct PruneReport {
    #[serde(flatten)]
    pruned: Pruned,
    older_than_days: u32,
}

impl Report for PruneReport {
    fn text(&self) -> String {
        format!(
            "Pruned {} change(s) of {} user(s), recorded more than {} day(s) ago.\n",
            self.pruned.changes, self.pruned.owners, self.older_than_days
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(json: serde_json::Value) -> TaskFields {
        serde_json::from_value(json).expect("task fields")
    }

    fn change(kind: ChangeKind, old: serde_json::Value, new: serde_json::Value) -> TaskChange {
        serde_json::from_value(serde_json::json!({
            "seq": 7,
            "task_id": "0193a9b0-0000-7000-8000-00000000abcd",
            "version": 2,
            "kind": kind,
            "changed_at": "2026-12-03T10:00:00Z",
            "actor": {"owner": null, "role": "root"},
            "old": old,
            "new": new,
        }))
        .expect("a change")
    }

    #[test]
    fn an_update_shows_each_changed_field_from_old_to_new() {
        let update = change(
            ChangeKind::Update,
            serde_json::json!({"title": "Write the report", "due_at": "2030-01-31T17:00:00Z"}),
            serde_json::json!({"title": "Write the Q3 report", "due_at": null}),
        );
        assert_eq!(
            what_changed(&update),
            "title: \"Write the report\" → \"Write the Q3 report\"; \
             due_at: 2030-01-31T17:00:00Z → -"
        );
    }

    #[test]
    fn a_status_change_leaves_the_status_to_its_kind() {
        let done = change(
            ChangeKind::Complete,
            serde_json::json!({"completed": false, "completed_at": null}),
            serde_json::json!({"completed": true, "completed_at": "2026-12-03T10:00:00Z"}),
        );
        assert_eq!(
            what_changed(&done),
            "completed_at: - → 2026-12-03T10:00:00Z"
        );
    }

    #[test]
    fn creates_and_deletes_show_the_fields_that_are_set() {
        let all = serde_json::json!({
            "title": "Pay rent\nnow",
            "description": null,
            "completed": false,
            "completed_at": null,
            "priority": 1,
            "due_at": null,
        });
        let create = change(ChangeKind::Create, serde_json::json!({}), all.clone());
        assert_eq!(
            what_changed(&create),
            "title: \"Pay rent\\nnow\"; priority: 1"
        );
        let delete = change(ChangeKind::Delete, all, serde_json::json!({}));
        assert_eq!(what_changed(&delete), what_changed(&create));
    }

    #[test]
    fn long_values_are_shortened() {
        let long = "x".repeat(100);
        let shown = state(&fields(serde_json::json!({ "title": long })));
        assert_eq!(shown.chars().count(), "title: \"\"".len() + VALUE_CHARS);
        assert!(shown.ends_with("…\""), "{shown}");
    }

    #[test]
    fn actors_say_whose_scope_they_wrote_in() {
        let owner = UserId::new_v7();
        let role = |scope| Actor {
            owner: scope,
            role: "todo_app".to_owned(),
        };
        assert_eq!(actor(&role(Some(owner)), owner), "todo_app for owner");
        assert_eq!(actor(&role(None), owner), "todo_app, unscoped");
    }
}
