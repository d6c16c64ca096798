//! Creates with a client-chosen id are idempotent: a retry after a lost
//! reply returns the task created the first time, and never makes a second.

#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;

use std::thread;

use chrono::Utc;

use common::{Repo, count_rows, dump_db, new_user};
use todo_store::{
    ConflictKind, Error, NewTask, Priority, TaskFilter, TaskId, TaskPatch, TaskRepo, VersionCheck,
};
use todo_store_tests::TestDb;

fn retried_task() -> NewTask {
    // A due time with nanoseconds, as `Utc::now()` gives: PostgreSQL keeps
    // microseconds, and a retry must still be recognised.
    NewTask::new("Pay the rent")
        .description("Before the 5th")
        .priority(Priority::HIGHEST)
        .due_at(Utc::now() + chrono::Duration::days(3))
        .id(TaskId::new_v7())
}

fn a_repeated_create_returns_the_first_task_and_writes_nothing(repo: &mut dyn Repo, db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let new = retried_task();
    let first = repo.create_task(&owner, new.clone()).unwrap();
    assert_eq!(Some(first.id), new.id);
    let before = dump_db(&mut db.conn());
    for _ in 0..3 {
        assert_eq!(repo.create_task(&owner, new.clone()).unwrap(), first);
    }
    assert_eq!(dump_db(&mut db.conn()), before);
}

fn another_task_under_a_taken_id_is_a_conflict(repo: &mut dyn Repo, db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let new = retried_task();
    let first = repo.create_task(&owner, new.clone()).unwrap();
    let before = dump_db(&mut db.conn());
    let mut other = new.clone();
    other.title = "Something else".into();
    let duplicate = Err(Error::Conflict(ConflictKind::DuplicateTaskId));
    assert_eq!(repo.create_task(&owner, other), duplicate);
    // Changed since it was created: a retry of the original create no longer
    // describes it, and says so rather than hiding the change.
    let changed = repo
        .update_task(
            &owner,
            first.id,
            TaskPatch::default().priority(Priority::LOWEST),
            VersionCheck::Any,
        )
        .unwrap();
    let after_change = dump_db(&mut db.conn());
    assert_ne!(after_change, before);
    assert_eq!(repo.create_task(&owner, new), duplicate);
    assert_eq!(dump_db(&mut db.conn()), after_change);
    assert_eq!(repo.get_task(&owner, first.id).unwrap(), changed);
}

fn an_id_used_by_another_user_reveals_nothing(repo: &mut dyn Repo, _db: &TestDb) {
    let (_, ada) = new_user(repo, "ada");
    let (_, bob) = new_user(repo, "bob");
    let new = retried_task();
    let adas = repo.create_task(&ada, new.clone()).unwrap();
    // Bob's create with the same id is his own task: ids are per owner, and
    // nothing of Ada's comes back (not even a conflict).
    let mut bobs_new = new.clone();
    bobs_new.title = "Bob's own".into();
    let bobs = repo.create_task(&bob, bobs_new).unwrap();
    assert_eq!(bobs.id, adas.id);
    assert_eq!(bobs.title, "Bob's own");
    assert_eq!(repo.get_task(&ada, adas.id).unwrap(), adas);
    assert_eq!(repo.count_tasks(&bob, &TaskFilter::default()).unwrap(), 1);
}

fn a_repeated_batch_returns_the_same_tasks_in_order(repo: &mut dyn Repo, db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let batch: Vec<NewTask> = (0..5)
        .map(|i| NewTask::new(format!("Step {i}")).id(TaskId::new_v7()))
        .collect();
    let first = repo.create_tasks(&owner, batch.clone()).unwrap();
    let before = dump_db(&mut db.conn());
    // The same batch again, and a longer one that repeats it in another order.
    assert_eq!(repo.create_tasks(&owner, batch.clone()).unwrap(), first);
    let mut longer = batch.clone();
    longer.reverse();
    longer.insert(2, NewTask::new("New step"));
    let answered = repo.create_tasks(&owner, longer.clone()).unwrap();
    assert_eq!(answered.len(), 6);
    for (task, asked) in answered.iter().zip(&longer) {
        assert_eq!(task.title, asked.title);
        if let Some(id) = asked.id {
            assert_eq!(task.id, id);
        }
    }
    assert_eq!(count_rows(&mut db.conn(), "tasks"), 6);
    // One conflicting element: nothing of the batch is written.
    let mut spoiled = batch.clone();
    spoiled[3].title = "Not step 3".into();
    spoiled.push(NewTask::new("Would be new"));
    let after = dump_db(&mut db.conn());
    assert_ne!(after, before);
    assert_eq!(
        repo.create_tasks(&owner, spoiled),
        Err(Error::Conflict(ConflictKind::DuplicateTaskId))
    );
    assert_eq!(dump_db(&mut db.conn()), after);
}

