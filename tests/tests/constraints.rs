//! Rules the database enforces by itself, checked with raw SQL that bypasses
//! the library, and how the library maps those violations to typed errors.

#![allow(clippy::unwrap_used)]

mod common;

use diesel::{PgConnection, QueryableByName, RunQueryDsl, result::DatabaseErrorKind, sql_query};
use todo_store::{
    ConflictKind, Entity, Error, NewProfile, NewTask, NewUser, OnMissingSubject, TaskId, TaskPatch,
    TaskRepo, TaskStatus, UserPatch, UserRepo, VersionCheck,
};
use todo_store_tests::TestDb;
use uuid::Uuid;

use common::{
    count_rows, count_sql, count_tasks_of, dump_db, exec, new_user, raw_task, raw_user,
    unique_email, violation,
};

/// Runs `sql`, expects it to fail with a CHECK violation of `constraint`, and
/// returns the library's mapping of the error.
#[track_caller]
fn check_violation(conn: &mut PgConnection, sql: &str, constraint: &str) -> Error {
    let err = exec(conn, sql).unwrap_err();
    let (kind, name) = violation(&err);
    assert!(
        matches!(kind, DatabaseErrorKind::CheckViolation),
        "{sql}: {kind:?} {err}"
    );
    assert_eq!(name, constraint, "{sql}");
    Error::from(err)
}

#[track_caller]
fn assert_field(err: &Error, field: &str) {
    match err {
        Error::Validation { field: f, .. } if f == field => {}
        other => panic!("expected a validation error on {field:?}, got {other:?}"),
    }
}

fn insert_task_sql(user: Uuid, columns: &str, values: &str) -> String {
    format!(
        "INSERT INTO tasks (user_id, id, {columns}) VALUES ('{user}', '{}', {values})",
        Uuid::now_v7()
    )
}

#[test]
fn database_rejects_a_task_for_a_nonexistent_user() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let err = exec(
        &mut conn,
        &insert_task_sql(Uuid::now_v7(), "title", "'orphan'"),
    )
    .unwrap_err();
    let (kind, name) = violation(&err);
    assert!(matches!(kind, DatabaseErrorKind::ForeignKeyViolation));
    assert_eq!(name, "tasks_user_id_fkey");
    assert_eq!(Error::from(err), Error::NotFound(Entity::User));
    assert_eq!(count_rows(&mut conn, "tasks"), 0);
}

#[test]
fn deleting_a_user_by_raw_sql_deletes_their_tasks_and_leaves_no_orphans() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let ada = raw_user(&mut conn, &unique_email("ada"));
    let bob = raw_user(&mut conn, &unique_email("bob"));
    for i in 0..3 {
        raw_task(&mut conn, ada, &format!("ada {i}"));
    }
    raw_task(&mut conn, bob, "bob");
    exec(&mut conn, &format!("DELETE FROM users WHERE id = '{ada}'")).unwrap();
    assert_eq!(count_tasks_of(&mut conn, ada), 0);
    assert_eq!(count_tasks_of(&mut conn, bob), 1);
    assert_eq!(
        count_sql(
            &mut conn,
            "SELECT count(*) AS n FROM tasks t WHERE NOT EXISTS \
             (SELECT 1 FROM users u WHERE u.id = t.user_id)"
        ),
        0
    );
}

#[test]
fn database_rejects_blank_untrimmed_and_overlong_titles() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = raw_user(&mut conn, &unique_email("ada"));
    let long = "x".repeat(501);
    for title in ["", "   ", " padded", "padded\n", "\ttab", long.as_str()] {
        let sql = insert_task_sql(
            user,
            "title",
            &format!("E'{}'", title.replace('\n', "\\n").replace('\t', "\\t")),
        );
        let err = check_violation(&mut conn, &sql, "tasks_title_check");
        assert_field(&err, "title");
    }
    // 500 characters (of several bytes each) are fine.
    let ok = "日".repeat(500);
    exec(
        &mut conn,
        &insert_task_sql(user, "title", &format!("'{ok}'")),
    )
    .unwrap();
    assert_eq!(count_rows(&mut conn, "tasks"), 1);
}

#[test]
fn database_rejects_a_title_update_to_blank() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = raw_user(&mut conn, &unique_email("ada"));
    let id = raw_task(&mut conn, user, "fine");
    let before = dump_db(&mut conn);
    let err = check_violation(
        &mut conn,
        &format!("UPDATE tasks SET title = '  ' WHERE id = '{id}'"),
        "tasks_title_check",
    );
    assert_field(&err, "title");
    assert_eq!(dump_db(&mut conn), before);
}

