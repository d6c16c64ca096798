//! The async store (feature `async`) against real PostgreSQL, as the
//! application role that row-level security binds: every scoped call is one
//! flight, answers its owner's rows and nobody else's, and never runs
//! without its scope, whether its statements are cached yet, never cached,
//! or the cache is off (a pooler without prepared statements).

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use diesel::{RunQueryDsl, connection::SimpleConnection};
use todo_store::{
    AsyncStore, Entity, Error, NewTask, Owner, StatementCache, StoreConfig, TaskFilter, TaskQuery,
    TaskRepo, TaskStatus,
};
use todo_store_tests::{TestDb, flights::FlightCounter};

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
    // A search is a statement Diesel never caches (its SQL has literal parts).
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
    let bobs = db
        .store()
        .list_tasks(&bob, &TaskQuery::new())
        .unwrap()
        .items[0]
        .id;
    for cache in [StatementCache::Enabled, StatementCache::Disabled] {
        let store = AsyncStore::connect(&one_connection(app.config(), cache))
            .await
            .unwrap();
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
    let counter = FlightCounter::start();
    let config = one_connection(
        StoreConfig::new(counter.url_for(app.url()).expose()),
        StatementCache::Enabled,
    );
    let store = AsyncStore::connect(&config).await.unwrap();
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

/// The flights of `call`'s second run (the first prepares its statements).
async fn flights_of<F: std::future::Future<Output = ()>>(
    counter: &FlightCounter,
    call: impl Fn() -> F,
) -> usize {
    call().await;
    let before = counter.flights();
    call().await;
    counter.flights() - before
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
    let store = AsyncStore::connect(&one_connection(app.config(), StatementCache::Enabled))
        .await
        .unwrap();
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

#[tokio::test]
async fn a_url_asking_for_tls_is_refused_with_a_clear_error() {
    let config = StoreConfig::new("postgres://u:secret@db.example.com/app?sslmode=require");
    let err = AsyncStore::connect(&config).await.unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    assert!(!err.to_string().contains("secret"));
}
