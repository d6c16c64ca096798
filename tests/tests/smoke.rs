#![allow(clippy::unwrap_used)]

use todo_store::{NewTask, NewUser, OperatorRepo, TaskRepo, UserRepo};
use todo_store_tests::TestDb;

#[test]
fn harness_gives_a_migrated_database() {
    let db = TestDb::new();
    let mut store = db.store();
    let user = store.create_user(NewUser::new("ada@example.com")).unwrap();
    let owner = store.operator_owner("ADA@example.com").unwrap();
    assert_eq!(owner.user_id(), user.id);
    let task = store
        .create_task(&owner, NewTask::new("  hello  "))
        .unwrap();
    assert_eq!(task.title, "hello");
    assert_eq!(task.version, 1);
}
