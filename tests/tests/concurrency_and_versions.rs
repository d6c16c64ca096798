//! Optimistic concurrency: versions, stale-version conflicts, and what
//! happens when several connections write at once.

#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;

use std::sync::Barrier;
use std::thread;

use todo_store::{
    ConflictKind, Entity, Error, NewProfile, NewTask, NewUser, OnMissingSubject, Owner, Task,
    TaskFilter, TaskId, TaskPatch, TaskRepo, TaskStatus, UserRepo, VersionCheck,
};
use todo_store_tests::TestDb;

use common::{Repo, count_rows, dump_db, new_user, unique_email};

fn stale(expected: i32, actual: i32) -> Error {
    Error::Conflict(ConflictKind::StaleVersion { expected, actual })
}

/// A task at version 3 (created, retitled, completed).
fn task_at_version_3(repo: &mut impl Repo, owner: &Owner) -> Task {
    let task = repo.create_task(owner, NewTask::new("t")).unwrap();
    repo.update_task(
        owner,
        task.id,
        TaskPatch::default().title("t2"),
        VersionCheck::Any,
    )
    .unwrap();
    let task = repo
        .set_task_status(owner, task.id, TaskStatus::Done, VersionCheck::Any)
        .unwrap();
    assert_eq!(task.version, 3);
    task
}

on_both_repos!(
    update_with_a_stale_version_conflicts_and_changes_nothing,
    empty_patch_with_a_stale_version_conflicts,
    set_status_with_a_stale_version_conflicts_and_changes_nothing,
    delete_with_a_stale_version_conflicts_and_keeps_the_task,
    writes_with_the_current_version_succeed_and_advance_it_by_one,
    unguarded_writes_advance_the_version_by_one_each,
);

fn update_with_a_stale_version_conflicts_and_changes_nothing(repo: &mut impl Repo, db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let task = task_at_version_3(repo, &owner);
    let before = dump_db(&mut db.conn());
    for expected in [1, 2, 4, 0, -1, i32::MAX] {
        assert_eq!(
            repo.update_task(
                &owner,
                task.id,
                TaskPatch::default().title("lost update").clear_due_at(),
                VersionCheck::Exactly(expected)
            ),
            Err(stale(expected, 3))
        );
    }
    assert_eq!(repo.get_task(&owner, task.id).unwrap(), task);
    assert_eq!(dump_db(&mut db.conn()), before);
}

fn empty_patch_with_a_stale_version_conflicts(repo: &mut impl Repo, db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let task = task_at_version_3(repo, &owner);
    let before = dump_db(&mut db.conn());
    assert_eq!(
        repo.update_task(
            &owner,
            task.id,
            TaskPatch::default(),
            VersionCheck::Exactly(2)
        ),
        Err(stale(2, 3))
    );
    assert_eq!(dump_db(&mut db.conn()), before);
}

fn set_status_with_a_stale_version_conflicts_and_changes_nothing(
    repo: &mut impl Repo,
    db: &TestDb,
) {
    let (_, owner) = new_user(repo, "ada");
    let task = task_at_version_3(repo, &owner);
    let before = dump_db(&mut db.conn());
    // A real change (reopen) and a no-op (done again) both check the version.
    for status in [TaskStatus::Open, TaskStatus::Done] {
        for expected in [2, 4] {
            assert_eq!(
                repo.set_task_status(&owner, task.id, status, VersionCheck::Exactly(expected)),
                Err(stale(expected, 3)),
                "{status:?}"
            );
        }
    }
    assert_eq!(repo.get_task(&owner, task.id).unwrap(), task);
    assert_eq!(dump_db(&mut db.conn()), before);
}

fn delete_with_a_stale_version_conflicts_and_keeps_the_task(repo: &mut impl Repo, db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let task = task_at_version_3(repo, &owner);
    let before = dump_db(&mut db.conn());
    for expected in [1, 2, 4] {
        assert_eq!(
            repo.delete_task(&owner, task.id, VersionCheck::Exactly(expected)),
            Err(stale(expected, 3))
        );
    }
    assert_eq!(repo.get_task(&owner, task.id).unwrap(), task);
    assert_eq!(dump_db(&mut db.conn()), before);
    repo.delete_task(&owner, task.id, VersionCheck::Exactly(3))
        .unwrap();
    assert_eq!(
        repo.get_task(&owner, task.id),
        Err(Error::NotFound(Entity::Task))
    );
}

