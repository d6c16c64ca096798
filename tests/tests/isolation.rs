//! Another user's task behaves exactly like a task that does not exist: for
//! every repository method, the same `NotFound` error as for a random id, and
//! no change to the task.

#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;

use chrono::DateTime;
use todo_store::{
    Entity, Error, NewTask, Owner, Priority, SortKey, SortOrder, StatusFilter, Task, TaskFilter,
    TaskPatch, TaskQuery, TaskRepo, TaskSort, TaskStatus, VersionCheck,
};
use todo_store_tests::TestDb;

use common::{Repo, dump_db, new_user, random_task_id};

/// Alice with an open and a done task, and Bob with one task of his own.
struct World {
    alice: Owner,
    bob: Owner,
    open: Task,
    done: Task,
    bobs: Task,
}

fn world(repo: &mut impl Repo) -> World {
    let (_, alice) = new_user(repo, "alice");
    let (_, bob) = new_user(repo, "bob");
    let open = repo
        .create_task(
            &alice,
            NewTask::new("Alice's secret plan")
                .description("shared words")
                .priority(Priority::HIGHEST)
                .due_at(DateTime::from_timestamp(1_900_000_000, 0).unwrap()),
        )
        .unwrap();
    let done = repo
        .create_task(&alice, NewTask::new("Alice's finished plan"))
        .unwrap();
    let done = repo
        .set_task_status(&alice, done.id, TaskStatus::Done, VersionCheck::Any)
        .unwrap();
    let bobs = repo
        .create_task(&bob, NewTask::new("Bob's own plan"))
        .unwrap();
    World {
        alice,
        bob,
        open,
        done,
        bobs,
    }
}

/// Alice's tasks read back by Alice are exactly as they were, and no row of
/// the database changed since `before`.
#[track_caller]
fn assert_untouched(repo: &mut impl Repo, db: &TestDb, w: &World, before: &str) {
    assert_eq!(repo.get_task(&w.alice, w.open.id).unwrap(), w.open);
    assert_eq!(repo.get_task(&w.alice, w.done.id).unwrap(), w.done);
    assert_eq!(dump_db(&mut db.conn()), before);
}

on_both_repos!(
    other_user_cannot_read_task,
    other_user_cannot_see_task_in_list,
    other_user_cannot_count_task,
    other_user_cannot_update_task,
    other_user_cannot_apply_an_empty_patch_to_task,
    other_user_cannot_complete_task,
    other_user_cannot_uncomplete_task,
    other_user_cannot_delete_task,
    other_user_cannot_bulk_delete_tasks,
    bulk_delete_of_mixed_ids_deletes_only_the_callers_tasks,
    cursor_from_another_users_list_only_moves_within_ones_own_tasks,
);

fn other_user_cannot_read_task(repo: &mut impl Repo, db: &TestDb) {
    let w = world(repo);
    let before = dump_db(&mut db.conn());
    let missing = repo.get_task(&w.bob, random_task_id()).unwrap_err();
    assert_eq!(missing, Error::NotFound(Entity::Task));
    for task in [&w.open, &w.done] {
        assert_eq!(repo.get_task(&w.bob, task.id).unwrap_err(), missing);
    }
    // And Alice cannot read Bob's.
    assert_eq!(repo.get_task(&w.alice, w.bobs.id).unwrap_err(), missing);
    assert_untouched(repo, db, &w, &before);
}

fn other_user_cannot_see_task_in_list(repo: &mut impl Repo, db: &TestDb) {
    let w = world(repo);
    let before = dump_db(&mut db.conn());
    for status in [StatusFilter::All, StatusFilter::Open, StatusFilter::Done] {
        for key in [SortKey::Created, SortKey::Priority, SortKey::Title] {
            for filter in [
                TaskFilter::default().status(status),
                TaskFilter::default().status(status).search("plan"),
                TaskFilter::default().status(status).search("shared words"),
            ] {
                let query = TaskQuery::new()
                    .filter(filter.clone())
                    .sort(TaskSort::new(key, SortOrder::Asc));
                let page = repo.list_tasks(&w.bob, &query).unwrap();
                assert!(
                    page.items.iter().all(|t| t.id == w.bobs.id),
                    "Bob sees {:?} with {filter:?}",
                    page.items
                );
                assert_eq!(page.next_cursor, None);
            }
        }
    }
    let all = repo.list_tasks(&w.bob, &TaskQuery::new()).unwrap();
    assert_eq!(all.items, vec![w.bobs.clone()]);
    let alices = repo.list_tasks(&w.alice, &TaskQuery::new()).unwrap();
    assert_eq!(alices.items, vec![w.open.clone(), w.done.clone()]);
    assert_untouched(repo, db, &w, &before);
}

