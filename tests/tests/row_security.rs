//! Row-level security, proven as the application role (a superuser bypasses
//! it, so these tests connect as a role set up by `setup_app_role`): no
//! scope, no rows; a scope, only its owner's rows, whatever the query says;
//! and a scope never outlives its call.

#![allow(clippy::unwrap_used)]

use diesel::{
    Connection, QueryableByName, RunQueryDsl,
    connection::SimpleConnection,
    sql_query,
    sql_types::{Nullable, Text},
};
use todo_store::{
    Entity, Error, NewProfile, NewTask, NewUser, OnMissingSubject, OperatorRepo, Owner, Password,
    RowSecurity, Store, TaskFilter, TaskPatch, TaskQuery, TaskRepo, TaskStatus, UserPatch,
    UserRepo, VersionCheck,
};
use todo_store_tests::{TestDb, count};

/// Two users with three and two tasks, created by the owner role.
fn two_users(db: &TestDb) -> (Owner, Owner) {
    let mut store = db.store();
    store.create_user(NewUser::new("ada@example.com")).unwrap();
    store.create_user(NewUser::new("bob@example.com")).unwrap();
    let ada = store.operator_owner("ada@example.com").unwrap();
    let bob = store.operator_owner("bob@example.com").unwrap();
    for title in ["a1", "a2", "a3"] {
        store.create_task(&ada, NewTask::new(title)).unwrap();
    }
    for title in ["b1", "b2"] {
        store.create_task(&bob, NewTask::new(title)).unwrap();
    }
    (ada, bob)
}

#[test]
fn without_a_scope_the_app_role_reaches_no_task() {
    let db = TestDb::new();
    let (ada, _) = two_users(&db);
    let app = db.app_role();
    let mut conn = app.conn();
    assert_eq!(count(&mut conn, "tasks"), 0);
    // Accounts stay readable: a login looks one up before anyone is known.
    assert_eq!(count(&mut conn, "users"), 2);
    assert_eq!(
        sql_query("UPDATE tasks SET title = 'hacked'")
            .execute(&mut conn)
            .unwrap(),
        0
    );
    assert_eq!(
        sql_query("DELETE FROM tasks").execute(&mut conn).unwrap(),
        0
    );
    assert_eq!(
        sql_query("UPDATE users SET display_name = 'hacked'")
            .execute(&mut conn)
            .unwrap(),
        0
    );
    let insert = sql_query(format!(
        "INSERT INTO tasks (user_id, id, title) VALUES ('{}', gen_random_uuid(), 'planted')",
        ada.user_id()
    ))
    .execute(&mut conn);
    assert!(insert.is_err(), "an unscoped insert must be refused");
    assert_eq!(count(&mut db.conn(), "tasks"), 5, "nothing changed");
}

#[test]
fn an_unscoped_query_inside_a_scoped_transaction_sees_only_the_owners_rows() {
    let db = TestDb::new();
    let (ada, bob) = two_users(&db);
    let bobs_task = db
        .store()
        .list_tasks(&bob, &TaskQuery::default())
        .unwrap()
        .items[0]
        .id;
    let app = db.app_role();
    let mut conn = app.conn();
    // A library call inside the caller's transaction is scoped while it
    // runs, and leaves no scope behind…
    conn.transaction(|conn| {
        assert_eq!(conn.count_tasks(&ada, &TaskFilter::default())?, 3);
        assert_eq!(count(conn, "tasks"), 0);
        Ok::<_, Error>(())
    })
    .unwrap();
    // …and in Ada's scope a query that forgets the owner sees only her tasks.
    todo_store::in_owner_scope(&mut conn, &ada, |conn| {
        assert_eq!(count(conn, "tasks"), 3);
        assert_eq!(
            count(conn, &format!("tasks WHERE id = '{bobs_task}'")),
            0,
            "Bob's task, by its id"
        );
        let changed = sql_query("UPDATE tasks SET priority = 1").execute(conn)?;
        assert_eq!(changed, 3, "only Ada's rows change");
        Ok::<_, Error>(())
    })
    .unwrap();
    let bobs = db.store().list_tasks(&bob, &TaskQuery::default()).unwrap();
    assert!(bobs.items.iter().all(|task| task.priority.get() == 3));
}

#[test]
fn with_one_pooled_connection_the_next_call_does_not_inherit_the_scope() {
    let db = TestDb::new();
    let (ada, bob) = two_users(&db);
    let app = db.app_role();
    let mut store = Store::connect(&app.config().max_connections(1)).unwrap();
    assert_eq!(store.count_tasks(&ada, &TaskFilter::default()).unwrap(), 3);
    assert_eq!(store.count_tasks(&bob, &TaskFilter::default()).unwrap(), 2);
    store
        .create_task(&ada, NewTask::new("written in a scope"))
        .unwrap();
    // The same (only) connection, now outside any call.
    let mut conn = store.conn().unwrap();
    assert_eq!(count(&mut conn, "tasks"), 0);
    #[derive(QueryableByName)]
    struct Scope {
        #[diesel(sql_type = Nullable<Text>)]
        scope: Option<String>,
    }
    let scope = sql_query("SELECT current_setting('todo.user_id', true) AS scope")
        .get_result::<Scope>(&mut conn)
        .unwrap()
        .scope;
    assert!(
        scope.as_deref().is_none_or(str::is_empty),
        "left behind: {scope:?}"
    );
}

