//! The `todo-store` binary, run for real against a database of its own per
//! test (`TestDb`), so the tests run in parallel and leave nothing behind.

use std::collections::HashSet;

use diesel::connection::SimpleConnection;
use serde_json::Value;
use todo_store::UserRepo;
use todo_store_tests::TestDb;

mod common;

use common::{Run, failed, json, run, run_at, str_field};

fn add_user(db: &TestDb, email: &str) -> Value {
    json(db, &["user", "add", email])
}

fn add_task(db: &TestDb, email: &str, title: &str, extra: &[&str]) -> Value {
    let mut args = vec!["task", "add", "--user", email, title];
    args.extend_from_slice(extra);
    json(db, &args)
}

fn list(db: &TestDb, email: &str, extra: &[&str]) -> Value {
    let mut args = vec!["task", "list", "--user", email];
    args.extend_from_slice(extra);
    json(db, &args)
}

fn titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items is an array")
        .iter()
        .map(|task| str_field(task, "title").to_owned())
        .collect()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items is an array")
        .iter()
        .map(|task| str_field(task, "id").to_owned())
        .collect()
}

#[test]
fn users_can_be_added_listed_shown_and_deleted() {
    let db = TestDb::new();
    let ada = json(&db, &["user", "add", "ada@example.com", "--name", "Ada"]);
    assert_eq!(ada["email"], "ada@example.com");
    assert_eq!(ada["display_name"], "Ada");
    assert_eq!(ada["has_password"], false);
    add_user(&db, "bob@example.com");

    let users = json(&db, &["user", "list"]);
    let emails: Vec<&str> = users["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|user| str_field(user, "email"))
        .collect();
    assert_eq!(emails, ["ada@example.com", "bob@example.com"]);
    assert_eq!(users["next_cursor"], Value::Null);

    let shown = json(&db, &["user", "show", "ADA@Example.com"]);
    assert_eq!(shown, ada, "lookup ignores letter case");
    let text = run(&db, &["user", "list"]);
    assert_eq!(text.code, 0);
    assert!(text.stdout.starts_with("ID "), "{}", text.stdout);
    assert!(text.stdout.contains("ada@example.com"));

    add_task(&db, "ada@example.com", "Goes with the account", &[]);
    let deleted = json(&db, &["user", "delete", "ada@example.com"]);
    assert_eq!(deleted["deleted"], true);
    assert_eq!(deleted["id"], ada["id"]);
    assert_eq!(deleted["tasks_deleted"], 1);

    let line = failed(&run(&db, &["user", "show", "ada@example.com"]), 4);
    assert_eq!(line, "error: user not found: ada@example.com");
    failed(&run(&db, &["user", "delete", "ada@example.com"]), 4);
    assert_eq!(
        json(&db, &["user", "list"])["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[test]
fn a_duplicate_email_in_another_letter_case_is_a_conflict_and_changes_nothing() {
    let db = TestDb::new();
    add_user(&db, "ada@example.com");
    let before = json(&db, &["user", "list"]);
    let line = failed(
        &run(
            &db,
            &["user", "add", "ADA@example.com", "--name", "Imposter"],
        ),
        5,
    );
    assert_eq!(line, "error: conflict: email address already in use");
    assert_eq!(json(&db, &["user", "list"]), before);
}

#[test]
fn passwords_are_read_from_stdin_and_never_printed() {
    let db = TestDb::new();
    let url = db.url().expose().to_owned();
    let created = run_at(
        &url,
        &[
            "--json",
            "user",
            "add",
            "ada@example.com",
            "--password-stdin",
        ],
        Some("correct horse battery staple\r\n"),
    );
    assert_eq!(created.code, 0, "{}", created.stderr);
    let user: Value = serde_json::from_str(&created.stdout).expect("one JSON document");
    assert_eq!(user["has_password"], true);
    assert!(!created.stdout.contains("argon2") && !created.stdout.contains("correct horse"));
    // The password read is exactly the line without its ending: logging in with it works.
    let mut store = db.store();
    let password = todo_store::Password::new("correct horse battery staple").expect("valid");
    store
        .authenticate("ada@example.com", &password)
        .expect("the stored password is the line without \\r\\n");

    let short = run_at(
        &url,
        &["user", "add", "bob@example.com", "--password-stdin"],
        Some("short\n"),
    );
    let line = failed(&short, 3);
    assert_eq!(
        line,
        "error: invalid password: must have at least 8 characters"
    );
    failed(&run(&db, &["user", "show", "bob@example.com"]), 4);

    failed_usage(&run(&db, &["user", "passwd", "ada@example.com"]));
    let changed = run_at(
        &url,
        &[
            "--json",
            "user",
            "passwd",
            "ada@example.com",
            "--password-stdin",
        ],
        Some("a brand new passphrase\n"),
    );
    assert_eq!(changed.code, 0, "{}", changed.stderr);
    assert!(changed.stdout.contains("\"password_changed\": true"));
    let new_password = todo_store::Password::new("a brand new passphrase").expect("valid");
    store
        .authenticate("ada@example.com", &new_password)
        .expect("the new password works");
}

/// Clap's own usage errors: exit 2, clap's message.
fn failed_usage(run: &Run) {
    assert_eq!(run.code, 2, "stderr: {}", run.stderr);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
}

#[test]
fn usage_errors_keep_clap_exit_code_2() {
    let db = TestDb::new();
    add_user(&db, "ada@example.com");
    let task = add_task(&db, "ada@example.com", "Original", &[]);
    let id = str_field(&task, "id");
    failed_usage(&run(&db, &["task", "frobnicate"]));
    failed_usage(&run(&db, &["task", "add", "Missing the user"]));
    // Nothing to change.
    failed_usage(&run(
        &db,
        &["task", "edit", "--user", "ada@example.com", id],
    ));
    failed_usage(&run(
        &db,
        &[
            "task",
            "edit",
            "--user",
            "ada@example.com",
            id,
            "--due",
            "2030-01-01T00:00:00Z",
            "--clear-due",
        ],
    ));
    failed_usage(&run(
        &db,
        &[
            "task",
            "list",
            "--user",
            "ada@example.com",
            "--status",
            "maybe",
        ],
    ));
    assert_eq!(run(&db, &["--help"]).code, 0);
}

#[test]
fn a_task_goes_through_its_whole_life_with_json_output() {
    let db = TestDb::new();
    add_user(&db, "ada@example.com");
    let user = ["--user", "ada@example.com"];

    let task = add_task(
        &db,
        "ada@example.com",
        "  Write the report  ",
        &[
            "--description",
            "Numbers first",
            "--priority",
            "1",
            "--due",
            "2030-01-31T18:00:00+01:00",
        ],
    );
    let id = str_field(&task, "id").to_owned();
    assert_eq!(task["title"], "Write the report", "titles are trimmed");
    assert_eq!(task["description"], "Numbers first");
    assert_eq!(task["priority"], 1);
    assert_eq!(task["due_at"], "2030-01-31T17:00:00Z");
    assert_eq!(task["completed"], false);
    assert_eq!(task["completed_at"], Value::Null);
    assert_eq!(task["version"], 1);
    for key in ["created_at", "updated_at"] {
        assert!(task[key].is_string(), "{key}");
    }

    let shown = json(&db, &["task", "show", user[0], user[1], &id]);
    assert_eq!(shown, task);

    let edited = json(
        &db,
        &[
            "task",
            "edit",
            user[0],
            user[1],
            &id,
            "--title",
            "Write the Q3 report",
            "--priority",
            "2",
            "--clear-due",
            "--clear-description",
            "--if-version",
            "1",
        ],
    );
    assert_eq!(edited["title"], "Write the Q3 report");
    assert_eq!(edited["priority"], 2);
    assert_eq!(edited["due_at"], Value::Null);
    assert_eq!(edited["description"], Value::Null);
    assert_eq!(edited["version"], 2);

    let done = json(
        &db,
        &["task", "done", user[0], user[1], &id, "--if-version", "2"],
    );
    assert_eq!(done["completed"], true);
    assert!(done["completed_at"].is_string());
    assert_eq!(done["version"], 3);

    let undone = json(&db, &["task", "undo", user[0], user[1], &id]);
    assert_eq!(undone["completed"], false);
    assert_eq!(undone["completed_at"], Value::Null);
    assert_eq!(undone["version"], 4);

    let text = run(&db, &["task", "show", user[0], user[1], &id]);
    assert_eq!(text.code, 0);
    assert!(text.stdout.contains("Write the Q3 report") && text.stdout.contains("version      4"));

    let removed = json(
        &db,
        &["task", "rm", user[0], user[1], &id, "--if-version", "4"],
    );
    assert_eq!(removed, serde_json::json!({"deleted": true, "id": id}));
    let line = failed(&run(&db, &["task", "show", user[0], user[1], &id]), 4);
    assert_eq!(line, "error: task not found");
}

#[test]
fn task_lists_filter_by_status_priority_and_text() {
    let db = TestDb::new();
    add_user(&db, "ada@example.com");
    let ada = "ada@example.com";
    let report = add_task(&db, ada, "Write the report", &["--priority", "1"]);
    add_task(
        &db,
        ada,
        "Water the plants",
        &["--priority", "4", "--description", "The FERN too"],
    );
    add_task(&db, ada, "Book flights", &["--priority", "2"]);
    json(
        &db,
        &["task", "done", "--user", ada, str_field(&report, "id")],
    );

    assert_eq!(titles(&list(&db, ada, &[])).len(), 3, "all by default");
    assert_eq!(
        titles(&list(&db, ada, &["--status", "done"])),
        ["Write the report"]
    );
    assert_eq!(
        titles(&list(&db, ada, &["--status", "open"])),
        ["Water the plants", "Book flights"]
    );
    assert_eq!(
        titles(&list(
            &db,
            ada,
            &["--priority-min", "2", "--priority-max", "4"]
        )),
        ["Water the plants", "Book flights"]
    );
    assert_eq!(
        titles(&list(&db, ada, &["--priority-max", "1"])),
        ["Write the report"]
    );
    assert_eq!(
        titles(&list(&db, ada, &["--search", "fern"])),
        ["Water the plants"]
    );
    assert_eq!(
        titles(&list(&db, ada, &["--search", "REPORT"])),
        ["Write the report"]
    );
    assert!(titles(&list(&db, ada, &["--search", "nothing like it"])).is_empty());
}

#[test]
fn task_lists_sort_by_each_key_in_both_orders() {
    let db = TestDb::new();
    let ada = "ada@example.com";
    add_user(&db, ada);
    add_task(
        &db,
        ada,
        "banana",
        &["--priority", "2", "--due", "2030-03-01T00:00:00Z"],
    );
    add_task(&db, ada, "Apple", &["--priority", "3"]);
    add_task(
        &db,
        ada,
        "cherry",
        &["--priority", "1", "--due", "2030-02-01T00:00:00Z"],
    );

    let sorted =
        |sort: &str, order: &str| titles(&list(&db, ada, &["--sort", sort, "--order", order]));
    assert_eq!(
        sorted("title", "asc"),
        ["Apple", "banana", "cherry"],
        "any letter case"
    );
    assert_eq!(sorted("title", "desc"), ["cherry", "banana", "Apple"]);
    assert_eq!(sorted("priority", "asc"), ["cherry", "banana", "Apple"]);
    assert_eq!(sorted("priority", "desc"), ["Apple", "banana", "cherry"]);
    assert_eq!(
        sorted("due", "asc"),
        ["cherry", "banana", "Apple"],
        "undated last"
    );
    assert_eq!(sorted("due", "desc"), ["Apple", "banana", "cherry"]);
    assert_eq!(sorted("created", "asc"), ["banana", "Apple", "cherry"]);
    assert_eq!(sorted("created", "desc"), ["cherry", "Apple", "banana"]);
    json(
        &db,
        &[
            "task",
            "edit",
            "--user",
            ada,
            &ids(&list(&db, ada, &[]))[0],
            "--title",
            "blueberry",
        ],
    );
    assert_eq!(sorted("updated", "desc")[0], "blueberry");
}

#[test]
fn paging_with_after_visits_every_task_once_in_order() {
    let db = TestDb::new();
    let ada = "ada@example.com";
    add_user(&db, ada);
    // Ties on priority: the order must still be total for paging to work.
    for (title, priority) in [
        ("a", "2"),
        ("b", "5"),
        ("c", "2"),
        ("d", "1"),
        ("e", "5"),
        ("f", "2"),
        ("g", "3"),
    ] {
        add_task(&db, ada, title, &["--priority", priority]);
    }
    let sort = ["--sort", "priority", "--order", "desc"];
    let everything = ids(&list(&db, ada, &sort));
    assert_eq!(everything.len(), 7);

    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut args = vec!["--limit", "3"];
        args.extend_from_slice(&sort);
        if let Some(cursor) = &after {
            args.extend(["--after", cursor.as_str()]);
        }
        let page = list(&db, ada, &args);
        sizes.push(ids(&page).len());
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => after = Some(cursor.to_owned()),
            None => break,
        }
    }
    assert_eq!(sizes, [3, 3, 1]);
    assert_eq!(seen, everything, "pages concatenate to the whole list");
    assert_eq!(
        seen.iter().collect::<HashSet<_>>().len(),
        7,
        "no task twice"
    );

    // People get the cursor printed after the table.
    let text = run(
        &db,
        &[
            "task", "list", "--user", ada, "--limit", "3", "--sort", "priority", "--order", "desc",
        ],
    );
    assert_eq!(text.code, 0);
    let hint = text
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("next page: --after "))
        .expect("a next-page hint");
    let next = list(
        &db,
        ada,
        &[
            "--limit", "3", "--sort", "priority", "--order", "desc", "--after", hint,
        ],
    );
    assert_eq!(ids(&next), everything[3..6]);

    // A cursor belongs to its sort order.
    let line = failed(
        &run(
            &db,
            &[
                "task", "list", "--user", ada, "--sort", "title", "--after", hint,
            ],
        ),
        3,
    );
    assert!(line.starts_with("error: invalid cursor"), "{line}");
}

#[test]
fn another_user_gets_not_found_for_every_operation_on_a_task_and_it_stays_unchanged() {
    let db = TestDb::new();
    add_user(&db, "ada@example.com");
    add_user(&db, "bob@example.com");
    let task = add_task(&db, "ada@example.com", "Ada's secret", &["--priority", "1"]);
    let id = str_field(&task, "id");
    let bob = ["--user", "bob@example.com"];
    let missing = "01a2096d-0000-7000-8000-000000000000";

    let attempts: [&[&str]; 6] = [
        &["task", "show", bob[0], bob[1], id],
        &[
            "task",
            "edit",
            bob[0],
            bob[1],
            id,
            "--title",
            "Bob was here",
        ],
        &["task", "done", bob[0], bob[1], id],
        &["task", "undo", bob[0], bob[1], id],
        &["task", "rm", bob[0], bob[1], id],
        // A version guess must not reveal that the task exists.
        &["task", "done", bob[0], bob[1], id, "--if-version", "7"],
    ];
    for attempt in attempts {
        let line = failed(&run(&db, attempt), 4);
        assert_eq!(line, "error: task not found", "{attempt:?}");
        // Exactly what an id that does not exist gives.
        let with_missing: Vec<&str> = attempt
            .iter()
            .map(|arg| if *arg == id { missing } else { arg })
            .collect();
        assert_eq!(failed(&run(&db, &with_missing), 4), line, "{attempt:?}");
    }
    assert!(titles(&list(&db, "bob@example.com", &[])).is_empty());
    assert_eq!(
        json(&db, &["task", "show", "--user", "ada@example.com", id]),
        task
    );
}

#[test]
fn invalid_input_exits_3_with_one_line_and_changes_nothing() {
    let db = TestDb::new();
    let ada = "ada@example.com";
    add_user(&db, ada);
    let task = add_task(&db, ada, "Untouched", &[]);
    let id = str_field(&task, "id");
    let long_title = "x".repeat(100_000);
    let before_tasks = list(&db, ada, &[]);
    let before_users = json(&db, &["user", "list"]);

    let cases: [(&[&str], &str); 14] = [
        (
            &["task", "add", "--user", ada, ""],
            "error: invalid title: must not be empty",
        ),
        (
            &["task", "add", "--user", ada, " \t "],
            "error: invalid title: must not be empty",
        ),
        (
            &["task", "add", "--user", ada, "x", "--priority", "9"],
            "error: invalid priority",
        ),
        (
            &["task", "add", "--user", ada, "x", "--priority", "-1"],
            "error: invalid priority",
        ),
        (
            &["task", "add", "--user", ada, "x", "--priority", "high"],
            "error: invalid priority",
        ),
        (
            &["task", "add", "--user", ada, &long_title],
            "error: invalid title: must be at most 500 characters",
        ),
        (
            &["task", "add", "--user", ada, "x", "--due", "tomorrow"],
            "error: invalid due",
        ),
        (
            &["task", "show", "--user", ada, "not-a-uuid"],
            "error: invalid task_id: must be a UUID",
        ),
        (
            &["task", "rm", "--user", ada, "1234"],
            "error: invalid task_id",
        ),
        (
            &["task", "edit", "--user", ada, id, "--title", ""],
            "error: invalid title",
        ),
        (
            &["task", "edit", "--user", ada, id, "--priority", "0"],
            "error: invalid priority",
        ),
        (
            &[
                "task",
                "edit",
                "--user",
                ada,
                id,
                "--due",
                "2030-13-01T00:00:00Z",
            ],
            "error: invalid due",
        ),
        (
            &["task", "list", "--user", ada, "--after", "garbage"],
            "error: invalid cursor",
        ),
        (&["user", "add", "not-an-email"], "error: invalid email"),
    ];
    for (args, expected) in cases {
        let line = failed(&run(&db, args), 3);
        assert!(line.starts_with(expected), "{args:?}: {line}");
        assert!(
            line.len() < 200,
            "the message does not echo huge input: {line}"
        );
    }
    assert_eq!(list(&db, ada, &[]), before_tasks);
    assert_eq!(json(&db, &["user", "list"]), before_users);
}

#[test]
fn a_stale_if_version_is_a_conflict_and_changes_nothing() {
    let db = TestDb::new();
    let ada = "ada@example.com";
    add_user(&db, ada);
    let task = add_task(&db, ada, "Original", &[]);
    let id = str_field(&task, "id");
    let edited = json(
        &db,
        &[
            "task",
            "edit",
            "--user",
            ada,
            id,
            "--title",
            "Changed",
            "--if-version",
            "1",
        ],
    );
    assert_eq!(edited["version"], 2);

    for attempt in [
        &[
            "task",
            "edit",
            "--user",
            ada,
            id,
            "--title",
            "Lost update",
            "--if-version",
            "1",
        ][..],
        &["task", "done", "--user", ada, id, "--if-version", "1"],
        &["task", "rm", "--user", ada, id, "--if-version", "1"],
    ] {
        let line = failed(&run(&db, attempt), 5);
        assert_eq!(
            line,
            "error: conflict: task is at version 2, not the expected 1"
        );
    }
    assert_eq!(json(&db, &["task", "show", "--user", ada, id]), edited);
}

#[test]
fn migrate_status_lists_every_migration_as_applied() {
    let db = TestDb::new();
    let status = json(&db, &["migrate", "status"]);
    assert_eq!(status["pending"], serde_json::json!([]));
    assert_eq!(
        status["applied"].as_array().map(Vec::len),
        Some(migration_folders())
    );
    let text = run(&db, &["migrate", "status"]);
    assert_eq!(text.code, 0);
    assert!(text.stdout.contains("applied"), "{}", text.stdout);
}

#[test]
fn migrations_can_be_run_reverted_and_run_again() {
    let db = TestDb::empty();
    let status = json(&db, &["migrate", "status"]);
    assert_eq!(status["applied"], serde_json::json!([]));
    let pending = status["pending"].clone();
    let count = migration_folders();
    assert_eq!(pending.as_array().map(Vec::len), Some(count));
    let last = &pending[count - 1];

    assert_eq!(json(&db, &["migrate", "run"])["applied"], pending);
    assert_eq!(
        json(&db, &["migrate", "run"])["applied"],
        serde_json::json!([])
    );
    let reverted = json(&db, &["migrate", "revert"]);
    assert_eq!(&reverted["reverted"], last);
    assert_eq!(
        json(&db, &["migrate", "status"])["pending"],
        serde_json::json!([last])
    );
    assert_eq!(
        json(&db, &["migrate", "run"])["applied"],
        serde_json::json!([last])
    );
}

/// Drops a database the test made the binary create, however the test ends.
struct DropDatabase<'a> {
    server: &'a TestDb,
    name: String,
}