#[test]
fn database_rejects_priorities_outside_1_to_5() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = raw_user(&mut conn, &unique_email("ada"));
    for priority in [0, 6, -1] {
        let sql = insert_task_sql(user, "title, priority", &format!("'t', {priority}"));
        let err = check_violation(&mut conn, &sql, "tasks_priority_check");
        assert_field(&err, "priority");
    }
    for priority in 1..=5 {
        exec(
            &mut conn,
            &insert_task_sql(user, "title, priority", &format!("'t', {priority}")),
        )
        .unwrap();
    }
    let id = raw_task(&mut conn, user, "t");
    let err = check_violation(
        &mut conn,
        &format!("UPDATE tasks SET priority = 6 WHERE id = '{id}'"),
        "tasks_priority_check",
    );
    assert_field(&err, "priority");
}

#[test]
fn database_requires_completed_at_exactly_when_completed() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = raw_user(&mut conn, &unique_email("ada"));
    for values in ["'t', true, NULL", "'t', false, now()"] {
        let sql = insert_task_sql(user, "title, completed, completed_at", values);
        let err = check_violation(&mut conn, &sql, "tasks_completed_at_check");
        assert_field(&err, "completed_at");
    }
    let id = raw_task(&mut conn, user, "t");
    for set in ["completed = true", "completed_at = now()"] {
        let err = check_violation(
            &mut conn,
            &format!("UPDATE tasks SET {set} WHERE id = '{id}'"),
            "tasks_completed_at_check",
        );
        assert_field(&err, "completed_at");
    }
    exec(
        &mut conn,
        &format!("UPDATE tasks SET completed = true, completed_at = now() WHERE id = '{id}'"),
    )
    .unwrap();
    let err = check_violation(
        &mut conn,
        &format!("UPDATE tasks SET completed = false WHERE id = '{id}'"),
        "tasks_completed_at_check",
    );
    assert_field(&err, "completed_at");
}

#[test]
fn database_rejects_descriptions_over_10000_characters() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = raw_user(&mut conn, &unique_email("ada"));
    let sql = insert_task_sql(user, "title, description", "'t', repeat('é', 10001)");
    let err = check_violation(&mut conn, &sql, "tasks_description_check");
    assert_field(&err, "description");
    exec(
        &mut conn,
        &insert_task_sql(user, "title, description", "'t', repeat('é', 10000)"),
    )
    .unwrap();
}

#[test]
fn database_rejects_a_version_below_1() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = raw_user(&mut conn, &unique_email("ada"));
    for version in [0, -5] {
        let sql = insert_task_sql(user, "title, version", &format!("'t', {version}"));
        let err = check_violation(&mut conn, &sql, "tasks_version_check");
        assert_field(&err, "version");
    }
}

#[test]
fn database_rejects_moving_a_task_to_another_user() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, ada) = new_user(&mut store, "ada");
    let (_, bob) = new_user(&mut store, "bob");
    let task = store.create_task(&ada, NewTask::new("mine")).unwrap();
    let mut conn = db.conn();
    let before = dump_db(&mut conn);
    let err = check_violation(
        &mut conn,
        &format!(
            "UPDATE tasks SET user_id = '{}' WHERE id = '{}'",
            bob.user_id(),
            task.id
        ),
        "tasks_user_id_immutable",
    );
    assert_field(&err, "user_id");
    // Not even to a user id that does not exist (the trigger fires first).
    let err = check_violation(
        &mut conn,
        &format!(
            "UPDATE tasks SET user_id = '{}' WHERE id = '{}'",
            Uuid::now_v7(),
            task.id
        ),
        "tasks_user_id_immutable",
    );
    assert_field(&err, "user_id");
    assert_eq!(dump_db(&mut conn), before);
    assert_eq!(store.get_task(&ada, task.id).unwrap(), task);
    assert_eq!(
        store.get_task(&bob, task.id),
        Err(Error::NotFound(Entity::Task))
    );
}

