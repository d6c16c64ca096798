//! `todo_store::backup`: a user's data (or everyone's) exported and imported
//! into another database through the library alone, byte for byte, and a
//! restore that refuses to drop a record without a word.

#![allow(clippy::unwrap_used)]

mod common;

use common::unique_email;
use diesel::RunQueryDsl;
use todo_store::{
    ConflictKind, Error, NewTask, NewUser, OperatorRepo, Owner, TaskPatch, TaskRepo, UserRepo,
    VersionCheck,
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

/// `file` with `line` (its text) added before the end line, whose counts
/// are raised to match.
fn with_extra_line(file: &str, line: &str, users: u64, tasks: u64) -> String {
    let mut lines: Vec<String> = file.lines().map(str::to_owned).collect();
    let end = lines.pop().unwrap();
    let counts: serde_json::Value = serde_json::from_str(&end).unwrap();
    lines.push(line.to_owned());
    lines.push(format!(
        r#"{{"type":"end","users":{},"tasks":{}}}"#,
        counts["users"].as_u64().unwrap() + users,
        counts["tasks"].as_u64().unwrap() + tasks
    ));
    lines.join("\n") + "\n"
}

/// The task lines of `file`, with their line numbers.
fn task_lines(file: &str) -> Vec<(u64, &str)> {
    (1..)
        .zip(file.lines())
        .filter(|(_, line)| line.starts_with(r#"{"type":"task""#))
        .collect()
}

/// What [`rows`] gives for a database without accounts.
const EMPTY: &str = "{\"format\":\"todo-store\",\"version\":1,\"secrets\":true}\n\
                     {\"type\":\"end\",\"users\":0,\"tasks\":0}\n";

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
    assert_eq!(file.lines().count(), 1 + 1 + 3 + 1, "{file}");
    assert!(!file.contains("bob"), "{file}");

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
    assert_eq!(summary.batches, (4 + 9_u64).div_ceil(2));
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
    let file = with_extra_line(&file, &twin, 0, 1);
    let target = TestDb::new();

    let err = import(&target, &file, &ImportOptions::default()).unwrap_err();
    let BackupError::Batch {
        record_line, error, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*record_line, Some(6));
    assert!(matches!(error, Error::Validation { .. }));
    let text = err.to_string();
    assert!(
        text.contains("task on line 6") && text.contains(&format!("also on line {first}")),
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
    let file = with_extra_line(&file, &twin, 1, 0);
    let target = TestDb::new();

    let err = import(&target, &file, &ImportOptions::default()).unwrap_err();
    assert!(matches!(err, BackupError::Line { line: 6, .. }), "{err:?}");
    assert!(
        err.to_string().contains("user on line 6") && err.to_string().contains("also on line 2"),
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
    let file = with_extra_line(&with_extra_line(&clean, task, 0, 1), &user, 1, 0);
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
    let file = with_extra_line(&file, &twin, 0, 1);
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
                first_line: 6,
                record_line: Some(6),
                error: Error::Conflict(ConflictKind::StoredDiffers { task: Some(_), .. }),
                ..
            }
        ),
        "{err:?}"
    );
    let stored = rows(&target);
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
    let stored = rows(&target);
    let kept = match line {
        3 => "Water the garden",
        6 => "Water the plants",
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
    let file = with_extra_line(&file, text, 0, 1);
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
