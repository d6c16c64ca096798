//! The per-user task counts the database keeps, and the per-user task limit
//! it enforces: counts equal to `count(*)` after concurrent writers of every
//! kind (the library's and raw SQL over several owners), a limit that no
//! path can cross, not even many creates at once, and an import that
//! would cross it refused with a clear error.

#![allow(clippy::unwrap_used)]

mod common;

use std::{collections::BTreeMap, thread};

use common::unique_email;
use diesel::{
    PgConnection, QueryableByName, RunQueryDsl, connection::SimpleConnection, sql_query,
    sql_types::BigInt,
};
use todo_store::{
    DEFAULT_PAGE_SIZE, Error, NewTask, Owner, StatusFilter, Store, TaskFilter, TaskId, TaskPatch,
    TaskRepo, TaskStatus, VersionCheck,
    backup::{self, BackupError, BackupReader, ImportOptions},
    bulk::ExportOptions,
    in_owner_scope,
    limits::{self, DEFAULT_TASK_LIMIT},
    sql_text,
};
use todo_store_tests::{TestDb, rng, walk_tasks};

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Counted {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    user_id: uuid::Uuid,
    #[diesel(sql_type = BigInt)]
    total: i64,
    #[diesel(sql_type = BigInt)]
    done: i64,
}

/// Every owner's (total, done): as kept, and as counted from `tasks`.
fn kept_and_counted(conn: &mut PgConnection) -> (Vec<Counted>, Vec<Counted>) {
    let kept = sql_query(
        "SELECT user_id, total::bigint AS total, done::bigint AS done
           FROM task_counts WHERE total > 0 ORDER BY user_id",
    )
    .load(conn)
    .unwrap();
    let counted = sql_query(
        "SELECT user_id, count(*) AS total, count(*) FILTER (WHERE completed) AS done
           FROM tasks GROUP BY user_id ORDER BY user_id",
    )
    .load(conn)
    .unwrap();
    (kept, counted)
}

/// Random creates (one and many), edits, status changes and deletes of the
/// owner's tasks through the library.
fn write_randomly(store: &mut Store, owner: &Owner, seed: u64, steps: usize) {
    let mut next = rng(seed);
    let mut mine: Vec<TaskId> = Vec::new();
    for step in 0..steps {
        let pick = |i: u64, mine: &[TaskId]| mine[i as usize % mine.len()];
        match next(10) {
            0..=2 => mine.push(
                store
                    .create_task(owner, NewTask::new(format!("w{seed}-{step}")))
                    .unwrap()
                    .id,
            ),
            3 => {
                let batch = (0..1 + next(5)).map(|i| NewTask::new(format!("b{seed}-{step}-{i}")));
                let created = store.create_tasks(owner, batch.collect()).unwrap();
                mine.extend(created.into_iter().map(|task| task.id));
            }
            _ if mine.is_empty() => {}
            4 => {
                let patch = TaskPatch::default().title(format!("e{seed}-{step}"));
                let id = pick(next(1 << 20), &mine);
                // Raw SQL may have deleted it meanwhile.
                let _ = store.update_task(owner, id, patch, VersionCheck::Any);
            }
            5..=7 => {
                let status = [TaskStatus::Done, TaskStatus::Open][next(2) as usize];
                let id = pick(next(1 << 20), &mine);
                let _ = store.set_task_status(owner, id, status, VersionCheck::Any);
            }
            8 => {
                let id = mine.swap_remove(next(1 << 20) as usize % mine.len());
                let _ = store.delete_task(owner, id, VersionCheck::Any);
            }
            _ => {
                let n = (1 + next(3) as usize).min(mine.len());
                let ids: Vec<TaskId> = mine.drain(..n).collect();
                store.delete_tasks(owner, &ids).unwrap();
            }
        }
    }
}

/// Statements over several owners at once, as an operator's SQL would be:
/// flipping and deleting a random sample of everyone's tasks. A deadlock
/// with the library's writers is possible (PostgreSQL breaks it); the
/// statement is then sent again.
fn raw_sql_randomly(db: &TestDb, seed: u64, statements: usize) {
    let mut conn = db.conn();
    let mut next = rng(seed);
    for _ in 0..statements {
        let sql = match next(3) {
            0 => "DELETE FROM tasks WHERE random() < 0.05",
            _ => {
                "UPDATE tasks SET completed = NOT completed,
                        completed_at = CASE WHEN completed THEN NULL ELSE now() END
                  WHERE random() < 0.2"
            }
        };
        for attempt in 0.. {
            match conn.batch_execute(sql) {
                Ok(()) => break,
                Err(err) if attempt < 20 && err.to_string().contains("deadlock") => {}
                Err(err) => panic!("{sql}: {err}"),
            }
        }
    }
}

