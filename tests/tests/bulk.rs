//! `todo_store::bulk`: COPY-loaded accounts and tasks are stored exactly as
//! given, checked by the repositories' rules, and a failing batch writes
//! nothing at all; loading records history like any insert, importing
//! writes only the history it is given.

#![allow(clippy::unwrap_used)]

mod common;

use chrono::{DateTime, Utc};
use common::{assert_validation, count_rows, count_sql, dump_db, new_user, unique_email};
use todo_store::{
    Actor, ChangeKind, ConflictKind, Entity, Error, OperatorRepo, Priority, TaskFilter, TaskId,
    TaskRepo, UserId, UserRepo,
    bulk::{self, ChangeRecord, ImportBatch, LoadBatch, SyncStateRecord, TaskRecord, UserRecord},
};
use todo_store_tests::TestDb;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn user(created: &str) -> UserRecord {
    let mut user = UserRecord::new(UserId::new_v7(), unique_email("bulk"), at(created));
    user.display_name = Some("Bulk".into());
    user.time_zone = Some("Europe/Paris".into());
    user
}

fn only(user: UserRecord) -> LoadBatch {
    let mut batch = LoadBatch::default();
    batch.add_user(user, []);
    batch
}

fn task(title: &str, created: &str) -> TaskRecord {
    TaskRecord::new(TaskId::new_v7(), title, at(created))
}

#[test]
fn records_are_stored_exactly_as_given() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let account = user("2025-01-02T03:04:05.123456Z");
    let open = task("Open one", "2025-02-01T00:00:00Z");
    let mut done = task("Done one", "2025-03-01T00:00:00Z");
    done.description = Some("With a description".into());
    done.priority = Priority::HIGHEST;
    done.due_at = Some(at("2025-03-05T12:00:00Z"));
    done.completed_at = Some(at("2025-03-04T08:00:00.000001Z"));
    done.version = 7;
    done.updated_at = at("2025-03-04T08:00:00.000001Z");
    let mut batch = LoadBatch::default();
    batch.add_user(account.clone(), [open.clone(), done.clone()]);
    assert_eq!((batch.user_count(), batch.task_count()), (1, 2));

    let loaded = bulk::load(&mut conn, &batch).unwrap();
    assert_eq!((loaded.users, loaded.tasks), (1, 2));

    let stored = conn.get_user(account.id).unwrap();
    assert_eq!(
        (&stored.email, stored.display_name.as_deref()),
        (&account.email, Some("Bulk"))
    );
    assert_eq!(
        (stored.created_at, stored.updated_at),
        (account.created_at, account.updated_at)
    );
    assert!(!stored.has_password);
    let owner = conn.operator_owner(&account.email).unwrap();
    for record in [open, done] {
        let task = conn.get_task(&owner, record.id).unwrap();
        assert_eq!(TaskRecord::from(task.clone()), record);
        assert_eq!(task.completed, record.completed_at.is_some());
    }
}

#[test]
fn tasks_can_be_added_to_an_existing_account() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let (existing, owner) = new_user(&mut conn, "existing");
    let mut batch = LoadBatch::default();
    batch.add_tasks(existing.id, [task("Imported", "2024-06-01T00:00:00Z")]);
    bulk::load(&mut conn, &batch).unwrap();
    assert_eq!(conn.count_tasks(&owner, &TaskFilter::default()).unwrap(), 1);
}

/// Loads a batch of a fresh user with one good task and `bad`, expects
/// `expected`, and checks that nothing at all was written.
fn refused(db: &TestDb, bad: TaskRecord, expected: impl Fn(&Error) -> bool) {
    let mut conn = db.conn();
    let before = dump_db(&mut conn);
    let mut batch = LoadBatch::default();
    batch.add_user(
        user("2025-01-01T00:00:00Z"),
        [task("Fine", "2025-01-02T00:00:00Z"), bad],
    );
    let err = bulk::load(&mut conn, &batch).unwrap_err();
    assert!(expected(&err), "unexpected error: {err:?}");
    assert_eq!(dump_db(&mut conn), before, "a failed batch wrote something");
}

