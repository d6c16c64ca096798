//! The change feed: `sync_token` and `changes_since`. A device that applies
//! what the feed gives ends with exactly the owner's tasks, however many
//! writers were busy meanwhile; a token from before a prune asks for a
//! reload; an edited or foreign token is refused like any malformed text.

#![allow(clippy::unwrap_used)]

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::Duration,
};

use diesel::connection::SimpleConnection;
use todo_store::{
    Changes, Error, NewTask, Owner, Store, SyncToken, Task, TaskId, TaskPatch, TaskQuery, TaskRepo,
    TaskStatus, VersionCheck, prune_history,
};
use todo_store_tests::{TestDb, walk_tasks};

/// A device's copy of one owner's tasks.
#[derive(Debug, Default)]
struct Device {
    tasks: HashMap<TaskId, Task>,
}

impl Device {
    /// Applies one answer of the feed. A task never goes back to an older
    /// version: that would mean the feed delivered changes out of order.
    fn apply(&mut self, changes: Changes) -> (SyncToken, bool) {
        for task in changes.changed {
            if let Some(held) = self.tasks.get(&task.id) {
                assert!(held.version <= task.version, "{held:?} then {task:?}");
            }
            self.tasks.insert(task.id, task);
        }
        for id in changes.deleted {
            self.tasks.remove(&id);
        }
        (changes.next, changes.more)
    }

    /// Asks for changes until none are waiting; the token to ask with next.
    fn catch_up(&mut self, store: &mut Store, owner: &Owner, token: SyncToken) -> SyncToken {
        let mut token = token;
        loop {
            let (next, more) = self.apply(store.changes_since(owner, &token, 200).unwrap());
            token = next;
            if !more {
                return token;
            }
        }
    }
}

/// All of the owner's tasks, by id.
fn all_tasks(store: &mut Store, owner: &Owner) -> HashMap<TaskId, Task> {
    walk_tasks(store, owner, TaskQuery::new().limit(200))
        .into_iter()
        .map(|task| (task.id, task))
        .collect()
}

#[test]
fn the_feed_gives_changed_tasks_deleted_ids_and_the_next_token() {
    let db = TestDb::new();
    let ada = db.owner("ada@example.com");
    let mut store = db.store();
    let kept = store.create_task(&ada, NewTask::new("kept")).unwrap();
    let start = store.sync_token(&ada).unwrap();

    // Nothing since: the same position, nothing more.
    let none = store.changes_since(&ada, &start, 10).unwrap();
    assert!(none.changed.is_empty() && none.deleted.is_empty() && !none.more);
    assert_eq!(none.next, start);

    let gone = store.create_task(&ada, NewTask::new("gone")).unwrap();
    store
        .update_task(
            &ada,
            kept.id,
            TaskPatch::default().title("kept, edited"),
            VersionCheck::Any,
        )
        .unwrap();
    store.delete_task(&ada, gone.id, VersionCheck::Any).unwrap();
    let fresh = store.create_task(&ada, NewTask::new("fresh")).unwrap();

    let changes = store.changes_since(&ada, &start, 10).unwrap();
    let titles: Vec<&str> = changes.changed.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(
        titles,
        ["kept, edited", "fresh"],
        "in the order of their last change"
    );
    assert_eq!(changes.deleted, [gone.id]);
    assert!(!changes.more);
    assert_eq!(changes.next, store.sync_token(&ada).unwrap());

    // Paged: two changes at a time, then the rest.
    let first = store.changes_since(&ada, &start, 2).unwrap();
    assert!(first.more);
    assert_eq!(first.changed.len() + first.deleted.len(), 2);
    let rest = store.changes_since(&ada, &first.next, 2).unwrap();
    assert!(!rest.more);
    assert_eq!(rest.deleted, [gone.id]);
    assert_eq!(
        rest.changed.iter().map(|t| t.id).collect::<Vec<_>>(),
        [fresh.id]
    );

    // Tokens are text that survives a round trip through a device.
    let text = changes.next.to_string();
    let parsed: SyncToken = text.parse().unwrap();
    assert_eq!(parsed, changes.next);
    let json = serde_json::to_string(&parsed).unwrap();
    assert_eq!(serde_json::from_str::<SyncToken>(&json).unwrap(), parsed);
}

#[test]
fn an_edited_or_foreign_token_is_refused_like_garbage() {
    let db = TestDb::new();
    let ada = db.owner("ada@example.com");
    let bob = db.owner("bob@example.com");
    let mut store = db.store();
    store.create_task(&ada, NewTask::new("a")).unwrap();
    store.create_task(&bob, NewTask::new("b")).unwrap();
    let adas = store.sync_token(&ada).unwrap();

    let refused = Error::validation("token", "is not a valid sync token");
    // Bob cannot use ada's token: the same answer as for any garbage.
    assert_eq!(store.changes_since(&bob, &adas, 10), Err(refused.clone()));
    let mut edited = adas.to_string().into_bytes();
    let last = edited.len() - 3;
    edited[last] = if edited[last] == b'A' { b'B' } else { b'A' };
    let edited: SyncToken = String::from_utf8(edited).unwrap().parse().unwrap();
    assert_eq!(store.changes_since(&ada, &edited, 10), Err(refused.clone()));
    assert_eq!("not a token".parse::<SyncToken>(), Err(refused));
    assert!(matches!(
        store.changes_since(&ada, &adas, 0),
        Err(Error::Validation { field, .. }) if field == "limit"
    ));
}