/// One versioned write: (repository, task id, expected version) → task.
type Step<'a> = Box<dyn Fn(&mut dyn TaskRepo, TaskId, i32) -> todo_store::Result<Task> + 'a>;

fn writes_with_the_current_version_succeed_and_advance_it_by_one(
    repo: &mut impl Repo,
    _db: &TestDb,
) {
    let (_, owner) = new_user(repo, "ada");
    let mut task = repo.create_task(&owner, NewTask::new("v1")).unwrap();
    assert_eq!(task.version, 1);
    let steps: Vec<Step<'_>> = vec![
        Box::new(|r, id, v| {
            r.update_task(
                &owner,
                id,
                TaskPatch::default().title("v2"),
                VersionCheck::Exactly(v),
            )
        }),
        Box::new(|r, id, v| {
            r.set_task_status(&owner, id, TaskStatus::Done, VersionCheck::Exactly(v))
        }),
        Box::new(|r, id, v| {
            r.update_task(
                &owner,
                id,
                TaskPatch::default().description("d"),
                VersionCheck::Exactly(v),
            )
        }),
        Box::new(|r, id, v| {
            r.set_task_status(&owner, id, TaskStatus::Open, VersionCheck::Exactly(v))
        }),
        // Setting the same title again is still a change: a new version.
        Box::new(|r, id, v| {
            r.update_task(
                &owner,
                id,
                TaskPatch::default().title("v2"),
                VersionCheck::Exactly(v),
            )
        }),
    ];
    for step in &steps {
        let next = step(repo, task.id, task.version).unwrap();
        assert_eq!(next.version, task.version + 1);
        assert!(next.updated_at >= task.updated_at);
        assert_eq!(next.created_at, task.created_at);
        task = next;
    }
    assert_eq!(task.version, 6);
    assert_eq!(repo.get_task(&owner, task.id).unwrap(), task);
    repo.delete_task(&owner, task.id, VersionCheck::Exactly(6))
        .unwrap();
}

fn unguarded_writes_advance_the_version_by_one_each(repo: &mut impl Repo, _db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let task = repo.create_task(&owner, NewTask::new("t")).unwrap();
    for i in 0..5 {
        let updated = repo
            .update_task(
                &owner,
                task.id,
                TaskPatch::default().title(format!("t{i}")),
                VersionCheck::Any,
            )
            .unwrap();
        assert_eq!(updated.version, i + 2);
    }
    // No-ops do not advance it.
    repo.update_task(&owner, task.id, TaskPatch::default(), VersionCheck::Any)
        .unwrap();
    repo.set_task_status(&owner, task.id, TaskStatus::Open, VersionCheck::Any)
        .unwrap();
    assert_eq!(repo.get_task(&owner, task.id).unwrap().version, 6);
}

// ---------------------------------------------------------------------------
// Several connections at once. Outcomes are asserted only where they do not
// depend on timing.
// ---------------------------------------------------------------------------

const WRITERS: usize = 6;