impl Drop for DropDatabase<'_> {
    fn drop(&mut self) {
        let dropped = self.server.conn().batch_execute(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ));
        if let Err(err) = dropped {
            eprintln!("warning: could not drop {}: {err}", self.name);
        }
    }
}

/// The migrations in the workspace's `migrations/` folder.
fn migration_folders() -> usize {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    std::fs::read_dir(dir)
        .expect("the migrations folder")
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|e| e.path().join("up.sql").exists())
        })
        .count()
}

#[test]
fn setup_creates_a_missing_database_migrates_it_and_can_run_again() {
    let server = TestDb::new();
    let name = format!("{}_setup", server.name());
    let url = server
        .url()
        .with_database(&name)
        .expect("a URL with a database");
    let _cleanup = DropDatabase {
        server: &server,
        name: name.clone(),
    };

    let before = run_at(url.expose(), &["user", "list"], None);
    let line = failed(&before, 6);
    assert!(
        line.contains("todo-store setup"),
        "the message says what to do: {line}"
    );

    let first = run_at(url.expose(), &["--json", "setup"], None);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let first: Value = serde_json::from_str(&first.stdout).expect("one JSON document");
    assert_eq!(first["database"], name.as_str());
    assert_eq!(first["created"], true);
    assert_eq!(
        first["applied"].as_array().map(Vec::len),
        Some(migration_folders())
    );

    let again = run_at(url.expose(), &["--json", "setup"], None);
    let again: Value = serde_json::from_str(&again.stdout).expect("one JSON document");
    assert_eq!(again["created"], false);
    assert_eq!(again["applied"], serde_json::json!([]));
    assert_eq!(run_at(url.expose(), &["user", "list"], None).code, 0);
}

