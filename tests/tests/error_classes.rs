//! Each error class the library names, produced by a real PostgreSQL: by
//! `RAISE … USING ERRCODE` for every SQLSTATE it maps, and for real where
//! the situation can be made (a deadlock, a serialization failure, a
//! statement timeout, a role over its connection limit, a full disk). Then
//! the automatic retry: only serialization failures and deadlocks are
//! repeated, the whole transaction, at most the policy's attempts.

#![allow(clippy::unwrap_used)]

use std::{sync::Barrier, thread, time::Duration};

use diesel::{
    Connection, PgConnection, QueryableByName, RunQueryDsl, connection::SimpleConnection,
    sql_query, sql_types::BigInt,
};
use todo_store::{
    ConflictKind, Error, NewTask, NewUser, OperatorRepo, Owner, RetryPolicy, Store, StoreConfig,
    TaskFilter, TaskRepo, UserRepo,
};
use todo_store_tests::{TestDb, cluster::Cluster};

/// The library's error for a statement that failed on `conn`.
fn fails(conn: &mut PgConnection, sql: &str) -> Error {
    Error::from(conn.batch_execute(sql).unwrap_err())
}

/// A SQLSTATE, PostgreSQL's own primary message for it, a test of the error
/// it must become, and whether that error is retryable.
type Mapping = (&'static str, &'static str, fn(&Error) -> bool, bool);

/// Each error the library names, raised by the server with the code and the
/// words PostgreSQL itself uses (stock Diesel 2.3 gives neither the code
/// nor a kind for most of them, so the library reads the words). The real
/// situations follow below, wherever one can be made.
#[test]
fn every_error_class_the_library_names_maps_from_the_servers_words() {
    let db = TestDb::new();
    let mut conn = db.conn();
    conn.batch_execute(
        "CREATE FUNCTION raise_sqlstate(code text, message text) RETURNS void
         LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message; END $$",
    )
    .unwrap();
    let concurrent = |e: &Error| *e == Error::Conflict(ConflictKind::ConcurrentUpdate);
    let expected: [Mapping; 17] = [
        (
            "40001",
            "could not serialize access due to concurrent update",
            concurrent,
            true,
        ),
        ("40P01", "deadlock detected", concurrent, true),
        (
            "53100",
            "could not extend file \"base/1/2\": No space left on device",
            |e| matches!(e, Error::StorageFull(_)),
            false,
        ),
        (
            "53100",
            "could not extend file because project size limit (512 MB) has been exceeded",
            |e| matches!(e, Error::StorageFull(_)),
            false,
        ),
        (
            "53300",
            "sorry, too many clients already",
            |e| matches!(e, Error::TooManyConnections(_)),
            true,
        ),
        (
            "57P01",
            "terminating connection due to administrator command",
            |e| matches!(e, Error::Unavailable(_)),
            true,
        ),
        (
            "57P02",
            "terminating connection because of crash of another server process",
            |e| matches!(e, Error::Unavailable(_)),
            true,
        ),
        (
            "57P03",
            "the database system is shutting down",
            |e| matches!(e, Error::Unavailable(_)),
            true,
        ),
        (
            "57P05",
            "terminating connection due to idle-session timeout",
            |e| matches!(e, Error::Unavailable(_)),
            true,
        ),
        (
            "08006",
            "connection failure",
            |e| matches!(e, Error::Unavailable(_)),
            true,
        ),
        (
            "08001",
            "could not connect",
            |e| matches!(e, Error::Unavailable(_)),
            true,
        ),
        (
            "57014",
            "canceling statement due to statement timeout",
            |e| matches!(e, Error::Timeout(_)),
            false,
        ),
        (
            "55P03",
            "canceling statement due to lock timeout",
            |e| matches!(e, Error::Timeout(_)),
            false,
        ),
        (
            "55P03",
            "could not obtain lock on row in relation \"tasks\"",
            |e| matches!(e, Error::Timeout(_)),
            false,
        ),
        // A cancel that is no timeout, an error the library does not name,
        // and a deadlock in another language: plain database errors.
        (
            "57014",
            "canceling statement due to user request",
            |e| matches!(e, Error::Database(_)),
            false,
        ),
        (
            "22012",
            "division by zero",
            |e| matches!(e, Error::Database(_)),
            false,
        ),
        (
            "40P01",
            "Verklemmung entdeckt",
            |e| matches!(e, Error::Database(_)),
            false,
        ),
    ];
    for (code, message, is_expected, retryable) in expected {
        let err = fails(
            &mut conn,
            &format!("SELECT raise_sqlstate('{code}', '{message}')"),
        );
        assert!(is_expected(&err), "{code} {message:?} became {err:?}");
        assert_eq!(err.is_retryable(), retryable, "{code}: {err:?}");
        // The connection is still good after each: nothing was lost.
        conn.batch_execute("SELECT 1").unwrap();
    }
}

