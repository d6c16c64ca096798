//! `todo-store-bench seed` and `todo-store-bench bench`, small but real: the
//! binary's COPY into a database of the test's own, and pgbench beside the
//! library.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

use diesel::{PgConnection, QueryableByName, RunQueryDsl, connection::SimpleConnection, sql_query};
use serde_json::Value;
use todo_store::{NewTask, NewUser, OperatorRepo, TaskRepo, UserRepo};
use todo_store_tests::TestDb;

/// Runs `todo-store-bench --database-url URL ARGS…` on `db`.
fn run(db: &TestDb, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_todo-store-bench"))
        .arg("--database-url")
        .arg(db.url().expose())
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Runs with `--json`, expects success, and returns the one JSON document.
fn json(db: &TestDb, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let run = run(db, &all);
    let (stdout, stderr) = (text(&run.stdout), text(&run.stderr));
    assert_eq!(run.status.code(), Some(0), "{args:?} failed: {stderr}");
    assert_eq!(stderr, "", "{args:?} wrote to stderr");
    serde_json::from_str(&stdout)
        .unwrap_or_else(|err| panic!("{args:?}: stdout is not one JSON document ({err}): {stdout}"))
}

/// Expects `run` to have failed with `code`, printing exactly one line on
/// stderr and nothing on stdout; returns that line.
fn failed(run: &Output, code: i32) -> String {
    let (stdout, stderr) = (text(&run.stdout), text(&run.stderr));
    assert_eq!(
        run.status.code(),
        Some(code),
        "stdout: {stdout} stderr: {stderr}"
    );
    assert_eq!(stdout, "", "a failure prints nothing on stdout");
    assert!(
        stderr.starts_with("error: ") && stderr.ends_with('\n'),
        "stderr: {stderr:?}"
    );
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr:?}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr:?}");
    stderr.trim_end().to_owned()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("output is UTF-8")
}

#[derive(QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    text: String,
}

/// Every seeded row of both tables, in a fixed order, as text.
fn seeded_rows(conn: &mut PgConnection) -> String {
    sql_query(
        "SELECT string_agg(row, E'\\n' ORDER BY row) AS text FROM (
             SELECT u::text AS row FROM users u WHERE email LIKE '%.todo-store.invalid'
             UNION ALL
             SELECT t::text FROM tasks t JOIN users u ON u.id = t.user_id
              WHERE u.email LIKE '%.todo-store.invalid'
         ) rows",
    )
    .get_result::<Text>(conn)
    .unwrap()
    .text
}

fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    sql_query(sql).get_result::<N>(conn).unwrap().n
}

fn int(value: &Value, key: &str) -> u64 {
    value[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} in {value}"))
}

const SMALL_SEED: [&str; 11] = [
    "seed",
    "--users",
    "5",
    "--tasks-per-user",
    "20",
    "--heavy-users",
    "1",
    "--heavy-tasks",
    "300",
    "--seed",
    "7",
];

#[test]
fn seed_adds_only_its_own_users_beside_real_ones() {
    let db = TestDb::new();
    let mut conn = db.conn();
    conn.create_user(NewUser::new("real@example.com")).unwrap();
    let real = conn.operator_owner("real@example.com").unwrap();
    let task = conn.create_task(&real, NewTask::new("Real work")).unwrap();

    let report = json(&db, &SMALL_SEED);
    assert_eq!(
        (int(&report, "users_loaded"), int(&report, "tasks_loaded")),
        (6, 400)
    );
    assert_eq!(int(&report, "users_present"), 0);
    assert!(report["rows_per_second"].as_f64().unwrap() > 0.0);

    assert_eq!(conn.get_task(&real, task.id).unwrap(), task);
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM users"), 7);
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM tasks"), 401);
    // The heavy user is the last one, with its 300 tasks.
    let heavy = conn
        .operator_owner("heavy5@seed7.todo-store.invalid")
        .unwrap();
    let all = todo_store::TaskFilter::default();
    assert_eq!(conn.count_tasks(&heavy, &all).unwrap(), 300);
}