/// Runs `work(i, conn)` on `WRITERS` threads, each with its own connection,
/// released together, and returns the results in thread order.
fn race<T: Send>(
    db: &TestDb,
    work: impl Fn(usize, &mut diesel::PgConnection) -> T + Sync,
) -> Vec<T> {
    let barrier = Barrier::new(WRITERS);
    thread::scope(|s| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|i| {
                let mut conn = db.conn();
                let barrier = &barrier;
                let work = &work;
                s.spawn(move || {
                    barrier.wait();
                    work(i, &mut conn)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn concurrent_guarded_updates_let_exactly_one_writer_win() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    let task = store.create_task(&owner, NewTask::new("t")).unwrap();
    let results = race(&db, |i, conn| {
        conn.update_task(
            &owner,
            task.id,
            TaskPatch::default().title(format!("writer {i}")),
            VersionCheck::Exactly(1),
        )
    });
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for result in &results {
        if let Err(err) = result {
            assert_eq!(err, &stale(1, 2));
        }
    }
    let now = store.get_task(&owner, task.id).unwrap();
    assert_eq!(&now, winners[0]);
    assert_eq!(now.version, 2);
}

#[test]
fn concurrent_unguarded_updates_lose_no_version() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    let task = store.create_task(&owner, NewTask::new("t")).unwrap();
    const ROUNDS: i32 = 5;
    let results = race(&db, |i, conn| {
        (0..ROUNDS)
            .map(|r| {
                conn.update_task(
                    &owner,
                    task.id,
                    TaskPatch::default().title(format!("writer {i} round {r}")),
                    VersionCheck::Any,
                )
                .unwrap()
                .version
            })
            .collect::<Vec<_>>()
    });
    let mut versions: Vec<i32> = results.into_iter().flatten().collect();
    versions.sort_unstable();
    let writers = i32::try_from(WRITERS).unwrap();
    // Every write saw a distinct version: none was lost or doubled.
    assert_eq!(versions, (2..=1 + writers * ROUNDS).collect::<Vec<_>>());
    assert_eq!(
        store.get_task(&owner, task.id).unwrap().version,
        1 + writers * ROUNDS
    );
}

#[test]
fn concurrent_completions_complete_the_task_once() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    let task = store.create_task(&owner, NewTask::new("t")).unwrap();
    let results = race(&db, |_, conn| {
        conn.set_task_status(&owner, task.id, TaskStatus::Done, VersionCheck::Any)
            .unwrap()
    });
    let done = store.get_task(&owner, task.id).unwrap();
    assert_eq!(done.version, 2);
    assert!(done.completed);
    // Everyone sees the one completion, with its one completion time.
    for result in &results {
        assert_eq!(result, &done);
    }
}

#[test]
fn concurrent_guarded_completions_let_one_change_and_the_rest_see_it() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    let task = store.create_task(&owner, NewTask::new("t")).unwrap();
    let results = race(&db, |_, conn| {
        conn.set_task_status(&owner, task.id, TaskStatus::Done, VersionCheck::Exactly(1))
    });
    let done = store.get_task(&owner, task.id).unwrap();
    assert_eq!(done.version, 2);
    let changed = results.iter().filter(|r| r.as_ref() == Ok(&done)).count();
    let stale_ones = results.iter().filter(|r| **r == Err(stale(1, 2))).count();
    // The winner gets the task; the others, who expected version 1, are told
    // it moved on (even though their change would have been a no-op).
    assert_eq!(changed, 1, "{results:?}");
    assert_eq!(stale_ones, WRITERS - 1, "{results:?}");
}

#[test]
fn concurrent_guarded_deletes_let_exactly_one_win() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    let task = store.create_task(&owner, NewTask::new("t")).unwrap();
    let results = race(&db, |_, conn| {
        conn.delete_task(&owner, task.id, VersionCheck::Exactly(1))
    });
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    for result in &results {
        if let Err(err) = result {
            assert_eq!(err, &Error::NotFound(Entity::Task));
        }
    }
    assert_eq!(count_rows(&mut db.conn(), "tasks"), 0);
}

#[test]
fn concurrent_bulk_creations_are_each_all_or_nothing_and_all_land() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    let results = race(&db, |i, conn| {
        let mut batch: Vec<_> = (0..20)
            .map(|j| NewTask::new(format!("w{i} t{j}")))
            .collect();
        if i % 2 == 1 {
            batch[19].title = " ".into(); // this writer's batch is invalid
        }
        conn.create_tasks(&owner, batch).map(|tasks| tasks.len())
    });
    let created: usize = results.iter().filter_map(|r| r.as_ref().ok()).sum();
    assert_eq!(created, 20 * WRITERS.div_ceil(2));
    assert_eq!(
        store.count_tasks(&owner, &TaskFilter::default()).unwrap(),
        u64::try_from(created).unwrap()
    );
}

#[test]
fn concurrent_sign_ups_with_one_email_create_one_account() {
    let db = TestDb::new();
    let email = unique_email("ada");
    let results = race(&db, |i, conn| {
        // The same address in several letter cases.
        let variant = if i % 2 == 0 {
            email.clone()
        } else {
            email.to_uppercase()
        };
        conn.create_user(NewUser::new(variant))
    });
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    for result in &results {
        if let Err(err) = result {
            assert_eq!(err, &Error::Conflict(ConflictKind::EmailTaken));
        }
    }
    assert_eq!(count_rows(&mut db.conn(), "users"), 1);
}

