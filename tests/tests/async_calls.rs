//! The async store's calls beyond single tasks, against real PostgreSQL as
//! the application role: bulk creates and deletes, history and the change
//! feed, and the account calls. Each answers exactly as the sync store
//! does on the same rows (compared side by side), keeps to its owner, and
//! takes the flights its module says. Every call's future is `Send`, so a
//! multi-threaded web server can hold it across an `.await`.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use todo_store::{
    AsyncStore, ConflictKind, Entity, Error, HistoryQuery, NewProfile, NewTask, OnMissingSubject,
    Owner, StatementCache, Store, StoreConfig, SyncToken, TaskId, TaskPatch, TaskQuery, TaskRepo,
    TaskStatus, UserPatch, UserRepo, VersionCheck,
};
use todo_store_tests::{
    AppRoleLogin, TestDb,
    flights::{FlightCounter, flights_of},
};

/// An async store of one connection as `app`, through `counter` if given.
async fn app_store(app: &AppRoleLogin, counter: Option<&FlightCounter>) -> AsyncStore {
    let config = match counter {
        Some(counter) => StoreConfig::new(counter.url_for(app.url()).expose()),
        None => app.config(),
    };
    AsyncStore::connect(
        &config
            .max_connections(1)
            .statement_cache(StatementCache::Enabled)
            .statement_timeout(Some(Duration::from_secs(5))),
    )
    .await
    .unwrap()
}

/// Compile-time: every call's future can move between threads.
#[allow(dead_code)]
fn every_call_is_send(store: &AsyncStore, owner: &Owner, id: TaskId, token: &SyncToken) {
    fn send<T: Send>(_: T) {}
    send(store.get_task(owner, id));
    send(store.list_tasks(owner, &TaskQuery::new()));
    send(store.count_tasks(owner, &Default::default()));
    send(store.create_task(owner, NewTask::new("x")));
    send(store.create_tasks(owner, vec![NewTask::new("x")]));
    send(store.update_task(owner, id, TaskPatch::default(), VersionCheck::Any));
    send(store.set_task_status(owner, id, TaskStatus::Done, VersionCheck::Any));
    send(store.delete_task(owner, id, VersionCheck::Any));
    send(store.delete_tasks(owner, &[id]));
    send(store.task_history(owner, id, &HistoryQuery::new()));
    send(store.sync_token(owner));
    send(store.get_user(owner.user_id()));
    send(store.find_user_by_email("a@example.com"));
    send(store.owner_for_subject("s", OnMissingSubject::Reject));
    send(store.update_profile(owner, UserPatch::default()));
    send(store.delete_user(owner));
    send(store.create_user(todo_store::NewUser::new("a@example.com")));
    send(store.list_users(10, None));
    send(store.authenticate("a@example.com", &todo_store::Password::new("x").unwrap()));
    send(store.change_password(owner, &todo_store::Password::new("x").unwrap()));
    send(store.changes_since(owner, token, 10));
}

#[tokio::test]
async fn bulk_creates_and_deletes_answer_as_the_sync_stores() {
    let db = TestDb::new();
    let app = db.app_role();
    let (ada, bob) = (db.owner("ada@example.com"), db.owner("bob@example.com"));
    let store = app_store(&app, None).await;
    let mut sync = Store::connect(&app.config()).unwrap();

    // Plain: in the order given.
    let titles = ["One", "Two", "Three"];
    let made = store
        .create_tasks(&ada, titles.iter().map(|t| NewTask::new(*t)).collect())
        .await
        .unwrap();
    assert_eq!(
        made.iter().map(|t| t.title.as_str()).collect::<Vec<_>>(),
        titles
    );

    // Client ids: a repeat answers with the tasks made before, an id given
    // twice with the same fields the same task twice.
    let (x, y) = (TaskId::new_v7(), TaskId::new_v7());
    let batch = || {
        vec![
            NewTask::new("X").id(x),
            NewTask::new("Y").id(y),
            NewTask::new("X").id(x),
        ]
    };
    let first = store.create_tasks(&ada, batch()).await.unwrap();
    assert_eq!(first[0], first[2]);
    let again = store.create_tasks(&ada, batch()).await.unwrap();
    assert_eq!(again, first);
    // The sync store answers the same repeat with the same tasks.
    assert_eq!(sync.create_tasks(&ada, batch()).unwrap(), first);

    // All or nothing: a bad element names itself and nothing is written;
    // another task under a taken id is refused, and nothing is written.
    let before = store.count_tasks(&ada, &Default::default()).await.unwrap();
    let err = store
        .create_tasks(&ada, vec![NewTask::new("Fine"), NewTask::new("  ")])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Validation { field, .. } if field == "tasks[1].title"),
        "{err:?}"
    );
    let err = store
        .create_tasks(
            &ada,
            vec![NewTask::new("Fresh"), NewTask::new("Not X").id(x)],
        )
        .await
        .unwrap_err();
    assert_eq!(err, Error::Conflict(ConflictKind::DuplicateTaskId));
    assert_eq!(
        store.count_tasks(&ada, &Default::default()).await.unwrap(),
        before
    );
    assert_eq!(store.create_tasks(&ada, Vec::new()).await.unwrap(), []);

    // Deleting many: another owner's ids and unknown ones are ignored.
    let bobs = sync.create_task(&bob, NewTask::new("Bob's")).unwrap().id;
    let ids = [made[0].id, made[1].id, bobs, TaskId::new_v7()];
    assert_eq!(store.delete_tasks(&ada, &ids).await.unwrap(), 2);
    assert_eq!(store.delete_tasks(&ada, &ids).await.unwrap(), 0);
    assert!(sync.get_task(&bob, bobs).is_ok(), "bob's task is untouched");
}

