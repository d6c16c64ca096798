//! The pool's checkout test: a connection that was idle for longer than
//! `check_idle_after` is checked before use, one used more recently is not,
//! and a connection found dead by a failed call is dropped, not reused (and
//! makes the pool check the others). A read on a lost connection is made
//! again; a write is not.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::new_user;
use diesel::{PgConnection, QueryableByName, RunQueryDsl, sql_query, sql_types::Integer};
use todo_store::{Error, NewTask, Owner, Store, TaskFilter, TaskRepo};
use todo_store_tests::TestDb;

#[derive(QueryableByName)]
struct Pid {
    #[diesel(sql_type = Integer)]
    pid: i32,
}

/// The backend process of the pool's only connection.
fn pooled_pid(store: &Store) -> i32 {
    sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Pid>(&mut *store.conn().unwrap())
        .unwrap()
        .pid
}

/// Terminates backend `pid` and waits until it is gone.
fn terminate(admin: &mut PgConnection, pid: i32) {
    sql_query("SELECT pg_terminate_backend($1) AS ok, 0 AS pid")
        .bind::<Integer, _>(pid)
        .execute(admin)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alive: Vec<Pid> = sql_query("SELECT pid FROM pg_stat_activity WHERE pid = $1")
            .bind::<Integer, _>(pid)
            .load(admin)
            .unwrap();
        if alive.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "backend {pid} did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn one_connection_store(db: &TestDb, check_idle_after: Duration) -> (Store, Owner) {
    let config = db
        .config()
        .max_connections(1)
        .min_idle(1)
        .check_idle_after(check_idle_after);
    let mut store = Store::connect(&config).unwrap();
    let (_, owner) = new_user(&mut store, "pool");
    (store, owner)
}

#[test]
fn a_connection_lost_while_idle_is_checked_and_replaced_before_use() {
    let db = TestDb::new();
    let (mut store, owner) = one_connection_store(&db, Duration::from_millis(200));
    let pid = pooled_pid(&store);
    terminate(&mut db.conn(), pid);
    std::thread::sleep(Duration::from_millis(300));
    // Idle past the window: checked at checkout, found dead, replaced.
    assert_eq!(store.count_tasks(&owner, &TaskFilter::default()), Ok(0));
    assert_ne!(pooled_pid(&store), pid);
}

#[test]
fn a_connection_lost_within_the_window_fails_one_write_and_is_then_dropped() {
    let db = TestDb::new();
    let (mut store, owner) = one_connection_store(&db, Duration::from_secs(3600));
    let pid = pooled_pid(&store);
    terminate(&mut db.conn(), pid);
    // Used a moment ago, so handed out unchecked: a write fails, typed and
    // retryable (the library does not repeat writes) ...
    let err = store.create_task(&owner, NewTask::new("lost")).unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    assert!(err.is_retryable());
    // ... and the dead connection is not handed out again.
    assert_eq!(store.count_tasks(&owner, &TaskFilter::default()), Ok(0));
    assert_ne!(pooled_pid(&store), pid);
}

#[test]
fn a_read_on_a_lost_connection_is_made_again_on_a_checked_one() {
    let db = TestDb::new();
    let (mut store, owner) = one_connection_store(&db, Duration::from_secs(3600));
    store.create_task(&owner, NewTask::new("kept")).unwrap();
    let pid = pooled_pid(&store);
    terminate(&mut db.conn(), pid);
    assert_eq!(store.count_tasks(&owner, &TaskFilter::default()), Ok(1));
    assert_ne!(pooled_pid(&store), pid);
}

#[test]
fn checking_every_checkout_is_one_setting_away() {
    let db = TestDb::new();
    let (mut store, owner) = one_connection_store(&db, Duration::ZERO);
    let pid = pooled_pid(&store);
    terminate(&mut db.conn(), pid);
    assert_eq!(store.count_tasks(&owner, &TaskFilter::default()), Ok(0));
}

#[test]
fn one_lost_connection_makes_the_pool_check_the_others() {
    let db = TestDb::new();
    let config = db
        .config()
        .max_connections(2)
        .min_idle(0)
        .check_idle_after(Duration::from_secs(3600));
    let mut store = Store::connect(&config).unwrap();
    let (_, owner) = new_user(&mut store, "pool");
    // Two connections, both used just now.
    let pids: Vec<i32> = {
        let (mut a, mut b) = (store.conn().unwrap(), store.conn().unwrap());
        [&mut a, &mut b]
            .into_iter()
            .map(|conn| {
                sql_query("SELECT pg_backend_pid() AS pid")
                    .get_result::<Pid>(&mut **conn)
                    .unwrap()
                    .pid
            })
            .collect()
    };
    // Both die, as in a server restart.
    let mut admin = db.conn();
    for pid in &pids {
        terminate(&mut admin, *pid);
    }
    // The first write meets a dead connection (trusted, used a moment ago) ...
    let err = store.create_task(&owner, NewTask::new("lost")).unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    // ... after which the other one is checked before use, and replaced.
    store.create_task(&owner, NewTask::new("kept")).unwrap();
    assert!(!pids.contains(&pooled_pid(&store)));
}
