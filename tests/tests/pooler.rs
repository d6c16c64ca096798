//! The library behind a transaction-mode pooler: Debian's PgBouncer 1.18
//! (no prepared-statement support), two server connections per database and
//! role, many clients. Every store here turns Diesel's statement cache off,
//! as such a pooler needs, except the one that shows why.
//!
//! What must hold: every repository call works from many threads at once, as
//! the superuser and as the application role; nothing a call sets (the
//! owner scope, the statement timeout) reaches the next client of its server
//! connection; and parallel migrations through the pooler apply once and
//! leave no lock behind.

#![allow(clippy::unwrap_used)]

use std::{
    collections::BTreeSet,
    sync::{
        Barrier,
        atomic::{AtomicUsize, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use diesel::{
    PgConnection, QueryableByName, RunQueryDsl, sql_query,
    sql_types::{BigInt, Integer, Nullable, Text},
};
use todo_store::{
    DatabaseUrl, Entity, Error, HistoryQuery, NewProfile, NewTask, NewUser, OnMissingSubject,
    OperatorRepo, Owner, Password, Result, StatementCache, Store, StoreConfig, TaskFilter, TaskId,
    TaskPatch, TaskQuery, TaskRepo, TaskStatus, UserPatch, UserRepo, VersionCheck,
    migration_status, run_migrations,
};
use todo_store_tests::{TestDb, pgbouncer::PgBouncer, unique_email};

/// Clients at once: four times the pooler's two server connections.
const THREADS: usize = 8;
const ROUNDS: usize = 4;

/// A store through `url` (a pooler URL) with the statement cache off, one
/// connection per thread.
fn pooled(url: &DatabaseUrl) -> StoreConfig {
    StoreConfig::new(url.expose())
        .max_connections(THREADS as u32)
        .min_idle(0)
        .statement_cache(StatementCache::Disabled)
}

fn password(text: &str) -> Password {
    Password::new(text).unwrap()
}

/// The repository calls one thread made; the first error fails the test,
/// naming the call and quoting the error.
struct Calls {
    thread: usize,
    made: usize,
}

impl Calls {
    #[track_caller]
    fn ok<T>(&mut self, call: &str, result: Result<T>) -> T {
        self.made += 1;
        result.unwrap_or_else(|err| {
            panic!(
                "thread {}: {call} failed through the pooler: {err:?}",
                self.thread
            )
        })
    }
}

/// One user of its own through every repository call, `ROUNDS` times;
/// returns how many calls were made.
fn one_user_through_every_call(store: &mut Store, thread: usize) -> usize {
    let mut calls = Calls { thread, made: 0 };
    let email = unique_email(&format!("pooled{thread}"));
    let mut secret = password("first secret of mine");
    let user = calls.ok(
        "create_user",
        store.create_user(NewUser::new(&email).password(secret.clone())),
    );
    let owner = calls.ok("authenticate", store.authenticate(&email, &secret));
    assert_eq!(owner.user_id(), user.id);
    let subject = format!("subject-of-{email}");
    let (linked, linked_owner) = calls.ok(
        "owner_for_subject",
        store.owner_for_subject(
            &subject,
            OnMissingSubject::Create(NewProfile::new(unique_email(&format!("linked{thread}")))),
        ),
    );
    let mut mine: BTreeSet<TaskId> = BTreeSet::new();
    for round in 0..ROUNDS {
        let task = calls.ok(
            "create_task",
            store.create_task(&owner, NewTask::new(format!("t{thread} r{round}"))),
        );
        let pair = calls.ok(
            "create_tasks",
            store.create_tasks(&owner, vec![NewTask::new("first"), NewTask::new("second")]),
        );
        mine.insert(task.id);
        mine.extend(pair.iter().map(|t| t.id));
        assert_eq!(calls.ok("get_task", store.get_task(&owner, task.id)), task);
        let listed = calls.ok(
            "list_tasks",
            store.list_tasks(&owner, &TaskQuery::new().limit(100)),
        );
        assert_eq!(
            listed.items.iter().map(|t| t.id).collect::<BTreeSet<_>>(),
            mine,
            "thread {thread} sees exactly its own tasks"
        );
        assert_eq!(
            calls.ok(
                "count_tasks",
                store.count_tasks(&owner, &TaskFilter::default())
            ),
            mine.len() as u64
        );
        let renamed = calls.ok(
            "update_task",
            store.update_task(
                &owner,
                task.id,
                TaskPatch::default().title(format!("t{thread} r{round} renamed")),
                VersionCheck::Exactly(task.version),
            ),
        );
        assert_eq!(renamed.version, task.version + 1);
        let done = calls.ok(
            "set_task_status",
            store.set_task_status(
                &owner,
                task.id,
                TaskStatus::Done,
                VersionCheck::Exactly(renamed.version),
            ),
        );
        assert_eq!(done.status(), TaskStatus::Done);
        calls.ok(
            "delete_task",
            store.delete_task(&owner, pair[0].id, VersionCheck::Exactly(pair[0].version)),
        );
        assert_eq!(
            calls.ok("delete_tasks", store.delete_tasks(&owner, &[pair[1].id])),
            1
        );
        mine.remove(&pair[0].id);
        mine.remove(&pair[1].id);
        let history = calls.ok(
            "task_history",
            store.task_history(&owner, task.id, &HistoryQuery::new()),
        );
        assert_eq!(history.changes.len(), 3, "create, rename, completion");
        let token = calls.ok("sync_token", store.sync_token(&owner));
        let changes = calls.ok("changes_since", store.changes_since(&owner, &token, 10));
        assert!(changes.changed.is_empty() && changes.deleted.is_empty());
        assert_eq!(calls.ok("get_user", store.get_user(user.id)).email, email);
        assert_eq!(
            calls
                .ok("find_user_by_email", store.find_user_by_email(&email))
                .map(|u| u.id),
            Some(user.id)
        );
        assert!(
            !calls
                .ok("list_users", store.list_users(10, None))
                .is_empty()
        );
        let (again, _) = calls.ok(
            "owner_for_subject",
            store.owner_for_subject(&subject, OnMissingSubject::Reject),
        );
        assert_eq!(again.id, linked.id);
        let renamed_user = calls.ok(
            "update_profile",
            store.update_profile(
                &owner,
                UserPatch {
                    display_name: Some(Some(format!("thread {thread} round {round}"))),
                    ..UserPatch::default()
                },
            ),
        );
        assert_eq!(
            renamed_user.display_name.as_deref(),
            Some(format!("thread {thread} round {round}").as_str())
        );
        secret = password(&format!("secret of round {round}"));
        calls.ok("change_password", store.change_password(&owner, &secret));
        assert_eq!(
            calls
                .ok("authenticate", store.authenticate(&email, &secret))
                .user_id(),
            user.id
        );
    }
    assert_eq!(mine.len(), ROUNDS);
    calls.ok("delete_user", store.delete_user(&owner));
    calls.ok("delete_user", store.delete_user(&linked_owner));
    calls.made += 1;
    assert_eq!(
        store.get_user(user.id),
        Err(Error::NotFound(Entity::User)),
        "thread {thread}: the deleted account is gone"
    );
    calls.made
}

/// `THREADS` threads at once, each through every call for a user of its own,
/// on clones of one store; returns the calls made.
fn every_call_from_every_thread(store: &Store) -> usize {
    let barrier = Barrier::new(THREADS);
    thread::scope(|scope| {
        let threads: Vec<_> = (0..THREADS)
            .map(|n| {
                let mut store = store.clone();
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    one_user_through_every_call(&mut store, n)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).sum()
    })
}

#[test]
fn every_repository_call_works_from_many_threads_through_the_pooler_as_the_superuser() {
    let db = TestDb::new();
    let bouncer = PgBouncer::start();
    let store = Store::connect(&pooled(&bouncer.url_for(db.url()))).unwrap();
    let started = Instant::now();
    let calls = every_call_from_every_thread(&store);
    eprintln!(
        "superuser through PgBouncer: {calls} calls from {THREADS} threads, 0 errors, in {:?}",
        started.elapsed()
    );
}

#[test]
fn every_repository_call_works_from_many_threads_through_the_pooler_as_the_app_role() {
    let db = TestDb::new();
    let app = db.app_role();
    let bouncer = PgBouncer::start();
    let store = Store::connect(&pooled(&bouncer.url_for(app.url()))).unwrap();
    let started = Instant::now();
    let calls = every_call_from_every_thread(&store);
    eprintln!(
        "application role through PgBouncer: {calls} calls from {THREADS} threads, 0 errors, in {:?}",
        started.elapsed()
    );
}

/// What a client finds on the server connection its statement ran on.
#[derive(QueryableByName, Debug)]
struct Glimpse {
    /// `SELECT count(*) FROM tasks`, with no filter of its own.
    #[diesel(sql_type = BigInt)]
    tasks: i64,
    /// `todo.user_id`: NULL where it was never set, '' where a transaction
    /// set it locally and ended.
    #[diesel(sql_type = Nullable<Text>)]
    scope: Option<String>,
    #[diesel(sql_type = Text)]
    statement_timeout: String,
    /// Which server connection it was.
    #[diesel(sql_type = Integer)]
    backend: i32,
}

/// Deliberately unscoped, test-only SQL, as a buggy downstream query would be.
fn glimpse(conn: &mut PgConnection) -> Glimpse {
    sql_query(
        "SELECT (SELECT count(*) FROM tasks) AS tasks, \
                current_setting('todo.user_id', true) AS scope, \
                current_setting('statement_timeout') AS statement_timeout, \
                pg_backend_pid() AS backend",
    )
    .get_result(conn)
    .unwrap()
}

/// One glimpse from each of the pooler's two server connections for `url`:
/// two clients, each in a transaction of its own at the same time, must be
/// on different ones.
fn glimpse_both_server_connections(bouncer: &PgBouncer, url: &DatabaseUrl) -> [Glimpse; 2] {
    let seen = bouncer.on_both_server_connections(url, glimpse);
    assert_ne!(
        seen[0].backend, seen[1].backend,
        "two open transactions share no server connection"
    );
    seen
}

/// An account with `tasks` tasks, made directly (not through the pooler).
fn owner_with_tasks(direct: &mut Store, name: &str, tasks: usize) -> Owner {
    let user = direct
        .create_user(NewUser::new(unique_email(name)))
        .unwrap();
    let owner = direct.operator_owner(&user.email).unwrap();
    let new: Vec<_> = (0..tasks)
        .map(|n| NewTask::new(format!("{name} {n}")))
        .collect();
    direct.create_tasks(&owner, new).unwrap();
    owner
}

/// Counts a thread as finished when it ends, by returning or by panicking.
struct Finished<'a>(&'a AtomicUsize);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn the_owner_scope_never_reaches_another_client_of_the_same_server_connection() {
    let db = TestDb::new();
    let mut direct = db.store();
    // Owner n has n + 1 tasks, so a count tells whose rows a call saw.
    let owners: Vec<(Owner, i64)> = (0..THREADS)
        .map(|n| (owner_with_tasks(&mut direct, "scoped", n + 1), n as i64 + 1))
        .collect();
    let app = db.app_role();
    let bouncer = PgBouncer::start();
    let url = bouncer.url_for(app.url());
    let store = Store::connect(&pooled(&url)).unwrap();
    let mut spy = bouncer.conn(&url);

    let workers_done = AtomicUsize::new(0);
    let barrier = Barrier::new(THREADS + 1);
    let (spied, backends) = thread::scope(|scope| {
        for (owner, tasks) in &owners {
            let (mut store, barrier, workers_done) = (store.clone(), &barrier, &workers_done);
            scope.spawn(move || {
                // Counted on the way out, failed or not, so the spy stops.
                let _done = Finished(workers_done);
                barrier.wait();
                for _ in 0..ROUNDS * 5 {
                    // Inside a scoped call: the owner's rows only, whatever
                    // the query says, and the owner's id in the setting.
                    let inside = store
                        .in_owner_scope(owner, |conn| Ok(glimpse(conn)))
                        .unwrap();
                    assert_eq!(inside.tasks, *tasks);
                    assert_eq!(inside.scope, Some(owner.user_id().to_string()));
                    let counted = store.count_tasks(owner, &TaskFilter::default()).unwrap();
                    assert_eq!(counted, *tasks as u64);
                    let listed = store.list_tasks(owner, &TaskQuery::new()).unwrap();
                    assert_eq!(listed.items.len() as i64, *tasks);
                }
            });
        }
        // The spy: a plain client of the same role and database, outside any
        // transaction, for as long as the owners' calls go on.
        barrier.wait();
        let mut spied = 0;
        let mut backends = BTreeSet::new();
        while workers_done.load(Ordering::SeqCst) < THREADS {
            let seen = glimpse(&mut spy);
            assert_eq!(seen.tasks, 0, "an unscoped query saw tasks: {seen:?}");
            assert!(
                seen.scope.as_deref().unwrap_or("").is_empty(),
                "a scope outlived its call: {seen:?}"
            );
            backends.insert(seen.backend);
            spied += 1;
        }
        (spied, backends)
    });
    // And afterwards, on each of the two server connections.
    for seen in glimpse_both_server_connections(&bouncer, &url) {
        assert_eq!(seen.tasks, 0, "{seen:?}");
        assert!(seen.scope.as_deref().unwrap_or("").is_empty(), "{seen:?}");
    }
    eprintln!(
        "scope through PgBouncer: {spied} unscoped queries during {} scoped calls, \
         on {} server connections: 0 tasks, empty todo.user_id",
        THREADS * ROUNDS * 5 * 3,
        backends.len()
    );
}

#[test]
fn a_client_after_the_library_finds_the_servers_own_session_settings() {
    let db = TestDb::new();
    let server_default = glimpse(&mut db.conn()).statement_timeout;
    let bouncer = PgBouncer::start();
    let url = bouncer.url_for(db.url());
    let store =
        Store::connect(&pooled(&url).statement_timeout(Some(Duration::from_millis(4321)))).unwrap();

    let barrier = Barrier::new(THREADS);
    thread::scope(|scope| {
        for n in 0..THREADS {
            let (mut store, barrier) = (store.clone(), &barrier);
            scope.spawn(move || {
                barrier.wait();
                let user = store
                    .create_user(NewUser::new(unique_email(&format!("timed{n}"))))
                    .unwrap();
                let owner = store.operator_owner(&user.email).unwrap();
                for round in 0..ROUNDS * 2 {
                    store
                        .create_task(&owner, NewTask::new(format!("r{round}")))
                        .unwrap();
                    store.list_tasks(&owner, &TaskQuery::new()).unwrap();
                    // In force inside the call, and only there.
                    let inside = store
                        .in_owner_scope(&owner, |conn| Ok(glimpse(conn)))
                        .unwrap();
                    assert_eq!(inside.statement_timeout, "4321ms");
                }
            });
        }
    });

    // A plain client of the same database and role, through the same pooler:
    // many checkouts outside a transaction, then each server connection.
    let mut client = bouncer.conn(&url);
    let mut seen: Vec<Glimpse> = (0..50).map(|_| glimpse(&mut client)).collect();
    seen.extend(glimpse_both_server_connections(&bouncer, &url));
    for glimpse in &seen {
        assert_eq!(
            glimpse.statement_timeout, server_default,
            "the library's statement timeout outlived its call: {glimpse:?}"
        );
        assert!(
            glimpse.scope.as_deref().unwrap_or("").is_empty(),
            "{glimpse:?}"
        );
    }
    let backends: BTreeSet<i32> = seen.iter().map(|g| g.backend).collect();
    eprintln!(
        "statement_timeout: 4321ms inside the calls; {:?} (the server's default) for {} later \
         client statements on {} server connections",
        server_default,
        seen.len(),
        backends.len()
    );
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[test]
fn parallel_migrations_through_the_pooler_apply_once_and_leave_no_lock() {
    const MIGRATORS: usize = 6;
    let db = TestDb::empty();
    let bouncer = PgBouncer::start();
    let config = pooled(&bouncer.url_for(db.url()));
    let barrier = Barrier::new(MIGRATORS);
    let started = Instant::now();
    let results: Vec<Result<Vec<String>>> = thread::scope(|scope| {
        let migrators: Vec<_> = (0..MIGRATORS)
            .map(|_| {
                let (config, barrier) = (&config, &barrier);
                scope.spawn(move || {
                    let conn = config.establish();
                    barrier.wait();
                    run_migrations(&mut conn.unwrap())
                })
            })
            .collect();
        migrators.into_iter().map(|m| m.join().unwrap()).collect()
    });
    let took = started.elapsed();

    let applied: Vec<Vec<String>> = results
        .into_iter()
        .map(|result| result.expect("every migrator finishes without error"))
        .collect();
    let appliers: Vec<&Vec<String>> = applied.iter().filter(|a| !a.is_empty()).collect();
    assert_eq!(appliers.len(), 1, "exactly one applies: {applied:?}");
    let mut direct = db.conn();
    let status = migration_status(&mut direct).unwrap();
    assert!(status.pending.is_empty(), "{status:?}");
    let mut first = appliers[0].clone();
    first.sort();
    assert_eq!(first, status.applied);
    let locks = sql_query(
        "SELECT count(*) AS n FROM pg_locks \
         WHERE locktype = 'advisory' \
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .get_result::<Count>(&mut direct)
    .unwrap()
    .n;
    assert_eq!(locks, 0, "an advisory lock outlived the migrations");
    eprintln!(
        "parallel migrations: {MIGRATORS} migrators through PgBouncer, one applied {} \
         migrations, all done in {took:?}, {locks} advisory locks left",
        first.len()
    );
}

/// The documented limitation: Diesel's statement cache names its statements
/// per client connection (`__diesel_stmt_0`, `_1`, …), and PgBouncer 1.18
/// hands each transaction whichever server connection is free, where that
/// name is missing, or already taken by another client's statement, which
/// then runs with this client's parameters.
#[test]
fn with_the_statement_cache_on_pgbouncer_1_18_mixes_up_prepared_statements() {
    let db = TestDb::new();
    let mut direct = db.store();
    let owners: Vec<(Owner, usize)> = (0..THREADS)
        .map(|n| (owner_with_tasks(&mut direct, "cached", n + 1), n + 1))
        .collect();
    let bouncer = PgBouncer::start();
    let store = Store::connect(
        &pooled(&bouncer.url_for(db.url())).statement_cache(StatementCache::Enabled),
    )
    .unwrap();

    let barrier = Barrier::new(THREADS);
    let outcomes: Vec<Outcome> = thread::scope(|scope| {
        let threads: Vec<_> = owners
            .iter()
            .map(|(owner, tasks)| {
                let (mut store, barrier) = (store.clone(), &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    let mut outcomes = Vec::new();
                    for _ in 0..ROUNDS * 5 {
                        outcomes.push(Outcome::of(
                            store.count_tasks(owner, &TaskFilter::default()),
                            |n| *n == *tasks as u64,
                        ));
                        outcomes.push(Outcome::of(
                            store.list_tasks(owner, &TaskQuery::new()),
                            |page| page.items.len() == *tasks,
                        ));
                        outcomes.push(Outcome::of(store.get_user(owner.user_id()), |user| {
                            user.id == owner.user_id()
                        }));
                    }
                    outcomes
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    });
    let failed: Vec<&String> = outcomes
        .iter()
        .filter_map(|outcome| match outcome {
            Outcome::Failed(err) => Some(err),
            _ => None,
        })
        .collect();
    let wrong = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Outcome::Wrong))
        .count();
    let mixed_up = failed
        .iter()
        .filter(|err| {
            err.contains("prepared statement \"__diesel_stmt_")
                && (err.contains("already exists") || err.contains("does not exist"))
        })
        .count();
    eprintln!(
        "statement cache on behind PgBouncer 1.18: {} of {} calls failed, {mixed_up} of them \
         with a prepared statement that exists twice or not at all (e.g. {:?}), the others e.g. \
         {:?}; {wrong} calls answered wrongly without an error",
        failed.len(),
        outcomes.len(),
        failed.iter().find(|err| err.contains("__diesel_stmt_")),
        failed.iter().find(|err| !err.contains("__diesel_stmt_")),
    );
    assert!(
        mixed_up > 0,
        "expected prepared-statement errors; got {failed:?}"
    );
}

/// How a call with the statement cache on behind PgBouncer 1.18 ended.
#[derive(Debug)]
enum Outcome {
    Right,
    /// An answer, but not this caller's.
    Wrong,
    Failed(String),
}

impl Outcome {
    fn of<T>(result: Result<T>, right: impl FnOnce(&T) -> bool) -> Self {
        match result {
            Ok(answer) if right(&answer) => Outcome::Right,
            Ok(_) => Outcome::Wrong,
            Err(err) => Outcome::Failed(err.to_string()),
        }
    }
}
