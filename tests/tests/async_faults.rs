//! The async store's faults against real PostgreSQL, as the application
//! role that row-level security binds: a pooled connection the server ends
//! (`pg_terminate_backend`), and calls PostgreSQL aborts for a deadlock or a
//! serialization failure. A read is repeated once on another connection
//! after a lost connection, a write is not (it may have reached the
//! database: the caller decides); every call is repeated whole under the
//! store's [`RetryPolicy`] after a deadlock or a serialization failure; and
//! no failure leaves a backend of the pool in a transaction.
//!
//! Every fault is set up deterministically, never by a race: the tests run
//! on tokio's single-threaded runtime (`#[tokio::test]`), so a terminated
//! connection's driver task cannot notice the termination before the next
//! call checks the connection out; and the aborts are made by locks the
//! test holds from sync superuser connections, released in an order that
//! leaves PostgreSQL one outcome. A bounded wait only guards against a
//! hang; no assertion depends on how long anything took.

#![allow(clippy::unwrap_used)]

use std::{future::Future, time::Duration};

use diesel::{
    PgConnection, QueryableByName, RunQueryDsl,
    connection::SimpleConnection,
    sql_query,
    sql_types::{BigInt, Bool, Integer, Nullable, Text},
};
use todo_store::{
    AsyncStore, ConflictKind, DatabaseUrl, Error, NewTask, Owner, RetryPolicy, Task, TaskId,
    TaskPatch, TaskQuery, TaskRepo, VersionCheck,
};
use todo_store_tests::{AppRoleLogin, TestDb, count};

// --- helpers ---------------------------------------------------------------

/// One server process of the application role, as `pg_stat_activity` shows it.
#[derive(Debug, QueryableByName)]
struct Backend {
    #[diesel(sql_type = Integer)]
    pid: i32,
    #[diesel(sql_type = Nullable<Text>)]
    state: Option<String>,
}

/// The server processes of the async store `store` (the stores here are
/// told apart by their `application_name`), as the application role.
fn backends(su: &mut PgConnection, app: &AppRoleLogin, store: &str) -> Vec<Backend> {
    sql_query(
        "SELECT pid, state FROM pg_stat_activity
          WHERE usename = $1 AND application_name = $2 AND datname = current_database()
          ORDER BY pid",
    )
    .bind::<Text, _>(app.name())
    .bind::<Text, _>(store)
    .load(su)
    .unwrap()
}

/// The pid of the one connection of the async store `store`.
fn the_only_backend(su: &mut PgConnection, app: &AppRoleLogin, store: &str) -> i32 {
    let backends = backends(su, app, store);
    assert_eq!(backends.len(), 1, "{store}: {backends:?}");
    backends[0].pid
}

/// Asserts that no backend of the application role (every pool of the
/// test) was left in a transaction (`idle in transaction`, or `…
/// (aborted)`): every one is idle, waiting for a call.
fn assert_no_transaction_left_open(su: &mut PgConnection, app: &AppRoleLogin, after: &str) {
    let backends: Vec<Backend> = sql_query(
        "SELECT pid, state FROM pg_stat_activity
          WHERE usename = $1 AND datname = current_database()
          ORDER BY pid",
    )
    .bind::<Text, _>(app.name())
    .load(su)
    .unwrap();
    assert!(!backends.is_empty(), "after {after}: no pool connection");
    assert!(
        backends.iter().all(|b| b.state.as_deref() == Some("idle")),
        "after {after}: {backends:?}"
    );
}

/// Ends the backend `pid` as an administrator would, and waits until it
/// has exited (so that its connection is dead before the next call).
fn terminate(su: &mut PgConnection, pid: i32) {
    #[derive(QueryableByName)]
    struct Ended {
        #[diesel(sql_type = Bool)]
        ended: bool,
    }
    let ended = sql_query("SELECT pg_terminate_backend($1, 10000) AS ended")
        .bind::<Integer, _>(pid)
        .get_result::<Ended>(su)
        .unwrap()
        .ended;
    assert!(ended, "backend {pid} did not exit");
}