#[tokio::test]
async fn history_and_the_change_feed_answer_as_the_sync_stores() {
    let db = TestDb::new();
    let app = db.app_role();
    let (ada, bob) = (db.owner("ada@example.com"), db.owner("bob@example.com"));
    let store = app_store(&app, None).await;
    let mut sync = Store::connect(&app.config()).unwrap();

    let start = store.sync_token(&ada).await.unwrap();
    assert_eq!(start, sync.sync_token(&ada).unwrap());
    let task = store
        .create_task(&ada, NewTask::new("Tracked"))
        .await
        .unwrap();
    for n in 0..3 {
        store
            .update_task(
                &ada,
                task.id,
                TaskPatch::default().title(format!("Tracked {n}")),
                VersionCheck::Any,
            )
            .await
            .unwrap();
    }
    let gone = store.create_task(&ada, NewTask::new("Gone")).await.unwrap();
    store
        .delete_task(&ada, gone.id, VersionCheck::Any)
        .await
        .unwrap();

    // History: pages of two, walked to the end, as the sync store's.
    let mut query = HistoryQuery::new().limit(2);
    let mut seen = 0;
    loop {
        let page = store.task_history(&ada, task.id, &query).await.unwrap();
        assert_eq!(page, sync.task_history(&ada, task.id, &query).unwrap());
        seen += page.changes.len();
        match page.next_before {
            Some(before) => query = HistoryQuery::new().limit(2).before(before),
            None => break,
        }
    }
    assert_eq!(seen, 4, "a create and three updates");
    // Another owner's task, an unknown one, and a zero limit.
    let bobs = sync.create_task(&bob, NewTask::new("Bob's")).unwrap().id;
    for id in [bobs, TaskId::new_v7()] {
        assert_eq!(
            store.task_history(&ada, id, &HistoryQuery::new()).await,
            Err(Error::NotFound(Entity::Task))
        );
    }
    assert!(matches!(
        store
            .task_history(&ada, task.id, &HistoryQuery::new().limit(0))
            .await,
        Err(Error::Validation { .. })
    ));

    // The feed: pages of one, as the sync store's, to the same end.
    let mut token = start;
    let mut pages = 0;
    loop {
        let changes = store.changes_since(&ada, &token, 1).await.unwrap();
        assert_eq!(changes, sync.changes_since(&ada, &token, 1).unwrap());
        pages += 1;
        token = changes.next;
        if !changes.more {
            break;
        }
    }
    assert!(pages >= 2, "{pages}");
    assert_eq!(token, store.sync_token(&ada).await.unwrap());
    // Bob's token is refused for Ada, as a malformed one would be.
    let bobs_token = store.sync_token(&bob).await.unwrap();
    assert!(matches!(
        store.changes_since(&ada, &bobs_token, 10).await,
        Err(Error::Validation { .. })
    ));
}

