//! Every create/read/update/delete path of `TaskRepo`, through both the
//! pool-backed `Store` and a plain `PgConnection`, and inside a caller's
//! transaction.

#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;

use chrono::{DateTime, Utc};
use diesel::{Connection, connection::SimpleConnection};
use todo_store::{
    ConflictKind, Entity, Error, NewTask, Priority, StatusFilter, TaskFilter, TaskPatch, TaskQuery,
    TaskRepo, TaskStatus, VersionCheck,
};
use todo_store_tests::TestDb;

use common::{Repo, count_rows, dump_db, new_user, random_task_id};

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap()
}

on_both_repos!(
    create_task_stores_a_trimmed_title_with_defaults,
    create_task_keeps_description_priority_and_due_date,
    create_task_treats_a_blank_description_as_none,
    create_tasks_creates_every_task_in_the_given_order,
    create_tasks_with_an_empty_list_creates_nothing,
    get_task_returns_the_stored_task,
    get_task_of_an_unknown_id_is_not_found,
    list_tasks_returns_the_owners_tasks_oldest_first,
    count_tasks_counts_by_status,
    update_task_changes_only_the_given_fields_and_bumps_the_version,
    update_task_sets_and_clears_the_description,
    update_task_sets_and_clears_the_due_date,
    update_task_trims_the_new_title,
    update_task_with_an_empty_patch_changes_nothing,
    update_task_of_an_unknown_id_is_not_found,
    set_task_status_done_records_the_completion_time,
    set_task_status_done_twice_keeps_version_and_completion_time,
    set_task_status_open_reopens_a_done_task,
    set_task_status_open_on_an_open_task_changes_nothing,
    set_task_status_of_an_unknown_id_is_not_found,
    delete_task_removes_the_task,
    delete_task_twice_is_not_found,
    delete_tasks_deletes_the_listed_tasks_and_counts_them,
    delete_tasks_with_no_ids_deletes_nothing,
);

fn create_task_stores_a_trimmed_title_with_defaults(repo: &mut impl Repo, _db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let task = repo
        .create_task(&owner, NewTask::new("  Buy milk \t"))
        .unwrap();
    assert_eq!(task.title, "Buy milk");
    assert_eq!(task.description, None);
    assert_eq!(task.priority, Priority::NORMAL);
    assert_eq!(task.due_at, None);
    assert!(!task.completed);
    assert_eq!(task.completed_at, None);
    assert_eq!(task.status(), TaskStatus::Open);
    assert_eq!(task.version, 1);
    assert_eq!(task.created_at, task.updated_at);
}

fn create_task_keeps_description_priority_and_due_date(repo: &mut impl Repo, _db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let due = at(1_900_000_000);
    let task = repo
        .create_task(
            &owner,
            NewTask::new("Report")
                .description("  Two pages,\nwith charts  ")
                .priority(Priority::HIGHEST)
                .due_at(due),
        )
        .unwrap();
    // The description is stored as given (it is free text, not trimmed).
    assert_eq!(
        task.description.as_deref(),
        Some("  Two pages,\nwith charts  ")
    );
    assert_eq!(task.priority, Priority::HIGHEST);
    assert_eq!(task.due_at, Some(due));
    assert_eq!(repo.get_task(&owner, task.id).unwrap(), task);
}

fn create_task_treats_a_blank_description_as_none(repo: &mut impl Repo, _db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    for blank in ["", "   ", "\n\t"] {
        let task = repo
            .create_task(&owner, NewTask::new("t").description(blank))
            .unwrap();
        assert_eq!(task.description, None, "{blank:?}");
    }
}

fn create_tasks_creates_every_task_in_the_given_order(repo: &mut impl Repo, db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let new = vec![
        NewTask::new("one"),
        NewTask::new(" two ").priority(Priority::LOWEST),
        NewTask::new("three")
            .description("3")
            .due_at(at(1_800_000_000)),
    ];
    let created = repo.create_tasks(&owner, new).unwrap();
    let titles: Vec<_> = created.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(titles, ["one", "two", "three"]);
    assert_eq!(created[1].priority, Priority::LOWEST);
    assert_eq!(created[2].description.as_deref(), Some("3"));
    assert!(created.iter().all(|t| t.version == 1 && !t.completed));
    for task in &created {
        assert_eq!(&repo.get_task(&owner, task.id).unwrap(), task);
    }
    assert_eq!(repo.count_tasks(&owner, &TaskFilter::default()).unwrap(), 3);
    assert_eq!(count_rows(&mut db.conn(), "tasks"), 3);
}

