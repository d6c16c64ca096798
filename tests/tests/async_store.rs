//! The async store (feature `async`) against real PostgreSQL, as the
//! application role that row-level security binds: every scoped call is one
//! flight, answers its owner's rows and nobody else's, and never runs
//! without its scope, whether its statements are cached yet or the cache is
//! off (then each call takes three flights, as `async_pooler.rs` needs).

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use diesel::{RunQueryDsl, connection::SimpleConnection};
use todo_store::{
    AsyncStore, Entity, Error, NewTask, Owner, StatementCache, StoreConfig, TaskFilter, TaskQuery,
    TaskRepo, TaskStatus,
};
use todo_store_tests::{
    TestDb,
    flights::{FlightCounter, flights_of},
};

/// Two owners with three tasks each (one done), made by the sync store.
fn two_owners(db: &TestDb) -> (Owner, Owner) {
    let mut store = db.store();
    let ada = db.owner("ada@example.com");
    let bob = db.owner("bob@example.com");
    for owner in [&ada, &bob] {
        for title in ["Buy milk", "Write the report", "Call the plumber"] {
            store.create_task(owner, NewTask::new(title)).unwrap();
        }
        let first = store.list_tasks(owner, &TaskQuery::new()).unwrap().items[0].id;
        store
            .set_task_status(owner, first, TaskStatus::Done, Default::default())
            .unwrap();
    }
    (ada, bob)
}

/// The id of one of `owner`'s tasks, read by the sync store.
fn first_task(db: &TestDb, owner: &Owner) -> todo_store::TaskId {
    db.store()
        .list_tasks(owner, &TaskQuery::new())
        .unwrap()
        .items[0]
        .id
}

/// An async store of one connection as the application role `app`.
async fn app_store(app: &todo_store_tests::AppRoleLogin, cache: StatementCache) -> AsyncStore {
    AsyncStore::connect(&one_connection(app.config(), cache))
        .await
        .unwrap()
}

/// An async store of one connection as `app`, through a flight counter.
async fn counted_store(app: &todo_store_tests::AppRoleLogin) -> (FlightCounter, AsyncStore) {
    let counter = FlightCounter::start();
    let config = one_connection(
        StoreConfig::new(counter.url_for(app.url()).expose()),
        StatementCache::Enabled,
    );
    let store = AsyncStore::connect(&config).await.unwrap();
    (counter, store)
}

/// One connection, so that every call reuses (or, on its first use,
/// prepares on) the same one.
fn one_connection(config: StoreConfig, cache: StatementCache) -> StoreConfig {
    config
        .max_connections(1)
        .statement_cache(cache)
        .statement_timeout(Some(Duration::from_secs(5)))
}

/// What the owner sees through the async store: titles of a page, a count
/// by status, a scanned count and a search, and a task of its own by id.
async fn check_sees_own(
    store: &AsyncStore,
    owner: &Owner,
    other: &Owner,
    other_task: todo_store::TaskId,
) {
    let page = store.list_tasks(owner, &TaskQuery::new()).await.unwrap();
    assert_eq!(page.items.len(), 3);
    let got = store.get_task(owner, page.items[0].id).await.unwrap();
    assert_eq!(got, page.items[0]);
    let open = TaskFilter::default().status(todo_store::StatusFilter::Open);
    assert_eq!(store.count_tasks(owner, &open).await.unwrap(), 2);
    // A search: its candidates are a fragment of their own, cached like the rest.
    let searched = store
        .list_tasks(
            owner,
            &TaskQuery::new().filter(TaskFilter::default().search("report")),
        )
        .await
        .unwrap();
    assert_eq!(searched.items.len(), 1, "the search ran with its scope");
    let scanned = TaskFilter::default().search("the");
    assert_eq!(store.count_tasks(owner, &scanned).await.unwrap(), 2);
    // Another owner's task is not there.
    assert!(matches!(
        store.get_task(owner, other_task).await,
        Err(Error::NotFound(Entity::Task))
    ));
    assert_ne!(owner.user_id(), other.user_id());
}