#[test]
fn database_rejects_malformed_user_rows() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let id = || Uuid::now_v7();
    let cases = [
        (
            format!("INSERT INTO users (id, email) VALUES ('{}', 'ab')", id()),
            "users_email_check",
            "email",
        ),
        (
            format!(
                "INSERT INTO users (id, email) VALUES ('{}', ' a@b.c')",
                id()
            ),
            "users_email_check",
            "email",
        ),
        (
            format!(
                "INSERT INTO users (id, email) VALUES ('{}', 'no-at-sign')",
                id()
            ),
            "users_email_check",
            "email",
        ),
        (
            format!(
                "INSERT INTO users (id, email, password_hash) VALUES ('{}', 'a@b.c', 'plain text')",
                id()
            ),
            "users_password_hash_check",
            "password_hash",
        ),
        (
            format!(
                "INSERT INTO users (id, email, auth_subject) VALUES ('{}', 'a@b.c', '')",
                id()
            ),
            "users_auth_subject_check",
            "auth_subject",
        ),
        (
            format!(
                "INSERT INTO users (id, email, display_name) VALUES ('{}', 'a@b.c', repeat('x', 101))",
                id()
            ),
            "users_display_name_check",
            "display_name",
        ),
        (
            format!(
                "INSERT INTO users (id, email, time_zone) VALUES ('{}', 'a@b.c', '')",
                id()
            ),
            "users_time_zone_check",
            "time_zone",
        ),
    ];
    for (sql, constraint, field) in cases {
        let err = check_violation(&mut conn, &sql, constraint);
        assert_field(&err, field);
    }
    assert_eq!(count_rows(&mut conn, "users"), 0);
}

#[test]
fn email_is_unique_in_any_letter_case_in_the_database() {
    let db = TestDb::new();
    let mut conn = db.conn();
    raw_user(&mut conn, "Ada@Example.com");
    for other in ["Ada@Example.com", "ada@example.com", "ADA@EXAMPLE.COM"] {
        let err = exec(
            &mut conn,
            &format!(
                "INSERT INTO users (id, email) VALUES ('{}', '{other}')",
                Uuid::now_v7()
            ),
        )
        .unwrap_err();
        let (kind, name) = violation(&err);
        assert!(matches!(kind, DatabaseErrorKind::UniqueViolation));
        assert_eq!(name, "users_email_lower_key");
        assert_eq!(Error::from(err), Error::Conflict(ConflictKind::EmailTaken));
    }
    assert_eq!(count_rows(&mut conn, "users"), 1);
}

#[test]
fn email_is_unique_in_any_letter_case_through_the_library() {
    let db = TestDb::new();
    let mut store = db.store();
    let ada = store.create_user(NewUser::new("Ada@Example.com")).unwrap();
    let before = dump_db(&mut db.conn());
    for other in ["Ada@Example.com", "ada@example.com", " ADA@EXAMPLE.COM "] {
        assert_eq!(
            store.create_user(NewUser::new(other)),
            Err(Error::Conflict(ConflictKind::EmailTaken))
        );
        assert_eq!(
            store.owner_for_subject(
                "new-subject",
                OnMissingSubject::Create(NewProfile::new(other))
            ),
            Err(Error::Conflict(ConflictKind::EmailTaken))
        );
    }
    // Nor can another user take it by changing their own email.
    let (_, bob) = new_user(&mut store, "bob");
    let before_bob = dump_db(&mut db.conn());
    assert_eq!(
        store.update_profile(
            &bob,
            UserPatch {
                email: Some("aDa@example.COM".into()),
                ..UserPatch::default()
            }
        ),
        Err(Error::Conflict(ConflictKind::EmailTaken))
    );
    assert_eq!(dump_db(&mut db.conn()), before_bob);
    assert_ne!(before, before_bob);
    assert_eq!(store.get_user(ada.id).unwrap(), ada);
}

#[test]
fn auth_subject_is_unique() {
    let db = TestDb::new();
    let mut store = db.store();
    store
        .create_user(NewUser::new(unique_email("a")).auth_subject("github|42"))
        .unwrap();
    assert_eq!(
        store.create_user(NewUser::new(unique_email("b")).auth_subject("github|42")),
        Err(Error::Conflict(ConflictKind::AuthSubjectTaken))
    );
    let mut conn = db.conn();
    let err = exec(
        &mut conn,
        &format!(
            "INSERT INTO users (id, email, auth_subject) VALUES ('{}', 'c@d.e', 'github|42')",
            Uuid::now_v7()
        ),
    )
    .unwrap_err();
    assert_eq!(violation(&err).1, "users_auth_subject_key");
    assert_eq!(
        Error::from(err),
        Error::Conflict(ConflictKind::AuthSubjectTaken)
    );
    assert_eq!(count_rows(&mut conn, "users"), 1);
}

#[test]
fn a_duplicate_task_key_maps_to_duplicate_task_id() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = raw_user(&mut conn, &unique_email("ada"));
    let id = raw_task(&mut conn, user, "t");
    let err = exec(
        &mut conn,
        &format!("INSERT INTO tasks (user_id, id, title) VALUES ('{user}', '{id}', 'again')"),
    )
    .unwrap_err();
    assert_eq!(violation(&err).1, "tasks_pkey");
    assert_eq!(
        Error::from(err),
        Error::Conflict(ConflictKind::DuplicateTaskId)
    );
}