fn create_tasks_with_an_empty_list_creates_nothing(repo: &mut impl Repo, db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    assert_eq!(repo.create_tasks(&owner, Vec::new()).unwrap(), Vec::new());
    assert_eq!(count_rows(&mut db.conn(), "tasks"), 0);
}

fn get_task_returns_the_stored_task(repo: &mut impl Repo, _db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let a = repo.create_task(&owner, NewTask::new("a")).unwrap();
    let b = repo.create_task(&owner, NewTask::new("b")).unwrap();
    assert_eq!(repo.get_task(&owner, a.id).unwrap(), a);
    assert_eq!(repo.get_task(&owner, b.id).unwrap(), b);
}

fn get_task_of_an_unknown_id_is_not_found(repo: &mut impl Repo, _db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    repo.create_task(&owner, NewTask::new("a")).unwrap();
    assert_eq!(
        repo.get_task(&owner, random_task_id()),
        Err(Error::NotFound(Entity::Task))
    );
}

fn list_tasks_returns_the_owners_tasks_oldest_first(repo: &mut impl Repo, _db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let first = repo.create_task(&owner, NewTask::new("first")).unwrap();
    let rest = repo
        .create_tasks(&owner, vec![NewTask::new("second"), NewTask::new("third")])
        .unwrap();
    let page = repo.list_tasks(&owner, &TaskQuery::new()).unwrap();
    let mut expected = vec![first];
    expected.extend(rest);
    // Default sort: creation time, then id (the two batch rows share a
    // creation time; UUIDv7 ids made in order break the tie in order).
    assert_eq!(page.items, expected);
    assert_eq!(page.next_cursor, None);
}

fn count_tasks_counts_by_status(repo: &mut impl Repo, _db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let tasks = repo
        .create_tasks(
            &owner,
            (0..5).map(|i| NewTask::new(format!("t{i}"))).collect(),
        )
        .unwrap();
    for task in &tasks[..2] {
        repo.set_task_status(&owner, task.id, TaskStatus::Done, VersionCheck::Any)
            .unwrap();
    }
    let count = |repo: &mut dyn TaskRepo, status| {
        repo.count_tasks(&owner, &TaskFilter::default().status(status))
            .unwrap()
    };
    assert_eq!(count(repo, StatusFilter::All), 5);
    assert_eq!(count(repo, StatusFilter::Open), 3);
    assert_eq!(count(repo, StatusFilter::Done), 2);
}

fn update_task_changes_only_the_given_fields_and_bumps_the_version(
    repo: &mut impl Repo,
    _db: &TestDb,
) {
    let (_, owner) = new_user(repo, "ada");
    let task = repo
        .create_task(
            &owner,
            NewTask::new("old")
                .description("keep me")
                .priority(Priority::LOWEST)
                .due_at(at(1_900_000_000)),
        )
        .unwrap();
    let updated = repo
        .update_task(
            &owner,
            task.id,
            TaskPatch::default().title("new"),
            VersionCheck::Any,
        )
        .unwrap();
    assert_eq!(updated.title, "new");
    assert_eq!(updated.description, task.description);
    assert_eq!(updated.priority, task.priority);
    assert_eq!(updated.due_at, task.due_at);
    assert_eq!(updated.completed, task.completed);
    assert_eq!(updated.created_at, task.created_at);
    assert_eq!(updated.version, task.version + 1);
    assert!(updated.updated_at >= task.updated_at);
    assert_eq!(repo.get_task(&owner, task.id).unwrap(), updated);

    let updated2 = repo
        .update_task(
            &owner,
            task.id,
            TaskPatch::default().priority(Priority::HIGHEST),
            VersionCheck::Exactly(updated.version),
        )
        .unwrap();
    assert_eq!(updated2.priority, Priority::HIGHEST);
    assert_eq!(updated2.title, "new");
    assert_eq!(updated2.version, 3);
}