#[test]
fn seed_raises_a_task_limit_its_largest_account_would_not_fit_under() {
    let db = TestDb::new();
    let mut conn = db.conn();
    // Room for the seed's 300-task heavy user, but not for a benchmark's
    // writes beside it.
    todo_store::limits::set_default_task_limit(&mut conn, 400).unwrap();
    let report = json(&db, &SMALL_SEED);
    let raised = &report["task_limit_raised"];
    assert_eq!(
        (raised[0].as_u64(), raised[1].as_u64()),
        (Some(400), Some(1_300))
    );
    assert_eq!(
        todo_store::limits::default_task_limit(&mut conn).unwrap(),
        1_300
    );
    // Run again: nothing to load, nothing to raise.
    let again = text(&run(&db, &SMALL_SEED).stdout);
    assert!(!again.contains("raised"), "{again}");
}

#[test]
fn the_same_seed_gives_the_same_rows_and_a_rerun_finishes_an_interrupted_load() {
    let (a, b) = (TestDb::new(), TestDb::new());
    json(&a, &SMALL_SEED);
    json(&b, &SMALL_SEED);
    let (mut conn_a, mut conn_b) = (a.conn(), b.conn());
    let rows = seeded_rows(&mut conn_a);
    assert!(rows.lines().count() == 406, "6 users and 400 tasks");
    assert_eq!(rows, seeded_rows(&mut conn_b));

    // A complete load: running it again adds nothing.
    let again = json(&a, &SMALL_SEED);
    assert_eq!(int(&again, "users_present"), 6);
    assert_eq!(int(&again, "tasks_loaded"), 0);
    assert_eq!(seeded_rows(&mut conn_a), rows);

    // An interrupted load holds the first users only (batches commit in
    // order): the rerun loads exactly the missing ones.
    conn_b
        .batch_execute(
            "DELETE FROM users WHERE email IN ('user4@seed7.todo-store.invalid',
                                               'heavy5@seed7.todo-store.invalid')",
        )
        .unwrap();
    let resumed = json(&b, &SMALL_SEED);
    assert_eq!(int(&resumed, "users_present"), 4);
    assert_eq!(
        (int(&resumed, "users_loaded"), int(&resumed, "tasks_loaded")),
        (2, 320)
    );
    assert_eq!(seeded_rows(&mut conn_b), rows);
}

#[test]
fn small_batches_give_the_same_data() {
    let (a, b) = (TestDb::new(), TestDb::new());
    json(&a, &SMALL_SEED);
    let mut args = SMALL_SEED.to_vec();
    args.extend(["--batch-rows", "1"]);
    json(&b, &args);
    assert_eq!(seeded_rows(&mut a.conn()), seeded_rows(&mut b.conn()));
}

#[test]
fn impossible_seeds_are_refused_before_anything_is_written() {
    let db = TestDb::new();
    for (args, field) in [
        (vec!["seed", "--users", "0"], "users"),
        (
            vec!["seed", "--users", "1", "--tasks-per-user", "100001"],
            "tasks_per_user",
        ),
        (
            vec![
                "seed",
                "--users",
                "1",
                "--heavy-users",
                "1",
                "--heavy-tasks",
                "999999",
            ],
            "heavy_tasks",
        ),
    ] {
        let line = failed(&run(&db, &args), 3);
        assert!(line.contains(field), "{line}");
    }
    assert_eq!(count(&mut db.conn(), "SELECT count(*) AS n FROM users"), 0);
}

#[test]
fn bench_measures_reads_beside_pgbench_and_leaves_the_data_as_it_found_it() {
    let db = TestDb::new();
    json(&db, &SMALL_SEED);
    let mut conn = db.conn();
    let before = seeded_rows(&mut conn);
    let shapes = [
        "list_title",
        "deep_page",
        "search",
        "create",
        "complete",
        "delete",
    ];
    let mut args = vec!["bench", "--duration", "1", "--clients", "2"];
    for shape in shapes {
        args.extend(["--shape", shape]);
    }
    let report = json(&db, &args);

    assert!(report.get("pgbench_error").is_none(), "{report}");
    let rows = report["shapes"].as_array().unwrap();
    assert_eq!(rows.len(), 2 * shapes.len(), "{report}");
    for row in rows {
        let shape = row["shape"].as_str().unwrap();
        let clients = row["clients"].as_u64().unwrap();
        assert!(
            shapes.contains(&shape) && [1, 2].contains(&clients),
            "{row}"
        );
        for key in ["p50_ms", "p95_ms", "p99_ms", "max_ms", "ops_per_s"] {
            assert!(row[key].as_f64().unwrap() > 0.0, "{key}: {row}");
        }
        let p = |key: &str| row[key].as_f64().unwrap();
        assert!(p("p50_ms") <= p("p95_ms") && p("p95_ms") <= p("p99_ms"));
        assert!(p("p99_ms") <= p("max_ms"), "{row}");
        let read = !["create", "complete", "delete"].contains(&shape);
        // pgbench replays the reads; its latencies are kept for one client.
        assert_eq!(row["pgbench_ops_per_s"].is_f64(), read, "{row}");
        assert_eq!(row["p95_ratio"].is_f64(), read && clients == 1, "{row}");
        assert_eq!(
            row["pgbench_p50_ms"].is_f64(),
            read && clients == 1,
            "{row}"
        );
    }
    // The writes worked on tasks of their own and deleted them all.
    assert_eq!(seeded_rows(&mut conn), before);
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM tasks"), 400);
}

