//! `todo-store export` and `todo-store import`, end to end: the real binary
//! against databases of the test's own.

#![allow(clippy::unwrap_used)]

mod common;

use std::{
    fs,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU32, Ordering},
};

use chrono::{DateTime, Utc};
use common::{failed, json, run, run_at};
use diesel::{PgConnection, QueryableByName, RunQueryDsl, sql_query};
use serde_json::Value;
use todo_store::{
    Error, NewTask, NewUser, OperatorRepo, Password, Priority, TaskId, TaskPatch, TaskRepo,
    TaskStatus, UserRepo, VersionCheck,
    bulk::{self, LoadBatch, TaskRecord},
};
use todo_store_tests::{TestDb, unique_email};

const PASSWORD: &str = "correct horse battery staple";

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// A file in the temporary directory, removed with the value.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        Self(std::env::temp_dir().join(format!(
            "todo-store-export-{}-{n}-{name}",
            std::process::id()
        )))
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }

    fn write(&self, text: &str) -> &Self {
        fs::write(&self.0, text).unwrap();
        self
    }

    fn read(&self) -> String {
        fs::read_to_string(&self.0).unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// What the fixture made.
struct Fixture {
    /// Has a password, a name, a time zone and an auth subject.
    ada: String,
    /// Has nothing optional; tasks loaded with chosen times and versions.
    bob: String,
    /// No tasks at all.
    cy: String,
}

/// Three users and tasks with every optional field set and unset, completed
/// ones, versions above 1, and titles and descriptions in many scripts.
fn fill(conn: &mut PgConnection) -> Fixture {
    let ada = conn
        .create_user(
            NewUser::new(unique_email("ada"))
                .display_name("Ada Lovelace — 𝔄𝔡𝔞")
                .time_zone("Europe/London")
                .auth_subject(format!("auth0|{}", unique_email("sub")))
                .password(Password::new(PASSWORD).unwrap()),
        )
        .unwrap();
    let bob = conn.create_user(NewUser::new(unique_email("bob"))).unwrap();
    let cy = conn
        .create_user(NewUser::new(unique_email("cy")).display_name("Cy"))
        .unwrap();

    let owner = conn.operator_owner(&ada.email).unwrap();
    let full = conn
        .create_task(
            &owner,
            NewTask::new("Écrire le rapport 報告書 ✅ עברית")
                .description("Line one\n\"quoted\" and \\backslash\\\ttab, emoji 🧪")
                .priority(Priority::HIGHEST)
                .due_at(at("2031-02-03T04:05:06.789012Z")),
        )
        .unwrap();
    conn.update_task(
        &owner,
        full.id,
        TaskPatch::default().title("Écrire le rapport (v2) 報告書"),
        VersionCheck::Exactly(1),
    )
    .unwrap();
    let done = conn.create_task(&owner, NewTask::new("Bare")).unwrap();
    conn.set_task_status(&owner, done.id, TaskStatus::Done, VersionCheck::Any)
        .unwrap();
    conn.create_task(&owner, NewTask::new("Still open"))
        .unwrap();

    let mut old = TaskRecord::new(TaskId::new_v7(), "Year one", at("0001-01-01T00:00:00Z"));
    old.completed_at = Some(at("0001-01-02T00:00:00.000001Z"));
    old.updated_at = at("0001-01-02T00:00:00.000001Z");
    old.version = 7;
    let mut late = TaskRecord::new(TaskId::new_v7(), "Last moment", at("2020-01-01T00:00:00Z"));
    late.due_at = Some(at("9999-12-31T23:59:59.999999Z"));
    late.description = Some("x".repeat(10_000));
    late.priority = Priority::LOWEST;
    late.version = 2;
    late.updated_at = at("2021-06-01T12:00:00.5Z");
    let mut batch = LoadBatch::default();
    batch.add_tasks(bob.id, [old, late]);
    bulk::load(conn, &batch).unwrap();

    Fixture {
        ada: ada.email,
        bob: bob.email,
        cy: cy.email,
    }
}

#[derive(QueryableByName)]
struct Rows {
    #[diesel(sql_type = diesel::sql_types::Text)]
    text: String,
}

/// Every row of both tables, as PostgreSQL prints them, in a fixed order:
/// compares databases independently of the export.
fn rows(conn: &mut PgConnection) -> String {
    sql_query(
        "SELECT coalesce(string_agg(row, E'\\n' ORDER BY row), '') AS text FROM (
             SELECT u::text AS row FROM users u
             UNION ALL SELECT t::text FROM tasks t
         ) rows",
    )
    .get_result::<Rows>(conn)
    .unwrap()
    .text
}

