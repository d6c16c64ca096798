//! `task history`, `task changes` and `history prune`, run for real against a
//! database of their own per test.

use diesel::connection::SimpleConnection;
use serde_json::Value;
use todo_store_tests::TestDb;

mod common;

use common::{failed, json, run, str_field};

const ADA: &str = "ada@example.com";
const BOB: &str = "bob@example.com";

fn add_task(db: &TestDb, email: &str, title: &str, extra: &[&str]) -> String {
    let mut args = vec!["task", "add", "--user", email, title];
    args.extend_from_slice(extra);
    str_field(&json(db, &args), "id").to_owned()
}

fn history(db: &TestDb, email: &str, id: &str, extra: &[&str]) -> Value {
    let mut args = vec!["task", "history", "--user", email, id];
    args.extend_from_slice(extra);
    json(db, &args)
}

/// The user's current sync token, as text: the one line printed.
fn token(db: &TestDb, email: &str) -> String {
    let printed = run(db, &["task", "changes", "--user", email]);
    assert_eq!(printed.code, 0, "{}", printed.stderr);
    assert_eq!(printed.stdout.lines().count(), 1, "{}", printed.stdout);
    printed.stdout.trim_end().to_owned()
}

fn changes(db: &TestDb, email: &str, since: &str, extra: &[&str]) -> Value {
    let mut args = vec!["task", "changes", "--user", email, "--since", since];
    args.extend_from_slice(extra);
    json(db, &args)
}

fn kinds(page: &Value) -> Vec<&str> {
    page["changes"]
        .as_array()
        .expect("changes is an array")
        .iter()
        .map(|change| str_field(change, "kind"))
        .collect()
}

fn seqs(page: &Value) -> Vec<u64> {
    page["changes"]
        .as_array()
        .expect("changes is an array")
        .iter()
        .map(|change| change["seq"].as_u64().expect("seq is a number"))
        .collect()
}

fn ids(values: &Value) -> Vec<&str> {
    values
        .as_array()
        .expect("an array")
        .iter()
        .map(|value| {
            value
                .as_str()
                .or_else(|| value["id"].as_str())
                .expect("an id")
        })
        .collect()
}

#[test]
fn a_task_history_shows_every_change_newest_first_also_after_the_delete() {
    let db = TestDb::new();
    let ada = json(&db, &["user", "add", ADA]);
    let user = ["--user", ADA];
    let id = add_task(
        &db,
        ADA,
        "Write the report",
        &["--priority", "1", "--due", "2030-01-31T17:00:00Z"],
    );
    json(
        &db,
        &[
            "task",
            "edit",
            user[0],
            user[1],
            &id,
            "--title",
            "Write the Q3 report",
            "--clear-due",
        ],
    );
    json(&db, &["task", "done", user[0], user[1], &id]);
    json(&db, &["task", "undo", user[0], user[1], &id]);
    json(&db, &["task", "rm", user[0], user[1], &id]);

    let page = history(&db, ADA, &id, &[]);
    assert_eq!(
        kinds(&page),
        ["delete", "reopen", "complete", "update", "create"]
    );
    assert_eq!(seqs(&page), [5, 4, 3, 2, 1]);
    assert_eq!(page["next_before"], Value::Null);
    let update = &page["changes"][3];
    assert_eq!(update["version"], 2);
    assert_eq!(
        update["old"],
        serde_json::json!({"title": "Write the report", "due_at": "2030-01-31T17:00:00Z"})
    );
    assert_eq!(
        update["new"],
        serde_json::json!({"title": "Write the Q3 report", "due_at": null})
    );
    assert_eq!(
        update["actor"]["owner"], ada["id"],
        "written in ada's scope"
    );
    assert_eq!(page["changes"][4]["old"], serde_json::json!({}));
    assert_eq!(page["changes"][4]["new"]["priority"], 1);

    // Pages of two, following `next_before`.
    let first = history(&db, ADA, &id, &["--limit", "2"]);
    assert_eq!(seqs(&first), [5, 4]);
    assert_eq!(first["next_before"], 4);
    let second = history(&db, ADA, &id, &["--limit", "2", "--before", "4"]);
    assert_eq!(seqs(&second), [3, 2]);
    let last = history(&db, ADA, &id, &["--limit", "2", "--before", "2"]);
    assert_eq!(seqs(&last), [1]);
    assert_eq!(last["next_before"], Value::Null);

    // People get a table, one change a line, and the next page's flag.
    let text = run(
        &db,
        &["task", "history", user[0], user[1], &id, "--limit", "4"],
    );
    assert_eq!(text.code, 0, "{}", text.stderr);
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert!(lines[0].starts_with("SEQ  KIND"), "{}", text.stdout);
    assert_eq!(lines.len(), 6, "{}", text.stdout);
    assert!(
        lines[4].contains("title: \"Write the report\" → \"Write the Q3 report\"")
            && lines[4].contains("due_at: 2030-01-31T17:00:00Z → -"),
        "{}",
        text.stdout
    );
    assert_eq!(lines[5], "next page: --before 2");
}

