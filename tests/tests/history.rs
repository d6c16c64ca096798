//! The task history, written by the database: every write of every path
//! (the repositories, a downstream crate's own SQL as the application role)
//! leaves exactly one row per task changed, with the right fields and actor;
//! the application role cannot alter it, and no user reads another's.

#![allow(clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use todo_store::{
    ChangeKind, Entity, Error, HistoryQuery, NewTask, Owner, Priority, Store, TaskChange,
    TaskPatch, TaskRepo, TaskStatus, UserRepo, VersionCheck, in_owner_scope,
};
use todo_store_tests::{TestDb, count};

/// The whole history of one task, oldest first.
fn history(store: &mut Store, owner: &Owner, id: todo_store::TaskId) -> Vec<TaskChange> {
    let mut changes = store
        .task_history(owner, id, &HistoryQuery::new().limit(200))
        .unwrap()
        .changes;
    changes.reverse();
    changes
}

/// How many history rows `owner` has, counted as the tables' owner.
fn rows_of(db: &TestDb, owner: &Owner) -> i64 {
    count(
        &mut db.conn(),
        &format!("task_history WHERE user_id = '{}'", owner.user_id()),
    )
}

#[test]
fn every_repository_write_records_one_change_per_task_with_its_fields() {
    let db = TestDb::new();
    let app = db.app_role();
    let ada = db.owner("ada@example.com");
    let mut store = Store::connect(&app.config()).unwrap();

    let due = Utc.with_ymd_and_hms(2027, 1, 2, 3, 4, 5).unwrap();
    let task = store
        .create_task(
            &ada,
            NewTask::new("Write report")
                .description("quarterly")
                .priority(Priority::HIGHEST)
                .due_at(due),
        )
        .unwrap();
    assert_eq!(rows_of(&db, &ada), 1);
    let updated = store
        .update_task(
            &ada,
            task.id,
            TaskPatch::default()
                .title("Write the report")
                .clear_description(),
            VersionCheck::Exactly(1),
        )
        .unwrap();
    assert_eq!(rows_of(&db, &ada), 2);
    let done = store
        .set_task_status(&ada, task.id, TaskStatus::Done, VersionCheck::Any)
        .unwrap();
    // Setting the status a task already has changes nothing, records nothing.
    store
        .set_task_status(&ada, task.id, TaskStatus::Done, VersionCheck::Any)
        .unwrap();
    assert_eq!(rows_of(&db, &ada), 3);
    store
        .set_task_status(&ada, task.id, TaskStatus::Open, VersionCheck::Any)
        .unwrap();
    // An empty patch, a stale version, another's id: no change, no row.
    store
        .update_task(&ada, task.id, TaskPatch::default(), VersionCheck::Any)
        .unwrap();
    let stale = store.update_task(
        &ada,
        task.id,
        TaskPatch::default().title("x"),
        VersionCheck::Exactly(1),
    );
    assert!(matches!(stale, Err(Error::Conflict(_))));
    store
        .delete_task(&ada, task.id, VersionCheck::Exactly(4))
        .unwrap();

    let changes = history(&mut store, &ada, task.id);
    let kinds: Vec<ChangeKind> = changes.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            ChangeKind::Create,
            ChangeKind::Update,
            ChangeKind::Complete,
            ChangeKind::Reopen,
            ChangeKind::Delete
        ]
    );
    let seqs: Vec<u64> = changes.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    let versions: Vec<i32> = changes.iter().map(|c| c.version).collect();
    assert_eq!(versions, [1, 2, 3, 4, 4], "a delete names the last version");
    for change in &changes {
        assert_eq!(change.task_id, task.id);
        assert_eq!(change.actor.owner, Some(ada.user_id()));
        assert_eq!(change.actor.role, app.name());
    }

    let [create, update, complete, reopen, delete] = &changes[..] else {
        unreachable!()
    };
    assert!(create.old.is_empty());
    assert_eq!(create.new.title.as_deref(), Some("Write report"));
    assert_eq!(create.new.description, Some(Some("quarterly".into())));
    assert_eq!(create.new.completed, Some(false));
    assert_eq!(create.new.completed_at, Some(None));
    assert_eq!(create.new.priority, Some(Priority::HIGHEST));
    assert_eq!(create.new.due_at, Some(Some(due)));
    assert_eq!(create.changed_at, task.created_at);

    assert_eq!(update.old.names(), ["title", "description"]);
    assert_eq!(update.old.title.as_deref(), Some("Write report"));
    assert_eq!(update.old.description, Some(Some("quarterly".into())));
    assert_eq!(update.new.title.as_deref(), Some("Write the report"));
    assert_eq!(update.new.description, Some(None));
    assert_eq!(update.changed_at, updated.updated_at);

    assert_eq!(complete.old.names(), ["completed", "completed_at"]);
    assert_eq!(complete.new.completed, Some(true));
    assert_eq!(complete.new.completed_at, Some(done.completed_at));
    assert_eq!(reopen.new.completed, Some(false));
    assert_eq!(reopen.new.completed_at, Some(None));

    assert!(delete.new.is_empty());
    assert_eq!(delete.old.title.as_deref(), Some("Write the report"));
    assert_eq!(delete.old.names().len(), 6, "a delete keeps the last state");
}