fn the_same_id_twice_in_one_batch_is_one_task_or_a_conflict(repo: &mut dyn Repo, db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let new = retried_task();
    let twice = repo
        .create_tasks(&owner, vec![new.clone(), new.clone()])
        .unwrap();
    assert_eq!(twice[0], twice[1]);
    assert_eq!(count_rows(&mut db.conn(), "tasks"), 1);
    let id = TaskId::new_v7();
    let clash = vec![NewTask::new("One").id(id), NewTask::new("Two").id(id)];
    assert_eq!(
        repo.create_tasks(&owner, clash),
        Err(Error::Conflict(ConflictKind::DuplicateTaskId))
    );
    assert_eq!(count_rows(&mut db.conn(), "tasks"), 1);
}

on_both_repos!(
    a_repeated_create_returns_the_first_task_and_writes_nothing,
    another_task_under_a_taken_id_is_a_conflict,
    an_id_used_by_another_user_reveals_nothing,
    a_repeated_batch_returns_the_same_tasks_in_order,
    the_same_id_twice_in_one_batch_is_one_task_or_a_conflict,
);

#[test]
fn concurrent_retries_create_the_task_once() {
    let db = TestDb::new();
    let store = db.store();
    let (_, owner) = new_user(&mut store.clone(), "ada");
    let new = retried_task();
    let answers: Vec<_> = thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (mut store, owner, new) = (store.clone(), owner.clone(), new.clone());
                scope.spawn(move || store.create_task(&owner, new).unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(answers.iter().all(|task| *task == answers[0]));
    assert_eq!(count_rows(&mut db.conn(), "tasks"), 1);
}

/// A repeated create whose earlier task is deleted between the create's
/// insert (which finds the id taken) and its look-up: the answer is the
/// retryable `ConcurrentUpdate`, never `DuplicateTaskId`, and the store's
/// retry then creates the task. The interleaving is forced, not timed: a
/// statement trigger pauses the create's first insert on an advisory lock
/// the test holds, until the test has deleted the task.
#[test]
fn a_create_racing_a_delete_of_its_id_is_retried_not_a_duplicate() {
    use diesel::{QueryableByName, RunQueryDsl, connection::SimpleConnection, sql_query};
    use todo_store::{RetryPolicy, Store};

    #[derive(QueryableByName)]
    struct Calls {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let calls = |conn: &mut diesel::PgConnection| {
        sql_query("SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM insert_calls")
            .get_result::<Calls>(conn)
            .unwrap()
            .n
    };

    for (policy, retried) in [
        (RetryPolicy::default(), true),
        (RetryPolicy::never(), false),
    ] {
        let db = TestDb::new();
        let mut store = Store::connect(&db.config().retry(policy)).unwrap();
        let (_, owner) = new_user(&mut store, "ada");
        let new = retried_task();
        let first = store.create_task(&owner, new.clone()).unwrap();
        db.conn()
            .batch_execute(
                "CREATE SEQUENCE insert_calls;
                 CREATE FUNCTION pause_first_insert() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN
                     IF nextval('insert_calls') = 1 THEN
                         PERFORM pg_advisory_xact_lock(4711);
                     END IF;
                     RETURN NULL;
                 END $$;
                 CREATE TRIGGER pause_first_insert AFTER INSERT ON tasks
                     FOR EACH STATEMENT EXECUTE FUNCTION pause_first_insert();",
            )
            .unwrap();
        let mut holder = db.conn();
        holder
            .batch_execute("SELECT pg_advisory_lock(4711)")
            .unwrap();
        let answer = thread::scope(|scope| {
            let create = scope.spawn(|| store.create_task(&owner, new.clone()));
            // The insert found the id taken and now waits on the lock.
            while calls(&mut holder) < 1 {
                // A create that failed before its insert would never get here.
                assert!(!create.is_finished(), "the create ended before its insert");
                thread::sleep(std::time::Duration::from_millis(5));
            }
            holder
                .batch_execute(&format!("DELETE FROM tasks WHERE id = '{}'", first.id))
                .unwrap();
            holder
                .batch_execute("SELECT pg_advisory_unlock(4711)")
                .unwrap();
            create.join().unwrap()
        });
        if retried {
            let task = answer.unwrap();
            assert_eq!((task.id, &task.title), (first.id, &first.title));
            assert_eq!(count_rows(&mut db.conn(), "tasks"), 1);
        } else {
            assert_eq!(answer, Err(Error::Conflict(ConflictKind::ConcurrentUpdate)));
            assert_eq!(count_rows(&mut db.conn(), "tasks"), 0);
        }
    }
}