#[test]
fn the_kept_counts_equal_count_star_after_random_concurrent_writes() {
    let db = TestDb::new();
    let owners: Vec<Owner> = (0..3)
        .map(|i| db.owner(&unique_email(&format!("counted{i}"))))
        .collect();
    thread::scope(|scope| {
        // Two writers per owner, so that they contend for the owner's row.
        for (i, owner) in owners.iter().chain(owners.iter()).enumerate() {
            let db = &db;
            scope.spawn(move || write_randomly(&mut db.store(), owner, i as u64 + 1, 150));
        }
        scope.spawn(|| raw_sql_randomly(&db, 99, 30));
    });

    let mut conn = db.conn();
    let (kept, counted) = kept_and_counted(&mut conn);
    assert!(!counted.is_empty());
    assert_eq!(kept, counted);
    // And the library answers from them.
    let mut store = db.store();
    for owner in &owners {
        let tasks = collect_all(&mut store, owner);
        let done = tasks.iter().filter(|(_, done)| **done).count() as u64;
        let mut count = |status| {
            store
                .count_tasks(owner, &TaskFilter::default().status(status))
                .unwrap()
        };
        assert_eq!(count(StatusFilter::All), tasks.len() as u64);
        assert_eq!(count(StatusFilter::Done), done);
        assert_eq!(count(StatusFilter::Open), tasks.len() as u64 - done);
    }
}

/// Every task of the owner (id → done), by walking the list.
fn collect_all(store: &mut Store, owner: &Owner) -> BTreeMap<TaskId, bool> {
    walk_tasks(
        store,
        owner,
        todo_store::TaskQuery::new().limit(DEFAULT_PAGE_SIZE),
    )
    .into_iter()
    .map(|task| (task.id, task.completed))
    .collect()
}

#[test]
fn a_status_count_reads_one_row_and_other_filters_count_tasks() {
    let db = TestDb::new();
    let owner = db.owner(&unique_email("statuses"));
    let mut conn = db.conn();
    for status in [StatusFilter::All, StatusFilter::Open, StatusFilter::Done] {
        let filter = TaskFilter::default().status(status);
        // An owner who never had a task has no row: zero, not an error.
        assert_eq!(conn.count_tasks(&owner, &filter).unwrap(), 0);
        let sql = sql_text::count_tasks(&mut conn, &owner, &filter).unwrap();
        assert!(sql.sql().contains("\"task_counts\""), "{}", sql.sql());
    }
    let filter = TaskFilter::default().search("plants");
    let sql = sql_text::count_tasks(&mut conn, &owner, &filter).unwrap();
    assert!(!sql.sql().contains("task_counts"), "{}", sql.sql());
    conn.create_task(&owner, NewTask::new("Water the plants"))
        .unwrap();
    conn.create_task(&owner, NewTask::new("Buy bread")).unwrap();
    assert_eq!(conn.count_tasks(&owner, &filter).unwrap(), 1);
    assert_eq!(conn.count_tasks(&owner, &TaskFilter::default()).unwrap(), 2);
}

#[test]
fn a_create_beyond_the_limit_is_refused_and_writes_nothing() {
    let db = TestDb::new();
    let owner = db.owner(&unique_email("limited"));
    let mut admin = db.conn();
    limits::set_task_limit(&mut admin, owner.user_id(), Some(3)).unwrap();
    let mut store = db.store();
    for i in 0..3 {
        store
            .create_task(&owner, NewTask::new(format!("task {i}")))
            .unwrap();
    }
    let history_before = todo_store_tests::count(&mut admin, "task_history");

    let err = store
        .create_task(&owner, NewTask::new("one too many"))
        .unwrap_err();
    assert_eq!(err, Error::TaskLimitReached { limit: 3 });
    assert!(!err.is_retryable());
    assert_eq!(
        err.to_string(),
        "task limit reached: a user may have at most 3 tasks"
    );
    // A bulk create that would cross it writes none of its tasks.
    let first = collect_first(&mut store, &owner);
    store.delete_tasks(&owner, &[first]).unwrap();
    let err = store
        .create_tasks(&owner, vec![NewTask::new("a"), NewTask::new("b")])
        .unwrap_err();
    assert_eq!(err, Error::TaskLimitReached { limit: 3 });
    assert_eq!(
        store.count_tasks(&owner, &TaskFilter::default()).unwrap(),
        2
    );
    // Only the delete was recorded.
    assert_eq!(
        todo_store_tests::count(&mut admin, "task_history"),
        history_before + 1
    );
    // Room for one.
    store.create_task(&owner, NewTask::new("fits")).unwrap();
    let limit = limits::task_limit(&mut admin, owner.user_id()).unwrap();
    assert_eq!((limit.tasks, limit.limit, limit.own_limit), (3, 3, Some(3)));
}