fn other_user_cannot_count_task(repo: &mut impl Repo, db: &TestDb) {
    let w = world(repo);
    let before = dump_db(&mut db.conn());
    let count = |repo: &mut dyn TaskRepo, owner: &Owner, filter: TaskFilter| {
        repo.count_tasks(owner, &filter).unwrap()
    };
    assert_eq!(count(repo, &w.bob, TaskFilter::default()), 1);
    assert_eq!(
        count(
            repo,
            &w.bob,
            TaskFilter::default().status(StatusFilter::Done)
        ),
        0
    );
    assert_eq!(
        count(repo, &w.bob, TaskFilter::default().search("Alice")),
        0
    );
    assert_eq!(
        count(
            repo,
            &w.bob,
            TaskFilter::default().priority_at_most(Priority::HIGHEST)
        ),
        0
    );
    assert_eq!(count(repo, &w.alice, TaskFilter::default()), 2);
    assert_untouched(repo, db, &w, &before);
}

fn other_user_cannot_update_task(repo: &mut impl Repo, db: &TestDb) {
    let w = world(repo);
    let before = dump_db(&mut db.conn());
    let patch = || {
        TaskPatch::default()
            .title("hijacked")
            .clear_description()
            .priority(Priority::LOWEST)
            .clear_due_at()
    };
    for task in [&w.open, &w.done] {
        for check in [
            VersionCheck::Any,
            VersionCheck::Exactly(task.version),
            VersionCheck::Exactly(task.version + 1),
        ] {
            let missing = repo
                .update_task(&w.bob, random_task_id(), patch(), check)
                .unwrap_err();
            assert_eq!(missing, Error::NotFound(Entity::Task));
            let err = repo
                .update_task(&w.bob, task.id, patch(), check)
                .unwrap_err();
            assert_eq!(err, missing, "{check:?}");
        }
    }
    assert_untouched(repo, db, &w, &before);
}

fn other_user_cannot_apply_an_empty_patch_to_task(repo: &mut impl Repo, db: &TestDb) {
    let w = world(repo);
    let before = dump_db(&mut db.conn());
    for check in [
        VersionCheck::Any,
        VersionCheck::Exactly(1),
        VersionCheck::Exactly(2),
    ] {
        let missing = repo
            .update_task(&w.bob, random_task_id(), TaskPatch::default(), check)
            .unwrap_err();
        assert_eq!(missing, Error::NotFound(Entity::Task));
        for task in [&w.open, &w.done] {
            let err = repo
                .update_task(&w.bob, task.id, TaskPatch::default(), check)
                .unwrap_err();
            assert_eq!(err, missing);
        }
    }
    assert_untouched(repo, db, &w, &before);
}

fn status_attempts(repo: &mut impl Repo, w: &World, task: &Task, status: TaskStatus) {
    for check in [
        VersionCheck::Any,
        VersionCheck::Exactly(task.version),
        VersionCheck::Exactly(task.version + 5),
    ] {
        let missing = repo
            .set_task_status(&w.bob, random_task_id(), status, check)
            .unwrap_err();
        assert_eq!(missing, Error::NotFound(Entity::Task));
        let err = repo
            .set_task_status(&w.bob, task.id, status, check)
            .unwrap_err();
        assert_eq!(err, missing, "{status:?} {check:?}");
    }
}

fn other_user_cannot_complete_task(repo: &mut impl Repo, db: &TestDb) {
    let w = world(repo);
    let before = dump_db(&mut db.conn());
    status_attempts(repo, &w, &w.open, TaskStatus::Done);
    // Setting the status a task already has is a no-op for its owner; for
    // anyone else it is still NotFound.
    status_attempts(repo, &w, &w.done, TaskStatus::Done);
    assert_untouched(repo, db, &w, &before);
}

fn other_user_cannot_uncomplete_task(repo: &mut impl Repo, db: &TestDb) {
    let w = world(repo);
    let before = dump_db(&mut db.conn());
    status_attempts(repo, &w, &w.done, TaskStatus::Open);
    status_attempts(repo, &w, &w.open, TaskStatus::Open);
    assert_untouched(repo, db, &w, &before);
}

fn other_user_cannot_delete_task(repo: &mut impl Repo, db: &TestDb) {
    let w = world(repo);
    let before = dump_db(&mut db.conn());
    for task in [&w.open, &w.done] {
        for check in [
            VersionCheck::Any,
            VersionCheck::Exactly(task.version),
            VersionCheck::Exactly(task.version + 1),
        ] {
            let missing = repo
                .delete_task(&w.bob, random_task_id(), check)
                .unwrap_err();
            assert_eq!(missing, Error::NotFound(Entity::Task));
            let err = repo.delete_task(&w.bob, task.id, check).unwrap_err();
            assert_eq!(err, missing, "{check:?}");
        }
    }
    assert_untouched(repo, db, &w, &before);
}