#[test]
fn another_user_gets_not_found_for_a_task_history() {
    let db = TestDb::new();
    json(&db, &["user", "add", ADA]);
    json(&db, &["user", "add", BOB]);
    let id = add_task(&db, ADA, "Ada's secret", &[]);
    let line = failed(&run(&db, &["task", "history", "--user", BOB, &id]), 4);
    assert_eq!(line, "error: task not found");
    let missing = "01a2096d-0000-7000-8000-000000000000";
    let same = failed(&run(&db, &["task", "history", "--user", ADA, missing]), 4);
    assert_eq!(same, line, "exactly what an id that does not exist gives");
    assert_eq!(kinds(&history(&db, ADA, &id, &[])), ["create"]);
    let line = failed(
        &run(
            &db,
            &["task", "history", "--user", "nobody@example.com", &id],
        ),
        4,
    );
    assert_eq!(line, "error: user not found: nobody@example.com");
}

#[test]
fn the_change_feed_starts_from_a_token_and_pages_to_the_end() {
    let db = TestDb::new();
    json(&db, &["user", "add", ADA]);
    json(&db, &["user", "add", BOB]);
    let kept = add_task(&db, ADA, "Kept", &[]);
    let gone = add_task(&db, ADA, "Gone", &[]);

    // Without --since: the token alone, also as JSON.
    let start = token(&db, ADA);
    assert_eq!(
        json(&db, &["task", "changes", "--user", ADA]),
        serde_json::json!({ "next": start })
    );
    let nothing = changes(&db, ADA, &start, &[]);
    assert_eq!(
        nothing,
        serde_json::json!({"changed": [], "deleted": [], "next": start, "more": false})
    );

    json(&db, &["task", "done", "--user", ADA, &kept]);
    json(&db, &["task", "rm", "--user", ADA, &gone]);
    let added = add_task(&db, ADA, "Added", &[]);
    add_task(&db, BOB, "Bob's own", &[]);

    let all = changes(&db, ADA, &start, &[]);
    assert_eq!(ids(&all["changed"]), [kept.as_str(), added.as_str()]);
    assert_eq!(all["changed"][0]["completed"], true, "as the task is now");
    assert_eq!(ids(&all["deleted"]), [gone.as_str()]);
    assert_eq!(all["more"], false);
    assert_eq!(all["next"], token(&db, ADA), "the end of the feed");

    // One change at a time: every change once, then up to date.
    let mut seen = Vec::new();
    let mut since = start.clone();
    loop {
        let page = changes(&db, ADA, &since, &["--limit", "1"]);
        seen.extend(ids(&page["changed"]).into_iter().map(str::to_owned));
        seen.extend(ids(&page["deleted"]).into_iter().map(str::to_owned));
        since = str_field(&page, "next").to_owned();
        if page["more"] == false {
            break;
        }
    }
    assert_eq!(seen, [kept.as_str(), gone.as_str(), added.as_str()]);
    assert_eq!(since, str_field(&all, "next"));

    // People get the tasks as a table, the deleted ids, and the next flag.
    let text = run(&db, &["task", "changes", "--user", ADA, "--since", &start]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout.starts_with("Changed (2):\nID "),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains(&format!("Deleted (1):\n{gone}\n")),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.ends_with(&format!(
            "next: --since {} (up to date)\n",
            all["next"].as_str().expect("next")
        )),
        "{}",
        text.stdout
    );
    let paged = run(
        &db,
        &[
            "task", "changes", "--user", ADA, "--since", &start, "--limit", "1",
        ],
    );
    assert!(
        paged
            .stdout
            .contains("(more changes are waiting: ask again now)"),
        "{}",
        paged.stdout
    );
}