fn update_task_sets_and_clears_the_description(repo: &mut impl Repo, _db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let task = repo.create_task(&owner, NewTask::new("t")).unwrap();
    let patch = |description: Option<Option<&str>>| TaskPatch {
        description: description.map(|d| d.map(str::to_owned)),
        ..TaskPatch::default()
    };
    let set = repo
        .update_task(
            &owner,
            task.id,
            patch(Some(Some("details"))),
            VersionCheck::Any,
        )
        .unwrap();
    assert_eq!(set.description.as_deref(), Some("details"));
    assert_eq!(set.version, 2);

    // Absent (None) leaves it: a patch of something else keeps the description.
    let kept = repo
        .update_task(
            &owner,
            task.id,
            TaskPatch::default().priority(Priority::LOWEST),
            VersionCheck::Any,
        )
        .unwrap();
    assert_eq!(kept.description.as_deref(), Some("details"));
    assert_eq!(kept.version, 3);

    let cleared = repo
        .update_task(
            &owner,
            task.id,
            TaskPatch::default().clear_description(),
            VersionCheck::Any,
        )
        .unwrap();
    assert_eq!(cleared.description, None);
    assert_eq!(cleared.version, 4);

    // Setting a blank description is the same as clearing it.
    repo.update_task(
        &owner,
        task.id,
        patch(Some(Some("again"))),
        VersionCheck::Any,
    )
    .unwrap();
    let blank = repo
        .update_task(&owner, task.id, patch(Some(Some("  "))), VersionCheck::Any)
        .unwrap();
    assert_eq!(blank.description, None);
    assert_eq!(repo.get_task(&owner, task.id).unwrap(), blank);
}

fn update_task_sets_and_clears_the_due_date(repo: &mut impl Repo, _db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let task = repo.create_task(&owner, NewTask::new("t")).unwrap();
    let due = at(1_950_000_000);
    let set = repo
        .update_task(
            &owner,
            task.id,
            TaskPatch::default().due_at(due),
            VersionCheck::Any,
        )
        .unwrap();
    assert_eq!(set.due_at, Some(due));
    let kept = repo
        .update_task(
            &owner,
            task.id,
            TaskPatch::default().title("t2"),
            VersionCheck::Any,
        )
        .unwrap();
    assert_eq!(kept.due_at, Some(due));
    let cleared = repo
        .update_task(
            &owner,
            task.id,
            TaskPatch::default().clear_due_at(),
            VersionCheck::Any,
        )
        .unwrap();
    assert_eq!(cleared.due_at, None);
    assert_eq!(cleared.title, "t2");
    assert_eq!(cleared.version, 4);
    assert_eq!(repo.get_task(&owner, task.id).unwrap(), cleared);
}

fn update_task_trims_the_new_title(repo: &mut impl Repo, _db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let task = repo.create_task(&owner, NewTask::new("t")).unwrap();
    let updated = repo
        .update_task(
            &owner,
            task.id,
            TaskPatch::default().title("\t new \n"),
            VersionCheck::Any,
        )
        .unwrap();
    assert_eq!(updated.title, "new");
}

fn update_task_with_an_empty_patch_changes_nothing(repo: &mut impl Repo, db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let task = repo
        .create_task(&owner, NewTask::new("t").description("d"))
        .unwrap();
    let before = dump_db(&mut db.conn());
    let same = repo
        .update_task(&owner, task.id, TaskPatch::default(), VersionCheck::Any)
        .unwrap();
    assert_eq!(same, task);
    let same = repo
        .update_task(
            &owner,
            task.id,
            TaskPatch::default(),
            VersionCheck::Exactly(1),
        )
        .unwrap();
    assert_eq!(same, task);
    assert_eq!(dump_db(&mut db.conn()), before);
}

fn update_task_of_an_unknown_id_is_not_found(repo: &mut impl Repo, _db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    for check in [VersionCheck::Any, VersionCheck::Exactly(1)] {
        for patch in [TaskPatch::default(), TaskPatch::default().title("x")] {
            assert_eq!(
                repo.update_task(&owner, random_task_id(), patch, check),
                Err(Error::NotFound(Entity::Task))
            );
        }
    }
}

fn set_task_status_done_records_the_completion_time(repo: &mut impl Repo, _db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let task = repo.create_task(&owner, NewTask::new("t")).unwrap();
    let done = repo
        .set_task_status(&owner, task.id, TaskStatus::Done, VersionCheck::Exactly(1))
        .unwrap();
    assert!(done.completed);
    assert_eq!(done.status(), TaskStatus::Done);
    assert_eq!(done.version, 2);
    // Completion and the change are the same moment (one transaction).
    assert_eq!(done.completed_at, Some(done.updated_at));
    assert!(done.updated_at >= task.updated_at);
    assert_eq!(done.title, task.title);
    assert_eq!(repo.get_task(&owner, task.id).unwrap(), done);
}