fn other_user_cannot_bulk_delete_tasks(repo: &mut impl Repo, db: &TestDb) {
    let w = world(repo);
    let before = dump_db(&mut db.conn());
    let random = repo.delete_tasks(&w.bob, &[random_task_id()]).unwrap();
    assert_eq!(random, 0);
    let alices = repo.delete_tasks(&w.bob, &[w.open.id, w.done.id]).unwrap();
    assert_eq!(alices, random);
    assert_untouched(repo, db, &w, &before);
}

fn bulk_delete_of_mixed_ids_deletes_only_the_callers_tasks(repo: &mut impl Repo, db: &TestDb) {
    let w = world(repo);
    let deleted = repo
        .delete_tasks(&w.bob, &[w.open.id, w.bobs.id, w.done.id, random_task_id()])
        .unwrap();
    assert_eq!(deleted, 1);
    assert_eq!(
        repo.get_task(&w.bob, w.bobs.id),
        Err(Error::NotFound(Entity::Task))
    );
    assert_eq!(repo.get_task(&w.alice, w.open.id).unwrap(), w.open);
    assert_eq!(repo.get_task(&w.alice, w.done.id).unwrap(), w.done);
    assert_eq!(common::count_rows(&mut db.conn(), "tasks"), 2);
}

fn cursor_from_another_users_list_only_moves_within_ones_own_tasks(
    repo: &mut impl Repo,
    db: &TestDb,
) {
    let w = world(repo);
    let more: Vec<_> = (0..3)
        .map(|i| NewTask::new(format!("alice extra {i}")))
        .collect();
    repo.create_tasks(&w.alice, more).unwrap();
    let before = dump_db(&mut db.conn());
    let query = TaskQuery::new().limit(1);
    let alice_page = repo.list_tasks(&w.alice, &query).unwrap();
    let cursor = alice_page.next_cursor.unwrap();
    // Bob's own task was created after Alice's first task, so it follows the cursor.
    let bob_page = repo.list_tasks(&w.bob, &query.after(cursor)).unwrap();
    assert_eq!(bob_page.items, vec![w.bobs.clone()]);
    assert_eq!(bob_page.next_cursor, None);
    assert_eq!(dump_db(&mut db.conn()), before);
}

// A task id is unique per owner only (the key is (user_id, id)); a row of
// another user with the same id, written behind the library's back, stays
// that user's.
#[test]
fn same_task_id_under_two_users_stays_separate() {
    let db = TestDb::new();
    let mut store = db.store();
    let w = world(&mut store);
    let mut raw = db.conn();
    common::exec(
        &mut raw,
        &format!(
            "INSERT INTO tasks (user_id, id, title) VALUES ('{}', '{}', 'Bob''s twin')",
            w.bob.user_id(),
            w.open.id
        ),
    )
    .unwrap();
    let bobs_twin = store.get_task(&w.bob, w.open.id).unwrap();
    assert_eq!(bobs_twin.title, "Bob's twin");
    assert_eq!(store.get_task(&w.alice, w.open.id).unwrap(), w.open);

    store
        .update_task(
            &w.bob,
            w.open.id,
            TaskPatch::default().title("twin 2"),
            VersionCheck::Any,
        )
        .unwrap();
    store
        .set_task_status(&w.bob, w.open.id, TaskStatus::Done, VersionCheck::Any)
        .unwrap();
    assert_eq!(store.get_task(&w.alice, w.open.id).unwrap(), w.open);
    assert_eq!(store.delete_tasks(&w.bob, &[w.open.id]).unwrap(), 1);
    assert_eq!(store.get_task(&w.alice, w.open.id).unwrap(), w.open);
}

// Input forms never carry an owner: a request body naming one is refused
// rather than silently ignored.
#[test]
fn task_forms_cannot_name_an_owner() {
    let user_id = uuid::Uuid::now_v7();
    let new_task = format!(r#"{{"title": "t", "user_id": "{user_id}"}}"#);
    assert!(serde_json::from_str::<NewTask>(&new_task).is_err());
    let patch = format!(r#"{{"title": "t", "user_id": "{user_id}"}}"#);
    assert!(serde_json::from_str::<TaskPatch>(&patch).is_err());
    let profile = format!(r#"{{"id": "{user_id}"}}"#);
    assert!(serde_json::from_str::<todo_store::UserPatch>(&profile).is_err());
}