#[tokio::test]
async fn scoped_calls_answer_the_owners_rows_cached_or_not() {
    let db = TestDb::new();
    let app = db.app_role();
    let (ada, bob) = two_owners(&db);
    let bobs = first_task(&db, &bob);
    for cache in [StatementCache::Enabled, StatementCache::Disabled] {
        let store = app_store(&app, cache).await;
        // The first round prepares every statement on the connection (each
        // call's COMMIT waits behind it), the second finds them cached (or,
        // with the cache off, prepares them again).
        for _ in 0..2 {
            check_sees_own(&store, &ada, &bob, bobs).await;
        }
    }
}

#[tokio::test]
async fn a_scoped_call_is_one_flight_once_its_statements_are_prepared() {
    let db = TestDb::new();
    let app = db.app_role();
    let (ada, _) = two_owners(&db);
    let (counter, store) = counted_store(&app).await;
    let id = store
        .list_tasks(&ada, &TaskQuery::new())
        .await
        .unwrap()
        .items[0]
        .id;
    let open = TaskFilter::default().status(todo_store::StatusFilter::Open);
    let by_text = TaskFilter::default().search("the");
    let (store, ada) = (&store, &ada);
    let (open, by_text) = (&open, &by_text);
    let flights = [
        (
            "get",
            flights_of(&counter, move || async move {
                store.get_task(ada, id).await.map(drop).unwrap()
            })
            .await,
        ),
        (
            "list",
            flights_of(&counter, move || async move {
                store
                    .list_tasks(ada, &TaskQuery::new())
                    .await
                    .map(drop)
                    .unwrap()
            })
            .await,
        ),
        (
            "count (kept)",
            flights_of(&counter, move || async move {
                store.count_tasks(ada, open).await.map(drop).unwrap()
            })
            .await,
        ),
        (
            "count (scan)",
            flights_of(&counter, move || async move {
                store.count_tasks(ada, by_text).await.map(drop).unwrap()
            })
            .await,
        ),
    ];
    assert_eq!(flights.map(|(_, n)| n), [1; 4], "{flights:?}");
}

/// A statement that fails (here: the role may not read `tasks` any more)
/// is the call's error; the transaction is rolled back, and the one
/// connection comes back clean: idle, not in a transaction, and the next
/// call on it answers.
#[tokio::test]
async fn a_failing_statement_is_the_calls_error_and_leaves_the_connection_clean() {
    let db = TestDb::new();
    let app = db.app_role();
    let (ada, _) = two_owners(&db);
    let store = app_store(&app, StatementCache::Enabled).await;
    store.list_tasks(&ada, &TaskQuery::new()).await.unwrap();
    let mut owner_conn = db.conn();
    owner_conn
        .batch_execute(&format!("REVOKE SELECT ON tasks FROM {}", app.name()))
        .unwrap();
    let err = store.list_tasks(&ada, &TaskQuery::new()).await.unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    let states: Vec<String> = diesel::sql_query(format!(
        "SELECT state AS s FROM pg_stat_activity WHERE usename = '{}'",
        app.name()
    ))
    .load::<State>(&mut owner_conn)
    .unwrap()
    .into_iter()
    .map(|row| row.s)
    .collect();
    assert_eq!(states, ["idle"]);
    owner_conn
        .batch_execute(&format!("GRANT SELECT ON tasks TO {}", app.name()))
        .unwrap();
    assert_eq!(
        store
            .list_tasks(&ada, &TaskQuery::new())
            .await
            .unwrap()
            .items
            .len(),
        3
    );
}

#[derive(diesel::QueryableByName)]
struct State {
    #[diesel(sql_type = diesel::sql_types::Text)]
    s: String,
}