#[test]
fn an_edited_or_another_users_token_is_invalid_input() {
    let db = TestDb::new();
    json(&db, &["user", "add", ADA]);
    json(&db, &["user", "add", BOB]);
    add_task(&db, ADA, "Something", &[]);
    let token = token(&db, ADA);
    // A character of the change number: still well-formed, but the check
    // value no longer matches.
    let mut edited: Vec<char> = token.chars().collect();
    edited[10] = if edited[10] == 'A' { 'B' } else { 'A' };
    let edited: String = edited.into_iter().collect();

    for (email, since) in [
        (ADA, edited.as_str()),
        (BOB, token.as_str()),
        (ADA, "not-a-token"),
        (ADA, ""),
    ] {
        let line = failed(
            &run(&db, &["task", "changes", "--user", email, "--since", since]),
            3,
        );
        assert_eq!(
            line, "error: invalid token: is not a valid sync token",
            "{since:?}"
        );
    }
    let line = failed(
        &run(
            &db,
            &[
                "task", "changes", "--user", ADA, "--since", &token, "--limit", "0",
            ],
        ),
        3,
    );
    assert!(line.starts_with("error: invalid limit"), "{line}");
    // --limit only means something with --since.
    let usage = run(&db, &["task", "changes", "--user", ADA, "--limit", "5"]);
    assert_eq!(usage.code, 2, "{}", usage.stderr);
}

#[test]
fn a_token_from_before_pruned_history_needs_a_full_reload() {
    let db = TestDb::new();
    json(&db, &["user", "add", ADA]);
    json(&db, &["user", "add", BOB]);
    let id = add_task(&db, ADA, "Old news", &[]);
    let old_token = token(&db, ADA);
    json(
        &db,
        &["task", "edit", "--user", ADA, &id, "--title", "Older news"],
    );
    add_task(&db, BOB, "Bob's", &[]);
    // Ada's first two changes and Bob's one were made long ago.
    db.conn()
        .batch_execute(
            "UPDATE task_history SET changed_at = changed_at - interval '40 days'
              WHERE seq <= 2",
        )
        .expect("history can be backdated");
    let recent_token = token(&db, ADA);
    json(&db, &["task", "done", "--user", ADA, &id]);

    // Nothing is older than 60 days; 30 takes the three.
    assert_eq!(
        json(&db, &["history", "prune", "--older-than", "60"]),
        serde_json::json!({"changes": 0, "owners": 0, "older_than_days": 60})
    );
    let pruned = run(&db, &["history", "prune", "--older-than", "30"]);
    assert_eq!(pruned.code, 0, "{}", pruned.stderr);
    assert_eq!(
        pruned.stdout,
        "Pruned 3 change(s) of 2 user(s), recorded more than 30 day(s) ago.\n"
    );

    let line = failed(
        &run(
            &db,
            &["task", "changes", "--user", ADA, "--since", &old_token],
        ),
        5,
    );
    assert!(line.contains("read all tasks again"), "{line}");
    assert!(
        line.contains(&format!("task changes --user {ADA}")),
        "{line}"
    );
    // A token from after the pruned changes still works.
    let recent = changes(&db, ADA, &recent_token, &[]);
    assert_eq!(ids(&recent["changed"]), [id.as_str()]);
    // The task's history keeps its recent change only.
    assert_eq!(kinds(&history(&db, ADA, &id, &[])), ["complete"]);
    // The way back: a new token, from which the feed answers again.
    let fresh = token(&db, ADA);
    assert_eq!(changes(&db, ADA, &fresh, &[])["more"], false);
}

#[test]
fn prune_needs_a_whole_number_of_days() {
    let db = TestDb::new();
    let usage = run(&db, &["history", "prune"]);
    assert_eq!(usage.code, 2, "--older-than is required: {}", usage.stderr);
    // The longest age is the library's rule (100 years).
    for bad in ["-1", "ninety", "1.5", "36501"] {
        let line = failed(&run(&db, &["history", "prune", "--older-than", bad]), 3);
        assert!(
            line.starts_with("error: invalid older_than"),
            "{bad}: {line}"
        );
    }
    let help = run(&db, &["history", "prune", "--help"]);
    assert!(
        help.stdout.contains(&format!(
            "suggested retention is {}",
            todo_store::DEFAULT_HISTORY_RETENTION_DAYS
        )),
        "{}",
        help.stdout
    );
}