#[derive(QueryableByName, Debug)]
struct VersionRow {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    version: i32,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    updated_at: chrono::DateTime<chrono::Utc>,
}

fn version_of(conn: &mut PgConnection, id: Uuid) -> VersionRow {
    sql_query("SELECT version, updated_at FROM tasks WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(id)
        .get_result(conn)
        .unwrap()
}

#[test]
fn trigger_advances_the_version_by_one_on_every_raw_update() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = raw_user(&mut conn, &unique_email("ada"));
    let id = raw_task(&mut conn, user, "t");
    assert_eq!(version_of(&mut conn, id).version, 1);
    let updates = [
        "title = 'changed'",
        // Trying to set the version does not work: it still advances by one.
        "version = 100",
        "version = 1",
        "version = version + 10",
        // Even an update that changes nothing is a new version.
        "title = title",
        // updated_at cannot be forged either.
        "updated_at = '2000-01-01T00:00:00Z'",
    ];
    for (i, set) in updates.iter().enumerate() {
        exec(
            &mut conn,
            &format!("UPDATE tasks SET {set} WHERE id = '{id}'"),
        )
        .unwrap();
        let row = version_of(&mut conn, id);
        assert_eq!(
            row.version,
            2 + i32::try_from(i).unwrap(),
            "after SET {set}"
        );
        assert_ne!(row.updated_at.to_rfc3339(), "2000-01-01T00:00:00+00:00");
    }
}

#[test]
fn trigger_bumps_each_row_once_in_a_multi_row_update() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = raw_user(&mut conn, &unique_email("ada"));
    let ids: Vec<_> = (0..3)
        .map(|i| raw_task(&mut conn, user, &format!("t{i}")))
        .collect();
    exec(
        &mut conn,
        &format!("UPDATE tasks SET priority = 1 WHERE user_id = '{user}'"),
    )
    .unwrap();
    exec(
        &mut conn,
        &format!("UPDATE tasks SET priority = 2 WHERE id = '{}'", ids[0]),
    )
    .unwrap();
    let versions: Vec<_> = ids
        .iter()
        .map(|&id| version_of(&mut conn, id).version)
        .collect();
    assert_eq!(versions, [3, 2, 2]);
}

#[test]
fn library_and_raw_changes_share_one_version_sequence() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    let task = store.create_task(&owner, NewTask::new("t")).unwrap();
    let id: TaskId = task.id;
    let v2 = store
        .update_task(
            &owner,
            id,
            TaskPatch::default().title("u"),
            VersionCheck::Exactly(1),
        )
        .unwrap();
    assert_eq!(v2.version, 2);
    let mut conn = db.conn();
    exec(
        &mut conn,
        &format!("UPDATE tasks SET version = 99 WHERE id = '{id}'"),
    )
    .unwrap();
    assert_eq!(store.get_task(&owner, id).unwrap().version, 3);
    // A writer holding version 2 is now stale.
    assert_eq!(
        store.set_task_status(&owner, id, TaskStatus::Done, VersionCheck::Exactly(2)),
        Err(Error::Conflict(ConflictKind::StaleVersion {
            expected: 2,
            actual: 3
        }))
    );
    let v4 = store
        .set_task_status(&owner, id, TaskStatus::Done, VersionCheck::Exactly(3))
        .unwrap();
    assert_eq!(v4.version, 4);
}

#[test]
fn creating_a_task_for_a_deleted_account_maps_the_foreign_key_to_not_found_user() {
    let db = TestDb::new();
    let mut store = db.store();
    let (user, owner) = new_user(&mut store, "ada");
    let mut conn = db.conn();
    exec(
        &mut conn,
        &format!("DELETE FROM users WHERE id = '{}'", user.id),
    )
    .unwrap();
    assert_eq!(
        store.create_task(&owner, NewTask::new("t")),
        Err(Error::NotFound(Entity::User))
    );
    assert_eq!(
        store.create_tasks(&owner, vec![NewTask::new("a"), NewTask::new("b")]),
        Err(Error::NotFound(Entity::User))
    );
    assert_eq!(count_rows(&mut conn, "tasks"), 0);
}

#[test]
fn a_missing_required_value_maps_to_a_validation_error_on_its_column() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let user = raw_user(&mut conn, &unique_email("nulls"));
    let err = exec(&mut conn, &insert_task_sql(user, "title", "NULL")).unwrap_err();
    assert!(matches!(
        violation(&err).0,
        DatabaseErrorKind::NotNullViolation
    ));
    assert_field(&Error::from(err), "title");
    assert_eq!(count_tasks_of(&mut conn, user), 0);
}
