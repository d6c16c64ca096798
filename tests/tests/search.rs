//! Search through the owner's search keys gives exactly what PostgreSQL's
//! plain case-insensitive substring match gives: the same tasks, on random
//! titles and descriptions (mixed case, accents, `ß`, `İ`, Greek, CJK, an
//! emoji, LIKE's own `%`, `_` and `\`), for random searches of one to six
//! characters and for pieces of stored text in another letter case. The
//! library's search (candidates from the search keys, then ILIKE), run as
//! the application role, is compared with a bare `title ILIKE p OR
//! description ILIKE p` on the same rows, which the keys take no part in;
//! and the library must probe the candidates in the primary key for every
//! search that holds three word characters in a row.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use common::unique_email;
use diesel::{
    PgConnection, QueryableByName, RunQueryDsl,
    connection::SimpleConnection,
    sql_query,
    sql_types::{Text, Uuid},
};
use todo_store::{
    MAX_PAGE_SIZE, NewTask, Owner, TaskFilter, TaskId, TaskQuery, TaskRepo, explain::explain_list,
};
use todo_store_tests::{TestDb, rng, walk_tasks};

/// Characters the random texts are made of: ASCII letters in both cases,
/// letters whose case mapping is special, LIKE's wildcards and escape, and
/// characters that are not word characters to the search keys.
const ALPHABET: &[&str] = &[
    "a", "b", "c", "d", "e", "A", "B", "C", "D", "E", "é", "É", "ß", "ẞ", "İ", "ı", "i", "I", "σ",
    "Σ", "ς", "日", "本", "🙂", "%", "_", "\\", "'", " ", " ", "-", "1",
];

fn random_text(next: &mut impl FnMut(u64) -> u64, min: u64, max: u64) -> String {
    let len = min + next(max - min + 1);
    (0..len)
        .map(|_| ALPHABET[next(ALPHABET.len() as u64) as usize])
        .collect()
}

/// A valid title: trimmed, not empty.
fn random_title(next: &mut impl FnMut(u64) -> u64) -> String {
    let title = random_text(next, 3, 30);
    let trimmed = title.trim();
    if trimmed.is_empty() {
        "x".to_owned()
    } else {
        trimmed.to_owned()
    }
}

fn seed_tasks(db: &TestDb, owner: &Owner, seed: u64, n: usize) -> Vec<NewTask> {
    let mut next = rng(seed);
    let tasks: Vec<NewTask> = (0..n)
        .map(|_| {
            let task = NewTask::new(random_title(&mut next));
            match next(3) {
                0 => task,
                _ => task.description(random_text(&mut next, 0, 80)),
            }
        })
        .collect();
    db.conn().create_tasks(owner, tasks.clone()).unwrap();
    tasks
}

/// Searches: random strings, and pieces of stored text with their letter
/// case flipped (which a case-insensitive search must still find).
fn searches(stored: &[NewTask], seed: u64, n: usize) -> Vec<String> {
    let mut next = rng(seed);
    let mut all = Vec::new();
    while all.len() < n {
        let search = if next(2) == 0 {
            random_text(&mut next, 1, 6)
        } else {
            let task = &stored[next(stored.len() as u64) as usize];
            let text = match (&task.description, next(2)) {
                (Some(description), 0) => description.clone(),
                _ => task.title.clone(),
            };
            let chars: Vec<char> = text.chars().collect();
            let start = next(chars.len() as u64) as usize;
            let len = 1 + next(6) as usize;
            chars[start..(start + len).min(chars.len())]
                .iter()
                .map(|c| match next(2) {
                    0 => c.to_uppercase().collect::<String>(),
                    _ => c.to_lowercase().collect(),
                })
                .collect()
        };
        // The library refuses a search that is blank after trimming.
        if !search.trim().is_empty() {
            all.push(search);
        }
    }
    all
}

/// Every task the search finds, walking all pages.
fn found(conn: &mut PgConnection, owner: &Owner, search: &str) -> BTreeSet<TaskId> {
    let query = TaskQuery::new()
        .filter(TaskFilter::default().search(search))
        .limit(MAX_PAGE_SIZE);
    let ids: BTreeSet<TaskId> = walk_tasks(conn, owner, query)
        .into_iter()
        .map(|task| task.id)
        .collect();
    let count = conn
        .count_tasks(owner, &TaskFilter::default().search(search))
        .unwrap();
    assert_eq!(
        count,
        ids.len() as u64,
        "count and list disagree: {search:?}"
    );
    ids
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = Uuid)]
    id: TaskId,
}

/// What the bare ILIKE finds: the meaning the library's search must keep,
/// written out here (the search trimmed, LIKE's wildcards escaped), with no
/// search keys and no index.
fn plain_ilike(conn: &mut PgConnection, owner: &Owner, search: &str) -> BTreeSet<TaskId> {
    let mut pattern = String::from("%");
    for c in search.trim().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    let rows: Vec<Found> = sql_query(
        "SELECT id FROM tasks WHERE user_id = $1 AND (title ILIKE $2 OR description ILIKE $2)",
    )
    .bind::<Uuid, _>(owner.user_id())
    .bind::<Text, _>(pattern)
    .load(conn)
    .unwrap();
    rows.into_iter().map(|row| row.id).collect()
}

