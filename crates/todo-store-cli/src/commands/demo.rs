//! `demo`: a guided, narrated run through the library on two throwaway users.
//!
//! It sets the database up first (so it works on a fresh machine), and deletes
//! both users at the end whatever happened in between: their tasks go with
//! them, so nothing is left behind.

use std::io::{self, Write};

use chrono::{TimeDelta, Utc};
use diesel::PgConnection;
use serde::Serialize;
use todo_store::{
    ConflictKind, DatabaseUrl, Entity, Error, NewTask, NewUser, OperatorRepo, Owner, Password,
    Priority, SortKey, SortOrder, StatusFilter, TaskFilter, TaskId, TaskPatch, TaskQuery, TaskRepo,
    TaskSort, TaskStatus, UserRepo, VersionCheck,
};
use uuid::Uuid;

use todo_store_cmd::Failure;

use crate::{
    commands::{
        setup::{self, SetupReport},
        task::task_table,
    },
    output::{Format, Report},
    owner::operator_owner,
};

/// The demo password: the users exist only for the length of the run.
const DEMO_PASSWORD: &str = "correct horse battery staple";

/// What the demo showed (the `--json` output).
#[derive(Debug, Serialize)]
struct DemoSummary {
    /// The database used.
    database: String,
    /// Migrations the preliminary setup applied.
    migrations_applied: Vec<String>,
    /// The demo users' emails (deleted again).
    users: Vec<String>,
    /// Tasks created for the first user.
    tasks_created: usize,
    /// What the second user got for each attempt on the first user's task.
    isolation: Vec<IsolationCheck>,
    /// Whether the task was unchanged after those attempts.
    task_unchanged: bool,
    /// Whether a write with a stale version was refused.
    stale_version_rejected: bool,
    /// Whether both users (and so all their tasks) were deleted.
    cleaned_up: bool,
}

impl Report for DemoSummary {
    fn text(&self) -> String {
        format!(
            "Demo finished: {} users and their tasks were deleted; nothing was left behind.\n",
            self.users.len()
        )
    }
}

/// One attempt by the second user on the first user's task.
#[derive(Debug, Serialize)]
struct IsolationCheck {
    /// `get`, `update`, `complete` or `delete`.
    operation: &'static str,
    /// The error the library returned.
    result: String,
}

/// Prints the story, unless `--json` asked for one document only.
#[derive(Debug)]
struct Narrator {
    quiet: bool,
}

impl Narrator {
    fn say(&self, text: &str) {
        if !self.quiet {
            // Narration is best effort: a closed stdout must not stop the
            // clean-up from running.
            let mut out = io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            if !text.ends_with('\n') {
                let _ = out.write_all(b"\n");
            }
        }
    }

    fn step(&self, title: &str) {
        self.say(&format!("\n== {title}"));
    }
}

/// Runs the demo; the story is told in text only, the summary printed in
/// `format`.
///
/// # Errors
/// Any library error (the users are still deleted), or an "isolation check
/// failed" error if the second user could touch the first user's task.
pub fn run(url: &DatabaseUrl, format: Format) -> Result<(), Failure> {
    let say = Narrator {
        quiet: format == Format::Json,
    };
    say.step("Setting up the database");
    let (mut conn, setup) = setup::prepare(url)?;
    say.say(&setup.text());

    let tag = Uuid::now_v7().simple();
    let emails = [
        format!("demo-ada-{tag}@example.com"),
        format!("demo-bob-{tag}@example.com"),
    ];
    let outcome = tour(&mut conn, &say, &emails, setup);
    let cleanup = clean_up(&mut conn, &say, &emails);
    match (outcome, cleanup) {
        (Ok(mut summary), Ok(())) => {
            summary.cleaned_up = true;
            format.print(&summary)
        }
        (Err(failure), Ok(())) => Err(failure),
        (Ok(_), Err(cleanup)) => Err(cleanup),
        (Err(failure), Err(cleanup)) => {
            let message = format!("{}; {}", failure.message(), cleanup.message());
            Err(failure.with_message(message))
        }
    }
}