fn set_task_status_done_twice_keeps_version_and_completion_time(repo: &mut impl Repo, db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let task = repo.create_task(&owner, NewTask::new("t")).unwrap();
    let done = repo
        .set_task_status(&owner, task.id, TaskStatus::Done, VersionCheck::Any)
        .unwrap();
    let before = dump_db(&mut db.conn());
    let again = repo
        .set_task_status(&owner, task.id, TaskStatus::Done, VersionCheck::Any)
        .unwrap();
    assert_eq!(again, done);
    let again = repo
        .set_task_status(&owner, task.id, TaskStatus::Done, VersionCheck::Exactly(2))
        .unwrap();
    assert_eq!(again, done);
    assert_eq!(again.version, 2);
    assert_eq!(dump_db(&mut db.conn()), before);
}

fn set_task_status_open_reopens_a_done_task(repo: &mut impl Repo, _db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let task = repo.create_task(&owner, NewTask::new("t")).unwrap();
    repo.set_task_status(&owner, task.id, TaskStatus::Done, VersionCheck::Any)
        .unwrap();
    let open = repo
        .set_task_status(&owner, task.id, TaskStatus::Open, VersionCheck::Exactly(2))
        .unwrap();
    assert!(!open.completed);
    assert_eq!(open.completed_at, None);
    assert_eq!(open.version, 3);
    assert_eq!(repo.get_task(&owner, task.id).unwrap(), open);
    let done_again = repo
        .set_task_status(&owner, task.id, TaskStatus::Done, VersionCheck::Exactly(3))
        .unwrap();
    assert_eq!(done_again.version, 4);
    assert_eq!(done_again.completed_at, Some(done_again.updated_at));
}

fn set_task_status_open_on_an_open_task_changes_nothing(repo: &mut impl Repo, db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let task = repo.create_task(&owner, NewTask::new("t")).unwrap();
    let before = dump_db(&mut db.conn());
    for check in [VersionCheck::Any, VersionCheck::Exactly(1)] {
        let same = repo
            .set_task_status(&owner, task.id, TaskStatus::Open, check)
            .unwrap();
        assert_eq!(same, task);
    }
    assert_eq!(dump_db(&mut db.conn()), before);
}

fn set_task_status_of_an_unknown_id_is_not_found(repo: &mut impl Repo, _db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    for status in [TaskStatus::Done, TaskStatus::Open] {
        for check in [VersionCheck::Any, VersionCheck::Exactly(1)] {
            assert_eq!(
                repo.set_task_status(&owner, random_task_id(), status, check),
                Err(Error::NotFound(Entity::Task))
            );
        }
    }
}

fn delete_task_removes_the_task(repo: &mut impl Repo, db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let keep = repo.create_task(&owner, NewTask::new("keep")).unwrap();
    let a = repo.create_task(&owner, NewTask::new("a")).unwrap();
    let b = repo.create_task(&owner, NewTask::new("b")).unwrap();
    repo.delete_task(&owner, a.id, VersionCheck::Any).unwrap();
    repo.delete_task(&owner, b.id, VersionCheck::Exactly(1))
        .unwrap();
    assert_eq!(
        repo.get_task(&owner, a.id),
        Err(Error::NotFound(Entity::Task))
    );
    assert_eq!(
        repo.get_task(&owner, b.id),
        Err(Error::NotFound(Entity::Task))
    );
    assert_eq!(repo.get_task(&owner, keep.id).unwrap(), keep);
    assert_eq!(count_rows(&mut db.conn(), "tasks"), 1);
}

fn delete_task_twice_is_not_found(repo: &mut impl Repo, _db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let task = repo.create_task(&owner, NewTask::new("t")).unwrap();
    repo.delete_task(&owner, task.id, VersionCheck::Any)
        .unwrap();
    for check in [VersionCheck::Any, VersionCheck::Exactly(1)] {
        assert_eq!(
            repo.delete_task(&owner, task.id, check),
            Err(Error::NotFound(Entity::Task))
        );
    }
}