#[test]
fn bulk_writes_record_one_change_per_task_in_one_sequence() {
    let db = TestDb::new();
    let ada = db.owner("ada@example.com");
    let bob = db.owner("bob@example.com");
    let mut store = db.store();
    let tasks = store
        .create_tasks(
            &ada,
            (0..25).map(|i| NewTask::new(format!("t{i}"))).collect(),
        )
        .unwrap();
    store.create_task(&bob, NewTask::new("bob's")).unwrap();
    let ids: Vec<_> = tasks.iter().take(10).map(|t| t.id).collect();
    assert_eq!(store.delete_tasks(&ada, &ids).unwrap(), 10);
    assert_eq!(rows_of(&db, &ada), 35);
    assert_eq!(rows_of(&db, &bob), 1);
    // Each owner's numbers run from 1 without a gap.
    let mut conn = db.conn();
    for (owner, n) in [(&ada, 35), (&bob, 1)] {
        let gapless = count(
            &mut conn,
            &format!(
                "task_history WHERE user_id = '{}' AND seq BETWEEN 1 AND {n}",
                owner.user_id()
            ),
        );
        assert_eq!(gapless, n);
    }
    // Many owners in one statement (an operator's SQL): one row each.
    conn.batch_execute("UPDATE tasks SET priority = 5").unwrap();
    assert_eq!(rows_of(&db, &ada), 35 + 15);
    assert_eq!(rows_of(&db, &bob), 2);
    let by_operator = count(
        &mut conn,
        "task_history WHERE actor_user_id IS NULL AND actor_role = current_user \
         AND kind = 'update' AND new_values = '{\"priority\": 5}'",
    );
    assert_eq!(by_operator, 16);
}

#[test]
fn raw_sql_of_the_app_role_in_a_scope_is_recorded_too() {
    let db = TestDb::new();
    let app = db.app_role();
    let ada = db.owner("ada@example.com");
    let mut store = db.store();
    let task = store.create_task(&ada, NewTask::new("raw")).unwrap();
    let mut conn = app.conn();
    in_owner_scope(&mut conn, &ada, |conn| {
        conn.batch_execute("UPDATE tasks SET title = 'raw, edited', priority = 1")?;
        Ok(())
    })
    .unwrap();
    in_owner_scope(&mut conn, &ada, |conn| {
        conn.batch_execute("DELETE FROM tasks")?;
        Ok(())
    })
    .unwrap();
    let changes = history(&mut store, &ada, task.id);
    assert_eq!(changes.len(), 3);
    let (update, delete) = (&changes[1], &changes[2]);
    assert_eq!(update.kind, ChangeKind::Update);
    assert_eq!(update.old.names(), ["title", "priority"]);
    assert_eq!(update.new.title.as_deref(), Some("raw, edited"));
    assert_eq!(update.new.priority, Some(Priority::HIGHEST));
    assert_eq!(delete.kind, ChangeKind::Delete);
    for change in [update, delete] {
        assert_eq!(change.actor.owner, Some(ada.user_id()));
        assert_eq!(change.actor.role, app.name());
    }
    // The create came through a repository call as the tables' owner:
    // scoped too, so it names ada as well.
    assert_eq!(changes[0].actor.owner, Some(ada.user_id()));
}

