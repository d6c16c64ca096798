//! Faults that really happen, on a private cluster the test starts (see
//! `todo_store_tests::cluster`): the server restarted or killed with `-9`
//! while clients work. The pool must heal by itself, every failure must be a
//! typed `Unavailable`, and no acknowledged write may be lost.

#![allow(clippy::unwrap_used)]

use std::{
    sync::atomic::{AtomicBool, Ordering},
    thread,
    time::{Duration, Instant},
};

use diesel::RunQueryDsl;
use todo_store::{
    Error, NewTask, NewUser, OperatorRepo, Owner, Store, StoreConfig, TaskFilter, TaskId, TaskRepo,
    UserRepo,
};
use todo_store_tests::cluster::Cluster;

fn store_on(cluster: &Cluster) -> (Store, Owner) {
    let url = cluster.url("todo");
    let mut store = Store::connect(
        &StoreConfig::new(url)
            .max_connections(4)
            .min_idle(0)
            .connect_timeout(Duration::from_secs(2)),
    )
    .unwrap();
    store.create_user(NewUser::new("ada@example.com")).unwrap();
    let owner = store.operator_owner("ada@example.com").unwrap();
    (store, owner)
}

/// Calls `store` until a call succeeds, for at most `bound`; returns how long
/// it took. Every failure on the way must be `Unavailable`.
fn until_it_answers(store: &mut Store, owner: &Owner, bound: Duration) -> Duration {
    let started = Instant::now();
    loop {
        match store.count_tasks(owner, &TaskFilter::default()) {
            Ok(_) => return started.elapsed(),
            Err(Error::Unavailable(_)) if started.elapsed() < bound => {
                thread::sleep(Duration::from_millis(50));
            }
            Err(other) => panic!("after {:?}: {other:?}", started.elapsed()),
        }
    }
}

#[test]
fn an_idle_pool_answers_the_first_call_after_a_restart() {
    let cluster = Cluster::start();
    let (mut store, owner) = store_on(&cluster);
    store.create_task(&owner, NewTask::new("before")).unwrap();
    // Idle for longer than `check_idle_after` (1 s): checked at checkout.
    thread::sleep(Duration::from_millis(1_200));
    cluster.restart_immediate();
    assert_eq!(store.count_tasks(&owner, &TaskFilter::default()), Ok(1));
}

#[test]
fn the_pool_heals_when_the_server_restarts_under_load() {
    let cluster = Cluster::start();
    let (store, owner) = store_on(&cluster);
    let stop = AtomicBool::new(false);
    let failures = thread::scope(|scope| {
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let (mut store, owner, stop) = (store.clone(), owner.clone(), &stop);
                scope.spawn(move || {
                    let mut failures = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let task = NewTask::new("load").id(TaskId::new_v7());
                        if let Err(err) = store.create_task(&owner, task) {
                            failures.push(err);
                            thread::sleep(Duration::from_millis(20));
                        }
                    }
                    failures
                })
            })
            .collect();
        let _stop = StopOnDrop(&stop);
        thread::sleep(Duration::from_millis(500));
        cluster.restart_immediate();
        // The same pool, no new process: calls answer again within a bound.
        let took = until_it_answers(&mut store.clone(), &owner, Duration::from_secs(10));
        assert!(took < Duration::from_secs(10), "{took:?}");
        eprintln!("restart under load: the pool answered again {took:?} after the restart");
        thread::sleep(Duration::from_millis(500));
        stop.store(true, Ordering::Relaxed);
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect::<Vec<_>>()
    });
    eprintln!(
        "restart under load: {} calls failed meanwhile, all Unavailable",
        failures.len()
    );
    for failure in &failures {
        assert!(matches!(failure, Error::Unavailable(_)), "{failure:?}");
        assert!(failure.is_retryable());
    }
    // And it keeps answering.
    let mut store = store;
    for _ in 0..20 {
        store.create_task(&owner, NewTask::new("after")).unwrap();
    }
}

/// Sets the flag when dropped, so that worker threads stop even when the
/// scope's main thread fails (a scope waits for its threads).
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// What one client saw of its creates while the server was killed.
#[derive(Default)]
struct Outcomes {
    /// The create returned the task: it must be stored.
    acknowledged: Vec<TaskId>,
    /// No connection could be had: nothing was sent, nothing may be stored.
    never_sent: Vec<TaskId>,
    /// Sent, and the connection died before the answer: stored or not, but
    /// never twice, and a retry with the same id settles it.
    ambiguous: Vec<NewTask>,
    /// The longest a failed checkout took.
    slowest_refusal: Duration,
}