#[test]
fn setup_with_an_app_role_makes_a_role_that_row_security_holds() {
    let db = TestDb::new();
    let role = format!("todo_store_app_cli_{}", std::process::id());
    struct DropRole<'a>(&'a TestDb, String);
    impl Drop for DropRole<'_> {
        fn drop(&mut self) {
            let _ = self.0.conn().batch_execute(&format!(
                "DROP OWNED BY {0}; DROP ROLE IF EXISTS {0}",
                self.1
            ));
        }
    }
    let _cleanup = DropRole(&db, role.clone());
    json(&db, &["user", "add", "ada@example.com"]);
    json(
        &db,
        &["task", "add", "--user", "ada@example.com", "Pay rent"],
    );

    let first = json(&db, &["setup", "--app-role", &role]);
    assert_eq!(first["app_role"]["name"], role.as_str());
    assert_eq!(first["app_role"]["created"], true);
    let again = json(&db, &["setup", "--app-role", &role]);
    assert_eq!(again["app_role"]["created"], false);

    // As that role, a query that names no owner sees no task.
    let url = db.url().with_user(&role, None).expect("a URL");
    let mut app = <diesel::PgConnection as diesel::Connection>::establish(url.expose())
        .expect("the role can log in");
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count = |conn: &mut diesel::PgConnection, table: &str| {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
            .get_result::<Count>(conn)
            .expect("a count")
            .n
    };
    assert_eq!(count(&mut app, "tasks"), 0);
    assert_eq!(count(&mut db.conn(), "tasks"), 1);

    // A name that is not a plain identifier is refused (exit 3).
    let bad = run(&db, &["setup", "--app-role", "x; DROP TABLE tasks"]);
    assert!(failed(&bad, 3).contains("app_role"));
}

