//! `todo_store::backup`: a user's data (or everyone's), task history
//! included, exported and imported into another database through the
//! library alone, byte for byte; a restore that records no history of its
//! own and refuses to drop a record without a word; files of version 1.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{count_rows, unique_email};
use diesel::{QueryableByName, RunQueryDsl, sql_query, sql_types::Text};
use todo_store::{
    ChangeKind, ConflictKind, Error, HistoryQuery, NewTask, NewUser, OperatorRepo, Owner,
    TaskPatch, TaskRepo, UserRepo, VersionCheck,
    backup::{self, BackupError, BackupReader, ImportOptions, ImportSummary},
    bulk::{Accounts, ExportOptions, Secrets},
};
use todo_store_tests::TestDb;

/// A new account with three tasks, one of them done and described.
fn account_with_tasks(db: &TestDb, name: &str) -> Owner {
    let owner = db.owner(&unique_email(name));
    let mut conn = db.conn();
    conn.create_task(&owner, NewTask::new("Water the plants"))
        .unwrap();
    let done = conn
        .create_task(&owner, NewTask::new("File taxes").description("Form 2042"))
        .unwrap();
    conn.set_task_status(
        &owner,
        done.id,
        todo_store::TaskStatus::Done,
        VersionCheck::Any,
    )
    .unwrap();
    conn.create_task(
        &owner,
        NewTask::new("Call Ada").priority(todo_store::Priority::HIGHEST),
    )
    .unwrap();
    owner
}

fn export(db: &TestDb, options: &ExportOptions) -> String {
    let mut out = Vec::new();
    let written = backup::export(&mut db.conn(), options, &mut out, |_| {}).unwrap();
    assert_eq!(written.bytes, out.len() as u64);
    String::from_utf8(out).unwrap()
}

fn import(db: &TestDb, file: &str, options: &ImportOptions) -> Result<ImportSummary, BackupError> {
    let reader = BackupReader::new(file.as_bytes())?;
    let mut conns = [db.conn(), db.conn()];
    backup::import(&mut conns, reader, options, |_| {})
}

/// `file` with `line` (its text) added before the end line, whose count of
/// the line's type is raised to match. The line is then the last but one:
/// [`last_record_line`] of the result.
fn with_extra_line(file: &str, line: &str) -> String {
    let mut lines: Vec<String> = file.lines().map(str::to_owned).collect();
    let end = lines.pop().unwrap();
    let mut counts: serde_json::Value = serde_json::from_str(&end).unwrap();
    let added: serde_json::Value = serde_json::from_str(line).unwrap();
    let count = match added["type"].as_str().unwrap() {
        "user" => "users",
        "task" => "tasks",
        "sync_state" => "sync_states",
        "change" => "changes",
        other => panic!("no count for {other} lines"),
    };
    counts[count] = (counts[count].as_u64().unwrap() + 1).into();
    lines.push(line.to_owned());
    lines.push(counts.to_string());
    lines.join("\n") + "\n"
}

/// The number of the last line before the end line.
fn last_record_line(file: &str) -> u64 {
    file.lines().count() as u64 - 1
}