/// Ends the application role's sessions when dropped: declared after the
/// role, so dropped before it, so that a test that fails while a session
/// holds a transaction open fails instead of hanging (dropping the role
/// waits for that transaction's locks; the pool's own closing needs the
/// runtime, which a panicking test no longer runs).
struct EndSessionsOnDrop {
    su: PgConnection,
    role: String,
}

impl EndSessionsOnDrop {
    fn of(db: &TestDb, app: &AppRoleLogin) -> Self {
        Self {
            su: db.conn(),
            role: app.name().to_owned(),
        }
    }
}

impl Drop for EndSessionsOnDrop {
    fn drop(&mut self) {
        let ended = sql_query(
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE usename = $1",
        )
        .bind::<Text, _>(&self.role)
        .execute(&mut self.su);
        if let Err(err) = ended {
            eprintln!(
                "warning: could not end the sessions of {}: {err}",
                self.role
            );
        }
    }
}

/// The server process of `conn`.
fn backend_pid(conn: &mut PgConnection) -> i32 {
    #[derive(QueryableByName)]
    struct Pid {
        #[diesel(sql_type = Integer)]
        pid: i32,
    }
    sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Pid>(conn)
        .unwrap()
        .pid
}

/// Whether the backend `pid` is waiting for a lock (a row, a transaction,
/// an advisory lock).
fn waits_for_a_lock(su: &mut PgConnection, pid: i32) -> bool {
    #[derive(QueryableByName)]
    struct Waiting {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    sql_query(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'",
    )
    .bind::<Integer, _>(pid)
    .get_result::<Waiting>(su)
    .unwrap()
    .n == 1
}

/// Yields to the runtime (so that the call under test makes progress)
/// until `done`; panics after 30 s instead of hanging.
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..3_000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("waited 30 s for {what}");
}

