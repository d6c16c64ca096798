//! The async store behind a transaction-mode pooler without
//! prepared-statement support (Debian's PgBouncer 1.18, two server
//! connections): with the statement cache off, as such a pooler needs,
//! every call from many tasks at once answers right, as the application
//! role, and no named statement is left on a server connection for the
//! next client of it to trip over.

#![allow(clippy::unwrap_used)]

use diesel::{PgConnection, QueryableByName, RunQueryDsl, sql_query, sql_types::BigInt};
use todo_store::{
    AsyncStore, Entity, Error, HistoryQuery, NewProfile, NewTask, OnMissingSubject, Owner,
    StatementCache, StoreConfig, TaskId, TaskPatch, TaskQuery, TaskStatus, UserPatch, VersionCheck,
};
use todo_store_tests::{TestDb, pgbouncer::PgBouncer};

/// Clients at once: four times the pooler's two server connections.
const CLIENTS: usize = 8;
const ROUNDS: usize = 3;

/// Every call of the async store, for one new account, each answer checked.
async fn one_user_through_every_call(store: &AsyncStore, client: usize, round: usize) {
    let subject = format!("pooled_{client}_{round}_{}", TaskId::new_v7());
    let profile = NewProfile::new(format!("{subject}@example.com"));
    let (user, owner) = store
        .owner_for_subject(&subject, OnMissingSubject::Create(profile))
        .await
        .unwrap();
    let (again, _) = store
        .owner_for_subject(&subject, OnMissingSubject::Reject)
        .await
        .unwrap();
    assert_eq!(again, user);
    assert_eq!(store.get_user(user.id).await.unwrap(), user);
    assert_eq!(
        store.find_user_by_email(&user.email).await.unwrap(),
        Some(user.clone())
    );
    let token = store.sync_token(&owner).await.unwrap();
    let task = store
        .create_task(&owner, NewTask::new("Pooled"))
        .await
        .unwrap();
    let id = TaskId::new_v7();
    let batch = vec![NewTask::new("One").id(id), NewTask::new("Two")];
    let made = store.create_tasks(&owner, batch.clone()).await.unwrap();
    assert_eq!(
        store.create_tasks(&owner, vec![batch[0].clone()]).await,
        Ok(vec![made[0].clone()])
    );
    let updated = store
        .update_task(
            &owner,
            task.id,
            TaskPatch::default().title("Pooled, renamed"),
            VersionCheck::Exactly(1),
        )
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    assert!(matches!(
        store
            .update_task(
                &owner,
                task.id,
                TaskPatch::default(),
                VersionCheck::Exactly(1)
            )
            .await,
        Err(Error::Conflict(_))
    ));
    store
        .set_task_status(&owner, task.id, TaskStatus::Done, VersionCheck::Any)
        .await
        .unwrap();
    assert_eq!(store.get_task(&owner, task.id).await.unwrap().version, 3);
    let page = store.list_tasks(&owner, &TaskQuery::new()).await.unwrap();
    assert_eq!(page.items.len(), 3);
    assert_eq!(store.count_tasks(&owner, &Default::default()).await, Ok(3));
    let history = store
        .task_history(&owner, task.id, &HistoryQuery::new())
        .await
        .unwrap();
    assert_eq!(history.changes.len(), 3);
    let changes = store.changes_since(&owner, &token, 100).await.unwrap();
    assert_eq!(changes.changed.len(), 3);
    assert_eq!(store.delete_tasks(&owner, &[made[1].id]).await, Ok(1));
    store
        .delete_task(&owner, id, VersionCheck::Any)
        .await
        .unwrap();
    assert_eq!(
        store.get_task(&owner, id).await,
        Err(Error::NotFound(Entity::Task))
    );
    let renamed = store
        .update_profile(
            &owner,
            UserPatch {
                display_name: Some(Some(format!("Client {client}"))),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.display_name, Some(format!("Client {client}")));
    other_users_tasks_are_absent(store, &owner).await;
    store.delete_user(&owner).await.unwrap();
}

/// An owner sees no task of anyone else's (every account here is new).
async fn other_users_tasks_are_absent(store: &AsyncStore, owner: &Owner) {
    let page = store.list_tasks(owner, &TaskQuery::new()).await.unwrap();
    assert!(page.items.iter().all(|task| task.title != "Unrelated"));
}

#[derive(QueryableByName)]
struct Named {
    #[diesel(sql_type = BigInt)]
    named: i64,
}

/// Named statements left on the server connection this transaction got.
fn named_statements(conn: &mut PgConnection) -> i64 {
    sql_query("SELECT count(*) AS named FROM pg_prepared_statements")
        .get_result::<Named>(conn)
        .unwrap()
        .named
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_works_from_many_tasks_through_the_pooler_and_leaves_no_statement() {
    let db = TestDb::new();
    let app = db.app_role();
    let bouncer = PgBouncer::start();
    let url = bouncer.url_for(app.url());
    let store = AsyncStore::connect(
        &StoreConfig::new(url.expose())
            .max_connections(CLIENTS as u32)
            .statement_cache(StatementCache::Disabled),
    )
    .await
    .unwrap();
    // Someone else's task, which no client may see.
    let stranger = db.owner("stranger@example.com");
    db.store()
        .create_task(&stranger, NewTask::new("Unrelated"))
        .map(drop)
        .unwrap_or_else(|err| panic!("{err}"));

    let mut clients = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let store = store.clone();
        clients.spawn(async move {
            for round in 0..ROUNDS {
                one_user_through_every_call(&store, client, round).await;
            }
        });
    }
    while let Some(done) = clients.join_next().await {
        done.unwrap();
    }
    drop(store);
    assert_eq!(
        bouncer.on_both_server_connections(&url, named_statements),
        [0, 0]
    );
}

use todo_store::TaskRepo as _;