#[test]
fn every_public_path_works_as_the_app_role_and_foreign_ids_are_not_found() {
    let db = TestDb::new();
    let (ada, bob) = two_users(&db);
    let app = db.app_role();
    let mut store = Store::connect(&app.config()).unwrap();
    let bobs_task = store.list_tasks(&bob, &TaskQuery::default()).unwrap().items[0].clone();

    let task = store.create_task(&ada, NewTask::new("Pay rent")).unwrap();
    assert_eq!(store.get_task(&ada, task.id).unwrap(), task);
    let many = store
        .create_tasks(&ada, vec![NewTask::new("x"), NewTask::new("y")])
        .unwrap();
    let updated = store
        .update_task(
            &ada,
            task.id,
            TaskPatch::default().title("Pay the rent"),
            VersionCheck::Exactly(1),
        )
        .unwrap();
    assert_eq!(updated.version, 2);
    store
        .set_task_status(&ada, task.id, TaskStatus::Done, VersionCheck::Any)
        .unwrap();
    assert_eq!(
        store
            .delete_tasks(&ada, &[many[0].id, bobs_task.id])
            .unwrap(),
        1,
        "Bob's id in the list is skipped"
    );
    store
        .delete_task(&ada, many[1].id, VersionCheck::Any)
        .unwrap();
    assert_eq!(store.count_tasks(&ada, &TaskFilter::default()).unwrap(), 4);

    // Bob's task through Ada's owner: not found, and unchanged.
    let not_found = Error::NotFound(Entity::Task);
    assert_eq!(store.get_task(&ada, bobs_task.id), Err(not_found.clone()));
    assert_eq!(
        store.update_task(
            &ada,
            bobs_task.id,
            TaskPatch::default().title("mine"),
            VersionCheck::Any
        ),
        Err(not_found.clone())
    );
    assert_eq!(
        store.delete_task(&ada, bobs_task.id, VersionCheck::Any),
        Err(not_found)
    );
    assert_eq!(store.get_task(&bob, bobs_task.id).unwrap(), bobs_task);

    // Accounts: sign-up, login, profile, password, external subject, deletion.
    let password = Password::new("correct horse battery staple").unwrap();
    store
        .create_user(NewUser::new("cy@example.com").password(password.clone()))
        .unwrap();
    let cy = store.authenticate("cy@example.com", &password).unwrap();
    let profile = store
        .update_profile(
            &cy,
            UserPatch {
                display_name: Some(Some("Cy".into())),
                ..UserPatch::default()
            },
        )
        .unwrap();
    assert_eq!(profile.display_name.as_deref(), Some("Cy"));
    let new_password = Password::new("another long passphrase").unwrap();
    store.change_password(&cy, &new_password).unwrap();
    store.authenticate("cy@example.com", &new_password).unwrap();
    let (_, dee) = store
        .owner_for_subject(
            "auth|dee",
            OnMissingSubject::Create(NewProfile::new("dee@example.com")),
        )
        .unwrap();
    store.create_task(&dee, NewTask::new("Dee's")).unwrap();
    store.delete_user(&dee).unwrap();
    assert_eq!(
        count(
            &mut db.conn(),
            "tasks t JOIN users u ON u.id = t.user_id WHERE u.email = 'dee@example.com'"
        ),
        0
    );
    assert_eq!(
        count(&mut db.conn(), "users WHERE email = 'dee@example.com'"),
        0
    );
}

#[test]
fn unscoped_mode_as_the_app_role_reaches_nothing() {
    let db = TestDb::new();
    let (ada, _) = two_users(&db);
    let app = db.app_role();
    let mut store = Store::connect(&app.config().row_security(RowSecurity::Unscoped)).unwrap();
    assert_eq!(store.count_tasks(&ada, &TaskFilter::default()).unwrap(), 0);
    assert!(
        store
            .list_tasks(&ada, &TaskQuery::default())
            .unwrap()
            .items
            .is_empty()
    );
    // As a role that bypasses row-level security, it is the plain library.
    let mut owner_store = Store::connect(&db.config().row_security(RowSecurity::Unscoped)).unwrap();
    assert_eq!(
        owner_store
            .count_tasks(&ada, &TaskFilter::default())
            .unwrap(),
        3
    );
}