#[test]
fn the_demo_succeeds_and_leaves_no_users_behind() {
    let db = TestDb::new();
    let summary = json(&db, &["demo"]);
    assert_eq!(summary["cleaned_up"], true);
    assert_eq!(summary["task_unchanged"], true);
    assert_eq!(summary["stale_version_rejected"], true);
    let results: Vec<&str> = summary["isolation"]
        .as_array()
        .expect("isolation checks")
        .iter()
        .map(|check| str_field(check, "result"))
        .collect();
    assert_eq!(results, ["task not found"; 4]);

    let narrated = run(&db, &["demo"]);
    assert_eq!(narrated.code, 0, "{}", narrated.stderr);
    assert!(narrated.stdout.contains("Isolation"), "{}", narrated.stdout);
    assert_eq!(narrated.stderr, "");

    let mut conn = db.conn();
    let users = conn.list_users(200, None).expect("users can be listed");
    assert!(users.is_empty(), "left behind: {users:?}");
}

#[test]
fn the_demo_cleans_up_even_when_a_step_fails_midway() {
    let db = TestDb::new();
    // Sabotage: the first task update the demo makes (after it has created its
    // users and their tasks) breaks this constraint.
    db.conn()
        .batch_execute("ALTER TABLE tasks ADD CONSTRAINT sabotage CHECK (version < 2)")
        .expect("the constraint is added");
    let line = failed(&run(&db, &["--json", "demo"]), 1);
    assert!(line.contains("sabotage"), "{line}");
    let users = db
        .conn()
        .list_users(200, None)
        .expect("users can be listed");
    assert!(users.is_empty(), "left behind: {users:?}");
}