/// Every single-task write as the sync store's, as the application role,
/// with the statement cache on and off: versions, stale versions, another
/// owner's task, repeated creates, a status set twice.
#[tokio::test]
async fn writes_behave_as_the_sync_stores() {
    use todo_store::{ConflictKind, TaskPatch, VersionCheck};
    let db = TestDb::new();
    let app = db.app_role();
    let (ada, bob) = two_owners(&db);
    let bobs = first_task(&db, &bob);
    for cache in [StatementCache::Enabled, StatementCache::Disabled] {
        let store = app_store(&app, cache).await;
        let task = store
            .create_task(&ada, NewTask::new("Pay the rent"))
            .await
            .unwrap();
        assert_eq!(task.version, 1);

        // A client-chosen id: the repeat is answered with the same task,
        // another task under that id is refused.
        let id = todo_store::TaskId::new_v7();
        let first = store
            .create_task(&ada, NewTask::new("Once").id(id))
            .await
            .unwrap();
        let again = store
            .create_task(&ada, NewTask::new("Once").id(id))
            .await
            .unwrap();
        assert_eq!(first, again);
        assert!(matches!(
            store.create_task(&ada, NewTask::new("Twice").id(id)).await,
            Err(Error::Conflict(ConflictKind::DuplicateTaskId))
        ));

        let patch = || TaskPatch::default().title("Pay the rent today");
        let updated = store
            .update_task(&ada, task.id, patch(), VersionCheck::Exactly(1))
            .await
            .unwrap();
        assert_eq!(
            (updated.version, updated.title.as_str()),
            (2, "Pay the rent today")
        );
        assert!(matches!(
            store
                .update_task(&ada, task.id, patch(), VersionCheck::Exactly(1))
                .await,
            Err(Error::Conflict(ConflictKind::StaleVersion {
                expected: 1,
                actual: 2
            }))
        ));
        let unchanged = store
            .update_task(&ada, task.id, TaskPatch::default(), VersionCheck::Any)
            .await
            .unwrap();
        assert_eq!(unchanged, updated);

        let done = store
            .set_task_status(&ada, task.id, TaskStatus::Done, VersionCheck::Any)
            .await
            .unwrap();
        assert!(done.completed);
        let again = store
            .set_task_status(&ada, task.id, TaskStatus::Done, VersionCheck::Any)
            .await
            .unwrap();
        assert_eq!(again, done, "a status set twice changes nothing");

        // Another owner's task is as absent as a missing one, for every write.
        let not_found = |result: Result<(), Error>| {
            assert!(
                matches!(result, Err(Error::NotFound(Entity::Task))),
                "{result:?}"
            )
        };
        not_found(
            store
                .update_task(&ada, bobs, patch(), VersionCheck::Any)
                .await
                .map(drop),
        );
        not_found(
            store
                .set_task_status(&ada, bobs, TaskStatus::Done, VersionCheck::Any)
                .await
                .map(drop),
        );
        not_found(store.delete_task(&ada, bobs, VersionCheck::Any).await);

        store
            .delete_task(&ada, task.id, VersionCheck::Exactly(3))
            .await
            .unwrap();
        not_found(store.delete_task(&ada, task.id, VersionCheck::Any).await);
        store
            .delete_task(&ada, id, VersionCheck::Any)
            .await
            .unwrap();
    }
    // Bob's tasks are as they were.
    let bobs_now = db
        .store()
        .list_tasks(&bob, &TaskQuery::new())
        .unwrap()
        .items;
    assert_eq!(bobs_now.len(), 3);
    assert!(bobs_now.iter().all(|task| task.version <= 2));
}