fn delete_tasks_deletes_the_listed_tasks_and_counts_them(repo: &mut impl Repo, _db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let tasks = repo
        .create_tasks(
            &owner,
            (0..4).map(|i| NewTask::new(format!("t{i}"))).collect(),
        )
        .unwrap();
    // Duplicates and unknown ids are ignored.
    let ids = [tasks[0].id, tasks[2].id, random_task_id(), tasks[0].id];
    assert_eq!(repo.delete_tasks(&owner, &ids).unwrap(), 2);
    let left = repo.list_tasks(&owner, &TaskQuery::new()).unwrap().items;
    assert_eq!(left, vec![tasks[1].clone(), tasks[3].clone()]);
    assert_eq!(repo.delete_tasks(&owner, &ids).unwrap(), 0);
}

fn delete_tasks_with_no_ids_deletes_nothing(repo: &mut impl Repo, db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    repo.create_task(&owner, NewTask::new("t")).unwrap();
    assert_eq!(repo.delete_tasks(&owner, &[]).unwrap(), 0);
    assert_eq!(count_rows(&mut db.conn(), "tasks"), 1);
}

// ---------------------------------------------------------------------------
// Inside a caller's transaction.
// ---------------------------------------------------------------------------

/// Runs every write path on `conn` inside a transaction, checks that the
/// changes are visible inside it, then rolls it back.
fn write_everything_then_roll_back(conn: &mut diesel::PgConnection, owner: &todo_store::Owner) {
    let existing = conn.create_task(owner, NewTask::new("existing")).unwrap();
    let to_delete = conn.create_task(owner, NewTask::new("to delete")).unwrap();
    let bulk = conn.create_task(owner, NewTask::new("bulk")).unwrap();

    let outcome = conn.transaction::<(), Error, _>(|conn| {
        let created = conn.create_task(owner, NewTask::new("new"))?;
        let many = conn.create_tasks(owner, vec![NewTask::new("m1"), NewTask::new("m2")])?;
        let updated = conn.update_task(
            owner,
            existing.id,
            TaskPatch::default().title("changed"),
            VersionCheck::Exactly(1),
        )?;
        assert_eq!(updated.version, 2);
        let done = conn.set_task_status(owner, existing.id, TaskStatus::Done, VersionCheck::Any)?;
        assert_eq!(done.version, 3);
        conn.delete_task(owner, to_delete.id, VersionCheck::Any)?;
        assert_eq!(conn.delete_tasks(owner, &[bulk.id])?, 1);
        // Visible inside the transaction.
        assert_eq!(conn.get_task(owner, created.id)?, created);
        assert_eq!(conn.get_task(owner, many[1].id)?, many[1]);
        assert_eq!(conn.count_tasks(owner, &TaskFilter::default())?, 4);
        Err(Error::Database("roll back on purpose".into()))
    });
    assert_eq!(outcome, Err(Error::Database("roll back on purpose".into())));
}

#[test]
fn repository_calls_in_a_rolled_back_connection_transaction_persist_nothing() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let (_, owner) = new_user(&mut conn, "ada");
    let mut observer = db.conn();
    assert_eq!(count_rows(&mut observer, "tasks"), 0);
    write_everything_then_roll_back(&mut conn, &owner);
    // Only the three tasks created before the transaction remain, unchanged.
    let tasks = conn.list_tasks(&owner, &TaskQuery::new()).unwrap().items;
    let titles: Vec<_> = tasks.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(titles, ["existing", "to delete", "bulk"]);
    assert!(tasks.iter().all(|t| t.version == 1 && !t.completed));
    assert_eq!(count_rows(&mut observer, "tasks"), 3);
}

#[test]
fn repository_calls_in_a_rolled_back_pooled_transaction_persist_nothing() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    {
        let mut pooled = store.conn().unwrap();
        write_everything_then_roll_back(&mut pooled, &owner);
    }
    let tasks = store.list_tasks(&owner, &TaskQuery::new()).unwrap().items;
    let titles: Vec<_> = tasks.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(titles, ["existing", "to delete", "bulk"]);
    assert!(tasks.iter().all(|t| t.version == 1 && !t.completed));
}

#[test]
fn a_rolled_back_transaction_leaves_the_database_exactly_as_before() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let (_, owner) = new_user(&mut conn, "ada");
    let task = conn.create_task(&owner, NewTask::new("t")).unwrap();
    let before = dump_db(&mut db.conn());
    let outcome = conn.transaction::<(), Error, _>(|conn| {
        conn.create_task(&owner, NewTask::new("new"))?;
        conn.update_task(
            &owner,
            task.id,
            TaskPatch::default().title("x"),
            VersionCheck::Any,
        )?;
        conn.set_task_status(&owner, task.id, TaskStatus::Done, VersionCheck::Any)?;
        Err(Error::Database("roll back".into()))
    });
    assert!(outcome.is_err());
    assert_eq!(dump_db(&mut db.conn()), before);
}