/// The lines of `file` of type `kind`, with their line numbers.
fn lines_of<'f>(file: &'f str, kind: &str) -> Vec<(u64, &'f str)> {
    let start = format!(r#"{{"type":"{kind}""#);
    (1..)
        .zip(file.lines())
        .filter(|(_, line)| line.starts_with(&start))
        .collect()
}

/// The task lines of `file`, with their line numbers.
fn task_lines(file: &str) -> Vec<(u64, &str)> {
    lines_of(file, "task")
}

/// The task lines of [`rows`]: the tasks of `db` (the history's lines
/// quote titles too).
fn stored_tasks(db: &TestDb) -> String {
    let rows = rows(db);
    let tasks: Vec<&str> = task_lines(&rows)
        .into_iter()
        .map(|(_, line)| line)
        .collect();
    tasks.join("\n")
}

/// What [`rows`] gives for a database without accounts.
const EMPTY: &str = "{\"format\":\"todo-store\",\"version\":2,\"secrets\":true}\n\
                     {\"type\":\"end\",\"users\":0,\"tasks\":0,\"sync_states\":0,\"changes\":0}\n";

/// Every account and task of `db`, password hashes included.
fn rows(db: &TestDb) -> String {
    export(db, &ExportOptions::default().secrets(Secrets::Include))
}

#[test]
fn one_users_export_imported_into_another_database_exports_to_the_same_bytes() {
    let source = TestDb::new();
    let ada = account_with_tasks(&source, "ada");
    account_with_tasks(&source, "bob");
    let options = ExportOptions::default().accounts(Accounts::One(ada.clone()));
    let file = export(&source, &options);
    // Header, user, three tasks, sync state, four changes (three creates
    // and a completion), end.
    assert_eq!(file.lines().count(), 1 + 1 + 3 + 1 + 4 + 1, "{file}");
    assert!(!file.contains("bob"), "{file}");
    assert_eq!(lines_of(&file, "change").len(), 4, "{file}");

    let target = TestDb::new();
    let summary = import(&target, &file, &ImportOptions::default()).unwrap();
    assert_eq!((summary.users_read, summary.tasks_read), (1, 3));
    assert_eq!(
        (
            summary.imported.users_inserted,
            summary.imported.tasks_inserted
        ),
        (1, 3)
    );
    let again = export(&target, &ExportOptions::default());
    assert_eq!(again, file);

    // Twice is the same as once.
    let summary = import(&target, &file, &ImportOptions::default().batch_rows(1)).unwrap();
    assert_eq!(
        (
            summary.imported.users_present,
            summary.imported.tasks_present
        ),
        (1, 3)
    );
    assert_eq!(export(&target, &ExportOptions::default()), file);
}

#[test]
fn a_whole_export_with_secrets_round_trips_byte_for_byte_in_small_batches() {
    let source = TestDb::new();
    for name in ["ada", "bob", "cyd"] {
        account_with_tasks(&source, name);
    }
    source
        .conn()
        .create_user(
            NewUser::new(unique_email("pw"))
                .password(todo_store::Password::new("correct horse battery").unwrap()),
        )
        .unwrap();
    let file = rows(&source);
    assert!(file.contains("$argon2id$"));

    let target = TestDb::new();
    let options = ImportOptions::default().batch_rows(2);
    let summary = import(&target, &file, &options).unwrap();
    assert_eq!(summary.secrets, Secrets::Include);
    // Four users, nine tasks, three sync states, twelve changes.
    assert_eq!((summary.sync_states_read, summary.changes_read), (3, 12));
    assert_eq!(summary.batches, (4 + 9 + 3 + 12_u64).div_ceil(2));
    assert_eq!(rows(&target), file);
}

#[test]
fn one_users_export_works_as_the_application_role_and_a_whole_one_does_not() {
    let db = TestDb::new();
    let ada = account_with_tasks(&db, "ada");
    account_with_tasks(&db, "bob");
    let app = db.app_role();
    let mut conn = app.conn();
    let mut out = Vec::new();
    let options = ExportOptions::default().accounts(Accounts::One(ada.clone()));
    let written = backup::export(&mut conn, &options, &mut out, |_| {}).unwrap();
    assert_eq!((written.users, written.tasks), (1, 3));
    // Their history too, which the role reads in the owner's scope.
    assert_eq!((written.sync_states, written.changes), (1, 4));
    assert_eq!(String::from_utf8(out).unwrap(), export(&db, &options));

    let mut out = Vec::new();
    let err = backup::export(&mut conn, &ExportOptions::default(), &mut out, |_| {})
        .expect_err("row-level security hides other users' tasks");
    assert!(
        matches!(err, BackupError::Store(Error::Database(_))),
        "{err:?}"
    );
    assert!(out.is_empty(), "a failed export wrote something");
}

#[test]
fn two_different_tasks_under_one_id_are_refused_naming_both_lines() {
    let source = TestDb::new();
    account_with_tasks(&source, "dup");
    let file = export(&source, &ExportOptions::default());
    let (first, line) = task_lines(&file)[0];
    let twin = line.replace("Water the plants", "Water the garden");
    let file = with_extra_line(&file, &twin);
    let twin_line = last_record_line(&file);
    let target = TestDb::new();

    let err = import(&target, &file, &ImportOptions::default()).unwrap_err();
    let BackupError::Batch {
        record_line, error, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*record_line, Some(twin_line));
    assert!(matches!(error, Error::Validation { .. }));
    let text = err.to_string();
    assert!(
        text.contains(&format!("task on line {twin_line}"))
            && text.contains(&format!("also on line {first}")),
        "{text}"
    );
    assert_eq!(rows(&target), EMPTY);
}

#[test]
fn one_user_id_with_two_emails_is_refused_naming_both_lines() {
    let source = TestDb::new();
    account_with_tasks(&source, "twice");
    let file = export(&source, &ExportOptions::default());
    let user = file.lines().nth(1).unwrap();
    let email = serde_json::from_str::<serde_json::Value>(user).unwrap()["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let twin = user.replace(&email, &unique_email("other"));
    // After the user's tasks: every task line still follows its user line.
    let file = with_extra_line(&file, &twin);
    let twin_line = last_record_line(&file);
    let target = TestDb::new();

    let err = import(&target, &file, &ImportOptions::default()).unwrap_err();
    assert!(
        matches!(err, BackupError::Line { line, .. } if line == twin_line),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains(&format!("user on line {twin_line}"))
            && err.to_string().contains("also on line 2"),
        "{err}"
    );
    assert_eq!(err.store_error().map(|_| ()), Some(()));
    assert_eq!(rows(&target), EMPTY);
}

#[test]
fn the_same_record_twice_is_imported_once_and_counted_as_already_present() {
    let source = TestDb::new();
    account_with_tasks(&source, "same");
    let clean = export(&source, &ExportOptions::default());
    let (_, task) = task_lines(&clean)[1];
    let user = clean.lines().nth(1).unwrap().to_owned();
    let file = with_extra_line(&with_extra_line(&clean, task), &user);
    let target = TestDb::new();

    let summary = import(&target, &file, &ImportOptions::default()).unwrap();
    assert_eq!((summary.users_read, summary.tasks_read), (2, 4));
    let imported = summary.imported;
    assert_eq!((imported.users_inserted, imported.users_present), (1, 1));
    assert_eq!((imported.tasks_inserted, imported.tasks_present), (3, 1));
    assert_eq!(export(&target, &ExportOptions::default()), clean);
}

#[test]
fn a_record_that_contradicts_the_stored_one_is_refused_and_its_batch_not_written() {
    let db = TestDb::new();
    let owner = account_with_tasks(&db, "stored");
    let file = export(&db, &ExportOptions::default());
    let (line, text) = task_lines(&file)[2];
    let id: uuid::Uuid = serde_json::from_str::<serde_json::Value>(text).unwrap()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // The task changes after the backup; restoring the backup must not
    // silently keep either version.
    let mut conn = db.conn();
    let task = conn
        .list_tasks(&owner, &Default::default())
        .unwrap()
        .items
        .into_iter()
        .find(|task| task.id.as_uuid() == id)
        .unwrap();
    conn.update_task(
        &owner,
        task.id,
        TaskPatch::default().title("Renamed"),
        VersionCheck::Any,
    )
    .unwrap();
    let before = rows(&db);

    let err = import(&db, &file, &ImportOptions::default()).unwrap_err();
    let BackupError::Batch {
        record_line, error, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*record_line, Some(line));
    assert_eq!(
        error,
        &Error::Conflict(ConflictKind::StoredDiffers {
            owner: owner.user_id(),
            task: Some(task.id)
        })
    );
    assert!(err.to_string().contains(&id.to_string()), "{err}");
    assert_eq!(rows(&db), before);
}

#[test]
fn a_contradiction_across_batches_is_refused_by_the_stored_id() {
    let source = TestDb::new();
    account_with_tasks(&source, "batches");
    let file = export(&source, &ExportOptions::default());
    let (_, line) = task_lines(&file)[0];
    let twin = line.replace("Water the plants", "Water the garden");
    let file = with_extra_line(&file, &twin);
    let twin_line = last_record_line(&file);
    let target = TestDb::new();

    // One line per batch on one connection: the first version is committed
    // before the second is read, so it is the stored row that the second
    // contradicts.
    let one_at_a_time = ImportOptions::default().batch_rows(1);
    let reader = BackupReader::new(file.as_bytes()).unwrap();
    let err = backup::import(&mut [target.conn()], reader, &one_at_a_time, |_| {}).unwrap_err();
    assert!(
        matches!(
            &err,
            BackupError::Batch {
                first_line,
                record_line: Some(record_line),
                error: Error::Conflict(ConflictKind::StoredDiffers { task: Some(_), .. }),
                ..
            } if *first_line == twin_line && *record_line == twin_line
        ),
        "{err:?}"
    );
    let stored = stored_tasks(&target);
    assert!(stored.contains("Water the plants") && !stored.contains("Water the garden"));

    // On two connections either version may be committed first; the other
    // is refused all the same.
    let target = TestDb::new();
    let err = import(&target, &file, &one_at_a_time).unwrap_err();
    let BackupError::Batch {
        record_line: Some(line),
        error: Error::Conflict(ConflictKind::StoredDiffers { .. }),
        ..
    } = err
    else {
        panic!("{err:?}")
    };
    let stored = stored_tasks(&target);
    let kept = match line {
        3 => "Water the garden",
        line if line == twin_line => "Water the plants",
        other => panic!("line {other} holds no version of the task"),
    };
    assert!(stored.contains(kept), "{stored}");
    assert_eq!(stored.matches("Water the").count(), 1, "{stored}");
}

#[test]
fn a_record_repeated_unchanged_is_measured_against_the_stored_one_not_against_itself() {
    let db = TestDb::new();
    let owner = account_with_tasks(&db, "repeated");
    let file = export(&db, &ExportOptions::default());
    let (line, text) = task_lines(&file)[0];
    let file = with_extra_line(&file, text);
    let mut conn = db.conn();
    let page = conn.list_tasks(&owner, &Default::default()).unwrap();
    for task in page.items {
        conn.update_task(
            &owner,
            task.id,
            TaskPatch::default().priority(todo_store::Priority::LOWEST),
            VersionCheck::Any,
        )
        .unwrap();
    }

    let err = import(&db, &file, &ImportOptions::default()).unwrap_err();
    assert!(
        matches!(
            &err,
            BackupError::Batch {
                record_line: Some(l),
                error: Error::Conflict(ConflictKind::StoredDiffers { .. }),
                ..
            } if *l == line
        ),
        "{err:?}"
    );
}

#[test]
fn a_stored_row_the_library_would_have_normalised_still_counts_as_already_present() {
    let db = TestDb::new();
    let owner = account_with_tasks(&db, "untrimmed");
    // Written past the library (e.g. through `schema`): a blank
    // description, which the library stores as none.
    diesel::sql_query("UPDATE tasks SET description = '   ' WHERE user_id = $1")
        .bind::<diesel::sql_types::Uuid, _>(owner.user_id().as_uuid())
        .execute(&mut db.conn())
        .unwrap();
    let file = export(&db, &ExportOptions::default());
    assert!(file.contains(r#""description":"   ""#), "{file}");

    let summary = import(&db, &file, &ImportOptions::default()).unwrap();
    assert_eq!(
        (
            summary.imported.tasks_inserted,
            summary.imported.tasks_present
        ),
        (0, 3)
    );
}

#[test]
fn a_user_line_without_a_hash_is_not_compared_on_the_stored_hash() {
    let db = TestDb::new();
    let password = todo_store::Password::new("correct horse battery").unwrap();
    db.conn()
        .create_user(NewUser::new(unique_email("hashed")).password(password))
        .unwrap();
    let without = export(&db, &ExportOptions::default());
    assert!(!without.contains("argon2"), "{without}");
    let with = rows(&db);

    let summary = import(&db, &without, &ImportOptions::default()).unwrap();
    assert_eq!(
        (
            summary.imported.users_inserted,
            summary.imported.users_present
        ),
        (0, 1)
    );
    // A file with secrets is compared on everything: after a password
    // change it contradicts the stored account.
    let other = todo_store::Password::new("another long password").unwrap();
    let line: serde_json::Value = serde_json::from_str(with.lines().nth(1).unwrap()).unwrap();
    let owner = db
        .conn()
        .operator_owner(line["email"].as_str().unwrap())
        .unwrap();
    db.conn().change_password(&owner, &other).unwrap();
    let err = import(&db, &with, &ImportOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            BackupError::Batch {
                error: Error::Conflict(ConflictKind::StoredDiffers { task: None, .. }),
                ..
            }
        ),
        "{err:?}"
    );
}

#[derive(QueryableByName)]
struct Dump {
    #[diesel(sql_type = Text)]
    text: String,
}

/// Both history tables as PostgreSQL prints them, in key order (the sync
/// state without its epoch, which a restore makes anew): compares databases
/// independently of the export.
fn history(db: &TestDb) -> String {
    sql_query(
        "SELECT concat_ws(E'\\n',
             (SELECT string_agg((s.user_id, s.last_seq)::text, E'\\n' ORDER BY s.user_id)
                FROM task_sync_state s),
             (SELECT string_agg(h::text, E'\\n' ORDER BY h.user_id, h.seq) FROM task_history h)
         ) AS text",
    )
    .get_result::<Dump>(&mut db.conn())
    .unwrap()
    .text
}

/// An account with history of every kind: three creates, a completion, then
/// (after the returned token was taken) a rename with a due date, a
/// deletion (whose history stays), and a change made past the library,
/// without an owner scope (as from `psql`).
fn account_with_history(db: &TestDb, name: &str) -> (Owner, todo_store::SyncToken) {
    let owner = account_with_tasks(db, name);
    let mut conn = db.conn();
    let token = conn.sync_token(&owner).unwrap();
    let tasks = conn.list_tasks(&owner, &Default::default()).unwrap().items;
    conn.update_task(
        &owner,
        tasks[0].id,
        TaskPatch::default()
            .title("Renamed")
            .due_at("2031-02-03T04:05:06.789012Z".parse().unwrap()),
        VersionCheck::Any,
    )
    .unwrap();
    conn.delete_task(&owner, tasks[1].id, VersionCheck::Any)
        .unwrap();
    sql_query("UPDATE tasks SET priority = 5 WHERE user_id = $1 AND id = $2")
        .bind::<diesel::sql_types::Uuid, _>(owner.user_id().as_uuid())
        .bind::<diesel::sql_types::Uuid, _>(tasks[2].id.as_uuid())
        .execute(&mut conn)
        .unwrap();
    (owner, token)
}

/// An account with tasks whose first two changes were pruned.
fn pruned_account(db: &TestDb, name: &str) -> Owner {
    let owner = account_with_tasks(db, name);
    let mut conn = db.conn();
    sql_query(
        "UPDATE task_history SET changed_at = changed_at - interval '1 year'
          WHERE user_id = $1 AND seq <= 2",
    )
    .bind::<diesel::sql_types::Uuid, _>(owner.user_id().as_uuid())
    .execute(&mut conn)
    .unwrap();
    let pruned = todo_store::prune_history(&mut conn, Duration::from_secs(30 * 86_400)).unwrap();
    assert_eq!((pruned.changes, pruned.owners), (2, 1));
    owner
}

/// The sync state line of `owner` in `file`, as JSON.
fn sync_state_of(file: &str, owner: &Owner) -> serde_json::Value {
    let id = owner.user_id().to_string();
    lines_of(file, "sync_state")
        .into_iter()
        .map(|(_, line)| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|line| line["user_id"] == id.as_str())
        .unwrap()
}

/// `file` with line `number` replaced by what `edit` makes of its JSON.
fn edit_line(file: &str, number: u64, edit: impl Fn(&mut serde_json::Value)) -> String {
    (1..)
        .zip(file.lines())
        .map(|(n, line)| match n == number {
            true => {
                let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
                edit(&mut value);
                value.to_string() + "\n"
            }
            false => format!("{line}\n"),
        })
        .collect()
}

#[test]
fn history_round_trips_byte_for_byte_with_a_pruned_user_and_a_deleted_task() {
    let source = TestDb::new();
    let (ada, token) = account_with_history(&source, "ada");
    let bob = pruned_account(&source, "bob");
    account_with_tasks(&source, "cyd");
    let file = rows(&source);

    // Ada: seven changes, one of a task that is gone, one without an owner
    // scope; Bob: his history from number 3 on.
    assert_eq!(sync_state_of(&file, &ada)["last_seq"].as_u64(), Some(7));
    assert_eq!(sync_state_of(&file, &bob)["last_seq"].as_u64(), Some(4));
    let changes = lines_of(&file, "change");
    assert_eq!(changes.len(), 7 + 2 + 4, "{file}");
    assert!(
        changes
            .iter()
            .any(|(_, line)| line.contains(r#""kind":"delete""#))
    );
    assert!(
        changes
            .iter()
            .any(|(_, line)| line.contains(r#""actor_user_id":null"#))
    );
    // The sections follow each other: tasks, sync states, changes, end.
    let last_task = task_lines(&file).last().unwrap().0;
    let first_state = lines_of(&file, "sync_state")[0].0;
    assert!(last_task < first_state && first_state < changes[0].0);

    let target = TestDb::new();
    let summary = import(&target, &file, &ImportOptions::default()).unwrap();
    assert_eq!((summary.sync_states_read, summary.changes_read), (3, 13));
    assert_eq!(
        (
            summary.imported.changes_inserted,
            summary.imported.changes_present
        ),
        (13, 0)
    );
    assert_eq!(rows(&target), file);
    assert_eq!(history(&target), history(&source));

    // The same one line per batch, two batches at a time.
    let small = TestDb::new();
    import(&small, &file, &ImportOptions::default().batch_rows(1)).unwrap();
    assert_eq!(rows(&small), file);
    assert_eq!(history(&small), history(&source));

    // A device of Ada's with a token of the source database is told to
    // read everything again (the restore is a new numbering: its tokens
    // cannot be trusted against it); from a fresh token it follows the
    // feed. The deleted task's history reads the same.
    let (mut from, mut to) = (source.conn(), target.conn());
    let changes = from.changes_since(&ada, &token, 100).unwrap();
    assert_eq!(changes.deleted.len(), 1);
    assert_eq!(
        to.changes_since(&ada, &token, 100),
        Err(todo_store::Error::ResyncRequired)
    );
    let fresh = to.sync_token(&ada).unwrap();
    assert!(
        to.changes_since(&ada, &fresh, 100)
            .unwrap()
            .changed
            .is_empty()
    );
    let deleted = changes.deleted[0];
    assert_eq!(
        to.task_history(&ada, deleted, &HistoryQuery::new())
            .unwrap(),
        from.task_history(&ada, deleted, &HistoryQuery::new())
            .unwrap()
    );
}

#[test]
fn an_import_records_no_history_of_its_own() {
    let source = TestDb::new();
    let (ada, _) = account_with_history(&source, "ada");
    pruned_account(&source, "bob");
    let file = rows(&source);
    let target = TestDb::new();
    let mut conn = target.conn();

    import(&target, &file, &ImportOptions::default()).unwrap();
    // Only the file's rows: the tasks inserted are not recorded as created.
    let in_file = |kind| lines_of(&file, kind).len() as i64;
    assert_eq!(count_rows(&mut conn, "task_history"), in_file("change"));
    assert_eq!(
        count_rows(&mut conn, "task_sync_state"),
        in_file("sync_state")
    );

    // Ada's next change continues her sequence where the file left it.
    let task = conn
        .create_task(&ada, NewTask::new("After the restore"))
        .unwrap();
    let page = conn
        .task_history(&ada, task.id, &HistoryQuery::new())
        .unwrap();
    let last_seq = sync_state_of(&file, &ada)["last_seq"].as_u64().unwrap();
    assert_eq!(page.changes.len(), 1);
    assert_eq!(
        (page.changes[0].seq, page.changes[0].kind),
        (last_seq + 1, ChangeKind::Create)
    );
}

#[test]
fn importing_a_file_with_history_again_changes_nothing_and_lowers_no_sync_state() {
    let source = TestDb::new();
    let (ada, _) = account_with_history(&source, "ada");
    pruned_account(&source, "bob");
    let file = rows(&source);
    let target = TestDb::new();
    import(&target, &file, &ImportOptions::default()).unwrap();
    let restored = history(&target);

    for batch_rows in [20_000, 3] {
        let again = import(
            &target,
            &file,
            &ImportOptions::default().batch_rows(batch_rows),
        )
        .unwrap();
        let imported = again.imported;
        assert_eq!(
            (imported.changes_inserted, imported.changes_present),
            (0, again.changes_read)
        );
        assert_eq!((imported.users_inserted, imported.tasks_inserted), (0, 0));
        assert_eq!(history(&target), restored);
        assert_eq!(rows(&target), file);
    }

    // Ada changes a task after the restore: her sequence has moved on, and
    // the file's older state of it does not move it back.
    target
        .conn()
        .create_task(&ada, NewTask::new("After the restore"))
        .unwrap();
    let moved_on = history(&target);
    import(&target, &file, &ImportOptions::default()).unwrap();
    assert_eq!(history(&target), moved_on);
    let ada_state = sync_state_of(&rows(&target), &ada);
    assert_eq!(ada_state["last_seq"].as_u64(), Some(8));
}

#[test]
fn a_change_that_contradicts_the_stored_history_is_refused_naming_its_line() {
    let db = TestDb::new();
    account_with_history(&db, "ada");
    let file = export(&db, &ExportOptions::default());
    let (line, text) = lines_of(&file, "change")[1];
    let backdate = |change: &mut serde_json::Value| {
        change["changed_at"] = "2001-01-01T00:00:00.000000Z".into();
    };
    let edited = edit_line(&file, line, backdate);
    let before = (rows(&db), history(&db));

    let err = import(&db, &edited, &ImportOptions::default()).unwrap_err();
    let BackupError::Batch {
        record_line, error, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*record_line, Some(line));
    assert!(
        matches!(error, Error::Validation { field, .. } if *field == format!("change on line {line}")),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("already stored with other values"),
        "{err}"
    );
    assert_eq!((rows(&db), history(&db)), before);

    // The same change twice in one file, with other values: the file
    // contradicts itself.
    let mut twin: serde_json::Value = serde_json::from_str(text).unwrap();
    backdate(&mut twin);
    let file = with_extra_line(&file, &twin.to_string());
    let twin_line = last_record_line(&file);
    let target = TestDb::new();
    let err = import(&target, &file, &ImportOptions::default()).unwrap_err();
    let BackupError::Batch {
        record_line: Some(record_line),
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!([line, twin_line].contains(record_line), "{err}");
    assert!(
        err.to_string()
            .contains("is given twice, with other values"),
        "{err}"
    );
    assert_eq!(rows(&target), EMPTY);
}

/// A backup of version 1: one account and one task, no history.
const VERSION_1: &str = r#"{"format":"todo-store","version":1,"secrets":false}
{"type":"user","id":"0192f0a0-0000-7000-8000-000000000001","email":"ada@example.com","display_name":"Ada","time_zone":null,"auth_subject":null,"created_at":"2030-01-01T00:00:00.000000Z","updated_at":"2030-01-01T00:00:00.000000Z"}
{"type":"task","user_id":"0192f0a0-0000-7000-8000-000000000001","id":"0192f0a0-0000-7000-8000-000000000002","title":"Water the plants","description":null,"priority":3,"due_at":null,"completed_at":null,"version":4,"created_at":"2030-01-01T00:00:00.000000Z","updated_at":"2030-01-02T00:00:00.000000Z"}
{"type":"end","users":1,"tasks":1}
"#;

#[test]
fn a_version_1_file_still_imports_without_history() {
    let db = TestDb::new();
    let reader = BackupReader::new(VERSION_1.as_bytes()).unwrap();
    assert_eq!(reader.version(), 1);
    let summary = import(&db, VERSION_1, &ImportOptions::default()).unwrap();
    assert_eq!(
        (
            summary.imported.users_inserted,
            summary.imported.tasks_inserted,
            summary.changes_read
        ),
        (1, 1, 0)
    );
    let mut conn = db.conn();
    assert_eq!(count_rows(&mut conn, "task_history"), 0);
    assert_eq!(count_rows(&mut conn, "task_sync_state"), 0);

    // Exported again, it is the same data in version 2 (still no history).
    let v2 = VERSION_1
        .replace(r#""version":1,"#, r#""version":2,"#)
        .replace(
            r#"{"type":"end","users":1,"tasks":1}"#,
            r#"{"type":"end","users":1,"tasks":1,"sync_states":0,"changes":0}"#,
        );
    assert_eq!(export(&db, &ExportOptions::default()), v2);
    let again = import(&db, VERSION_1, &ImportOptions::default()).unwrap();
    assert_eq!(
        (again.imported.users_present, again.imported.tasks_present),
        (1, 1)
    );

    // The owner's sequence starts with their next change.
    let owner = conn.operator_owner("ada@example.com").unwrap();
    let task = conn.list_tasks(&owner, &Default::default()).unwrap().items[0].clone();
    conn.update_task(
        &owner,
        task.id,
        TaskPatch::default().title("Water"),
        VersionCheck::Exactly(4),
    )
    .unwrap();
    let page = conn
        .task_history(&owner, task.id, &HistoryQuery::new())
        .unwrap();
    assert_eq!(
        (
            page.changes.len(),
            page.changes[0].seq,
            page.changes[0].version
        ),
        (1, 1, 5)
    );

    // History lines, or the end line of version 2, have no place in it.
    let empty = TestDb::new();
    let history_line =
        r#"{"type":"sync_state","user_id":"0192f0a0-0000-7000-8000-000000000001","last_seq":1}"#;
    let with_history = VERSION_1.replace(
        "{\"type\":\"end\"",
        &format!("{history_line}\n{{\"type\":\"end\""),
    );
    let err = import(&empty, &with_history, &ImportOptions::default()).unwrap_err();
    assert!(matches!(err, BackupError::Line { line: 4, .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("a version 1 file has no sync_state lines"),
        "{err}"
    );
    let v2_end = VERSION_1.replace(
        r#"{"type":"end","users":1,"tasks":1}"#,
        r#"{"type":"end","users":1,"tasks":1,"sync_states":0,"changes":0}"#,
    );
    let err = import(&empty, &v2_end, &ImportOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("counts users and tasks only"),
        "{err}"
    );
    assert_eq!(rows(&empty), EMPTY);
}
