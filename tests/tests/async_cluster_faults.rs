//! The async store through faults that really happen, on a private cluster
//! the test starts, as `faults.rs` puts the sync store through them: the
//! server restarted or killed with `-9` while clients work, and a link that
//! goes silent. The pool heals by itself, every failure is a typed
//! `Unavailable`, and no acknowledged write is lost.

#![allow(clippy::unwrap_used)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use todo_store::{
    AsyncStore, Error, NewProfile, NewTask, OnMissingSubject, Owner, StoreConfig, TaskFilter,
    TaskId,
};
use todo_store_tests::cluster::Cluster;

/// An async store of four connections on `url`, and a new account's owner.
async fn store_on(config: StoreConfig) -> (AsyncStore, Owner) {
    let store = AsyncStore::connect(&config).await.unwrap();
    let (_, owner) = store
        .owner_for_subject(
            "ada",
            OnMissingSubject::Create(NewProfile::new("ada@example.com")),
        )
        .await
        .unwrap();
    (store, owner)
}

fn config(url: String) -> StoreConfig {
    StoreConfig::new(url)
        .max_connections(4)
        .connect_timeout(Duration::from_secs(2))
}

/// Calls `store` until a call succeeds, for at most `bound`. Every failure
/// on the way must be `Unavailable`.
async fn until_it_answers(store: &AsyncStore, owner: &Owner, bound: Duration) {
    let started = Instant::now();
    loop {
        match store.count_tasks(owner, &TaskFilter::default()).await {
            Ok(_) => return,
            Err(Error::Unavailable(_)) if started.elapsed() < bound => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(other) => panic!("after {:?}: {other:?}", started.elapsed()),
        }
    }
}

/// A read on a connection the restart killed while it sat in the pool is
/// made once more on a new one: the caller sees only the answer.
#[tokio::test]
async fn an_idle_pool_answers_the_first_read_after_a_restart() {
    let cluster = Cluster::start();
    let (store, owner) = store_on(config(cluster.url("todo")).max_connections(1)).await;
    store
        .create_task(&owner, NewTask::new("before"))
        .await
        .unwrap();
    cluster.restart_immediate();
    assert_eq!(
        store.count_tasks(&owner, &TaskFilter::default()).await,
        Ok(1)
    );
}

/// Sets the flag when dropped, so that the clients stop even when the test
/// fails before telling them.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// What one client saw of its creates (each with a client-chosen id).
#[derive(Default)]
struct Outcomes {
    /// The create returned the task: it must be stored.
    acknowledged: Vec<TaskId>,
    /// `Unavailable`: sent or not, stored or not, but never twice, and a
    /// retry with the same id settles it.
    ambiguous: Vec<NewTask>,
}

/// Four clients create tasks while `fault` happens to the server.
async fn creates_through(
    store: &AsyncStore,
    owner: &Owner,
    label: &str,
    fault: impl std::future::Future<Output = ()>,
) -> Vec<Outcomes> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (store, owner, stop) = (store.clone(), owner.clone(), Arc::clone(&stop));
        let label = label.to_owned();
        clients.spawn(async move {
            let mut seen = Outcomes::default();
            while !stop.load(Ordering::Relaxed) {
                let new = NewTask::new(label.clone()).id(TaskId::new_v7());
                match store.create_task(&owner, new.clone()).await {
                    Ok(task) => seen.acknowledged.push(task.id),
                    Err(Error::Unavailable(_)) => {
                        seen.ambiguous.push(new);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(other) => panic!("{other:?}"),
                }
            }
            seen
        });
    }
    let stopping = StopOnDrop(Arc::clone(&stop));
    tokio::time::sleep(Duration::from_millis(400)).await;
    fault.await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    drop(stopping);
    clients.join_all().await
}

/// Every acknowledged create is stored, every ambiguous one is settled by
/// sending it again, and the label's tasks are exactly those.
async fn nothing_lost_nothing_twice(
    store: &AsyncStore,
    owner: &Owner,
    label: &str,
    outcomes: &[Outcomes],
) {
    until_it_answers(store, owner, Duration::from_secs(10)).await;
    let acknowledged: Vec<_> = outcomes.iter().flat_map(|o| &o.acknowledged).collect();
    assert!(!acknowledged.is_empty(), "{label}: no write got through");
    for id in &acknowledged {
        assert!(
            store.get_task(owner, **id).await.is_ok(),
            "{label}: lost {id}"
        );
    }
    let ambiguous: Vec<_> = outcomes.iter().flat_map(|o| &o.ambiguous).collect();
    for new in &ambiguous {
        let task = store.create_task(owner, (*new).clone()).await.unwrap();
        assert_eq!(Some(task.id), new.id);
    }
    let counted = store
        .count_tasks(owner, &TaskFilter::default().search(label))
        .await
        .unwrap();
    assert_eq!(
        counted as usize,
        acknowledged.len() + ambiguous.len(),
        "{label}"
    );
    eprintln!(
        "{label}: {} acknowledged, {} ambiguous (settled by a retry)",
        acknowledged.len(),
        ambiguous.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_and_kill_9_lose_no_acknowledged_write_and_store_none_twice() {
    let cluster = Arc::new(Cluster::start());
    let (store, owner) = store_on(config(cluster.url("todo"))).await;

    let restarting = Arc::clone(&cluster);
    let outcomes = creates_through(&store, &owner, "restart", async move {
        tokio::task::spawn_blocking(move || restarting.restart_immediate())
            .await
            .unwrap();
    })
    .await;
    nothing_lost_nothing_twice(&store, &owner, "restart", &outcomes).await;

    // Down briefly, then for longer than the connect timeout (2 s).
    for (round, down) in [300u64, 3_000].into_iter().enumerate() {
        let label = format!("kill round {round}");
        let killed = Arc::clone(&cluster);
        let outcomes = creates_through(&store, &owner, &label, async move {
            tokio::task::spawn_blocking(move || {
                killed.kill9();
                std::thread::sleep(Duration::from_millis(down));
                killed.start_again();
            })
            .await
            .unwrap();
        })
        .await;
        nothing_lost_nothing_twice(&store, &owner, &label, &outcomes).await;
    }
}

/// A link that silently drops every packet: only the client's own timers
/// (`tcp_user_timeout`, keepalives, the connect timeout) can tell, and
/// they must, in time; the same pool answers once the link is back.
#[tokio::test]
async fn a_black_holed_link_fails_with_unavailable_and_heals() {
    const BOUND: Duration = Duration::from_secs(20);
    let cluster = Cluster::start_behind_link();
    cluster.enable_tls();
    let url = format!("{}&sslmode=require", cluster.url("todo"));
    let (store, owner) = store_on(
        config(url)
            .max_connections(2)
            .network_timeout(Duration::from_secs(3)),
    )
    .await;
    store
        .create_task(&owner, NewTask::new("before"))
        .await
        .unwrap();
    cluster.black_hole();
    let started = Instant::now();
    let result = store.count_tasks(&owner, &TaskFilter::default()).await;
    let took = started.elapsed();
    assert!(matches!(result, Err(Error::Unavailable(_))), "{result:?}");
    assert!(took < BOUND, "a call on a dead link took {took:?}");
    eprintln!("black hole: a call failed after {took:?}");
    cluster.restore_link();
    until_it_answers(&store, &owner, BOUND).await;
}