/// Every row of both history tables, as [`rows`] prints the others (the
/// sync state without its epoch, which a restore makes anew).
fn history_rows(conn: &mut PgConnection) -> String {
    sql_query(
        "SELECT coalesce(string_agg(row, E'\\n' ORDER BY row), '') AS text FROM (
             SELECT (s.user_id, s.last_seq)::text AS row FROM task_sync_state s
             UNION ALL SELECT h::text FROM task_history h
         ) rows",
    )
    .get_result::<Rows>(conn)
    .unwrap()
    .text
}

fn export(db: &TestDb, args: &[&str]) -> String {
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    let run = run(db, &all);
    assert_eq!(run.code, 0, "export failed: {}", run.stderr);
    assert_eq!(run.stderr, "", "export wrote to stderr");
    run.stdout
}

fn import(db: &TestDb, file: &TempFile) -> Value {
    json(db, &["import", "--input", file.path()])
}

fn int(value: &Value, key: &str) -> u64 {
    value[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} in {value}"))
}

/// `(users_inserted, users_present, tasks_inserted, tasks_present)`.
fn counts(report: &Value) -> (u64, u64, u64, u64) {
    (
        int(report, "users_inserted"),
        int(report, "users_present"),
        int(report, "tasks_inserted"),
        int(report, "tasks_present"),
    )
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn export_then_import_into_an_empty_database_then_export_gives_the_same_bytes() {
    let source = TestDb::new();
    let fixture = fill(&mut source.conn());
    let file = TempFile::new("backup.jsonl");
    let report = json(
        &source,
        &["export", "--include-secrets", "--output", file.path()],
    );
    assert_eq!((int(&report, "users"), int(&report, "tasks")), (3, 5));
    assert_eq!(
        (int(&report, "sync_states"), int(&report, "changes")),
        (2, 7)
    );
    assert_eq!(report["secrets"], true);
    let first = file.read();
    assert_eq!(int(&report, "bytes"), first.len() as u64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&file.0).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "a file with secrets is its owner's only"
        );
    }

    let target = TestDb::new();
    let report = import(&target, &file);
    assert_eq!(counts(&report), (3, 0, 5, 0));
    assert_eq!(
        (int(&report, "users_read"), int(&report, "tasks_read")),
        (3, 5)
    );
    assert_eq!(
        (
            int(&report, "version"),
            int(&report, "changes_read"),
            int(&report, "changes_inserted"),
            int(&report, "changes_present")
        ),
        (2, 7, 7, 0)
    );

    assert_eq!(export(&target, &["--include-secrets"]), first);
    assert_eq!(rows(&mut target.conn()), rows(&mut source.conn()));
    assert_eq!(
        history_rows(&mut target.conn()),
        history_rows(&mut source.conn())
    );

    // The same with one line per transaction, four written at a time.
    let parallel = TestDb::new();
    let report = json(
        &parallel,
        &[
            "import",
            "--input",
            file.path(),
            "--batch-rows",
            "1",
            "--jobs",
            "4",
        ],
    );
    assert_eq!(counts(&report), (3, 0, 5, 0));
    // Three users, five tasks, two sync states, seven changes.
    assert_eq!(int(&report, "batches"), 17);
    assert_eq!(export(&parallel, &["--include-secrets"]), first);

    // The password hash came along: Ada logs in on the restored database.
    let mut restored = target.conn();
    let ada = restored
        .authenticate(&fixture.ada, &Password::new(PASSWORD).unwrap())
        .unwrap();
    assert_eq!(
        ada.user_id(),
        source
            .conn()
            .find_user_by_email(&fixture.ada)
            .unwrap()
            .unwrap()
            .id
    );
    let all = lines(&first);
    assert_eq!(
        all[0],
        serde_json::json!({"format": "todo-store", "version": 2, "secrets": true})
    );
    assert!(all[1..4].iter().all(|line| line["type"] == "user"));
    assert!(all[4..9].iter().all(|line| line["type"] == "task"));
    assert!(all[9..11].iter().all(|line| line["type"] == "sync_state"));
    assert!(all[11..18].iter().all(|line| line["type"] == "change"));
    assert_eq!(
        all[18],
        serde_json::json!({"type": "end", "users": 3, "tasks": 5, "sync_states": 2, "changes": 7})
    );
    for email in [&fixture.bob, &fixture.cy] {
        assert!(restored.find_user_by_email(email).unwrap().is_some());
    }
}