#[test]
fn setup_app_role_refuses_a_role_that_would_bypass_row_security_and_is_repeatable() {
    let db = TestDb::new();
    let mut owner = db.conn();
    #[derive(QueryableByName)]
    struct Me {
        #[diesel(sql_type = Text)]
        me: String,
    }
    let me = sql_query("SELECT current_user AS me")
        .get_result::<Me>(&mut owner)
        .unwrap()
        .me;
    let err = todo_store::setup_app_role(&mut owner, &me).unwrap_err();
    assert!(
        matches!(&err, Error::Validation { field, .. } if field == "app_role"),
        "{err:?}"
    );
    for bad in ["Robert'); DROP TABLE tasks;--", "", "9lives"] {
        assert!(matches!(
            todo_store::setup_app_role(&mut owner, bad),
            Err(Error::Validation { .. })
        ));
    }
    let app = db.app_role();
    let again = todo_store::setup_app_role(&mut owner, app.name()).unwrap();
    assert!(!again.created);
    owner.batch_execute("SELECT 1").unwrap();
}

#[test]
fn a_failed_scoped_call_leaves_no_transaction_and_no_scope_on_its_connection() {
    let db = TestDb::new();
    let (ada, _) = two_users(&db);
    let app = db.app_role();
    let mut store = Store::connect(&app.config().max_connections(1)).unwrap();
    let task = store.list_tasks(&ada, &TaskQuery::default()).unwrap().items[0].clone();
    let stale = store.update_task(
        &ada,
        task.id,
        TaskPatch::default().title("late"),
        VersionCheck::Exactly(task.version + 1),
    );
    assert!(matches!(stale, Err(Error::Conflict(_))), "{stale:?}");
    // The same (only) connection: outside any transaction, with no scope.
    let mut conn = store.conn().unwrap();
    // SAVEPOINT works only inside a transaction block.
    assert!(
        conn.batch_execute("SAVEPOINT probe").is_err(),
        "left inside a transaction"
    );
    assert_eq!(count(&mut conn, "tasks"), 0);
}

#[test]
fn within_one_owners_scope_another_owners_rows_cannot_be_written() {
    let db = TestDb::new();
    let (ada, bob) = two_users(&db);
    let app = db.app_role();
    let mut conn = app.conn();
    conn.transaction(|conn| {
        // Planting a task on Bob, or renaming Bob, in Ada's scope.
        let planted = sql_query(format!(
            "INSERT INTO tasks (user_id, id, title) VALUES ('{}', gen_random_uuid(), 'x')",
            bob.user_id()
        ))
        .execute(conn);
        assert!(planted.is_err(), "WITH CHECK refuses another owner's row");
        // The failed statement aborted the transaction: roll it back.
        Err::<(), _>(Error::validation("test", "roll back"))
    })
    .unwrap_err();
    todo_store::in_owner_scope(&mut conn, &ada, |conn| {
        let renamed = sql_query(format!(
            "UPDATE users SET display_name = 'x' WHERE id = '{}'",
            bob.user_id()
        ))
        .execute(conn)?;
        assert_eq!(renamed, 0);
        Ok(())
    })
    .unwrap();
    // A call for Bob inside Ada's scope is scoped to Bob while it runs, and
    // leaves Ada's scope as it was: what follows still sees only her rows.
    todo_store::in_owner_scope(&mut conn, &ada, |conn| {
        assert_eq!(count(conn, "tasks"), 3);
        assert_eq!(conn.count_tasks(&bob, &TaskFilter::default())?, 2);
        assert_eq!(count(conn, "tasks"), 3);
        Ok(())
    })
    .unwrap();
    // The same inside a transaction of the caller's.
    conn.transaction(|conn| {
        todo_store::in_owner_scope(conn, &ada, |conn| {
            assert_eq!(conn.count_tasks(&bob, &TaskFilter::default())?, 2);
            assert_eq!(count(conn, "tasks"), 3);
            Ok(())
        })?;
        assert_eq!(
            count(conn, "tasks"),
            0,
            "the caller's transaction: no scope"
        );
        Ok::<_, Error>(())
    })
    .unwrap();
    assert_eq!(count(&mut db.conn(), "tasks"), 5);
}

#[test]
fn setup_app_role_refuses_the_owner_of_the_tables() {
    let db = TestDb::new();
    // A plain role (no superuser, no BYPASSRLS) that owns `tasks`: row-level
    // security would not hold it without FORCE, so it cannot be the app role.
    let owner = db.app_role();
    let mut admin = db.conn();
    admin
        .batch_execute(&format!("ALTER TABLE tasks OWNER TO {}", owner.name()))
        .unwrap();
    let err = todo_store::setup_app_role(&mut admin, owner.name()).unwrap_err();
    assert!(
        matches!(&err, Error::Validation { reason, .. } if reason.contains("owns the tables")),
        "{err:?}"
    );
}