fn collect_first(store: &mut Store, owner: &Owner) -> TaskId {
    store
        .list_tasks(owner, &todo_store::TaskQuery::new().limit(1))
        .unwrap()
        .items[0]
        .id
}

#[test]
fn the_deployments_limit_applies_to_users_without_their_own() {
    let db = TestDb::new();
    let mut admin = db.conn();
    assert_eq!(
        limits::default_task_limit(&mut admin).unwrap(),
        DEFAULT_TASK_LIMIT
    );
    let plain = db.owner(&unique_email("plain"));
    let special = db.owner(&unique_email("special"));
    limits::set_default_task_limit(&mut admin, 1).unwrap();
    limits::set_task_limit(&mut admin, special.user_id(), Some(2)).unwrap();
    let mut store = db.store();
    for owner in [&plain, &special] {
        store.create_task(owner, NewTask::new("first")).unwrap();
    }
    assert_eq!(
        store
            .create_task(&plain, NewTask::new("second"))
            .unwrap_err(),
        Error::TaskLimitReached { limit: 1 }
    );
    store.create_task(&special, NewTask::new("second")).unwrap();
    // Back to the deployment's: lowering deletes nothing, but creates wait.
    limits::set_task_limit(&mut admin, special.user_id(), None).unwrap();
    let limit = limits::task_limit(&mut admin, special.user_id()).unwrap();
    assert_eq!((limit.tasks, limit.limit, limit.own_limit), (2, 1, None));
    assert_eq!(
        store
            .create_task(&special, NewTask::new("third"))
            .unwrap_err(),
        Error::TaskLimitReached { limit: 1 }
    );
    // Zero: no task at all.
    limits::set_default_task_limit(&mut admin, 0).unwrap();
    let fresh = db.owner(&unique_email("fresh"));
    assert_eq!(
        store.create_task(&fresh, NewTask::new("none")).unwrap_err(),
        Error::TaskLimitReached { limit: 0 }
    );
    // Bad values, and accounts that do not exist.
    assert!(matches!(
        limits::set_default_task_limit(&mut admin, u32::MAX),
        Err(Error::Validation { field, .. }) if field == "max_tasks"
    ));
    let nobody = todo_store::UserId::from_uuid(uuid::Uuid::nil());
    assert_eq!(
        limits::set_task_limit(&mut admin, nobody, Some(5)).unwrap_err(),
        Error::NotFound(todo_store::Entity::User)
    );
    assert_eq!(
        limits::task_limit(&mut admin, nobody).unwrap_err(),
        Error::NotFound(todo_store::Entity::User)
    );
}