#[test]
fn records_are_written_with_fixed_keys_and_microsecond_utc_times() {
    let db = TestDb::new();
    fill(&mut db.conn());
    let text = export(&db, &[]);
    let first_user = text.lines().nth(1).unwrap();
    let keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, Value>>(first_user)
        .unwrap()
        .keys()
        .cloned()
        .collect();
    // serde_json's map is ordered by key, so compare the text's own order.
    let mut at = 0;
    for key in [
        "type",
        "id",
        "email",
        "display_name",
        "time_zone",
        "auth_subject",
        "created_at",
        "updated_at",
    ] {
        let found = first_user[at..]
            .find(&format!("\"{key}\":"))
            .unwrap_or_else(|| panic!("{key} missing or out of order in {first_user}"));
        at += found;
    }
    assert_eq!(keys.len(), 8, "{first_user}");
    let bob_old = text.lines().find(|line| line.contains("Year one")).unwrap();
    assert!(
        bob_old.contains(r#""created_at":"0001-01-01T00:00:00.000000Z""#),
        "{bob_old}"
    );
    assert!(bob_old.contains(r#""version":7"#), "{bob_old}");
    let late = text
        .lines()
        .find(|line| line.contains("Last moment"))
        .unwrap();
    assert!(
        late.contains(r#""due_at":"9999-12-31T23:59:59.999999Z","completed_at":null"#),
        "{late}"
    );
    assert!(
        late.contains(r#""updated_at":"2021-06-01T12:00:00.500000Z""#),
        "{late}"
    );
}

#[test]
fn password_hashes_are_left_out_unless_asked_for() {
    let source = TestDb::new();
    let fixture = fill(&mut source.conn());
    let text = export(&source, &[]);
    assert!(text.starts_with("{\"format\":\"todo-store\",\"version\":2,\"secrets\":false}\n"));
    assert!(!text.contains("password_hash"), "{text}");
    assert!(!text.contains("$argon2"), "{text}");

    let file = TempFile::new("no-secrets.jsonl");
    file.write(&text);
    let target = TestDb::new();
    assert_eq!(counts(&import(&target, &file)), (3, 0, 5, 0));
    let mut restored = target.conn();
    let ada = restored.find_user_by_email(&fixture.ada).unwrap().unwrap();
    assert!(!ada.has_password);
    assert!(ada.auth_subject.is_some(), "the auth subject is no secret");
    assert_eq!(
        restored.authenticate(&fixture.ada, &Password::new(PASSWORD).unwrap()),
        Err(Error::InvalidCredentials)
    );
    // A hash smuggled into a file whose header says it has none is refused.
    let smuggled = text.replacen(
        "\"auth_subject\":null,",
        "\"auth_subject\":null,\"password_hash\":\"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$n7bVXTzTR4A2bJX3sFUy0uz8tUgz5YXw4fhF0lQCoUU\",",
        1,
    );
    let line = failed(
        &run_at(target.url().expose(), &["import"], Some(&smuggled)),
        3,
    );
    assert!(line.contains("password_hash on line"), "{line}");
    assert!(
        !line.contains("c2FsdHNhbHRzYWx0"),
        "the hash is never shown: {line}"
    );
}

#[test]
fn importing_the_same_file_twice_changes_nothing_the_second_time() {
    let source = TestDb::new();
    let fixture = fill(&mut source.conn());
    let file = TempFile::new("twice.jsonl");
    file.write(&export(&source, &["--include-secrets"]));
    let target = TestDb::new();
    assert_eq!(counts(&import(&target, &file)), (3, 0, 5, 0));
    let after_first = rows(&mut target.conn());
    let second = import(&target, &file);
    assert_eq!(counts(&second), (0, 3, 0, 5));
    assert_eq!(rows(&mut target.conn()), after_first);

    // A batch of which only some rows are missing: those are put back, the
    // others counted as present.
    let mut conn = target.conn();
    let bob = conn.find_user_by_email(&fixture.bob).unwrap().unwrap();
    let owner = conn.operator_owner(&bob.email).unwrap();
    let page = conn
        .list_tasks(&owner, &todo_store::TaskQuery::new())
        .unwrap();
    conn.delete_task(&owner, page.items[0].id, VersionCheck::Any)
        .unwrap();
    assert_eq!(counts(&import(&target, &file)), (0, 3, 1, 4));
    assert_eq!(rows(&mut conn), after_first);

    // Text summary, from stdin.
    let run = run_at(target.url().expose(), &["import"], Some(&file.read()));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("users: 3 read, 0 inserted, 3 already present"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("tasks: 5 read, 0 inserted, 5 already present"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("history: 7 changes read, 0 inserted, 7 already present"),
        "{}",
        run.stdout
    );
}

#[test]
fn export_of_one_user_holds_only_that_user_and_their_tasks() {
    let db = TestDb::new();
    let fixture = fill(&mut db.conn());
    let bob_id = db
        .conn()
        .find_user_by_email(&fixture.bob)
        .unwrap()
        .unwrap()
        .id;
    let text = export(&db, &["--user", &fixture.bob.to_uppercase()]);
    let all = lines(&text);
    assert_eq!(all.len(), 8, "{text}");
    assert_eq!(all[1]["type"], "user");
    assert_eq!(all[1]["email"], fixture.bob.as_str());
    for task in &all[2..4] {
        assert_eq!(task["type"], "task");
        assert_eq!(task["user_id"], bob_id.to_string());
    }
    assert_eq!(all[4]["type"], "sync_state");
    for change in &all[5..7] {
        assert_eq!(change["type"], "change");
        assert_eq!(change["user_id"], bob_id.to_string());
    }
    assert_eq!(
        all[7],
        serde_json::json!({"type": "end", "users": 1, "tasks": 2, "sync_states": 1, "changes": 2})
    );

    // A user without tasks, and one that does not exist.
    assert_eq!(lines(&export(&db, &["--user", &fixture.cy])).len(), 3);
    let line = failed(&run(&db, &["export", "--user", "nobody@example.com"]), 4);
    assert_eq!(line, "error: user not found: nobody@example.com");
}

#[test]
fn an_unknown_format_or_version_is_refused_before_anything_is_written() {
    let source = TestDb::new();
    fill(&mut source.conn());
    let text = export(&source, &[]);
    let body = text.split_once('\n').unwrap().1;
    let target = TestDb::new();
    let empty = rows(&mut target.conn());
    let url = target.url().expose();

    let v3 = format!("{{\"format\":\"todo-store\",\"version\":3,\"secrets\":false}}\n{body}");
    let line = failed(&run_at(url, &["import"], Some(&v3)), 3);
    assert!(
        line.contains("version 3 of the todo-store format")
            && line.contains("reads versions 1 to 2"),
        "{line}"
    );
    for (input, expected) in [
        (body.to_owned(), "not a todo-store export"),
        (
            format!("{{\"format\":\"other\",\"version\":1}}\n{body}"),
            "not a todo-store export",
        ),
        (String::new(), "empty: not a todo-store export"),
        (
            format!(
                "{{\"format\":\"todo-store\",\"version\":1,\"secrets\":false,\"extra\":1}}\n{body}"
            ),
            "header on line 1",
        ),
    ] {
        let line = failed(&run_at(url, &["import"], Some(&input)), 3);
        assert!(line.contains(expected), "{line}");
    }
    assert_eq!(
        rows(&mut target.conn()),
        empty,
        "a refused file wrote something"
    );
}

/// A header, one user, two of their tasks, the user's sync state and two
/// changes (the creates), and the end line (line 8), with `spoil` applied
/// to the text of line `bad` (1-based).
fn small_file(db: &TestDb, bad: usize, spoil: impl Fn(&str) -> String) -> String {
    let mut conn = db.conn();
    let user = conn
        .create_user(NewUser::new(unique_email("small")))
        .unwrap();
    let owner = conn.operator_owner(&user.email).unwrap();
    conn.create_task(&owner, NewTask::new("First")).unwrap();
    conn.create_task(&owner, NewTask::new("Second")).unwrap();
    let text = export(db, &[]);
    text.lines()
        .enumerate()
        .map(|(i, line)| match i + 1 == bad {
            true => spoil(line) + "\n",
            false => format!("{line}\n"),
        })
        .collect()
}

#[test]
fn a_bad_line_is_named_by_its_number_and_nothing_from_its_batch_on_is_written() {
    let target = TestDb::new();
    let url = target.url().expose();
    for (bad, spoil, expected) in [
        (
            3,
            Box::new(|line: &str| line.replacen("\"title\":", "\"title\"", 1))
                as Box<dyn Fn(&str) -> String>,
            "invalid line 3: expected `:` (column",
        ),
        (
            4,
            Box::new(|line: &str| line.replacen("\"title\":\"Second\"", "\"title\":\"  \"", 1)),
            "invalid title on line 4: must not be empty",
        ),
        (
            4,
            Box::new(|line: &str| line.replacen("\"priority\":3", "\"priority\":9", 1)),
            "invalid priority on line 4: must be between 1 and 5 (got 9)",
        ),
        (
            2,
            Box::new(|line: &str| line.replacen("\"type\":\"user\"", "\"type\":\"project\"", 1)),
            "invalid line 2: unknown variant `project`",
        ),
        (
            3,
            Box::new(|line: &str| {
                line.replacen("\"version\":1", "\"version\":1,\"colour\":\"red\"", 1)
            }),
            "invalid line 3: unknown field `colour`",
        ),
        (
            2,
            Box::new(|line: &str| line.replacen("\"type\":\"user\"", "\"type\":\"task\"", 1)),
            "invalid line 2: unknown field `email`",
        ),
        (
            8,
            Box::new(|line: &str| line.replacen("\"tasks\":2", "\"tasks\":3", 1)),
            "invalid end on line 8: says 1 users, 3 tasks, 1 sync states and 2 changes, \
             but the file has 1, 2, 1 and 2",
        ),
    ] {
        let source = TestDb::new();
        let file = small_file(&source, bad, spoil);
        // One row per line of the file, whatever its table.
        let count = |conn: &mut PgConnection| {
            rows(conn).lines().count() + history_rows(conn).lines().count()
        };
        let before = count(&mut target.conn());
        let run = run_at(url, &["import", "--batch-rows", "1"], Some(&file));
        let line = failed(&run, 3);
        assert!(line.contains(expected), "{line}");
        // Batches of one line: those before the bad line are committed.
        let written = count(&mut target.conn());
        assert_eq!(written - before, bad - 2, "{line}");
    }
}

#[test]
fn after_a_bad_line_the_fixed_file_imports_the_rest_and_skips_what_is_in() {
    let source = TestDb::new();
    let good = small_file(&source, 0, str::to_owned);
    let bad = good.replacen("\"title\":\"Second\"", "\"title\":\"\"", 1);
    let target = TestDb::new();
    let url = target.url().expose();
    let line = failed(
        &run_at(url, &["import", "--batch-rows", "2"], Some(&bad)),
        3,
    );
    assert!(line.contains("title on line 4"), "{line}");
    let run = run_at(url, &["--json", "import", "--batch-rows", "2"], Some(&good));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(counts(&report), (0, 1, 1, 1));
    assert_eq!(rows(&mut target.conn()), rows(&mut source.conn()));
}

#[test]
fn a_truncated_file_or_a_task_before_its_user_is_refused() {
    let source = TestDb::new();
    let good = small_file(&source, 0, str::to_owned);
    let target = TestDb::new();
    let url = target.url().expose();

    let cut: String = good
        .lines()
        .take(4)
        .map(|line| format!("{line}\n"))
        .collect();
    let line = failed(&run_at(url, &["import"], Some(&cut)), 3);
    assert!(
        line.contains("ends at line 4 without the end line") && line.contains("truncated"),
        "{line}"
    );
    let mut no_user: Vec<&str> = good.lines().collect();
    no_user.remove(1);
    let line = failed(&run_at(url, &["import"], Some(&no_user.join("\n"))), 3);
    assert!(
        line.contains("invalid user_id on line 2: no user line with this id comes before"),
        "{line}"
    );
    let trailing = format!("{good}{{}}\n");
    let line = failed(&run_at(url, &["import"], Some(&trailing)), 3);
    assert!(
        line.contains("on line 9: nothing may follow the end line"),
        "{line}"
    );
    // Nothing was written: the last (only) batch waits for the end line.
    assert_eq!(rows(&mut target.conn()), "");
}

#[test]
fn import_into_a_database_with_other_users_leaves_them_intact() {
    let source = TestDb::new();
    fill(&mut source.conn());
    let file = TempFile::new("others.jsonl");
    file.write(&export(&source, &["--include-secrets"]));

    let target = TestDb::new();
    let mut conn = target.conn();
    let theirs = fill(&mut conn);
    let before = rows(&mut conn);
    assert_eq!(counts(&import(&target, &file)), (3, 0, 5, 0));

    // Every row that was there is still there, unchanged, beside the new ones.
    let after = rows(&mut conn);
    let after_rows: Vec<&str> = after.lines().collect();
    assert!(before.lines().all(|row| after_rows.contains(&row)));
    assert_eq!(after_rows.len(), 2 * before.lines().count());
    let ada = conn.authenticate(&theirs.ada, &Password::new(PASSWORD).unwrap());
    assert!(ada.is_ok());
    assert_eq!(export(&target, &["--user", &theirs.bob]).lines().count(), 8);
}

#[test]
fn an_account_whose_email_another_account_has_stops_the_import_as_a_conflict() {
    let source = TestDb::new();
    let fixture = fill(&mut source.conn());
    let text = export(&source, &[]);
    let target = TestDb::new();
    target
        .conn()
        .create_user(NewUser::new(fixture.bob.to_uppercase()))
        .unwrap();
    let before = rows(&mut target.conn());
    let line = failed(&run_at(target.url().expose(), &["import"], Some(&text)), 5);
    assert!(
        line.contains("email address already in use")
            && line.contains(
                "the batch of lines 2 to 19 was not imported; the batches before it were;"
            ),
        "{line}"
    );
    assert_eq!(rows(&mut target.conn()), before);
}

#[test]
fn export_to_a_file_replaces_it_only_when_complete_and_stdout_gets_only_the_lines() {
    let db = TestDb::new();
    fill(&mut db.conn());
    let file = TempFile::new("replace.jsonl");
    file.write("old contents\n");
    let to_file = run(&db, &["export", "--output", file.path()]);
    assert_eq!(to_file.code, 0, "{}", to_file.stderr);
    assert!(
        to_file.stdout.starts_with("Exported 3 users and 5 tasks"),
        "{}",
        to_file.stdout
    );
    assert_eq!(file.read(), export(&db, &[]));
    assert!(!Path::new(&format!("{}.partial", file.path())).exists());

    // `--json` does not add a document to the lines on stdout.
    let to_stdout = run(&db, &["--json", "export"]);
    assert_eq!(to_stdout.stdout, file.read());

    // A directory that does not exist: nothing is created, exit 1.
    let missing = std::env::temp_dir().join("todo-store-no-such-dir/x.jsonl");
    let line = failed(
        &run(&db, &["export", "--output", missing.to_str().unwrap()]),
        1,
    );
    assert!(line.contains("cannot create"), "{line}");
}

#[test]
fn export_as_a_role_under_row_level_security_fails_instead_of_missing_tasks() {
    let db = TestDb::new();
    fill(&mut db.conn());
    let role = db.app_role();
    let run = run_at(role.url().expose(), &["export"], None);
    let line = failed(&run, 1);
    assert!(line.contains("row-level security"), "{line}");
}