#[test]
fn bench_needs_data_and_known_shapes() {
    let db = TestDb::new();
    let line = failed(&run(&db, &["bench", "--duration", "1"]), 3);
    assert!(line.contains("todo-store-bench seed"), "{line}");
    json(&db, &SMALL_SEED);
    let line = failed(&run(&db, &["bench", "--shape", "nope"]), 3);
    assert!(line.contains("unknown: nope"), "{line}");
}

#[test]
fn without_pgbench_the_library_is_still_measured() {
    let db = TestDb::new();
    json(&db, &SMALL_SEED);
    let report = json(
        &db,
        &[
            "bench",
            "--duration",
            "1",
            "--clients",
            "1",
            "--shape",
            "get",
            "--pgbench",
            "/nonexistent/pgbench",
        ],
    );
    let error = report["pgbench_error"].as_str().unwrap();
    assert!(error.contains("/nonexistent/pgbench"), "{error}");
    let row = &report["shapes"][0];
    assert_eq!(row["shape"], "get");
    assert!(row["ops_per_s"].as_f64().unwrap() > 0.0);
    assert!(row["pgbench_p50_ms"].is_null() && row["p50_ratio"].is_null());
}

/// What makes a database one "without history": its three history triggers
/// disabled, before it is seeded.
const DISABLE_HISTORY: &str = "ALTER TABLE tasks DISABLE TRIGGER tasks_history_insert,
    DISABLE TRIGGER tasks_history_update, DISABLE TRIGGER tasks_history_delete";

