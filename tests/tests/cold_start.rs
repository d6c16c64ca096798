//! A Neon compute waking from suspension takes a few hundred milliseconds to
//! seconds before it answers. A store waits for it within its connect
//! timeout, with no error for the user, and gives up in time with a
//! retryable [`Error::Unavailable`] when the timeout is shorter than the
//! wake-up.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use todo_store::{
    Error, NewTask, NewUser, OperatorRepo, Store, StoreConfig, TaskQuery, TaskRepo, UserRepo,
};
use todo_store_tests::{TestDb, proxy::WakingProxy, unique_email};

/// How long the endpoint sleeps before it accepts: longer than libpq's
/// shortest connect timeout (2 s), well within the default 10 s.
const WAKE_UP: Duration = Duration::from_secs(3);

#[test]
fn a_store_waits_for_a_waking_server_within_the_default_connect_timeout() {
    let db = TestDb::new();
    let proxy = WakingProxy::start(WAKE_UP);
    let config = StoreConfig::new(proxy.url_for(db.url()).expose());
    assert_eq!(config.connect_timeout, Duration::from_secs(10));

    let started = Instant::now();
    let mut store = Store::connect(&config).expect("the store waits for the server to wake");
    let connected = started.elapsed();
    let user = store
        .create_user(NewUser::new(unique_email("cold")))
        .expect("the first call succeeds");
    let owner = store.operator_owner(&user.email).unwrap();
    store
        .create_task(&owner, NewTask::new("after a cold start"))
        .unwrap();
    let first_calls = started.elapsed();

    assert!(
        proxy.accepted() > 0,
        "the calls went through the waking proxy"
    );
    assert!(connected < config.connect_timeout, "{connected:?}");
    assert_eq!(
        store
            .list_tasks(&owner, &TaskQuery::new())
            .unwrap()
            .items
            .len(),
        1
    );
    eprintln!(
        "cold start: server asleep for {WAKE_UP:?}; Store::connect returned after {connected:?}, \
         the first calls after {first_calls:?}; {} connections forwarded",
        proxy.accepted()
    );
}

#[test]
fn a_connect_timeout_shorter_than_the_wake_up_fails_as_retryable_unavailable() {
    let db = TestDb::new();
    // A server that sleeps far longer than any timeout here: whatever the
    // machine's load, the store gives up while it still sleeps.
    let proxy = WakingProxy::start(Duration::from_secs(60));
    // libpq raises a 1 s timeout to its shortest, 2 s.
    let config =
        StoreConfig::new(proxy.url_for(db.url()).expose()).connect_timeout(Duration::from_secs(1));

    let started = Instant::now();
    let answer = Store::connect(&config);
    let failed_after = started.elapsed();

    let err = answer.expect_err("the server did not answer within the connect timeout");
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    assert!(err.is_retryable());
    // It gave up in the time it was given, not when the server woke.
    assert_eq!(proxy.accepted(), 0, "gave up only after {failed_after:?}");
    assert!(
        failed_after < Duration::from_secs(30),
        "a refusal within the connect timeout, not a hang: {failed_after:?}"
    );
    eprintln!("cold start with connect_timeout 1 s: {err} after {failed_after:?}");
}