#[test]
fn a_real_deadlock_is_a_concurrent_update() {
    let db = TestDb::new();
    db.conn()
        .batch_execute("CREATE TABLE pair (id int PRIMARY KEY); INSERT INTO pair VALUES (1), (2)")
        .unwrap();
    let barrier = Barrier::new(2);
    let errors: Vec<Option<Error>> = thread::scope(|scope| {
        let sessions = [(1, 2), (2, 1)].map(|(first, second)| {
            let (db, barrier) = (&db, &barrier);
            scope.spawn(move || {
                let mut conn = db.conn();
                // Detect the deadlock sooner than the default second (a
                // superuser setting; elsewhere the default is kept).
                let _ = conn.batch_execute("SET deadlock_timeout = '100ms'");
                conn.transaction::<_, diesel::result::Error, _>(|conn| {
                    conn.batch_execute(&format!("UPDATE pair SET id = id WHERE id = {first}"))?;
                    barrier.wait();
                    conn.batch_execute(&format!("UPDATE pair SET id = id WHERE id = {second}"))
                })
                .err()
                .map(Error::from)
            })
        });
        sessions.map(|s| s.join().unwrap()).into_iter().collect()
    });
    let failed: Vec<&Error> = errors.iter().flatten().collect();
    assert_eq!(
        failed,
        [&Error::Conflict(ConflictKind::ConcurrentUpdate)],
        "exactly one side is chosen as the deadlock victim"
    );
}

#[test]
fn a_real_serialization_failure_is_a_concurrent_update() {
    let db = TestDb::new();
    let (mut first, mut second) = (db.conn(), db.conn());
    first
        .batch_execute("CREATE TABLE counter (n int); INSERT INTO counter VALUES (0)")
        .unwrap();
    first
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT n FROM counter")
        .unwrap();
    second
        .batch_execute("UPDATE counter SET n = n + 1")
        .unwrap();
    let err = fails(&mut first, "UPDATE counter SET n = n + 1");
    assert_eq!(err, Error::Conflict(ConflictKind::ConcurrentUpdate));
    first.batch_execute("ROLLBACK").unwrap();
}

/// The store's statement timeout holds for the statements of a scoped call
/// (here a query of the caller's own, in `in_owner_scope`), and ends with
/// the call: it is transaction-local, so the pooled connection afterwards
/// has the server's setting again (nothing left behind for a pooler's next
/// client).
#[test]
fn a_statement_over_the_timeout_is_a_timeout_and_the_connection_stays_usable() {
    let db = TestDb::new();
    let store = Store::connect(
        &db.config()
            .max_connections(1)
            .statement_timeout(Some(Duration::from_millis(100))),
    )
    .unwrap();
    let owner = db.owner("timeout@example.com");
    let err = store
        .in_owner_scope(&owner, |conn| Ok(conn.batch_execute("SELECT pg_sleep(5)")?))
        .unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(!err.is_retryable());
    let mut conn = store.conn().unwrap();
    conn.batch_execute("SELECT pg_sleep(0.2)").unwrap();
    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        statement_timeout: String,
    }
    let show = |conn: &mut PgConnection| {
        sql_query("SHOW statement_timeout")
            .get_result::<Setting>(conn)
            .unwrap()
            .statement_timeout
    };
    assert_eq!(show(&mut conn), show(&mut db.conn()));
}

