//! What a call sends, message by message: on Neon each round trip is a
//! network hop, so the count per call is behaviour worth holding. Diesel's
//! instrumentation sees every statement (and every multi-statement simple
//! query, one message) the library sends; the recorder is process-wide, so
//! these tests live in a binary of their own and take turns.

#![allow(clippy::unwrap_used)]

use std::{
    sync::{Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use diesel::connection::{Instrumentation, InstrumentationEvent, set_default_instrumentation};
use todo_store::{
    NewTask, Owner, RowSecurity, StatementCache, Store, TaskPatch, TaskRepo, VersionCheck,
};
use todo_store_tests::TestDb;

/// The statements sent since the last [`take`], in order.
static SENT: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// One test at a time: the recorder is shared.
static TURN: Mutex<()> = Mutex::new(());

struct Recorder;

impl Instrumentation for Recorder {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            SENT.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(query.to_string());
        }
    }
}

fn take() -> Vec<String> {
    std::mem::take(&mut *SENT.lock().unwrap_or_else(PoisonError::into_inner))
}

/// What `call` sends once its statements are prepared: it runs twice, and
/// the second run is counted.
fn sent_by(mut call: impl FnMut()) -> Vec<String> {
    call();
    take();
    call();
    take()
}

fn turn() -> MutexGuard<'static, ()> {
    let guard = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    set_default_instrumentation(|| Some(Box::new(Recorder))).unwrap();
    guard
}

/// A store whose one connection is never re-checked between calls, and an
/// owner with one task.
fn store_with_a_task(db: &TestDb, mode: RowSecurity) -> (Store, Owner, todo_store::Task) {
    let store = Store::connect(
        &db.config()
            .max_connections(1)
            .check_idle_after(Duration::from_secs(3600))
            .statement_timeout(Some(Duration::from_millis(4321)))
            .statement_cache(StatementCache::Enabled)
            .row_security(mode),
    )
    .unwrap();
    let owner = db.owner("trips@example.com");
    let task = db
        .store()
        .create_task(&owner, NewTask::new("Count the hops"))
        .unwrap();
    (store, owner, task)
}

#[test]
fn a_scoped_call_is_three_messages_with_the_scope_and_the_timeout_in_the_first() {
    let _turn = turn();
    let db = TestDb::new();
    let (mut store, owner, task) = store_with_a_task(&db, RowSecurity::Scoped);
    let sent = sent_by(|| {
        store.get_task(&owner, task.id).unwrap();
    });
    assert_eq!(sent.len(), 3, "{sent:#?}");
    assert_eq!(
        sent[0],
        format!(
            "BEGIN; SELECT set_config('todo.user_id', '{}', true), \
             set_config('statement_timeout', '4321', true)",
            owner.user_id()
        )
    );
    assert!(sent[1].starts_with("SELECT"), "{sent:#?}");
    assert_eq!(sent[2], "COMMIT");

    // A single-row write is the same three messages: its one statement
    // needs no transaction of its own beyond the scope's.
    let sent = sent_by(|| {
        store
            .update_task(
                &owner,
                task.id,
                TaskPatch::default().title("Count the hops again"),
                VersionCheck::Any,
            )
            .unwrap();
    });
    assert_eq!(sent.len(), 3, "{sent:#?}");
    assert!(sent[1].starts_with("UPDATE"), "{sent:#?}");

    // The change feed and a task's history: one statement each, so the
    // same three messages.
    let token = store.sync_token(&owner).unwrap();
    for sent in [
        sent_by(|| {
            store.changes_since(&owner, &token, 50).unwrap();
        }),
        sent_by(|| {
            store.sync_token(&owner).unwrap();
        }),
        sent_by(|| {
            store
                .task_history(&owner, task.id, &todo_store::HistoryQuery::new())
                .unwrap();
        }),
    ] {
        assert_eq!(sent.len(), 3, "{sent:#?}");
        assert!(
            sent[1].trim_start().starts_with("SELECT") || sent[1].trim_start().starts_with("WITH"),
            "{sent:#?}"
        );
    }
}

#[test]
fn an_unscoped_single_statement_call_is_one_message() {
    let _turn = turn();
    let db = TestDb::new();
    let (mut store, owner, task) = store_with_a_task(&db, RowSecurity::Unscoped);
    let sent = sent_by(|| {
        store.get_task(&owner, task.id).unwrap();
    });
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert!(sent[0].starts_with("SELECT"), "{sent:#?}");
}

/// Inside a caller's transaction a call sets its scope (reading the one it
/// replaces in the same statement), runs, and puts the old scope back.
#[test]
fn a_call_in_a_callers_transaction_sets_and_then_puts_back_the_scope() {
    use diesel::Connection;
    let _turn = turn();
    let db = TestDb::new();
    let (store, owner, task) = store_with_a_task(&db, RowSecurity::Scoped);
    let mut conn = store.conn().unwrap();
    let sent = sent_by(|| {
        conn.transaction(|conn| conn.get_task(&owner, task.id).map(drop))
            .unwrap();
    });
    assert_eq!(sent.len(), 5, "{sent:#?}");
    assert_eq!(sent[0], "BEGIN");
    assert!(sent[1].contains("set_config('todo.user_id'"), "{sent:#?}");
    assert!(sent[2].starts_with("SELECT"), "{sent:#?}");
    assert!(
        sent[3].starts_with("SELECT set_config('todo.user_id'"),
        "{sent:#?}"
    );
    assert_eq!(sent[4], "COMMIT");
}