/// Makes a valid record invalid in one way.
type Spoil = Box<dyn Fn(&mut TaskRecord)>;

#[test]
fn invalid_records_name_the_record_and_write_nothing() {
    let db = TestDb::new();
    let cases: Vec<(&str, Spoil)> = vec![
        ("tasks[1].title", Box::new(|t| t.title = "   ".into())),
        ("tasks[1].title", Box::new(|t| t.title = "x".repeat(501))),
        ("tasks[1].title", Box::new(|t| t.title = "tab\there".into())),
        (
            "tasks[1].description",
            Box::new(|t| t.description = Some("nul\0".into())),
        ),
        ("tasks[1].version", Box::new(|t| t.version = 0)),
        (
            "tasks[1].created_at",
            Box::new(|t| t.created_at = at("-0001-01-01T00:00:00Z")),
        ),
        (
            "tasks[1].completed_at",
            Box::new(|t| t.completed_at = Some(at("+10000-01-01T00:00:00Z"))),
        ),
    ];
    for (field, spoil) in cases {
        let mut bad = task("Bad", "2025-01-03T00:00:00Z");
        spoil(&mut bad);
        refused(
            &db,
            bad,
            |err| matches!(err, Error::Validation { field: f, .. } if f == field),
        );
    }
    let mut conn = db.conn();
    let mut batch = LoadBatch::default();
    let mut bad_user = user("2025-01-01T00:00:00Z");
    bad_user.email = "not an address".into();
    batch.add_user(bad_user, []);
    assert_validation(bulk::load(&mut conn, &batch), "users[0].email");
}

#[test]
fn conflicts_are_typed_and_roll_back_the_whole_batch() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let first = user("2025-01-01T00:00:00Z");
    let existing = task("Already here", "2025-01-02T00:00:00Z");
    let mut batch = LoadBatch::default();
    batch.add_user(first.clone(), [existing.clone()]);
    bulk::load(&mut conn, &batch).unwrap();

    let before = dump_db(&mut conn);
    // The same task of the same owner again, beside a new one.
    let mut again = LoadBatch::default();
    again.add_tasks(first.id, [task("New", "2025-01-03T00:00:00Z"), existing]);
    let mut same_id = user("2025-01-01T00:00:00Z");
    same_id.id = first.id;
    let mut same_email = user("2025-01-01T00:00:00Z");
    same_email.email = first.email.to_uppercase();
    let mut unknown_owner = LoadBatch::default();
    unknown_owner.add_tasks(UserId::new_v7(), [task("Orphan", "2025-01-02T00:00:00Z")]);
    for (batch, expected) in [
        (again, Error::Conflict(ConflictKind::DuplicateTaskId)),
        (
            only(same_id),
            Error::Conflict(ConflictKind::DuplicateUserId),
        ),
        (only(same_email), Error::Conflict(ConflictKind::EmailTaken)),
        (unknown_owner, Error::NotFound(Entity::User)),
    ] {
        assert_eq!(bulk::load(&mut conn, &batch).unwrap_err(), expected);
        assert_eq!(dump_db(&mut conn), before);
    }
}

#[test]
fn an_empty_batch_writes_nothing() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let batch = LoadBatch::default();
    assert!(batch.is_empty());
    let loaded = bulk::load(&mut conn, &batch).unwrap();
    assert_eq!((loaded.users, loaded.tasks), (0, 0));
    assert_eq!(count_rows(&mut conn, "users"), 0);
}