#[test]
fn concurrent_creates_stop_exactly_at_the_limit() {
    let db = TestDb::new();
    let owner = db.owner(&unique_email("racing"));
    limits::set_task_limit(&mut db.conn(), owner.user_id(), Some(40)).unwrap();
    let created: usize = thread::scope(|scope| {
        let writers: Vec<_> = (0..6)
            .map(|w| {
                let (db, owner) = (&db, &owner);
                scope.spawn(move || {
                    let mut store = db.store();
                    let mut made = 0;
                    for i in 0.. {
                        let batch = vec![NewTask::new(format!("{w}-{i}")); 1 + i % 3];
                        match store.create_tasks(owner, batch) {
                            Ok(tasks) => made += tasks.len(),
                            Err(Error::TaskLimitReached { limit: 40 }) if i % 3 == 0 => {
                                return made;
                            }
                            Err(Error::TaskLimitReached { limit: 40 }) => {}
                            Err(other) => panic!("{other}"),
                        }
                    }
                    made
                })
            })
            .collect();
        writers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    assert_eq!(created, 40);
    let mut conn = db.conn();
    assert_eq!(
        conn.count_tasks(&owner, &TaskFilter::default()).unwrap(),
        40
    );
    assert_eq!(todo_store_tests::count(&mut conn, "tasks"), 40);
}

#[test]
fn a_downstream_crates_own_insert_is_bound_and_cannot_raise_the_limit() {
    let db = TestDb::new();
    let owner = db.owner(&unique_email("downstream"));
    limits::set_task_limit(&mut db.conn(), owner.user_id(), Some(1)).unwrap();
    let app = db.app_role();
    let mut conn = app.conn();
    let insert = |conn: &mut PgConnection, title: &str| {
        in_owner_scope(conn, &owner, |conn| {
            sql_query(format!(
                "INSERT INTO tasks (user_id, id, title) VALUES ('{}', gen_random_uuid(), '{title}')",
                owner.user_id()
            ))
            .execute(conn)
            .map_err(Error::from)
        })
    };
    insert(&mut conn, "mine").unwrap();
    assert_eq!(
        insert(&mut conn, "too many").unwrap_err(),
        Error::TaskLimitReached { limit: 1 }
    );
    // The application role reads its owner's counts, and changes no limit.
    in_owner_scope(&mut conn, &owner, |conn| {
        assert_eq!(todo_store_tests::count(conn, "task_counts"), 1);
        Ok::<_, Error>(())
    })
    .unwrap();
    assert!(limits::set_default_task_limit(&mut conn, 100).is_err());
    assert!(limits::set_task_limit(&mut conn, owner.user_id(), Some(100)).is_err());
    let raised = in_owner_scope(&mut conn, &owner, |conn| {
        conn.batch_execute("UPDATE task_counts SET max_tasks = 100")
            .map_err(Error::from)
    });
    assert!(raised.is_err(), "{raised:?}");
    // Nor can it run the counting trigger, which runs as the tables'
    // owner, on a table of its own.
    let attached = conn.batch_execute(
        "CREATE TEMP TABLE fake (user_id uuid, id uuid, completed boolean);
         CREATE TRIGGER fake_tally AFTER TRUNCATE ON fake
             FOR EACH STATEMENT EXECUTE FUNCTION todo_store_count_tasks();",
    );
    let err = attached.unwrap_err().to_string();
    assert!(err.contains("permission denied"), "{err}");
    let attached = conn.batch_execute(
        "CREATE TEMP TABLE fake2 (user_id uuid, id uuid);
         CREATE TRIGGER fake_history AFTER INSERT ON fake2 REFERENCING NEW TABLE AS new_rows
             FOR EACH STATEMENT EXECUTE FUNCTION todo_store_record_task_changes();",
    );
    let err = attached.unwrap_err().to_string();
    assert!(err.contains("permission denied"), "{err}");
    assert_eq!(
        limits::task_limit(&mut db.conn(), owner.user_id())
            .unwrap()
            .limit,
        1
    );
}

#[test]
fn the_settings_row_cannot_be_deleted_and_one_owners_writes_do_not_deadlock() {
    let db = TestDb::new();
    let mut admin = db.conn();
    let err = admin
        .batch_execute("DELETE FROM store_settings")
        .unwrap_err()
        .to_string();
    assert!(err.contains("keeps its one row"), "{err}");
    assert_eq!(
        limits::default_task_limit(&mut admin).unwrap(),
        DEFAULT_TASK_LIMIT
    );

    // An edit then a create in one transaction, beside a create of the same
    // owner: both take the owner's rows in the same order, so the second
    // waits for the first instead of deadlocking with it.
    let owner = db.owner(&unique_email("ordered"));
    let task = db
        .conn()
        .create_task(&owner, NewTask::new("first"))
        .unwrap();
    let app = db.app_role();
    let (mut first, mut second) = (app.conn(), app.conn());
    let barrier = std::sync::Barrier::new(2);
    thread::scope(|scope| {
        let edit_then_create = scope.spawn(|| {
            in_owner_scope(&mut first, &owner, |conn| {
                conn.update_task(
                    &owner,
                    task.id,
                    TaskPatch::default().title("renamed"),
                    VersionCheck::Any,
                )?;
                barrier.wait();
                std::thread::sleep(std::time::Duration::from_millis(300));
                conn.create_task(&owner, NewTask::new("after the edit"))
            })
        });
        let create = scope.spawn(|| {
            barrier.wait();
            in_owner_scope(&mut second, &owner, |conn| {
                conn.create_task(&owner, NewTask::new("meanwhile"))
            })
        });
        edit_then_create.join().unwrap().unwrap();
        create.join().unwrap().unwrap();
    });
    assert_eq!(
        db.conn()
            .count_tasks(&owner, &TaskFilter::default())
            .unwrap(),
        3
    );
}

#[test]
fn an_import_that_would_cross_a_limit_is_refused_and_says_so() {
    let source = TestDb::new();
    let owner = source.owner(&unique_email("importer"));
    let mut conn = source.conn();
    for i in 0..5 {
        conn.create_task(&owner, NewTask::new(format!("task {i}")))
            .unwrap();
    }
    let mut file = Vec::new();
    backup::export(&mut conn, &ExportOptions::default(), &mut file, |_| {}).unwrap();

    let target = TestDb::new();
    limits::set_default_task_limit(&mut target.conn(), 3).unwrap();
    let reader = BackupReader::new(file.as_slice()).unwrap();
    let mut conns = [target.conn()];
    let err = backup::import(&mut conns, reader, &ImportOptions::default(), |_| {}).unwrap_err();
    assert!(matches!(err, BackupError::Batch { .. }), "{err:?}");
    assert_eq!(
        err.store_error(),
        Some(&Error::TaskLimitReached { limit: 3 })
    );
    let message = err.to_string();
    assert!(
        message.contains("at most 3 tasks") && message.contains("was not imported"),
        "{message}"
    );
    assert_eq!(todo_store_tests::count(&mut target.conn(), "tasks"), 0);
}