#[tokio::test]
async fn a_write_is_one_flight_once_its_statement_is_prepared() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use todo_store::{TaskPatch, VersionCheck};
    let db = TestDb::new();
    let app = db.app_role();
    let (ada, _) = two_owners(&db);
    let (counter, store) = counted_store(&app).await;
    let ids: Vec<_> = store
        .list_tasks(&ada, &TaskQuery::new())
        .await
        .unwrap()
        .items
        .iter()
        .map(|task| task.id)
        .collect();
    let (store, ada, ids) = (&store, &ada, &ids);
    let next = AtomicUsize::new(0);
    let next = &next;
    let flights = [
        (
            "create",
            flights_of(&counter, move || async move {
                store
                    .create_task(ada, NewTask::new("Count me"))
                    .await
                    .map(drop)
                    .unwrap()
            })
            .await,
        ),
        (
            "update",
            flights_of(&counter, move || async move {
                store
                    .update_task(
                        ada,
                        ids[0],
                        TaskPatch::default().title("Again"),
                        VersionCheck::Any,
                    )
                    .await
                    .map(drop)
                    .unwrap()
            })
            .await,
        ),
        (
            "complete",
            flights_of(&counter, move || async move {
                // Tasks 1 and 2, then 2 again: the first two calls prepare.
                let i = 1 + next.fetch_add(1, Ordering::SeqCst).min(1);
                store
                    .set_task_status(ada, ids[i], TaskStatus::Done, VersionCheck::Any)
                    .await
                    .map(drop)
                    .unwrap()
            })
            .await,
        ),
    ];
    assert_eq!(flights.map(|(_, n)| n), [1; 3], "{flights:?}");
    let created = store
        .create_task(ada, NewTask::new("Delete me"))
        .await
        .unwrap();
    let other = store
        .create_task(ada, NewTask::new("Delete me too"))
        .await
        .unwrap();
    store
        .delete_task(ada, created.id, VersionCheck::Any)
        .await
        .unwrap();
    let before = counter.flights();
    store
        .delete_task(ada, other.id, VersionCheck::Any)
        .await
        .unwrap();
    assert_eq!(counter.flights() - before, 1, "delete");
}

/// A call dropped in mid-flight (a cancelled request) leaves no transaction
/// open on the server: its connection is closed at once, not pooled until
/// its next checkout.
#[tokio::test]
async fn a_call_dropped_in_flight_leaves_no_transaction_open() {
    use futures_util::FutureExt;
    let db = TestDb::new();
    let app = db.app_role();
    let (ada, _) = two_owners(&db);
    let store = app_store(&app, StatementCache::Enabled).await;
    store.list_tasks(&ada, &TaskQuery::new()).await.unwrap();
    let mut owner_conn = db.conn();
    let backends = |conn: &mut diesel::PgConnection| -> Vec<String> {
        diesel::sql_query(format!(
            "SELECT state AS s FROM pg_stat_activity WHERE usename = '{}'",
            app.name()
        ))
        .load::<State>(conn)
        .unwrap()
        .into_iter()
        .map(|row| row.s)
        .collect()
    };
    assert_eq!(backends(&mut owner_conn), ["idle"]);
    // Polled once (BEGIN and the statement queued), then dropped.
    let query = TaskQuery::new().filter(TaskFilter::default().search("plumber"));
    assert!(store.list_tasks(&ada, &query).now_or_never().is_none());
    // Its messages still go out (the connection's task sends what was
    // queued): left in the pool, the backend would wait in its transaction
    // until the next call. Closed, it goes. Waits for that, 10 s at most.
    for _ in 0..200 {
        if backends(&mut owner_conn).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(backends(&mut owner_conn), Vec::<String>::new());
    // The store opens a new connection for the next call.
    assert_eq!(store.list_tasks(&ada, &query).await.unwrap().items.len(), 1);
}

#[tokio::test]
async fn a_connection_error_says_why() {
    let db = TestDb::new();
    let missing = db
        .url()
        .with_database("todo_store_no_such_database")
        .unwrap();
    let err = AsyncStore::connect(&StoreConfig::new(missing.expose()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Misconfigured(_)), "{err:?}");
    assert!(err.to_string().contains("does not exist"), "{err}");

    let unknown = format!("{}?gssencmode=disable", db.url().expose());
    let err = AsyncStore::connect(&StoreConfig::new(unknown))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("gssencmode"), "{err}");

    // A key=value string's `sslmode=require` encrypts; libpq's verifying
    // modes, which the driver does not read there, are refused by name,
    // never downgraded.
    let config = StoreConfig::new("host=localhost dbname=postgres sslmode=require")
        .tls(todo_store::TlsPolicy::AllowInsecure);
    AsyncStore::connect(&config).await.unwrap();
    let config = StoreConfig::new("host=localhost dbname=postgres sslmode=verify-full")
        .tls(todo_store::TlsPolicy::AllowInsecure);
    let err = AsyncStore::connect(&config).await.unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    assert!(err.to_string().contains("sslmode"), "{err}");
}