#[test]
fn loading_records_the_tasks_in_the_history_and_importing_records_nothing() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let mut seed = LoadBatch::default();
    seed.add_user(
        user("2025-01-01T00:00:00Z"),
        [
            task("Seeded", "2025-01-02T00:00:00Z"),
            task("Seeded too", "2025-01-03T00:00:00Z"),
        ],
    );
    bulk::load(&mut conn, &seed).unwrap();
    // Seeding is an insert like any other: the history records it.
    assert_eq!(count_rows(&mut conn, "task_history"), 2);
    assert_eq!(count_rows(&mut conn, "task_sync_state"), 1);

    // A restore writes the history it is given, and nothing of its own.
    let restored = user("2025-01-01T00:00:00Z");
    let mut batch = ImportBatch::default();
    batch.push_user(restored.clone()).unwrap();
    batch
        .push_task(restored.id, task("Restored", "2025-01-02T00:00:00Z"))
        .unwrap();
    let imported = bulk::import(&mut conn, &batch).unwrap();
    assert_eq!((imported.users_inserted, imported.tasks_inserted), (1, 1));
    assert_eq!(count_rows(&mut conn, "task_history"), 2);
    assert_eq!(count_rows(&mut conn, "task_sync_state"), 1);

    let created = task("Restored with history", "2025-01-04T00:00:00Z");
    let actor = Actor {
        owner: Some(restored.id),
        role: "todo_app".into(),
    };
    let mut change = ChangeRecord::new(
        3,
        created.id,
        1,
        ChangeKind::Create,
        created.created_at,
        actor,
    );
    change.new_values = Some(serde_json::json!({"title": "Restored with history"}));
    let mut batch = ImportBatch::default();
    batch.push_task(restored.id, created).unwrap();
    batch
        .push_sync_state(restored.id, SyncStateRecord::new(5))
        .unwrap();
    batch.push_change(restored.id, change).unwrap();
    let imported = bulk::import(&mut conn, &batch).unwrap();
    assert_eq!((imported.tasks_inserted, imported.changes_inserted), (1, 1));
    assert_eq!(count_rows(&mut conn, "task_history"), 3);
    let state = count_sql(
        &mut conn,
        &format!(
            "SELECT count(*) AS n FROM task_sync_state \
              WHERE user_id = '{}' AND last_seq = 5",
            restored.id
        ),
    );
    assert_eq!(state, 1);
}

#[test]
fn changes_and_sync_states_are_checked_before_anything_is_sent() {
    let owner = UserId::new_v7();
    let actor = Actor {
        owner: None,
        role: "root".into(),
    };
    let at = at("2025-01-01T00:00:00Z");
    let mut create = ChangeRecord::new(1, TaskId::new_v7(), 1, ChangeKind::Create, at, actor);
    create.new_values = Some(serde_json::json!({"title": "A task"}));
    // Valid as it is; each case below breaks one rule.
    ImportBatch::default()
        .push_change(owner, create.clone())
        .unwrap();
    let mut batch = ImportBatch::default();

    type Spoil = Box<dyn Fn(&mut ChangeRecord)>;
    let cases: Vec<(&str, Spoil)> = vec![
        ("new_values", Box::new(|c| c.new_values = None)),
        (
            "old_values",
            Box::new(|c| c.old_values = Some(serde_json::json!({}))),
        ),
        (
            "new_values",
            Box::new(|c| c.new_values = Some(serde_json::json!({"priority": 9}))),
        ),
        (
            "new_values",
            Box::new(|c| c.new_values = Some(serde_json::json!(["title"]))),
        ),
        // A delete has the fields before it, not after.
        ("old_values", Box::new(|c| c.kind = ChangeKind::Delete)),
        ("seq", Box::new(|c| c.seq = 0)),
        ("version", Box::new(|c| c.version = 0)),
        ("actor_role", Box::new(|c| c.actor.role.clear())),
    ];
    for (field, spoil) in cases {
        let mut change = create.clone();
        spoil(&mut change);
        assert_validation(batch.push_change(owner, change), field);
    }
    assert_validation(
        batch.push_sync_state(owner, SyncStateRecord::new(u64::MAX)),
        "last_seq",
    );
    assert!(batch.is_empty());
}