#[test]
fn a_role_over_its_connection_limit_gets_too_many_connections() {
    let cluster = Cluster::start();
    let url = cluster.url("todo");
    let mut admin = PgConnection::establish(&url).unwrap();
    admin
        .batch_execute("CREATE ROLE capped LOGIN CONNECTION LIMIT 1")
        .unwrap();
    let capped_url = url.replacen("postgres://postgres@", "postgres://capped@", 1);
    let config = StoreConfig::new(capped_url)
        .max_connections(2)
        .min_idle(0)
        .connect_timeout(Duration::from_secs(1));
    let _only = config.establish().unwrap();

    // A direct connection: refused by the server with 53300.
    let err = config.establish().err().unwrap();
    assert!(matches!(err, Error::TooManyConnections(_)), "{err:?}");
    assert!(err.is_retryable());
    // A pool checkout that cannot open a connection within its timeout
    // reports the refusal it kept getting.
    let store = Store::connect(&config.clone().max_connections(1));
    let err = match store {
        // `connect` opens one direct connection first: refused the same way.
        Err(err) => err,
        Ok(store) => store.conn().map(drop).unwrap_err(),
    };
    assert!(matches!(err, Error::TooManyConnections(_)), "{err:?}");
    // The message names no secret and is one line.
    assert!(!err.to_string().contains('\n'));
}

#[test]
fn a_full_disk_is_storage_full_writes_nothing_and_reads_go_on() {
    let cluster = Cluster::start();
    let url = cluster.url("todo");
    let _disk = cluster.tiny_tablespace("tiny", 256);
    PgConnection::establish(&url)
        .unwrap()
        .batch_execute("ALTER TABLE tasks SET TABLESPACE tiny")
        .unwrap();
    let mut store = Store::connect(&StoreConfig::new(&url).max_connections(2)).unwrap();
    store.create_user(NewUser::new("ada@example.com")).unwrap();
    let owner = store.operator_owner("ada@example.com").unwrap();

    let batch = || -> Vec<NewTask> {
        (0..50)
            .map(|i| NewTask::new(format!("{i:>3} {}", "x".repeat(400))))
            .collect()
    };
    let mut stored = 0;
    let err = loop {
        match store.create_tasks(&owner, batch()) {
            Ok(tasks) => stored += tasks.len() as u64,
            Err(err) => break err,
        }
        assert!(stored < 100_000, "a 256 KiB tablespace never filled up");
    };
    eprintln!("stored {stored} tasks, then: {err}");
    assert!(matches!(err, Error::StorageFull(_)), "{err:?}");
    assert!(!err.is_retryable());
    assert!(stored > 0, "the first batches fit");
    // The failed batch left nothing behind, and reads still work.
    assert_eq!(
        store.count_tasks(&owner, &TaskFilter::default()).unwrap(),
        stored
    );
    // A write that needs no new space still succeeds.
    let any = store
        .list_tasks(&owner, &todo_store::TaskQuery::default())
        .unwrap()
        .items
        .remove(0);
    store
        .delete_task(&owner, any.id, todo_store::VersionCheck::Any)
        .unwrap();
}

#[test]
fn a_real_lock_timeout_and_a_real_nowait_are_timeouts() {
    let db = TestDb::new();
    let (mut holder, mut waiter) = (db.conn(), db.conn());
    holder
        .batch_execute("CREATE TABLE held (n int); INSERT INTO held VALUES (1)")
        .unwrap();
    holder.batch_execute("BEGIN; LOCK held").unwrap();
    let err = fails(
        &mut waiter,
        "BEGIN; SET LOCAL lock_timeout = '50ms'; SELECT * FROM held",
    );
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    waiter.batch_execute("ROLLBACK").unwrap();
    holder.batch_execute("ROLLBACK").unwrap();
    // NOWAIT applies to row locks (the table lock is still waited for).
    holder
        .batch_execute("BEGIN; SELECT * FROM held FOR UPDATE")
        .unwrap();
    let err = fails(&mut waiter, "BEGIN; SELECT * FROM held FOR UPDATE NOWAIT");
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(!err.is_retryable());
    waiter.batch_execute("ROLLBACK").unwrap();
    holder.batch_execute("ROLLBACK").unwrap();
}