/// Whether the search holds three word characters in a row: then the
/// search keys have something to look up besides the owner. (With fewer,
/// e.g. `ab` or `%_`, it can only narrow by owner, and the search reads all
/// of the owner's tasks, as it would without the index.)
fn has_piece(search: &str) -> bool {
    let mut run = 0;
    for c in search.chars() {
        run = if c.is_alphanumeric() { run + 1 } else { 0 };
        if run == 3 {
            return true;
        }
    }
    false
}

#[test]
fn the_index_finds_exactly_what_the_substring_match_finds() {
    let db = TestDb::new();
    let owner = db.owner(&unique_email("searcher"));
    let other = db.owner(&unique_email("neighbour"));
    let stored = seed_tasks(&db, &owner, 7, 1_500);
    // Another user's tasks, with the same texts: never in the owner's results.
    db.conn()
        .create_tasks(&other, stored.iter().take(500).cloned().collect())
        .unwrap();
    db.conn()
        .batch_execute("VACUUM (ANALYZE) tasks, task_search_text")
        .unwrap();

    // The library as the application role, which row security applies to
    // (as it does to the tables' owner: `tasks` forces it), and the bare
    // ILIKE as the test's superuser, with no search keys involved.
    let app = db.app_role();
    let mut library = app.conn();
    let mut bare = db.conn();

    let mut through_keys = 0;
    let mut matched = 0;
    for search in searches(&stored, 11, 300) {
        let expected = plain_ilike(&mut bare, &owner, &search);
        let got = found(&mut library, &owner, &search);
        assert_eq!(got, expected, "search {search:?}");
        matched += usize::from(!got.is_empty());

        // Under row security too, the candidates' ids are probed in the
        // primary key: never a scan of the owner's tasks.
        if has_piece(&search) {
            let query = TaskQuery::new().filter(TaskFilter::default().search(&search));
            let plan = explain_list(&mut library, &owner, &query)
                .unwrap()
                .join("\n");
            let probes = plan
                .lines()
                .any(|line| line.contains("Index Cond: ((user_id = ") && line.contains("id = ANY"));
            assert!(
                probes && plan.contains("InitPlan"),
                "{search:?} does not probe the candidates:\n{plan}"
            );
            through_keys += 1;
        }
    }
    // The random searches did find things, and most went through the index.
    assert!(matched > 100, "only {matched} searches found anything");
    assert!(
        through_keys > 100,
        "only {through_keys} with a piece to look up"
    );
}

#[derive(QueryableByName)]
struct Stale {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Tasks whose copy of text for the search is missing or not their text
/// now, and copies with no task: both must be none.
fn stale_copies(conn: &mut PgConnection) -> i64 {
    sql_query(
        "SELECT count(*) AS n FROM tasks t
           FULL JOIN task_search_text k ON k.user_id = t.user_id AND k.task_id = t.id
          WHERE (k.user_id, k.title, k.description) IS DISTINCT FROM (t.user_id, t.title, t.description)",
    )
    .get_result::<Stale>(conn)
    .unwrap()
    .n
}

#[test]
fn the_search_text_follows_every_write_and_is_the_tables_owners_alone() {
    use todo_store::{TaskPatch, TaskStatus, VersionCheck};

    let db = TestDb::new();
    let owner = db.owner(&unique_email("keeper"));
    seed_tasks(&db, &owner, 21, 60);
    let mut conn = db.conn();
    let ids: Vec<TaskId> = walk_tasks(&mut conn, &owner, TaskQuery::new())
        .into_iter()
        .map(|task| task.id)
        .collect();
    let mut next = rng(22);
    for (i, id) in ids.iter().enumerate() {
        match i % 6 {
            0 => drop(
                conn.update_task(
                    &owner,
                    *id,
                    TaskPatch::default().title(random_title(&mut next)),
                    VersionCheck::Any,
                )
                .unwrap(),
            ),
            1 => drop(
                conn.update_task(
                    &owner,
                    *id,
                    TaskPatch::default().description(random_text(&mut next, 1, 40)),
                    VersionCheck::Any,
                )
                .unwrap(),
            ),
            2 => drop(
                conn.update_task(
                    &owner,
                    *id,
                    TaskPatch::default().clear_description(),
                    VersionCheck::Any,
                )
                .unwrap(),
            ),
            3 => drop(
                conn.set_task_status(&owner, *id, TaskStatus::Done, VersionCheck::Any)
                    .unwrap(),
            ),
            4 => conn.delete_task(&owner, *id, VersionCheck::Any).unwrap(),
            _ => {}
        }
    }
    assert_eq!(conn.delete_tasks(&owner, &ids[5..7]).unwrap(), 2);
    // Raw SQL of the tables' owner: one statement over many rows.
    conn.batch_execute(&format!(
        "UPDATE tasks SET title = title || ' again' WHERE user_id = '{}'",
        owner.user_id()
    ))
    .unwrap();
    assert_eq!(stale_copies(&mut conn), 0);
    conn.batch_execute("DELETE FROM tasks").unwrap();
    assert_eq!(stale_copies(&mut conn), 0);

    // The application role can neither read the copy nor run its keeper.
    let app = db.app_role();
    let mut app_conn = app.conn();
    for statement in [
        "SELECT count(*) FROM task_search_text",
        "DELETE FROM task_search_text",
        "SELECT todo_store_keep_search_text()",
    ] {
        let err = app_conn.batch_execute(statement).unwrap_err();
        assert!(
            err.to_string().contains("permission denied"),
            "{statement}: {err}"
        );
    }
}