#[test]
fn concurrent_first_logins_with_one_subject_create_one_account() {
    let db = TestDb::new();
    // Several rounds, each with a new subject, to give the race a chance.
    for round in 0..30 {
        let subject = format!("auth0|round-{round}");
        let email = unique_email("sam");
        let results = race(&db, |_, conn| {
            conn.owner_for_subject(
                &subject,
                OnMissingSubject::Create(NewProfile::new(email.clone())),
            )
        });
        let users: Vec<_> = results
            .iter()
            .map(|r| r.as_ref().map(|(user, _)| user.id))
            .collect();
        let first = users.iter().find_map(|u| u.as_ref().ok()).copied();
        assert!(
            first.is_some() && users.iter().all(|u| u.as_ref().ok() == first.as_ref()),
            "round {round}: every first login must get the one account: {users:?}"
        );
    }
    assert_eq!(count_rows(&mut db.conn(), "users"), 30);
}

/// Two devices at the same version: one edits, one deletes (or completes).
/// Exactly one wins; the other gets a typed answer and nothing is half done.
#[test]
fn edit_against_delete_and_complete_against_edit_have_one_winner() {
    for rival in [TaskStatus::Done, TaskStatus::Open] {
        let db = TestDb::new();
        let mut store = db.store();
        let (_, owner) = new_user(&mut store, "ada");
        let tasks: Vec<Task> = (0..20)
            .map(|i| {
                store
                    .create_task(&owner, NewTask::new(format!("t{i}")))
                    .unwrap()
            })
            .collect();
        for task in &tasks {
            let results = race(&db, |i, conn| match (i % 2, rival) {
                (0, _) => conn
                    .update_task(
                        &owner,
                        task.id,
                        TaskPatch::default().title("edited"),
                        VersionCheck::Exactly(1),
                    )
                    .map(|_| "edit"),
                // Done: the rival completes; Open: the rival deletes.
                (_, TaskStatus::Done) => conn
                    .set_task_status(&owner, task.id, TaskStatus::Done, VersionCheck::Exactly(1))
                    .map(|_| "complete"),
                (_, TaskStatus::Open) => conn
                    .delete_task(&owner, task.id, VersionCheck::Exactly(1))
                    .map(|()| "delete"),
            });
            let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
            assert_eq!(winners.len(), 1, "{results:?}");
            // Every loser saw the winner's change: no task at all after a
            // delete, a newer version after an edit or a completion.
            let lost = if *winners[0] == "delete" {
                Error::NotFound(Entity::Task)
            } else {
                stale(1, 2)
            };
            for result in &results {
                if let Err(err) = result {
                    assert_eq!(err, &lost, "{results:?}");
                }
            }
            match (*winners[0], store.get_task(&owner, task.id)) {
                ("delete", Err(Error::NotFound(Entity::Task))) => {}
                ("edit", Ok(now)) => {
                    assert!(now.title == "edited" && !now.completed && now.version == 2)
                }
                ("complete", Ok(now)) => {
                    assert!(now.title == task.title && now.completed && now.version == 2)
                }
                other => panic!("{other:?}"),
            }
        }
    }
}

/// One device deletes the account while others add tasks to it: every
/// create either lands before the delete (and goes with the account) or
/// fails as `NotFound(User)`. No task outlives its owner.
#[test]
fn deleting_a_user_while_tasks_are_created_leaves_no_orphan() {
    let mut refused = 0;
    for _ in 0..5 {
        let db = TestDb::new();
        let mut store = db.store();
        let (_, owner) = new_user(&mut store, "ada");
        let results = race(&db, |i, conn| {
            if i == 0 {
                conn.delete_user(&owner).map(|()| 0)
            } else {
                let mut created = 0;
                for n in 0..20 {
                    match conn.create_task(&owner, NewTask::new(format!("t{i}-{n}"))) {
                        Ok(_) => created += 1,
                        Err(Error::NotFound(Entity::User)) => return Ok(-1),
                        Err(other) => return Err(other),
                    }
                }
                Ok(created)
            }
        });
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        refused += results.iter().filter(|r| **r == Ok(-1)).count();
        assert_eq!(count_rows(&mut db.conn(), "users"), 0);
        assert_eq!(count_rows(&mut db.conn(), "tasks"), 0);
    }
    // The race was real: some creates came after the delete.
    assert!(refused > 0);
}