#[test]
fn repository_calls_in_a_committed_transaction_persist_together() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    let mut pooled = store.conn().unwrap();
    let (a, b) = pooled
        .transaction::<_, Error, _>(|conn| {
            let a = conn.create_task(&owner, NewTask::new("Pack the boxes"))?;
            let b = conn.create_task(&owner, NewTask::new("Return the keys"))?;
            Ok((a, b))
        })
        .unwrap();
    drop(pooled);
    assert_eq!(store.get_task(&owner, a.id).unwrap(), a);
    assert_eq!(store.get_task(&owner, b.id).unwrap(), b);
    // One transaction: one creation time.
    assert_eq!(a.created_at, b.created_at);
}

#[test]
fn a_failed_repository_call_inside_a_transaction_leaves_it_usable() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let (_, owner) = new_user(&mut conn, "ada");
    let task = conn.create_task(&owner, NewTask::new("t")).unwrap();
    let created = conn
        .transaction::<_, Error, _>(|conn| {
            // Each of these fails after talking to the database; the
            // transaction must survive them.
            assert_eq!(
                conn.update_task(
                    &owner,
                    task.id,
                    TaskPatch::default().title("x"),
                    VersionCheck::Exactly(7)
                ),
                Err(Error::Conflict(ConflictKind::StaleVersion {
                    expected: 7,
                    actual: 1
                }))
            );
            assert_eq!(
                conn.set_task_status(&owner, task.id, TaskStatus::Done, VersionCheck::Exactly(7)),
                Err(Error::Conflict(ConflictKind::StaleVersion {
                    expected: 7,
                    actual: 1
                }))
            );
            assert_eq!(
                conn.delete_task(&owner, task.id, VersionCheck::Exactly(7)),
                Err(Error::Conflict(ConflictKind::StaleVersion {
                    expected: 7,
                    actual: 1
                }))
            );
            assert_eq!(
                conn.delete_task(&owner, random_task_id(), VersionCheck::Any),
                Err(Error::NotFound(Entity::Task))
            );
            assert!(matches!(
                conn.create_task(&owner, NewTask::new("  ")),
                Err(Error::Validation { .. })
            ));
            let created = conn.create_task(&owner, NewTask::new("after the failures"))?;
            conn.set_task_status(&owner, task.id, TaskStatus::Done, VersionCheck::Exactly(1))?;
            Ok(created)
        })
        .unwrap();
    assert_eq!(conn.get_task(&owner, created.id).unwrap(), created);
    let task_now = conn.get_task(&owner, task.id).unwrap();
    assert!(task_now.completed);
    assert_eq!(task_now.version, 2);
    assert_eq!(task_now.title, "t");
}

#[test]
fn a_write_the_database_rejects_inside_a_transaction_leaves_it_usable() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let (_, owner) = new_user(&mut conn, "ada");
    let task = conn.create_task(&owner, NewTask::new("t")).unwrap();
    // A rule only the database knows, so that the write fails in PostgreSQL
    // (which aborts the enclosing transaction unless the write had a savepoint).
    conn.batch_execute(
        "ALTER TABLE tasks ADD CONSTRAINT test_only_rule CHECK (title <> 'forbidden') NOT VALID",
    )
    .unwrap();
    conn.transaction::<_, Error, _>(|conn| {
        for result in [
            conn.update_task(
                &owner,
                task.id,
                TaskPatch::default().title("forbidden"),
                VersionCheck::Any,
            )
            .map(drop),
            conn.update_task(
                &owner,
                task.id,
                TaskPatch::default().title("forbidden"),
                VersionCheck::Exactly(1),
            )
            .map(drop),
        ] {
            assert!(matches!(result, Err(Error::Database(_))), "{result:?}");
        }
        conn.update_task(
            &owner,
            task.id,
            TaskPatch::default().title("allowed"),
            VersionCheck::Exactly(1),
        )?;
        conn.delete_task(&owner, task.id, VersionCheck::Exactly(2))
    })
    .unwrap();
    assert_eq!(
        conn.get_task(&owner, task.id),
        Err(Error::NotFound(Entity::Task))
    );
}