#[test]
fn a_session_the_server_ends_is_unavailable() {
    let db = TestDb::new();
    // An administrator's pg_terminate_backend (57P01).
    let mut victim = db.conn();
    let pid = backend_pid(&mut victim);
    db.conn()
        .batch_execute(&format!("SELECT pg_terminate_backend({pid}, 10000)"))
        .unwrap();
    let err = fails(&mut victim, "SELECT 1");
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    assert!(err.is_retryable());
    // The server's idle_session_timeout (57P05).
    let mut idle = db.conn();
    idle.batch_execute("SET idle_session_timeout = '100ms'")
        .unwrap();
    thread::sleep(Duration::from_millis(500));
    let err = fails(&mut idle, "SELECT 1");
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
}

fn backend_pid(conn: &mut PgConnection) -> i32 {
    #[derive(QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Pid>(conn)
        .unwrap()
        .pid
}

/// A missing database, an unknown role and a wrong password are
/// configuration errors: retrying them would never end, so they are not
/// retryable, directly or through the pool.
#[test]
fn a_refused_login_or_a_missing_database_is_misconfigured_not_retryable() {
    let cluster = Cluster::start();
    let url = cluster.url("todo");
    cluster.require_password("guarded", "right-password");
    let base = url.split('?').next().unwrap().to_owned();
    let missing_db = base.replace("/todo", "/no_such_database");
    let unknown_role = base.replacen("postgres://postgres@", "postgres://nobody_here@", 1);
    let wrong_password = base.replacen(
        "postgres://postgres@",
        "postgres://guarded:wrong-password@",
        1,
    );
    let no_password = base.replacen("postgres://postgres@", "postgres://guarded@", 1);
    for url in [missing_db, unknown_role, wrong_password, no_password] {
        let config = StoreConfig::new(&url)
            .min_idle(0)
            .connect_timeout(Duration::from_secs(1));
        let err = config.establish().err().unwrap();
        assert!(matches!(err, Error::Misconfigured(_)), "{url}: {err:?}");
        assert!(!err.is_retryable(), "{url}");
        assert!(!err.to_string().contains("wrong-password"), "{err}");
        let err = Store::connect(&config).err().unwrap();
        assert!(matches!(err, Error::Misconfigured(_)), "{url}: {err:?}");
    }
    let right = base.replacen(
        "postgres://postgres@",
        "postgres://guarded:right-password@",
        1,
    );
    let right = right.replace("/todo", "/postgres");
    StoreConfig::new(right).establish().unwrap();
}

// --- automatic retry -----------------------------------------------------

/// A database whose task inserts fail with `code` while the running count of
/// insert attempts (a sequence: not rolled back with the failed
/// transaction) lies in `failing` (1-based, inclusive).
fn failing_inserts(code: &str, failing: (i64, i64)) -> (TestDb, Store, Owner) {
    let message = servers_words(code);
    let db = TestDb::new();
    db.conn()
        .batch_execute(&format!(
            "CREATE SEQUENCE insert_attempts;
             CREATE FUNCTION fail_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
             DECLARE attempt bigint := nextval('insert_attempts');
             BEGIN
                 IF attempt BETWEEN {} AND {} THEN
                     RAISE EXCEPTION USING ERRCODE = '{code}', MESSAGE = '{message}';
                 END IF;
                 RETURN NEW;
             END $$;
             CREATE TRIGGER fail_inserts BEFORE INSERT ON tasks
                 FOR EACH ROW EXECUTE FUNCTION fail_inserts();",
            failing.0, failing.1
        ))
        .unwrap();
    let mut store = db.store();
    store.create_user(NewUser::new("ada@example.com")).unwrap();
    let owner = store.operator_owner("ada@example.com").unwrap();
    (db, store, owner)
}

/// PostgreSQL's own message for `code`, as the library reads it.
fn servers_words(code: &str) -> &'static str {
    match code {
        "40P01" => "deadlock detected",
        "40001" => "could not serialize access due to concurrent update",
        "53100" => "could not extend file: No space left on device",
        "57P01" => "terminating connection due to administrator command",
        "53300" => "sorry, too many clients already",
        "57014" => "canceling statement due to statement timeout",
        "23514" => "new row violates check constraint",
        "22012" => "division by zero",
        other => panic!("no message for {other}"),
    }
}