#[test]
fn a_token_from_before_a_prune_asks_for_a_reload() {
    let db = TestDb::new();
    let ada = db.owner("ada@example.com");
    let bob = db.owner("bob@example.com");
    let mut store = db.store();
    let early = store.sync_token(&ada).unwrap();
    let task = store.create_task(&ada, NewTask::new("old")).unwrap();
    let middle = store.sync_token(&ada).unwrap();
    store.create_task(&bob, NewTask::new("bob's")).unwrap();

    // Everything so far is "old" once the clock has moved on a little.
    thread::sleep(Duration::from_millis(20));
    let mut admin = db.conn();
    let pruned = prune_history(&mut admin, Duration::from_millis(10)).unwrap();
    assert_eq!((pruned.changes, pruned.owners), (2, 2));
    store
        .update_task(
            &ada,
            task.id,
            TaskPatch::default().title("new"),
            VersionCheck::Any,
        )
        .unwrap();

    assert_eq!(
        store.changes_since(&ada, &early, 10),
        Err(Error::ResyncRequired)
    );
    // A token at the pruned edge still works: every later change is kept.
    let changes = store.changes_since(&ada, &middle, 10).unwrap();
    assert_eq!(changes.changed.len(), 1);
    assert_eq!(changes.changed[0].title, "new");
    // A fresh token after a reload works, of course.
    let now = store.sync_token(&ada).unwrap();
    assert!(
        store
            .changes_since(&ada, &now, 10)
            .unwrap()
            .changed
            .is_empty()
    );

    // A pruned task's history: empty, not "not found", while it exists.
    let mut admin_again = db.conn();
    prune_history(&mut admin_again, Duration::ZERO).unwrap();
    let page = store
        .task_history(&ada, task.id, &todo_store::HistoryQuery::new())
        .unwrap();
    assert!(page.changes.is_empty());

    // A token beyond the owner's last change (a database restored from an
    // older backup) cannot be answered either.
    admin
        .batch_execute(&format!(
            "DELETE FROM task_sync_state WHERE user_id = '{}'",
            ada.user_id()
        ))
        .unwrap();
    assert_eq!(
        store.changes_since(&ada, &now, 10),
        Err(Error::ResyncRequired)
    );
}

#[test]
fn a_token_from_before_the_first_change_follows_the_whole_feed() {
    let db = TestDb::new();
    let ada = db.owner("ada@example.com");
    let mut store = db.store();
    // No change yet: the position before the first one.
    let start = store.sync_token(&ada).unwrap();
    let empty = store.changes_since(&ada, &start, 10).unwrap();
    assert!(empty.changed.is_empty() && !empty.more);
    let task = store.create_task(&ada, NewTask::new("first")).unwrap();
    let changes = store.changes_since(&ada, &start, 10).unwrap();
    assert_eq!(changes.changed, [task]);
    assert_eq!(changes.next, store.sync_token(&ada).unwrap());
}

#[test]
fn a_token_of_another_numbering_asks_for_a_reload() {
    let db = TestDb::new();
    let ada = db.owner("ada@example.com");
    let mut store = db.store();
    store.create_task(&ada, NewTask::new("a")).unwrap();
    let token = store.sync_token(&ada).unwrap();
    // What a restore does, or an operator after a point-in-time restore.
    db.conn()
        .batch_execute("UPDATE task_sync_state SET epoch = gen_random_uuid()")
        .unwrap();
    assert_eq!(
        store.changes_since(&ada, &token, 10),
        Err(Error::ResyncRequired)
    );
    let fresh = store.sync_token(&ada).unwrap();
    assert!(store.changes_since(&ada, &fresh, 10).is_ok());
}

#[test]
fn prune_needs_a_role_that_bypasses_row_security() {
    let db = TestDb::new();
    let app = db.app_role();
    let refused = prune_history(&mut app.conn(), Duration::ZERO);
    assert!(matches!(refused, Err(Error::Database(_))), "{refused:?}");
    let too_old = prune_history(&mut db.conn(), Duration::MAX);
    assert!(
        matches!(&too_old, Err(Error::Validation { field, .. }) if field == "older_than"),
        "{too_old:?}"
    );
}