#[test]
fn kill_9_loses_no_acknowledged_write_and_stores_none_twice() {
    let cluster = Cluster::start();
    let (store, owner) = store_on(&cluster);
    // Down briefly, then for longer than the connect timeout (2 s): calls
    // then fail in time (typed), and the pool recovers when it is back.
    for (round, down) in [300, 3_000, 300].into_iter().enumerate() {
        let stop = AtomicBool::new(false);
        let outcomes: Vec<Outcomes> = thread::scope(|scope| {
            let workers: Vec<_> = (0..4)
                .map(|_| {
                    let (store, owner, stop) = (store.clone(), owner.clone(), &stop);
                    scope.spawn(move || {
                        let mut seen = Outcomes::default();
                        while !stop.load(Ordering::Relaxed) {
                            let new = NewTask::new(format!("round {round}")).id(TaskId::new_v7());
                            let id = new.id.unwrap();
                            // Checkout first, so that "never sent" is certain.
                            let asked = Instant::now();
                            let mut conn = match store.conn() {
                                Ok(conn) => conn,
                                Err(Error::Unavailable(_)) => {
                                    seen.slowest_refusal =
                                        seen.slowest_refusal.max(asked.elapsed());
                                    seen.never_sent.push(id);
                                    thread::sleep(Duration::from_millis(20));
                                    continue;
                                }
                                Err(other) => panic!("{other:?}"),
                            };
                            match conn.create_task(&owner, new.clone()) {
                                Ok(task) => seen.acknowledged.push(task.id),
                                Err(Error::Unavailable(_)) => seen.ambiguous.push(new),
                                Err(other) => panic!("{other:?}"),
                            }
                        }
                        seen
                    })
                })
                .collect();
            let _stop = StopOnDrop(&stop);
            thread::sleep(Duration::from_millis(400));
            cluster.kill9();
            thread::sleep(Duration::from_millis(down));
            cluster.start_again();
            thread::sleep(Duration::from_millis(400));
            stop.store(true, Ordering::Relaxed);
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        let mut store = store.clone();
        until_it_answers(&mut store, &owner, Duration::from_secs(10));
        let acknowledged: Vec<_> = outcomes.iter().flat_map(|o| &o.acknowledged).collect();
        assert!(
            !acknowledged.is_empty(),
            "round {round}: no write got through"
        );
        for id in &acknowledged {
            assert!(
                store.get_task(&owner, **id).is_ok(),
                "round {round}: lost {id}"
            );
        }
        for id in outcomes.iter().flat_map(|o| &o.never_sent) {
            assert!(
                store.get_task(&owner, *id).is_err(),
                "round {round}: {id} appeared"
            );
        }
        // An ambiguous create is settled by retrying it: exactly one task.
        for new in outcomes.iter().flat_map(|o| &o.ambiguous) {
            let task = store.create_task(&owner, new.clone()).unwrap();
            assert_eq!(Some(task.id), new.id);
        }
        let total = acknowledged.len() + outcomes.iter().map(|o| o.ambiguous.len()).sum::<usize>();
        let counted = store
            .count_tasks(
                &owner,
                &TaskFilter::default().search(format!("round {round}")),
            )
            .unwrap();
        assert_eq!(counted as usize, total, "round {round}");
        let slowest = outcomes
            .iter()
            .map(|o| o.slowest_refusal)
            .max()
            .unwrap_or_default();
        assert!(
            slowest < Duration::from_secs(4),
            "round {round}: a refusal took {slowest:?}"
        );
        if down > 2_000 {
            assert!(
                outcomes.iter().any(|o| !o.never_sent.is_empty()),
                "round {round}"
            );
        }
        eprintln!(
            "round {round} (down {down} ms): {} acknowledged, {} ambiguous (settled by a retry), \
             {} never sent, slowest refusal {slowest:?}",
            acknowledged.len(),
            outcomes.iter().map(|o| o.ambiguous.len()).sum::<usize>(),
            outcomes.iter().map(|o| o.never_sent.len()).sum::<usize>()
        );
    }
}

/// A link that silently drops every packet (a dead NAT, a sleeping laptop's
/// Wi-Fi): nothing tells the client, so only its own timers can.
#[test]
fn a_black_holed_link_fails_in_time_with_unavailable_and_heals() {
    const BOUND: Duration = Duration::from_secs(20);
    let cluster = Cluster::start_behind_link();
    // Across a link the server is another host: the TLS policy wants
    // encryption, as it would in production.
    cluster.enable_tls();
    let url = format!("{}&sslmode=require", cluster.url("todo"));
    let config = StoreConfig::new(url)
        .max_connections(2)
        .min_idle(0)
        .connect_timeout(Duration::from_secs(2))
        .network_timeout(Duration::from_secs(3));
    let mut store = Store::connect(&config).unwrap();
    store.create_user(NewUser::new("ada@example.com")).unwrap();
    let owner = store.operator_owner("ada@example.com").unwrap();

    // A query in flight when the link goes.
    let in_flight = thread::scope(|scope| {
        let store = store.clone();
        let query = scope.spawn(move || {
            let mut conn = store.conn().unwrap();
            let started = Instant::now();
            let result = diesel::sql_query("SELECT pg_sleep(2)")
                .execute(&mut *conn)
                .map_err(Error::from);
            (result, started.elapsed())
        });
        thread::sleep(Duration::from_millis(500));
        cluster.black_hole();
        query.join().unwrap()
    });
    let (result, in_flight_took) = in_flight;
    assert!(matches!(result, Err(Error::Unavailable(_))), "{result:?}");
    assert!(
        in_flight_took < BOUND,
        "the in-flight query took {in_flight_took:?}"
    );

    // A call while the link is still down: checkout and all, in time.
    let started = Instant::now();
    let result = store.count_tasks(&owner, &TaskFilter::default());
    let took = started.elapsed();
    assert!(matches!(result, Err(Error::Unavailable(_))), "{result:?}");
    assert!(took < BOUND, "a call on a dead link took {took:?}");
    eprintln!(
        "black hole: the in-flight query failed after {in_flight_took:?}, a new call after {took:?}"
    );

    // The link comes back: the same pool answers again.
    cluster.restore_link();
    until_it_answers(&mut store, &owner, BOUND);
}