#[test]
fn the_app_role_cannot_alter_history_and_reads_only_its_scope() {
    let db = TestDb::new();
    let app = db.app_role();
    let ada = db.owner("ada@example.com");
    let bob = db.owner("bob@example.com");
    let mut store = db.store();
    let adas = store.create_task(&ada, NewTask::new("ada's")).unwrap();
    store.create_task(&bob, NewTask::new("bob's")).unwrap();

    let mut conn = app.conn();
    for statement in [
        "UPDATE task_history SET kind = 'update'",
        "DELETE FROM task_history",
        "TRUNCATE task_history",
        "INSERT INTO task_history (user_id, seq, task_id, version, kind, actor_role, new_values) \
         SELECT user_id, 99, id, 1, 'create', 'forged', '{}' FROM tasks",
        "UPDATE task_sync_state SET last_seq = 0",
        "DELETE FROM task_sync_state",
    ] {
        let refused = in_owner_scope(&mut conn, &ada, |conn| {
            conn.batch_execute(statement)?;
            Ok(())
        });
        assert!(
            matches!(&refused, Err(Error::Database(message)) if message.contains("permission denied")),
            "{statement}: {refused:?}"
        );
    }
    assert_eq!(count(&mut db.conn(), "task_history"), 2);

    // Unscoped: nothing. Scoped: the owner's rows only.
    assert_eq!(count(&mut conn, "task_history"), 0);
    assert_eq!(count(&mut conn, "task_sync_state"), 0);
    let seen = in_owner_scope(&mut conn, &bob, |conn| {
        Ok((
            count(conn, "task_history"),
            count(conn, "task_sync_state"),
            count(conn, &format!("task_history WHERE task_id = '{}'", adas.id)),
        ))
    })
    .unwrap();
    assert_eq!(seen, (1, 1, 0));

    // Through the repository, another's task is an unknown one.
    let mut app_store = Store::connect(&app.config()).unwrap();
    let query = HistoryQuery::new();
    assert_eq!(
        app_store.task_history(&bob, adas.id, &query),
        Err(Error::NotFound(Entity::Task))
    );
    assert_eq!(
        app_store.task_history(&bob, todo_store::TaskId::new_v7(), &query),
        Err(Error::NotFound(Entity::Task))
    );
    // A deleted task's history stays readable by its owner.
    store.delete_task(&ada, adas.id, VersionCheck::Any).unwrap();
    let page = app_store.task_history(&ada, adas.id, &query).unwrap();
    assert_eq!(page.changes.len(), 2);
    assert_eq!(page.changes[0].kind, ChangeKind::Delete);
}