/// How many task inserts were attempted.
fn insert_attempts(db: &TestDb) -> i64 {
    #[derive(QueryableByName)]
    struct Attempts {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    sql_query("SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM insert_attempts")
        .get_result::<Attempts>(&mut db.conn())
        .unwrap()
        .n
}

fn task_count(store: &mut Store, owner: &Owner) -> u64 {
    store.count_tasks(owner, &TaskFilter::default()).unwrap()
}

#[test]
fn deadlocks_and_serialization_failures_are_retried_until_the_call_succeeds() {
    for code in ["40P01", "40001"] {
        let (db, mut store, owner) = failing_inserts(code, (1, 2));
        let task = store.create_task(&owner, NewTask::new("Pay rent")).unwrap();
        assert_eq!(
            insert_attempts(&db),
            3,
            "{code}: two failures, then success"
        );
        assert_eq!(task_count(&mut store, &owner), 1);
        assert_eq!(store.get_task(&owner, task.id).unwrap(), task);
    }
}

#[test]
fn retries_stop_after_the_policys_attempts() {
    let (db, mut store, owner) = failing_inserts("40P01", (1, i64::MAX));
    let err = store
        .create_task(&owner, NewTask::new("Pay rent"))
        .unwrap_err();
    assert_eq!(err, Error::Conflict(ConflictKind::ConcurrentUpdate));
    assert_eq!(insert_attempts(&db), 3, "the default policy: 3 attempts");

    let mut patient = Store::connect(&db.config().retry(RetryPolicy::attempts(5))).unwrap();
    patient
        .create_task(&owner, NewTask::new("Pay rent"))
        .unwrap_err();
    assert_eq!(insert_attempts(&db), 3 + 5);

    let mut impatient = Store::connect(&db.config().retry(RetryPolicy::never())).unwrap();
    impatient
        .create_task(&owner, NewTask::new("Pay rent"))
        .unwrap_err();
    assert_eq!(insert_attempts(&db), 3 + 5 + 1);
    assert_eq!(task_count(&mut store, &owner), 0);
}

#[test]
fn nothing_but_serialization_failures_and_deadlocks_is_retried() {
    for code in ["53100", "57P01", "53300", "57014", "23514", "22012"] {
        let (db, mut store, owner) = failing_inserts(code, (1, i64::MAX));
        let err = store
            .create_task(&owner, NewTask::new("Pay rent"))
            .unwrap_err();
        assert_ne!(
            err,
            Error::Conflict(ConflictKind::ConcurrentUpdate),
            "{code}"
        );
        assert_eq!(insert_attempts(&db), 1, "{code} ({err:?}) was repeated");
    }
}

#[test]
fn the_whole_transaction_is_retried_not_the_failed_statement() {
    // The third row of the first attempt deadlocks: the two rows before it
    // are rolled back with it, and the repeat writes all five once.
    let (db, mut store, owner) = failing_inserts("40P01", (3, 3));
    let tasks: Vec<NewTask> = (1..=5).map(|i| NewTask::new(format!("Task {i}"))).collect();
    let created = store.create_tasks(&owner, tasks).unwrap();
    assert_eq!(created.len(), 5);
    assert_eq!(insert_attempts(&db), 3 + 5);
    assert_eq!(task_count(&mut store, &owner), 5);
}

#[test]
fn calls_on_a_callers_connection_are_not_retried_but_retry_policy_run_can_wrap_them() {
    let (db, mut store, owner) = failing_inserts("40P01", (1, 2));
    let mut conn = db.conn();
    // The caller owns the connection and its transaction: the library
    // cannot know the transaction's start, so it does not repeat.
    let err = conn
        .create_task(&owner, NewTask::new("Pay rent"))
        .unwrap_err();
    assert_eq!(err, Error::Conflict(ConflictKind::ConcurrentUpdate));
    assert_eq!(insert_attempts(&db), 1);
    // The caller repeats its own whole transaction with the same policy.
    let task = RetryPolicy::default()
        .run(|| {
            conn.transaction(|conn| {
                let task = conn.create_task(&owner, NewTask::new("Pay rent"))?;
                conn.create_task(&owner, NewTask::new("Call the bank"))?;
                Ok::<_, Error>(task)
            })
        })
        .unwrap();
    assert_eq!(
        insert_attempts(&db),
        1 + 1 + 2,
        "one failed attempt, then two inserts"
    );
    assert_eq!(store.get_task(&owner, task.id).unwrap(), task);
    assert_eq!(task_count(&mut store, &owner), 2);
}