/// The story itself, on users with these two emails, after `setup`.
fn tour(
    conn: &mut PgConnection,
    say: &Narrator,
    emails: &[String; 2],
    setup: SetupReport,
) -> Result<DemoSummary, Failure> {
    let [ada_email, bob_email] = emails;

    say.step("Two users");
    let password = Password::new(DEMO_PASSWORD)?;
    conn.create_user(
        NewUser::new(ada_email)
            .display_name("Ada")
            .password(password.clone()),
    )?;
    conn.create_user(NewUser::new(bob_email).display_name("Bob"))?;
    say.say(&format!(
        "Created {ada_email} (with a password, stored as an Argon2id hash)\n\
         and {bob_email} (no password)."
    ));

    say.step("Getting an Owner: the only key to tasks");
    let ada = conn.authenticate(ada_email, &password)?;
    say.say("Ada logs in with her email and password; the library hands back her Owner.");
    let bob = operator_owner(conn, bob_email)?;
    say.say(
        "Bob has no password: this operator tool gets his Owner through the\n\
         library's explicit operator path (OperatorRepo::operator_owner).",
    );

    say.step("Ada creates tasks (one transaction, all or nothing)");
    let now = Utc::now();
    let created = conn.create_tasks(
        &ada,
        vec![
            NewTask::new("Write the quarterly report")
                .description("Numbers from finance first.")
                .priority(Priority::HIGHEST)
                .due_at(now + TimeDelta::days(2)),
            NewTask::new("Book flights to Lisbon")
                .priority(Priority::new(2)?)
                .due_at(now + TimeDelta::days(14)),
            NewTask::new("Renew passport").due_at(now + TimeDelta::days(30)),
            NewTask::new("Water the plants").priority(Priority::new(4)?),
        ],
    )?;
    say.say(&task_table(&created));
    let [report, flights, _, plants] = created.as_slice() else {
        return Err(Failure::other(
            "the library created an unexpected number of tasks",
        ));
    };

    say.step("Listing: open tasks of priority 1 to 3, soonest due first, two per page");
    let query = TaskQuery::new()
        .filter(
            TaskFilter::default()
                .status(StatusFilter::Open)
                .priority_at_most(Priority::NORMAL),
        )
        .sort(TaskSort::new(SortKey::Due, SortOrder::Asc))
        .limit(2);
    let first = conn.list_tasks(&ada, &query)?;
    say.say(&first.text());
    if let Some(cursor) = first.next_cursor {
        let second = conn.list_tasks(&ada, &query.clone().after(cursor))?;
        say.say(&task_table(&second.items));
    }

    say.step("Editing: guarded by the version the task had when we read it");
    let plants = conn.update_task(
        &ada,
        plants.id,
        TaskPatch::default()
            .title("Water the plants (and the fern)")
            .priority(Priority::new(3)?),
        VersionCheck::Exactly(plants.version),
    )?;
    say.say(&plants.text());

    say.step("Completing the report");
    let report = conn.set_task_status(&ada, report.id, TaskStatus::Done, VersionCheck::Any)?;
    say.say(&report.text());

    say.step("Isolation: Bob tries Ada's task");
    let before = conn.get_task(&ada, flights.id)?;
    let isolation = isolation_checks(conn, &bob, flights.id)?;
    for check in &isolation {
        say.say(&format!("Bob {:<8} -> {}", check.operation, check.result));
    }
    let missing = conn.get_task(&bob, TaskId::new_v7());
    say.say(&format!(
        "Bob get of an id that does not exist -> {}  (the same answer)",
        outcome_text(&missing)
    ));
    let bobs_tasks = conn.list_tasks(&bob, &TaskQuery::new())?;
    say.say(&format!(
        "Bob's own list has {} task(s).",
        bobs_tasks.items.len()
    ));
    let after = conn.get_task(&ada, flights.id)?;
    let task_unchanged = after == before;
    if !task_unchanged {
        return Err(Failure::other("isolation check failed: Ada's task changed"));
    }
    say.say("Ada's task is unchanged: same title, status and version.");

    say.step("Optimistic concurrency: a write based on an old read is refused");
    let stale = conn.update_task(
        &ada,
        plants.id,
        TaskPatch::default().title("Water the cactus"),
        VersionCheck::Exactly(plants.version - 1),
    );
    let stale_version_rejected = matches!(
        stale,
        Err(Error::Conflict(ConflictKind::StaleVersion { .. }))
    );
    say.say(&format!(
        "Update at version {} -> {}",
        plants.version - 1,
        outcome_text(&stale)
    ));
    if !stale_version_rejected {
        stale?;
        return Err(Failure::other("a stale version was accepted"));
    }

    Ok(DemoSummary {
        database: setup.database,
        migrations_applied: setup.applied,
        users: emails.to_vec(),
        tasks_created: created.len(),
        isolation,
        task_unchanged,
        stale_version_rejected,
        cleaned_up: false,
    })
}

/// Bob's get, update, complete and delete of Ada's task `id`: each must be
/// "task not found".
fn isolation_checks(
    conn: &mut PgConnection,
    bob: &Owner,
    id: TaskId,
) -> Result<Vec<IsolationCheck>, Failure> {
    let attempts: [(&'static str, Result<(), Error>); 4] = [
        ("get", conn.get_task(bob, id).map(drop)),
        (
            "update",
            conn.update_task(
                bob,
                id,
                TaskPatch::default().title("Bob was here"),
                VersionCheck::Any,
            )
            .map(drop),
        ),
        (
            "complete",
            conn.set_task_status(bob, id, TaskStatus::Done, VersionCheck::Any)
                .map(drop),
        ),
        ("delete", conn.delete_task(bob, id, VersionCheck::Any)),
    ];
    let mut checks = Vec::new();
    for (operation, result) in attempts {
        match result {
            Err(Error::NotFound(Entity::Task)) => checks.push(IsolationCheck {
                operation,
                result: Error::NotFound(Entity::Task).to_string(),
            }),
            Ok(()) => {
                return Err(Failure::other(format!(
                    "isolation check failed: Bob could {operation} Ada's task"
                )));
            }
            Err(other) => return Err(other.into()),
        }
    }
    Ok(checks)
}

fn outcome_text<T>(result: &Result<T, Error>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(err) => format!("error: {err}"),
    }
}

/// Deletes the demo users, tasks included. Runs whatever the tour did, so
/// users that were never created are simply skipped.
fn clean_up(conn: &mut PgConnection, say: &Narrator, emails: &[String; 2]) -> Result<(), Failure> {
    say.step("Cleaning up: deleting both users; their tasks go with them");
    let mut left_behind = Vec::new();
    for email in emails {
        let deleted = conn.operator_owner(email).and_then(|owner| {
            conn.delete_user(&owner)?;
            // The owner outlives its account here only to prove the cascade.
            conn.count_tasks(&owner, &TaskFilter::default())
        });
        match deleted {
            Ok(remaining) => say.say(&format!("Deleted {email}; tasks left: {remaining}")),
            Err(Error::NotFound(Entity::User)) => {}
            Err(_) => left_behind.push(email.as_str()),
        }
    }
    if left_behind.is_empty() {
        Ok(())
    } else {
        Err(Failure::other(format!(
            "demo clean-up failed; delete these users with `todo-store user delete EMAIL`: {}",
            left_behind.join(", ")
        )))
    }
}