#[tokio::test]
async fn account_calls_answer_as_the_sync_stores() {
    let db = TestDb::new();
    let app = db.app_role();
    let store = app_store(&app, None).await;
    let mut sync = Store::connect(&app.config()).unwrap();
    let subject = format!("ba_{}", TaskId::new_v7());

    // First sight creates the account; the next sight finds it.
    assert_eq!(
        store
            .owner_for_subject(&subject, OnMissingSubject::Reject)
            .await,
        Err(Error::NotFound(Entity::User))
    );
    let profile = NewProfile::new("Cleo@Example.com").display_name("Cleo");
    let (user, owner) = store
        .owner_for_subject(&subject, OnMissingSubject::Create(profile.clone()))
        .await
        .unwrap();
    assert_eq!(user.display_name.as_deref(), Some("Cleo"));
    let (again, _) = store
        .owner_for_subject(&subject, OnMissingSubject::Create(profile.clone()))
        .await
        .unwrap();
    assert_eq!(again, user);
    assert_eq!(
        sync.owner_for_subject(&subject, OnMissingSubject::Reject)
            .unwrap()
            .0,
        user
    );
    // Another subject with an email already linked: refused, never linked.
    let other = format!("ba_{}", TaskId::new_v7());
    assert_eq!(
        store
            .owner_for_subject(
                &other,
                OnMissingSubject::Create(NewProfile::new("cleo@example.com"))
            )
            .await,
        Err(Error::Conflict(ConflictKind::EmailTaken))
    );
    assert!(matches!(
        store.owner_for_subject("", OnMissingSubject::Reject).await,
        Err(Error::Validation { .. })
    ));

    // Look-ups.
    assert_eq!(store.get_user(user.id).await.unwrap(), user);
    assert_eq!(
        store.find_user_by_email("CLEO@example.com").await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(
        store.find_user_by_email("nobody@example.com").await,
        Ok(None)
    );
    assert!(matches!(
        store.find_user_by_email("not an address").await,
        Err(Error::Validation { .. })
    ));

    // The profile.
    let patch = UserPatch {
        display_name: Some(None),
        time_zone: Some(Some("Europe/Paris".into())),
        ..UserPatch::default()
    };
    let updated = store.update_profile(&owner, patch).await.unwrap();
    assert_eq!(updated.display_name, None);
    assert_eq!(updated.time_zone.as_deref(), Some("Europe/Paris"));
    assert_eq!(
        store
            .update_profile(&owner, UserPatch::default())
            .await
            .unwrap(),
        updated
    );
    let taken = db.owner("dan@example.com");
    let err = store
        .update_profile(
            &taken,
            UserPatch {
                email: Some("cleo@EXAMPLE.com".into()),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err, Error::Conflict(ConflictKind::EmailTaken));

    // Deleting the account takes its tasks along.
    let task = store
        .create_task(&owner, NewTask::new("Mine"))
        .await
        .unwrap();
    store.delete_user(&owner).await.unwrap();
    assert_eq!(
        store.delete_user(&owner).await,
        Err(Error::NotFound(Entity::User))
    );
    assert_eq!(
        store.get_user(user.id).await,
        Err(Error::NotFound(Entity::User))
    );
    assert_eq!(
        sync.get_task(&owner, task.id),
        Err(Error::NotFound(Entity::Task))
    );
    assert!(sync.get_user(taken.user_id()).is_ok(), "dan is still there");
}

/// The password calls, as the sync store's: a password stored only as a
/// hash that verifies, the same refusal for a wrong password, an unknown
/// email and an account without one, a new password replacing the old, and
/// accounts listed in id order, page by page.
#[tokio::test]
async fn password_calls_answer_as_the_sync_stores() {
    use todo_store::{NewUser, Password};
    let db = TestDb::new();
    let app = db.app_role();
    let store = app_store(&app, None).await;
    let pw = |text: &str| Password::new(text).unwrap();

    let user = store
        .create_user(NewUser::new("eve@example.com").password(pw("correct horse battery")))
        .await
        .unwrap();
    let owner = store
        .authenticate("EVE@example.com", &pw("correct horse battery"))
        .await
        .unwrap();
    assert_eq!(owner.user_id(), user.id);
    for (email, password) in [
        ("eve@example.com", "wrong horse battery"),
        ("nobody@example.com", "correct horse battery"),
        ("not an address", "correct horse battery"),
    ] {
        assert_eq!(
            store.authenticate(email, &pw(password)).await,
            Err(Error::InvalidCredentials),
            "{email}"
        );
    }
    store
        .create_user(NewUser::new("nopass@example.com"))
        .await
        .unwrap();
    assert_eq!(
        store
            .authenticate("nopass@example.com", &pw("correct horse battery"))
            .await,
        Err(Error::InvalidCredentials)
    );
    assert!(matches!(
        store.create_user(NewUser::new("Eve@Example.com")).await,
        Err(Error::Conflict(ConflictKind::EmailTaken))
    ));
    assert!(matches!(
        store
            .create_user(NewUser::new("short@example.com").password(pw("short")))
            .await,
        Err(Error::Validation { .. })
    ));

    store
        .change_password(&owner, &pw("battery staple horse"))
        .await
        .unwrap();
    assert_eq!(
        store
            .authenticate("eve@example.com", &pw("correct horse battery"))
            .await,
        Err(Error::InvalidCredentials)
    );
    let mut sync = Store::connect(&app.config()).unwrap();
    assert_eq!(
        sync.authenticate("eve@example.com", &pw("battery staple horse"))
            .unwrap()
            .user_id(),
        user.id,
        "the sync store reads the hash the async store wrote"
    );

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_users(1, after).await.unwrap();
        assert_eq!(page, sync.list_users(1, after).unwrap());
        match page.last() {
            Some(last) => after = Some(last.id),
            None => break,
        }
        seen.extend(page);
    }
    assert_eq!(seen.len(), 2);
    assert!(matches!(
        store.list_users(0, None).await,
        Err(Error::Validation { .. })
    ));
}

/// Flights per call, once its statements are prepared: one for each
/// single-statement call and a bulk create; two for a first sight and a
/// bulk create with client ids (whether to commit depends on the inserts'
/// answers), three when that bulk create repeats one (it reads back the
/// tasks it made before).
#[tokio::test]
async fn the_calls_take_the_flights_they_promise() {
    let db = TestDb::new();
    let app = db.app_role();
    let ada = db.owner("ada@example.com");
    let counter = FlightCounter::start();
    let store = app_store(&app, Some(&counter)).await;
    let task = store
        .create_task(&ada, NewTask::new("Tracked"))
        .await
        .unwrap();
    let token = store.sync_token(&ada).await.unwrap();
    let (store, ada, token) = (&store, &ada, &token);
    let subject = |n: u32| format!("ba_{}_{n}", ada.user_id());
    let n = std::sync::atomic::AtomicU32::new(0);
    let n = &n;
    let repeated = &vec![NewTask::new("Again").id(TaskId::new_v7())];
    store.create_tasks(ada, repeated.clone()).await.unwrap();
    let flights = [
        (
            "task_history",
            flights_of(&counter, move || async move {
                store
                    .task_history(ada, task.id, &HistoryQuery::new())
                    .await
                    .unwrap();
            })
            .await,
        ),
        (
            "sync_token",
            flights_of(&counter, move || async move {
                store.sync_token(ada).await.unwrap();
            })
            .await,
        ),
        (
            "changes_since",
            flights_of(&counter, move || async move {
                store.changes_since(ada, token, 10).await.unwrap();
            })
            .await,
        ),
        (
            "delete_tasks",
            flights_of(&counter, move || async move {
                store.delete_tasks(ada, &[TaskId::new_v7()]).await.unwrap();
            })
            .await,
        ),
        (
            "get_user",
            flights_of(&counter, move || async move {
                store.get_user(ada.user_id()).await.unwrap();
            })
            .await,
        ),
        (
            "update_profile",
            flights_of(&counter, move || async move {
                let patch = UserPatch {
                    time_zone: Some(Some("Europe/Oslo".into())),
                    ..UserPatch::default()
                };
                store.update_profile(ada, patch).await.unwrap();
            })
            .await,
        ),
        (
            "owner_for_subject, first sight",
            flights_of(&counter, move || async move {
                let k = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let profile = NewProfile::new(format!("first{k}@example.com"));
                store
                    .owner_for_subject(&subject(k), OnMissingSubject::Create(profile))
                    .await
                    .unwrap();
            })
            .await,
        ),
        (
            "create_tasks",
            flights_of(&counter, move || async move {
                store
                    .create_tasks(ada, vec![NewTask::new("a"), NewTask::new("b")])
                    .await
                    .unwrap();
            })
            .await,
        ),
        (
            "create_tasks, client ids",
            flights_of(&counter, move || async move {
                let batch = vec![
                    NewTask::new("a").id(TaskId::new_v7()),
                    NewTask::new("b").id(TaskId::new_v7()),
                ];
                store.create_tasks(ada, batch).await.unwrap();
            })
            .await,
        ),
        (
            "create_tasks, client ids, repeated",
            flights_of(&counter, move || async move {
                store.create_tasks(ada, repeated.clone()).await.unwrap();
            })
            .await,
        ),
    ];
    assert_eq!(
        flights.map(|(_, n)| n),
        [1, 1, 1, 1, 1, 1, 2, 1, 2, 3],
        "{flights:?}"
    );
}