/// Eight writers over two owners, and one device per owner polling the feed
/// all the while: each device ends with exactly its owner's tasks, every
/// task it saw only ever moved forward, and each owner's change numbers
/// have no gap.
#[test]
fn devices_polling_the_feed_under_concurrent_writers_end_exact() {
    const WRITERS_PER_OWNER: usize = 4;
    const CHANGES_PER_WRITER: usize = 1_300;

    let db = TestDb::new();
    let owners = [db.owner("ada@example.com"), db.owner("bob@example.com")];
    let config = db.config().max_connections(12);
    let store = Store::connect(&config).unwrap();
    let done = Arc::new(AtomicBool::new(false));

    let devices: Vec<_> = owners
        .iter()
        .map(|owner| {
            let (owner, done) = (owner.clone(), Arc::clone(&done));
            let mut store = store.clone();
            thread::spawn(move || {
                let mut device = Device::default();
                let mut token = store.sync_token(&owner).unwrap();
                let mut polls = 0u32;
                while !done.load(Ordering::Acquire) {
                    token = device.catch_up(&mut store, &owner, token);
                    polls += 1;
                }
                (device, token, polls)
            })
        })
        .collect();

    let writers: Vec<_> = (0..WRITERS_PER_OWNER * owners.len())
        .map(|w| {
            let owner = owners[w % owners.len()].clone();
            let mut store = store.clone();
            thread::spawn(move || write_randomly(&mut store, &owner, w as u64, CHANGES_PER_WRITER))
        })
        .collect();
    let written: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();
    done.store(true, Ordering::Release);

    let mut store = store;
    let mut admin = db.conn();
    for (owner, device) in owners.iter().zip(devices) {
        let (mut device, token, polls) = device.join().unwrap();
        assert!(polls > 1, "the device polled while writers wrote");
        let token = device.catch_up(&mut store, owner, token);
        assert_eq!(token, store.sync_token(owner).unwrap());
        assert_eq!(device.tasks, all_tasks(&mut store, owner));
        let (rows, last) = history_extent(&mut admin, owner);
        assert_eq!(rows, last, "numbers 1..={last} without a gap");
    }
    let recorded: i64 = owners.iter().map(|o| history_extent(&mut admin, o).0).sum();
    eprintln!("{written} changes written, {recorded} recorded");
    assert!(recorded >= 10_000, "{recorded} changes recorded");
    assert!(written >= 10_000, "{written} changes written");
}

/// `(number of history rows, highest number)` of the owner's, which are
/// equal when the numbers `1..=n` have no gap (the primary key makes them
/// unique).
fn history_extent(conn: &mut diesel::PgConnection, owner: &Owner) -> (i64, i64) {
    use diesel::{dsl::count_star, prelude::*};
    use todo_store::schema::task_history;
    let (rows, last): (i64, Option<i64>) = task_history::table
        .filter(task_history::user_id.eq(owner.user_id()))
        .select((count_star(), diesel::dsl::max(task_history::seq)))
        .get_result(conn)
        .unwrap();
    (rows, last.unwrap_or(0))
}

/// Makes at least `changes` changes of the owner's tasks through the
/// repository, at random: creates (one or a few), edits, completions and
/// reopenings, deletes (one or a few). Returns how many tasks changed.
fn write_randomly(store: &mut Store, owner: &Owner, seed: u64, changes: usize) -> usize {
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let mut mine: Vec<TaskId> = Vec::new();
    let mut made = 0;
    while made < changes {
        let pick = |i: u64, mine: &[TaskId]| mine[i as usize % mine.len()];
        match next(10) {
            0..=2 => {
                mine.push(
                    store
                        .create_task(owner, NewTask::new(format!("w{seed}-{made}")))
                        .unwrap()
                        .id,
                );
                made += 1;
            }
            3 => {
                let batch = (0..1 + next(4)).map(|i| NewTask::new(format!("b{seed}-{made}-{i}")));
                let created = store.create_tasks(owner, batch.collect()).unwrap();
                made += created.len();
                mine.extend(created.into_iter().map(|task| task.id));
            }
            _ if mine.is_empty() => {}
            4..=5 => {
                let id = pick(next(1 << 20), &mine);
                let patch = TaskPatch::default().title(format!("e{seed}-{made}"));
                store
                    .update_task(owner, id, patch, VersionCheck::Any)
                    .unwrap();
                made += 1;
            }
            6..=7 => {
                let id = pick(next(1 << 20), &mine);
                let status = if next(2) == 0 {
                    TaskStatus::Done
                } else {
                    TaskStatus::Open
                };
                let before = store.get_task(owner, id).unwrap();
                let after = store
                    .set_task_status(owner, id, status, VersionCheck::Any)
                    .unwrap();
                made += usize::from(after.version != before.version);
            }
            8 => {
                let i = next(1 << 20) as usize % mine.len();
                let id = mine.swap_remove(i);
                store.delete_task(owner, id, VersionCheck::Any).unwrap();
                made += 1;
            }
            _ => {
                let n = (1 + next(3) as usize).min(mine.len());
                let ids: Vec<TaskId> = mine.drain(..n).collect();
                made += store.delete_tasks(owner, &ids).unwrap() as usize;
            }
        }
    }
    made
}