#[test]
fn bench_compares_the_writes_with_a_database_without_history() {
    let (with, without) = (TestDb::new(), TestDb::new());
    without.conn().batch_execute(DISABLE_HISTORY).unwrap();
    json(&with, &SMALL_SEED);
    json(&without, &SMALL_SEED);
    let history = "SELECT count(*) AS n FROM task_history";
    assert_eq!(
        count(&mut with.conn(), history),
        400,
        "seeding records history"
    );
    assert_eq!(count(&mut without.conn(), history), 0);
    let before = (
        seeded_rows(&mut with.conn()),
        seeded_rows(&mut without.conn()),
    );

    let report = json(
        &with,
        &[
            "bench",
            "--duration",
            "1",
            "--clients",
            "2",
            "--shape",
            "create",
            "--shape",
            "delete",
            "--without-history-url",
            without.url().expose(),
            "--rounds",
            "2",
        ],
    );
    let costs = report["history_cost"].as_array().unwrap();
    let rows: Vec<(&str, u64)> = costs
        .iter()
        .map(|row| {
            (
                row["shape"].as_str().unwrap(),
                row["clients"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [("create", 1), ("delete", 1), ("create", 2), ("delete", 2)]
    );
    for row in costs {
        assert_eq!(row["rounds"], 2, "{row}");
        for key in ["with_p95_ms", "without_p95_ms", "p50_ratio", "p95_ratio"] {
            assert!(row[key].as_f64().unwrap() > 0.0, "{key}: {row}");
        }
    }
    // The same rows, as the general comparison labelled by the history.
    let compared = &report["write_comparison"];
    assert_eq!(compared["main"]["label"], "with history");
    assert_eq!(compared["compared"]["label"], "without history");
    assert_eq!(compared["rows"].as_array().unwrap().len(), costs.len());
    assert_eq!(compared["rows"][0]["p95_ratio"], costs[0]["p95_ratio"]);
    // The main table's writes are the side with history.
    assert_eq!(report["shapes"].as_array().unwrap().len(), 4);
    // Only the database with history recorded the writes.
    assert!(count(&mut with.conn(), history) > 400);
    assert_eq!(count(&mut without.conn(), history), 0);
    assert_eq!(
        (
            seeded_rows(&mut with.conn()),
            seeded_rows(&mut without.conn())
        ),
        before,
        "both left as found"
    );
}

#[test]
fn bench_refuses_to_compare_databases_that_do_not_match() {
    let (with, other) = (TestDb::new(), TestDb::new());
    json(&with, &SMALL_SEED);
    json(&other, &SMALL_SEED);
    let args = |url: &str| {
        run(
            &with,
            &[
                "bench",
                "--duration",
                "1",
                "--shape",
                "create",
                "--without-history-url",
                url,
            ],
        )
    };
    // Its triggers still record history.
    let line = failed(&args(other.url().expose()), 3);
    assert!(
        line.contains("DISABLE TRIGGER tasks_history_update"),
        "{line}"
    );
    // Seeded otherwise.
    other.conn().batch_execute(DISABLE_HISTORY).unwrap();
    other
        .conn()
        .batch_execute("DELETE FROM users WHERE email LIKE 'user4@%'")
        .unwrap();
    let line = failed(&args(other.url().expose()), 3);
    assert!(line.contains("is not seeded like --database-url"), "{line}");
    // Nothing was left behind on either.
    assert_eq!(
        count(&mut with.conn(), "SELECT count(*) AS n FROM tasks"),
        400
    );
}

#[test]
fn bench_measures_the_change_feed_from_tokens_behind_and_cleans_up() {
    let db = TestDb::new();
    json(&db, &SMALL_SEED);
    let mut conn = db.conn();
    let before = seeded_rows(&mut conn);
    let report = json(
        &db,
        &[
            "bench",
            "--duration",
            "1",
            "--clients",
            "1",
            "--shape",
            "changes_since",
            "--changes-behind",
            "1,450",
        ],
    );
    assert_eq!(report["shapes"], serde_json::json!([]));
    let feed = report["changes_since"].as_array().unwrap();
    let positions: Vec<(u64, u64, u64)> = feed
        .iter()
        .map(|row| {
            (
                int(row, "behind"),
                int(row, "calls_per_sync"),
                int(row, "items_per_sync"),
            )
        })
        .collect();
    // 450 changes in pages of 200: three calls, every change a task.
    assert_eq!(positions, [(1, 1, 1), (450, 3, 450)]);
    for row in feed {
        // The heavy user (300 tasks), and the 450 the shape made there.
        assert_eq!(int(row, "owner_tasks"), 750, "{row}");
        assert_eq!(int(row, "limit"), 200, "{row}");
        assert!(int(row, "syncs") >= 1, "{row}");
        let p = |key: &str| row[key].as_f64().unwrap();
        assert!(p("call_p50_ms") > 0.0 && p("call_p50_ms") <= p("call_p95_ms"));
        assert!(p("sync_p50_ms") >= p("call_p50_ms"), "{row}");
    }
    // The tasks it made are gone again; their history stays.
    assert_eq!(seeded_rows(&mut conn), before);
    let line = failed(
        &run(
            &db,
            &["bench", "--shape", "changes_since", "--changes-behind", "0"],
        ),
        3,
    );
    assert!(line.contains("changes_behind"), "{line}");
}

#[test]
fn bench_measures_reads_for_light_and_heavy_users_side_by_side() {
    let db = TestDb::new();
    // 12 users: the 10 heaviest are the heavy ones, the first two light.
    let seed = [
        "seed",
        "--users",
        "2",
        "--tasks-per-user",
        "20",
        "--heavy-users",
        "10",
        "--heavy-tasks",
        "60",
        "--seed",
        "7",
    ];
    json(&db, &seed);
    let shapes = ["list_due", "deep_page", "search", "count"];
    let mut args = vec![
        "bench",
        "--duration",
        "1",
        "--clients",
        "2",
        "--heavy-vs-light",
        "--rounds",
        "2",
        "--pgbench",
        "/nonexistent/pgbench",
    ];
    for shape in shapes {
        args.extend(["--shape", shape]);
    }
    let report = json(&db, &args);
    let compared = &report["heavy_vs_light"];
    assert_eq!(compared["rounds"], 2, "{compared}");
    assert_eq!(compared["skipped"], serde_json::json!(["deep_page"]));
    let (light, heavy) = (&compared["light"], &compared["heavy"]);
    assert_eq!((int(light, "users"), int(light, "max_tasks")), (2, 20));
    assert_eq!((int(heavy, "users"), int(heavy, "min_tasks")), (10, 60));
    let rows: Vec<(&str, u64)> = compared["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            for key in [
                "light_p50_ms",
                "light_p95_ms",
                "heavy_p50_ms",
                "heavy_p95_ms",
            ] {
                assert!(row[key].as_f64().unwrap() > 0.0, "{key}: {row}");
            }
            let ratio =
                row["heavy_p95_ms"].as_f64().unwrap() / row["light_p95_ms"].as_f64().unwrap();
            assert!(
                (row["p95_ratio"].as_f64().unwrap() - ratio).abs() < 0.01,
                "{row}"
            );
            (
                row["shape"].as_str().unwrap(),
                row["clients"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("list_due", 1),
            ("search", 1),
            ("count", 1),
            ("list_due", 2),
            ("search", 2),
            ("count", 2)
        ]
    );
    // The main table still has every shape.
    assert_eq!(report["shapes"].as_array().unwrap().len(), 2 * shapes.len());
    assert!(report.get("write_comparison").is_none(), "{report}");

    // Without users besides the heavy ones there is nothing to compare.
    let only_heavy = TestDb::new();
    json(
        &only_heavy,
        &[
            "seed",
            "--users",
            "0",
            "--heavy-users",
            "3",
            "--heavy-tasks",
            "60",
        ],
    );
    let line = failed(
        &run(
            &only_heavy,
            &[
                "bench",
                "--duration",
                "1",
                "--heavy-vs-light",
                "--shape",
                "get",
            ],
        ),
        3,
    );
    assert!(line.contains("heavy_vs_light"), "{line}");
}

#[test]
fn bench_compares_the_writes_with_a_database_of_another_volume() {
    let (large, small) = (TestDb::new(), TestDb::new());
    json(&large, &SMALL_SEED);
    json(
        &small,
        &[
            "seed",
            "--users",
            "3",
            "--tasks-per-user",
            "10",
            "--seed",
            "9",
        ],
    );
    let before = (
        seeded_rows(&mut large.conn()),
        seeded_rows(&mut small.conn()),
    );
    let report = json(
        &large,
        &[
            "bench",
            "--duration",
            "1",
            "--clients",
            "1",
            "--shape",
            "create",
            "--shape",
            "update",
            "--shape",
            "delete",
            "--compare-url",
            small.url().expose(),
            "--compare-label",
            "small",
            "--main-label",
            "large",
            "--rounds",
            "2",
        ],
    );
    let compared = &report["write_comparison"];
    assert_eq!(compared["rounds"], 2);
    assert_eq!(
        compared["main"],
        serde_json::json!({"label": "large", "users": 6, "tasks": 400})
    );
    assert_eq!(
        compared["compared"],
        serde_json::json!({"label": "small", "users": 3, "tasks": 30})
    );
    let rows = compared["rows"].as_array().unwrap();
    let shapes: Vec<&str> = rows
        .iter()
        .map(|row| row["shape"].as_str().unwrap())
        .collect();
    assert_eq!(shapes, ["create", "update", "delete"]);
    for row in rows {
        for key in ["main_p95_ms", "compared_p95_ms", "p50_ratio", "p95_ratio"] {
            assert!(row[key].as_f64().unwrap() > 0.0, "{key}: {row}");
        }
    }
    // Only --without-history-url reports the history's cost.
    assert!(report.get("history_cost").is_none(), "{report}");
    // Both left as found, with no check of history triggers or sizes.
    assert_eq!(
        (
            seeded_rows(&mut large.conn()),
            seeded_rows(&mut small.conn())
        ),
        before
    );
}

/// The long flags (`--name`) `--help` shows for `args`.
fn help_flags(args: &[&str]) -> Vec<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_todo-store-bench"))
        .args(args)
        .arg("--help")
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(0));
    let mut flags: Vec<String> = text(&output.stdout)
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|word| word.starts_with("--") && word.len() > 2)
        .map(str::to_owned)
        .collect();
    flags.sort_unstable();
    flags.dedup();
    flags
}

#[test]
fn the_readme_lists_every_flag_of_the_tool() {
    let readme = include_str!("../../../README.md");
    let start = readme
        .find("```text\ntodo-store-bench ")
        .expect("the README's usage block");
    let block = &readme[start..];
    let block = &block[..block[3..].find("```").expect("the block's end")];
    for command in [&[][..], &["seed"], &["bench"]] {
        for flag in help_flags(command) {
            let listed = block
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .any(|word| word == flag);
            assert!(
                listed,
                "{flag} ({command:?}) is not in the README's usage block"
            );
        }
    }
}