#[test]
fn history_is_paged_newest_first() {
    let db = TestDb::new();
    let ada = db.owner("ada@example.com");
    let mut store = db.store();
    let task = store.create_task(&ada, NewTask::new("v1")).unwrap();
    for i in 2..=7 {
        store
            .update_task(
                &ada,
                task.id,
                TaskPatch::default().title(format!("v{i}")),
                VersionCheck::Any,
            )
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut query = HistoryQuery::new().limit(3);
    loop {
        let page = store.task_history(&ada, task.id, &query).unwrap();
        seen.extend(page.changes.iter().map(|c| c.version));
        match page.next_before {
            Some(before) => query = query.before(before),
            None => break,
        }
    }
    assert_eq!(seen, [7, 6, 5, 4, 3, 2, 1]);
    assert!(matches!(
        store.task_history(&ada, task.id, &HistoryQuery::new().limit(0)),
        Err(Error::Validation { field, .. }) if field == "limit"
    ));
}

#[test]
fn deleting_an_account_removes_its_history_and_sequence() {
    let db = TestDb::new();
    let ada = db.owner("ada@example.com");
    let bob = db.owner("bob@example.com");
    let mut store = db.store();
    store
        .create_tasks(&ada, vec![NewTask::new("a"), NewTask::new("b")])
        .unwrap();
    store.create_task(&bob, NewTask::new("c")).unwrap();
    store.delete_user(&ada).unwrap();
    let mut conn = db.conn();
    assert_eq!(count(&mut conn, "task_history"), 1);
    assert_eq!(count(&mut conn, "task_sync_state"), 1);
    assert_eq!(rows_of(&db, &bob), 1);
}

#[test]
fn a_rolled_back_write_leaves_no_change_and_no_gap() {
    let db = TestDb::new();
    let ada = db.owner("ada@example.com");
    let mut store = db.store();
    store.create_task(&ada, NewTask::new("first")).unwrap();
    // All or nothing: the second task's title is refused by the database
    // (the library would refuse it earlier, so write raw SQL).
    let mut conn = db.conn();
    let failed = conn.batch_execute(&format!(
        "INSERT INTO tasks (user_id, id, title) VALUES
             ('{0}', gen_random_uuid(), 'ok'), ('{0}', gen_random_uuid(), '')",
        ada.user_id()
    ));
    assert!(failed.is_err());
    let second = store.create_task(&ada, NewTask::new("second")).unwrap();
    let changes = history(&mut store, &ada, second.id);
    assert_eq!(
        changes[0].seq, 2,
        "the failed statement gave its number back"
    );
}

#[test]
fn a_task_id_cannot_change() {
    let db = TestDb::new();
    let ada = db.owner("ada@example.com");
    let mut store = db.store();
    let task = store.create_task(&ada, NewTask::new("fixed")).unwrap();
    let moved = db
        .conn()
        .batch_execute(&format!(
            "UPDATE tasks SET id = gen_random_uuid() WHERE id = '{}'",
            task.id
        ))
        .map_err(todo_store::Error::from);
    assert!(
        matches!(&moved, Err(Error::Validation { field, .. }) if field == "id"),
        "{moved:?}"
    );
}

/// One owner's writes take their change numbers one transaction after the
/// other; another owner's never wait for them. Shown with `lock_timeout`:
/// while ada's transaction is open, a second write of ada's cannot take a
/// number, and bob's takes one at once.
#[test]
fn writes_of_one_owner_wait_for_each_other_and_other_owners_do_not() {
    let db = TestDb::new();
    let ada = db.owner("ada@example.com");
    let bob = db.owner("bob@example.com");
    let mut store = db.store();
    let adas = store.create_task(&ada, NewTask::new("ada's")).unwrap();
    store.create_task(&bob, NewTask::new("bob's")).unwrap();

    // A transaction Diesel knows of, so that the call runs inside it.
    let mut open = db.conn();
    AnsiTransactionManager::begin_transaction(&mut open).unwrap();
    open.update_task(
        &ada,
        adas.id,
        TaskPatch::default().title("in flight"),
        VersionCheck::Any,
    )
    .unwrap();

    let mut other = db.conn();
    other.batch_execute("SET lock_timeout = '300ms'").unwrap();
    other
        .create_task(&bob, NewTask::new("bob's second"))
        .unwrap();
    let waited = other.create_task(&ada, NewTask::new("ada's second"));
    assert!(matches!(waited, Err(Error::Timeout(_))), "{waited:?}");

    AnsiTransactionManager::commit_transaction(&mut open).unwrap();
    other
        .create_task(&ada, NewTask::new("ada's second"))
        .unwrap();
    assert_eq!(rows_of(&db, &ada), 3);
    assert_eq!(rows_of(&db, &bob), 2);
}

/// The recording functions run as the tables' owner; a caller's temporary
/// tables (which PostgreSQL would otherwise search first) cannot stand in for
/// the ones they write.
#[test]
fn temporary_tables_of_the_app_role_cannot_divert_the_history() {
    let db = TestDb::new();
    let app = db.app_role();
    let ada = db.owner("ada@example.com");
    let mut conn = app.conn();
    in_owner_scope(&mut conn, &ada, |conn| {
        conn.batch_execute(&format!(
            "CREATE TEMP TABLE users (id uuid) ON COMMIT DROP;
             CREATE TEMP TABLE task_sync_state (user_id uuid, last_seq bigint) ON COMMIT DROP;
             CREATE TEMP TABLE task_history (user_id uuid) ON COMMIT DROP;
             INSERT INTO public.tasks (user_id, id, title)
                  VALUES ('{}', gen_random_uuid(), 'sneaky')",
            ada.user_id()
        ))?;
        Ok(())
    })
    .unwrap();
    assert_eq!(rows_of(&db, &ada), 1);
}

#[test]
fn truncating_tasks_is_refused() {
    let db = TestDb::new();
    let ada = db.owner("ada@example.com");
    db.store().create_task(&ada, NewTask::new("stays")).unwrap();
    let refused = db.conn().batch_execute("TRUNCATE tasks");
    assert!(refused.is_err());
    assert_eq!(count(&mut db.conn(), "tasks"), 1);
}