#[test]
fn an_unreachable_database_exits_6_with_one_line_that_hides_the_password() {
    for url in [
        "postgres://ada:s3cret-pw@localhost:1/x",
        "postgres://localhost:1/x?password=s3cret-pw",
    ] {
        for args in [
            &["user", "list"][..],
            &["task", "list", "--user", "ada@example.com"],
            &["demo"],
            &["setup"],
        ] {
            let run = run_at(url, args, None);
            assert_eq!(run.code, 6, "{args:?}: {}", run.stderr);
            assert_eq!(run.stderr.lines().count(), 1, "{:?}", run.stderr);
            assert!(
                run.stderr.starts_with("error: database unavailable"),
                "{}",
                run.stderr
            );
            assert!(!run.stderr.contains("s3cret"), "{}", run.stderr);
            assert!(!run.stdout.contains("s3cret"), "{}", run.stdout);
        }
    }
}

#[test]
fn task_commands_for_an_unknown_user_are_not_found() {
    let db = TestDb::new();
    let line = failed(
        &run(&db, &["task", "list", "--user", "nobody@example.com"]),
        4,
    );
    assert_eq!(line, "error: user not found: nobody@example.com");
    failed(
        &run(
            &db,
            &["task", "add", "--user", "nobody@example.com", "Orphan"],
        ),
        4,
    );
}

#[test]
fn task_add_with_an_id_is_idempotent() {
    let db = TestDb::new();
    add_user(&db, "ada@example.com");
    let id = "0193a9b0-0000-7000-8000-00000000abcd";
    let first = add_task(&db, "ada@example.com", "Pay the rent", &["--id", id]);
    assert_eq!(str_field(&first, "id"), id);
    let again = add_task(&db, "ada@example.com", "Pay the rent", &["--id", id]);
    assert_eq!(again, first);
    let add = |title: &str, id: &str| {
        run(
            &db,
            &[
                "task",
                "add",
                "--user",
                "ada@example.com",
                title,
                "--id",
                id,
            ],
        )
    };
    let line = failed(&add("Other", id), 5);
    assert!(line.contains("already exists"), "{line}");
    let line = failed(&add("x", "nope"), 3);
    assert!(line.contains("UUID"), "{line}");
}
