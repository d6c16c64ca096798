//! Better Auth's `"user"` table as the parent of the library's accounts
//! (`link_better_auth`): deleting a user there deletes their account and
//! tasks here; the link refuses to hide strays and comes off again.

#![allow(clippy::unwrap_used)]

use diesel::{PgConnection, connection::SimpleConnection};
use todo_store::{
    Error, NewProfile, NewTask, OnMissingSubject, TaskRepo, UserRepo, link_better_auth,
    unlink_better_auth,
};
use todo_store_tests::{TestDb, count};

/// Better Auth's `"user"` table, as its migrations create it.
fn create_better_auth_user_table(conn: &mut PgConnection) {
    conn.batch_execute(
        r#"CREATE TABLE "user" (
             id text PRIMARY KEY,
             name text NOT NULL,
             email text NOT NULL UNIQUE,
             "emailVerified" boolean NOT NULL,
             image text,
             "createdAt" timestamptz NOT NULL DEFAULT now(),
             "updatedAt" timestamptz NOT NULL DEFAULT now())"#,
    )
    .unwrap();
}

fn add_better_auth_user(conn: &mut PgConnection, id: &str) {
    conn.batch_execute(&format!(
        r#"INSERT INTO "user" (id, name, email, "emailVerified") VALUES ('{id}', 'N', '{id}@example.com', true)"#
    ))
    .unwrap();
}

fn first_sight(id: &str) -> OnMissingSubject {
    OnMissingSubject::Create(NewProfile::new(format!("{id}@example.com")))
}

#[test]
fn deleting_a_better_auth_user_deletes_their_account_and_tasks() {
    let db = TestDb::new();
    let mut admin = db.conn();
    create_better_auth_user_table(&mut admin);
    add_better_auth_user(&mut admin, "ba-kept");
    add_better_auth_user(&mut admin, "ba-gone");
    let link = link_better_auth(&mut admin).unwrap();
    assert!(link.added);
    assert!(
        !link_better_auth(&mut admin).unwrap().added,
        "running it again changes nothing"
    );

    let mut store = db.store();
    for id in ["ba-kept", "ba-gone"] {
        let (_, owner) = store.owner_for_subject(id, first_sight(id)).unwrap();
        store.create_task(&owner, NewTask::new("Mine")).unwrap();
    }
    admin
        .batch_execute(r#"DELETE FROM "user" WHERE id = 'ba-gone'"#)
        .unwrap();
    assert_eq!(count(&mut admin, "users WHERE auth_subject = 'ba-gone'"), 0);
    assert_eq!(count(&mut admin, "users WHERE auth_subject = 'ba-kept'"), 1);
    assert_eq!(
        count(&mut admin, "tasks"),
        1,
        "only the kept user's task is left"
    );

    // A subject Better Auth does not know cannot get an account.
    let refused = store.owner_for_subject("ba-unknown", first_sight("ba-unknown"));
    assert!(
        matches!(&refused, Err(Error::Validation { field, .. }) if field == "auth_subject"),
        "{refused:?}"
    );

    assert!(unlink_better_auth(&mut admin).unwrap());
    assert!(!unlink_better_auth(&mut admin).unwrap());
    admin
        .batch_execute(r#"DELETE FROM "user" WHERE id = 'ba-kept'"#)
        .unwrap();
    assert_eq!(
        count(&mut admin, "users WHERE auth_subject = 'ba-kept'"),
        1,
        "unlinked: nothing cascades"
    );
}

#[test]
fn accounts_better_auth_does_not_hold_block_the_link_and_nothing_changes() {
    let db = TestDb::new();
    let mut admin = db.conn();
    let mut store = db.store();
    create_better_auth_user_table(&mut admin);
    store
        .owner_for_subject("ghost", first_sight("ghost"))
        .unwrap();
    let refused = link_better_auth(&mut admin);
    match refused {
        Err(Error::Validation { field, reason }) => {
            assert_eq!(field, "better_auth");
            assert!(reason.starts_with("1 accounts"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !unlink_better_auth(&mut admin).unwrap(),
        "no link was left behind"
    );
}

#[test]
fn without_a_better_auth_user_table_the_link_says_what_is_missing() {
    let db = TestDb::new();
    let mut admin = db.conn();
    let refused = link_better_auth(&mut admin);
    assert!(
        matches!(&refused, Err(Error::Validation { field, reason }) if field == "better_auth" && reason.contains("Better Auth's migrations")),
        "{refused:?}"
    );
    admin
        .batch_execute(r#"CREATE TABLE "user" (id integer PRIMARY KEY)"#)
        .unwrap();
    assert!(
        link_better_auth(&mut admin).is_err(),
        "an id that is not text is not Better Auth's"
    );
}