/// The value of the sequence `name` (0 before its first `nextval`):
/// sequences are not rolled back, so it counts attempts across aborts.
fn sequence_value(su: &mut PgConnection, name: &str) -> i64 {
    #[derive(QueryableByName)]
    struct Value {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    sql_query(format!(
        "SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM {name}"
    ))
    .get_result::<Value>(su)
    .unwrap()
    .n
}

/// An owner with one task (made by the superuser's sync store).
fn owner_with_a_task(db: &TestDb) -> (Owner, Task) {
    let owner = db.owner("ada@example.com");
    let task = db
        .store()
        .create_task(&owner, NewTask::new("Buy milk"))
        .unwrap();
    (owner, task)
}

/// The task as stored now, read by the superuser's sync store.
fn stored(db: &TestDb, owner: &Owner, id: TaskId) -> Task {
    db.store().get_task(owner, id).unwrap()
}

/// An async store of one connection as `app`, with `retry`, named `name`
/// (its `application_name`); its connection is open (`connect` keeps the
/// one it checked with) and has served `owner` a call.
async fn one_connection_store(
    app: &AppRoleLogin,
    name: &str,
    retry: RetryPolicy,
    owner: &Owner,
) -> AsyncStore {
    let mut config = app.config().max_connections(1).retry(retry);
    let url = app.url().expose();
    let separator = if url.contains('?') { '&' } else { '?' };
    config.url = DatabaseUrl::new(format!("{url}{separator}application_name={name}"));
    let store = AsyncStore::connect(&config).await.unwrap();
    store.list_tasks(owner, &TaskQuery::new()).await.unwrap();
    store
}

/// Installs a gate on `tasks` for `app`: a restrictive row-level security
/// policy whose function runs on the first task row each of `app`'s
/// transactions reads (a read's rows, and an update's, which reads the row
/// it changes), counts that transaction in the sequence `gate_entries`, and,
/// if `locks`, then takes the advisory locks 1, 2 and 3 in that order, for
/// the rest of the transaction. The test's superuser connections bypass it.
fn install_gate(db: &TestDb, app: &AppRoleLogin, locks: bool) {
    let app = app.name();
    db.conn()
        .batch_execute(&format!(
            "CREATE SEQUENCE gate_entries;
             GRANT USAGE ON SEQUENCE gate_entries TO {app};
             CREATE FUNCTION fault_gate() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
             BEGIN
                 IF current_setting('fault.entered', true) IS DISTINCT FROM 'yes' THEN
                     PERFORM set_config('fault.entered', 'yes', true);
                     PERFORM nextval('gate_entries');
                     IF {locks} THEN
                         PERFORM pg_advisory_xact_lock(1);
                         PERFORM pg_advisory_xact_lock(2);
                         PERFORM pg_advisory_xact_lock(3);
                     END IF;
                 END IF;
                 RETURN true;
             END $$;
             CREATE POLICY fault_gate ON tasks AS RESTRICTIVE FOR SELECT TO {app}
                 USING (fault_gate());"
        ))
        .unwrap();
}

/// For the test's own lock-holding connections: a lock they wait for
/// longer than this fails the test (a library that left a transaction open
/// would otherwise hang it) instead of waiting for ever.
const NO_HANG: &str = "SET lock_timeout = '30s'";

/// Runs `call` (a call of `store`, a one-connection async store of `app`'s, through
/// the gate of [`install_gate`] with locks) into a real deadlock that
/// PostgreSQL can resolve only by aborting the call's transaction, and
/// returns the call's answer.
///
/// The order, each step waited for: a connection `h` holds lock 2 and `s`
/// holds lock 3; the call takes lock 1 and waits for 2; `s` asks for lock
/// 1 and waits for the call; `h` lets 2 go, so the call takes it and asks
/// for 3, held by `s`: the cycle is closed by the call, whose deadlock check
/// runs `deadlock_timeout` (100 ms for `app`) later and finds it, so the
/// call's transaction is the one aborted. `s` never checks (its
/// `deadlock_timeout` is an hour), and nothing else waits. `s` then holds
/// lock 1 until the call's transaction is gone, and lets it and 3 go: a
/// repeat of the call waits for them if it comes earlier, and passes.
async fn deadlocked<T, F>(
    db: &TestDb,
    app: &AppRoleLogin,
    store: &str,
    call: F,
) -> todo_store::Result<T>
where
    T: Send + 'static,
    F: Future<Output = todo_store::Result<T>> + Send + 'static,
{
    let mut su = db.conn();
    let call_pid = the_only_backend(&mut su, app, store);
    let mut h = db.conn();
    h.batch_execute(&format!("{NO_HANG}; SELECT pg_advisory_lock(2)"))
        .unwrap();
    let mut s = db.conn();
    s.batch_execute(&format!(
        "{NO_HANG}; SET deadlock_timeout = '1h'; SELECT pg_advisory_lock(3)"
    ))
    .unwrap();
    let s_pid = backend_pid(&mut s);

    let call = tokio::spawn(call);
    wait_until("the call to wait for lock 2", || {
        waits_for_a_lock(&mut su, call_pid)
    })
    .await;
    let s = tokio::task::spawn_blocking(move || {
        // Returns once the call's transaction is gone, with lock 1.
        s.batch_execute("SELECT pg_advisory_lock(1)").unwrap();
        s
    });
    wait_until("s to wait for lock 1", || waits_for_a_lock(&mut su, s_pid)).await;
    h.batch_execute("SELECT pg_advisory_unlock(2)").unwrap();
    let mut s = s.await.unwrap();
    s.batch_execute("SELECT pg_advisory_unlock_all()").unwrap();
    call.await.unwrap()
}

/// Runs `call` (a call of `store`, a one-connection async store of `app`'s,
/// `SERIALIZABLE` by the role's default, that updates the task `id`) into a
/// real serialization failure: a sync superuser transaction updates the
/// task first and holds it; the call takes its snapshot (its `BEGIN`'s
/// first statement) and waits for the row; then the other transaction
/// commits, and PostgreSQL answers the call's update with `40001` ("could
/// not serialize access due to concurrent update"), the only outcome once
/// the call waits for the row. Returns the call's answer.
async fn serialization_failure<T, F>(
    db: &TestDb,
    app: &AppRoleLogin,
    store: &str,
    id: TaskId,
    call: F,
) -> todo_store::Result<T>
where
    T: Send + 'static,
    F: Future<Output = todo_store::Result<T>> + Send + 'static,
{
    let mut su = db.conn();
    let call_pid = the_only_backend(&mut su, app, store);
    let mut other = db.conn();
    other
        .batch_execute(&format!(
            "{NO_HANG}; BEGIN; UPDATE tasks SET title = 'Buy oat milk' WHERE id = '{id}'"
        ))
        .unwrap();
    let call = tokio::spawn(call);
    wait_until("the call to wait for the row", || {
        waits_for_a_lock(&mut su, call_pid)
    })
    .await;
    other.batch_execute("COMMIT").unwrap();
    call.await.unwrap()
}

// --- a lost connection -----------------------------------------------------

/// A pooled connection the server ended (here `pg_terminate_backend`, as an
/// administrator, a failover or an idle timeout would) heals by itself: a
/// read that gets it is repeated once on a new connection and answers; a
/// write that gets it fails with `Unavailable` and is not repeated (it might
/// have committed before the connection was lost: only the caller can tell,
/// e.g. by sending a create again with its id), and the write after it
/// succeeds; nothing is written twice, and no transaction is left open.
///
/// Deterministic: with one connection, and the single-threaded runtime, the
/// dead connection is the one the next call checks out (the pool checks a
/// connection without a round trip, and its driver task has had no chance
/// to see the termination): the write's `Unavailable` proves it is handed
/// out, so the reads' answers come from their repeat.
#[tokio::test]
async fn a_lost_pooled_connection_heals_reads_are_repeated_writes_are_not() {
    let db = TestDb::new();
    let app = db.app_role();
    let _ends = EndSessionsOnDrop::of(&db, &app);
    let (ada, milk) = owner_with_a_task(&db);
    let store = one_connection_store(&app, "healing", RetryPolicy::default(), &ada).await;
    let mut su = db.conn();
    let first = the_only_backend(&mut su, &app, "healing");

    // Reads: repeated once, on a new connection.
    terminate(&mut su, first);
    let page = store.list_tasks(&ada, &TaskQuery::new()).await.unwrap();
    assert_eq!(page.items, std::slice::from_ref(&milk));
    let second = the_only_backend(&mut su, &app, "healing");
    assert_ne!(second, first, "the read was answered on a new connection");
    assert_no_transaction_left_open(&mut su, &app, "a read on a lost connection");
    terminate(&mut su, second);
    assert_eq!(store.get_task(&ada, milk.id).await.unwrap(), milk);
    let third = the_only_backend(&mut su, &app, "healing");
    assert_ne!(third, second);

    // A create: not repeated, and nothing written; sent again, written once.
    terminate(&mut su, third);
    let rent = NewTask::new("Pay rent").id(TaskId::new_v7());
    let err = store.create_task(&ada, rent.clone()).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    assert!(err.is_retryable());
    assert!(
        backends(&mut su, &app, "healing").is_empty(),
        "not repeated: the dead connection was dropped, no other opened"
    );
    assert_eq!(count(&mut su, "tasks"), 1);
    let created = store.create_task(&ada, rent.clone()).await.unwrap();
    assert_eq!(Some(created.id), rent.id);
    assert_eq!(created.version, 1);

    // An update: not repeated, the task unchanged; sent again, applied once.
    let pid = the_only_backend(&mut su, &app, "healing");
    terminate(&mut su, pid);
    let patch = TaskPatch::default().title("Buy oat milk");
    let check = VersionCheck::Exactly(milk.version);
    let err = store
        .update_task(&ada, milk.id, patch.clone(), check)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    assert!(backends(&mut su, &app, "healing").is_empty());
    assert_eq!(stored(&db, &ada, milk.id), milk);
    let updated = store
        .update_task(&ada, milk.id, patch, check)
        .await
        .unwrap();
    assert_eq!(updated.version, milk.version + 1);

    // A delete: not repeated, the task kept; sent again, deleted.
    let pid = the_only_backend(&mut su, &app, "healing");
    terminate(&mut su, pid);
    let check = VersionCheck::Exactly(created.version);
    let err = store
        .delete_task(&ada, created.id, check)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    assert!(backends(&mut su, &app, "healing").is_empty());
    assert_eq!(stored(&db, &ada, created.id), created);
    store.delete_task(&ada, created.id, check).await.unwrap();

    // Each write happened once: the history has one change per write.
    assert_eq!(count(&mut su, "tasks"), 1);
    assert_eq!(stored(&db, &ada, milk.id), updated);
    assert_eq!(
        count(
            &mut su,
            &format!("task_history WHERE task_id = '{}'", milk.id)
        ),
        2,
        "created, updated"
    );
    assert_eq!(
        count(
            &mut su,
            &format!("task_history WHERE task_id = '{}'", created.id)
        ),
        2,
        "created, deleted"
    );
    assert_no_transaction_left_open(&mut su, &app, "the writes");
}

// --- deadlocks and serialization failures ----------------------------------

/// The role's settings for the abort tests: its deadlock checks after
/// 100 ms instead of a second (see [`deadlocked`]); set before the store
/// connects (a role's settings apply at login).
fn quick_deadlock_checks(db: &TestDb, app: &AppRoleLogin) {
    db.conn()
        .batch_execute(&format!(
            "ALTER ROLE {} SET deadlock_timeout = '100ms'",
            app.name()
        ))
        .unwrap();
}

/// A write PostgreSQL aborts as a deadlock victim (`40P01`: a real
/// deadlock, see [`deadlocked`]) is run again whole under the default
/// policy, and succeeds: applied once (its version advanced by one), after
/// two transactions through the gate. With `RetryPolicy::never()` the
/// caller gets `Conflict(ConcurrentUpdate)` and the task is unchanged.
/// Either way the aborted transaction was ended on its connection, which
/// stays in the pool, idle, and serves the next call.
#[tokio::test]
async fn a_write_aborted_by_a_deadlock_is_repeated_unless_the_policy_says_never() {
    let db = TestDb::new();
    let app = db.app_role();
    let _ends = EndSessionsOnDrop::of(&db, &app);
    let (ada, milk) = owner_with_a_task(&db);
    quick_deadlock_checks(&db, &app);
    install_gate(&db, &app, true);
    let mut su = db.conn();
    let update = |store: &AsyncStore, title: &str| {
        let (store, ada, id) = (store.clone(), ada.clone(), milk.id);
        let patch = TaskPatch::default().title(title);
        async move { store.update_task(&ada, id, patch, VersionCheck::Any).await }
    };

    let store = one_connection_store(&app, "default", RetryPolicy::default(), &ada).await;
    let pid = the_only_backend(&mut su, &app, "default");
    let entries = sequence_value(&mut su, "gate_entries");
    let updated = deadlocked(&db, &app, "default", update(&store, "Buy oat milk"))
        .await
        .unwrap();
    assert_eq!(
        sequence_value(&mut su, "gate_entries") - entries,
        2,
        "aborted once, then repeated"
    );
    assert_eq!(updated.title, "Buy oat milk");
    assert_eq!(updated.version, milk.version + 1, "applied once");
    assert_eq!(stored(&db, &ada, milk.id), updated);
    assert_no_transaction_left_open(&mut su, &app, "a repeated deadlock victim");
    assert_eq!(the_only_backend(&mut su, &app, "default"), pid);

    let never = one_connection_store(&app, "never", RetryPolicy::never(), &ada).await;
    let pid = the_only_backend(&mut su, &app, "never");
    let entries = sequence_value(&mut su, "gate_entries");
    let err = deadlocked(&db, &app, "never", update(&never, "Buy almond milk"))
        .await
        .unwrap_err();
    assert_eq!(err, Error::Conflict(ConflictKind::ConcurrentUpdate));
    assert!(err.is_retryable());
    assert_eq!(sequence_value(&mut su, "gate_entries") - entries, 1);
    assert_eq!(stored(&db, &ada, milk.id), updated, "unchanged");
    assert_no_transaction_left_open(&mut su, &app, "a deadlock victim");
    assert_eq!(the_only_backend(&mut su, &app, "never"), pid);
    assert_eq!(never.get_task(&ada, milk.id).await.unwrap(), updated);
}

/// A read PostgreSQL aborts as a deadlock victim (a real deadlock, see
/// [`deadlocked`]) is repeated under the default policy and answers;
/// with `RetryPolicy::never()` the caller gets `Conflict(ConcurrentUpdate)`.
/// No transaction is left open, and the connection serves the next call.
#[tokio::test]
async fn a_read_aborted_by_a_deadlock_is_repeated_unless_the_policy_says_never() {
    let db = TestDb::new();
    let app = db.app_role();
    let _ends = EndSessionsOnDrop::of(&db, &app);
    let (ada, milk) = owner_with_a_task(&db);
    quick_deadlock_checks(&db, &app);
    install_gate(&db, &app, true);
    let mut su = db.conn();
    let list = |store: &AsyncStore| {
        let (store, ada) = (store.clone(), ada.clone());
        async move { store.list_tasks(&ada, &TaskQuery::new()).await }
    };

    let store = one_connection_store(&app, "default", RetryPolicy::default(), &ada).await;
    let pid = the_only_backend(&mut su, &app, "default");
    let entries = sequence_value(&mut su, "gate_entries");
    let page = deadlocked(&db, &app, "default", list(&store))
        .await
        .unwrap();
    assert_eq!(page.items, std::slice::from_ref(&milk));
    assert_eq!(sequence_value(&mut su, "gate_entries") - entries, 2);
    assert_no_transaction_left_open(&mut su, &app, "a repeated read");
    assert_eq!(the_only_backend(&mut su, &app, "default"), pid);

    let never = one_connection_store(&app, "never", RetryPolicy::never(), &ada).await;
    let pid = the_only_backend(&mut su, &app, "never");
    let entries = sequence_value(&mut su, "gate_entries");
    let err = deadlocked(&db, &app, "never", list(&never))
        .await
        .unwrap_err();
    assert_eq!(err, Error::Conflict(ConflictKind::ConcurrentUpdate));
    assert_eq!(sequence_value(&mut su, "gate_entries") - entries, 1);
    assert_no_transaction_left_open(&mut su, &app, "an aborted read");
    assert_eq!(the_only_backend(&mut su, &app, "never"), pid);
    assert_eq!(never.get_task(&ada, milk.id).await.unwrap(), milk);
}

/// A write PostgreSQL aborts for a serialization failure (`40001`: a real
/// one, see [`serialization_failure`], under `SERIALIZABLE` as the role's
/// default) is run again whole under the default policy, on a new snapshot
/// that sees the other transaction's change, and succeeds: both updates
/// are kept, once each. With `RetryPolicy::never()` the caller gets
/// `Conflict(ConcurrentUpdate)` and only the other update is kept. No
/// transaction is left open.
#[tokio::test]
async fn a_write_aborted_by_a_serialization_failure_is_repeated_unless_the_policy_says_never() {
    let db = TestDb::new();
    let app = db.app_role();
    let _ends = EndSessionsOnDrop::of(&db, &app);
    let (ada, milk) = owner_with_a_task(&db);
    db.conn()
        .batch_execute(&format!(
            "ALTER ROLE {} SET default_transaction_isolation = 'serializable'",
            app.name()
        ))
        .unwrap();
    install_gate(&db, &app, false);
    let mut su = db.conn();
    let update = |store: &AsyncStore, title: &str| {
        let (store, ada, id) = (store.clone(), ada.clone(), milk.id);
        let patch = TaskPatch::default().title(title);
        async move { store.update_task(&ada, id, patch, VersionCheck::Any).await }
    };

    let store = one_connection_store(&app, "default", RetryPolicy::default(), &ada).await;
    let entries = sequence_value(&mut su, "gate_entries");
    let updated = serialization_failure(
        &db,
        &app,
        "default",
        milk.id,
        update(&store, "Buy almond milk"),
    )
    .await
    .unwrap();
    assert_eq!(sequence_value(&mut su, "gate_entries") - entries, 2);
    assert_eq!(updated.title, "Buy almond milk");
    assert_eq!(updated.version, milk.version + 2, "each update once");
    assert_eq!(stored(&db, &ada, milk.id), updated);
    assert_no_transaction_left_open(&mut su, &app, "a repeated serialization failure");

    let never = one_connection_store(&app, "never", RetryPolicy::never(), &ada).await;
    let pid = the_only_backend(&mut su, &app, "never");
    let entries = sequence_value(&mut su, "gate_entries");
    let err = serialization_failure(&db, &app, "never", milk.id, update(&never, "Buy rice milk"))
        .await
        .unwrap_err();
    assert_eq!(err, Error::Conflict(ConflictKind::ConcurrentUpdate));
    assert_eq!(sequence_value(&mut su, "gate_entries") - entries, 1);
    let now = stored(&db, &ada, milk.id);
    assert_eq!(
        (now.title.as_str(), now.version),
        ("Buy oat milk", updated.version + 1),
        "only the other transaction's update"
    );
    assert_no_transaction_left_open(&mut su, &app, "a serialization failure");
    assert_eq!(the_only_backend(&mut su, &app, "never"), pid);
    assert_eq!(never.get_task(&ada, milk.id).await.unwrap(), now);
}

/// The policy's count is the bound: creates that PostgreSQL aborts
/// (`40001` or `40P01`, raised by a trigger while an attempt counter is in
/// a range the test sets, so each attempt's fate is known) are made at most
/// `max_attempts` times in all (3 by default, 5 with `attempts(5)`, 1 with
/// `never()`), each attempt rolled back whole; one that fails twice then
/// passes is stored once. No transaction is left open.
#[tokio::test]
async fn calls_are_repeated_at_most_the_policys_attempts() {
    let db = TestDb::new();
    let app = db.app_role();
    let _ends = EndSessionsOnDrop::of(&db, &app);
    let (ada, _) = owner_with_a_task(&db);
    let mut su = db.conn();
    su.batch_execute(
        "CREATE SEQUENCE insert_attempts;
         CREATE TABLE failing_inserts (lo bigint, hi bigint, code text, message text);
         CREATE FUNCTION fail_inserts() RETURNS trigger LANGUAGE plpgsql
             SECURITY DEFINER SET search_path = public, pg_temp AS $$
         DECLARE
             attempt bigint := nextval('insert_attempts');
             failing failing_inserts;
         BEGIN
             SELECT * INTO failing FROM failing_inserts WHERE attempt BETWEEN lo AND hi;
             IF FOUND THEN
                 RAISE EXCEPTION USING ERRCODE = failing.code, MESSAGE = failing.message;
             END IF;
             RETURN NEW;
         END $$;
         CREATE TRIGGER fail_inserts BEFORE INSERT ON tasks
             FOR EACH ROW EXECUTE FUNCTION fail_inserts();",
    )
    .unwrap();
    // Fail the next `failures` inserts with `code`.
    let fail_next = |su: &mut PgConnection, failures: i64, code: &str| {
        let next = sequence_value(su, "insert_attempts") + 1;
        let message = match code {
            "40001" => "could not serialize access due to concurrent update",
            _ => "deadlock detected",
        };
        su.batch_execute(&format!(
            "DELETE FROM failing_inserts;
             INSERT INTO failing_inserts VALUES ({next}, {}, '{code}', '{message}')",
            next + failures - 1
        ))
        .unwrap();
        next - 1
    };

    let store = one_connection_store(&app, "default", RetryPolicy::default(), &ada).await;
    for code in ["40001", "40P01"] {
        let before = fail_next(&mut su, 2, code);
        let task = store
            .create_task(&ada, NewTask::new(format!("Passes after two {code}")))
            .await
            .unwrap();
        assert_eq!(sequence_value(&mut su, "insert_attempts") - before, 3);
        assert_eq!(stored(&db, &ada, task.id), task);
        assert_no_transaction_left_open(&mut su, &app, code);
    }
    assert_eq!(count(&mut su, "tasks"), 3, "each stored once");

    for (name, policy, attempts) in [
        ("default-again", RetryPolicy::default(), 3),
        ("five", RetryPolicy::attempts(5), 5),
        ("never", RetryPolicy::never(), 1),
    ] {
        let store = one_connection_store(&app, name, policy, &ada).await;
        let before = fail_next(&mut su, i64::from(u32::MAX), "40P01");
        let err = store
            .create_task(&ada, NewTask::new("Never passes"))
            .await
            .unwrap_err();
        assert_eq!(err, Error::Conflict(ConflictKind::ConcurrentUpdate));
        assert_eq!(
            sequence_value(&mut su, "insert_attempts") - before,
            attempts,
            "{policy:?}"
        );
        assert_no_transaction_left_open(&mut su, &app, &format!("{policy:?}"));
    }
    assert_eq!(count(&mut su, "tasks"), 3, "nothing of the failed creates");
}

/// A checkout that fails is the call's answer, for a read as for a write:
/// it is not tried again (it has waited its `connect_timeout` already, and
/// a lost connection is what a read repeats, not a refused one). Counted
/// as connection attempts through a proxy, with the database refusing
/// connections and the pool empty.
#[tokio::test]
async fn a_failed_checkout_is_not_repeated() {
    use todo_store::StoreConfig;
    use todo_store_tests::proxy::WakingProxy;

    let db = TestDb::new();
    let owner = db.owner("ada@example.com");
    let proxy = WakingProxy::start(Duration::ZERO);
    let config = StoreConfig::new(proxy.url_for(db.url()).expose())
        .max_connections(1)
        .connect_timeout(Duration::from_secs(2));
    let store = AsyncStore::connect(&config).await.unwrap();
    store.list_tasks(&owner, &TaskQuery::new()).await.unwrap();
    // Empty the pool: the backend ends, and the next write finds it dead
    // (not repeated) and drops it.
    let mut superuser = db.conn();
    superuser
        .batch_execute(&format!(
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity \
             WHERE datname = '{}' AND pid <> pg_backend_pid()",
            db.name()
        ))
        .unwrap();
    let err = store
        .create_task(&owner, NewTask::new("lost"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");

    let refusing =
        |allow: bool| format!("ALTER DATABASE \"{}\" ALLOW_CONNECTIONS {allow}", db.name());
    // From another database: a session cannot close its own to connections.
    let mut admin = <PgConnection as diesel::Connection>::establish(
        db.url().with_database("postgres").unwrap().expose(),
    )
    .unwrap();
    admin.batch_execute(&refusing(false)).unwrap();
    let before = proxy.accepted();
    let read = store.list_tasks(&owner, &TaskQuery::new()).await;
    let read_attempts = proxy.accepted() - before;
    let before = proxy.accepted();
    let write = store.create_task(&owner, NewTask::new("refused")).await;
    let write_attempts = proxy.accepted() - before;
    admin.batch_execute(&refusing(true)).unwrap();

    assert!(matches!(read, Err(Error::Unavailable(_))), "{read:?}");
    assert!(matches!(write, Err(Error::Unavailable(_))), "{write:?}");
    assert_eq!((read_attempts, write_attempts), (1, 1));
    // And the store answers once the database accepts connections again.
    assert_eq!(
        store
            .list_tasks(&owner, &TaskQuery::new())
            .await
            .unwrap()
            .items
            .len(),
        0
    );
}
