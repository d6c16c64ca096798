//! `limit show`, `limit set` and `limit reset`, and a create refused at the
//! limit (exit 7, nothing written), run for real against a database of
//! their own per test.

use todo_store_tests::TestDb;

mod common;

use common::{failed, json, run};

const ADA: &str = "ada@example.com";

#[test]
fn limits_are_shown_set_enforced_and_reset() {
    let db = TestDb::new();
    json(&db, &["user", "add", ADA]);
    let shown = json(&db, &["limit", "show"]);
    assert_eq!(shown["max_tasks_per_user"], 10_000);
    let text = run(&db, &["limit", "show"]);
    assert_eq!(
        text.stdout,
        "A user may have at most 10000 tasks, unless they have a limit of their own.\n"
    );

    let set = json(&db, &["limit", "set", "1", "--user", ADA]);
    assert_eq!(
        (
            &set["email"],
            &set["tasks"],
            &set["limit"],
            &set["own_limit"]
        ),
        (&ADA.into(), &0.into(), &1.into(), &1.into())
    );
    json(&db, &["task", "add", "--user", ADA, "First"]);
    let refused = run(&db, &["task", "add", "--user", ADA, "Second"]);
    let stderr = failed(&refused, 7);
    assert_eq!(
        stderr.trim_end(),
        "error: task limit reached: a user may have at most 1 tasks"
    );
    let text = run(&db, &["limit", "show", "--user", ADA]);
    assert_eq!(
        text.stdout,
        format!("{ADA} has 1 of at most 1 tasks (their own limit).\n")
    );

    json(&db, &["limit", "set", "2"]);
    let reset = json(&db, &["limit", "reset", "--user", ADA]);
    assert_eq!(
        (&reset["limit"], &reset["own_limit"]),
        (&2.into(), &serde_json::Value::Null)
    );
    json(&db, &["task", "add", "--user", ADA, "Second"]);
}

#[test]
fn bad_limits_and_unknown_users_are_refused() {
    let db = TestDb::new();
    for bad in ["-1", "ten", "4294967295"] {
        let refused = run(&db, &["limit", "set", bad]);
        let stderr = failed(&refused, 3);
        assert!(stderr.contains("max_tasks"), "{bad}: {stderr}");
    }
    let missing = run(&db, &["limit", "set", "5", "--user", "nobody@example.com"]);
    assert_eq!(
        failed(&missing, 4).trim_end(),
        "error: user not found: nobody@example.com"
    );
    let missing = run(&db, &["limit", "reset", "--user", "nobody@example.com"]);
    failed(&missing, 4);
    assert_eq!(json(&db, &["limit", "show"])["max_tasks_per_user"], 10_000);
}
