//! Input validation through the library: each bad input gives
//! `Error::Validation` naming the right field, and the database is unchanged.

#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;

use chrono::DateTime;
use todo_store::{
    Cursor, Error, MAX_DESCRIPTION_CHARS, MAX_PASSWORD_BYTES, MAX_SEARCH_CHARS, MAX_TITLE_CHARS,
    MIN_PASSWORD_CHARS, NewProfile, NewTask, NewUser, OnMissingSubject, OperatorRepo, Password,
    Priority, SortKey, SortOrder, TaskFilter, TaskPatch, TaskQuery, TaskRepo, TaskSort, UserPatch,
    UserRepo, VersionCheck,
};
use todo_store_tests::TestDb;

use common::{Repo, assert_validation, base64url, count_rows, dump_db, new_user};

/// Titles the library must refuse: blank, too long, or not a single line.
fn bad_titles() -> Vec<String> {
    vec![
        String::new(),
        " ".into(),
        " \t\n\r ".into(),
        "x".repeat(MAX_TITLE_CHARS + 1),
        format!("  {}  ", "é".repeat(MAX_TITLE_CHARS + 1)),
        "first line\nsecond line".into(),
        "carriage\rreturn".into(),
        "nul\0inside".into(),
        "\0".into(),
        "bell\u{7}".into(),
    ]
}

/// Titles at the limit: 500 characters, of 1 to 4 bytes each.
fn longest_titles() -> Vec<String> {
    vec![
        "x".repeat(MAX_TITLE_CHARS),
        "é".repeat(MAX_TITLE_CHARS),
        "日".repeat(MAX_TITLE_CHARS),
        "🦀".repeat(MAX_TITLE_CHARS),
    ]
}

on_both_repos!(
    bad_titles_are_rejected_on_create,
    bad_titles_are_rejected_on_update,
    titles_of_500_characters_are_accepted_whatever_their_byte_length,
    a_bad_element_in_bulk_creation_is_named_by_index_and_nothing_is_created,
    descriptions_over_10000_characters_are_rejected,
    descriptions_of_10000_characters_are_accepted,
    a_nul_in_the_description_is_rejected,
    a_zero_page_size_is_rejected,
    an_empty_priority_range_is_rejected,
    an_empty_due_range_is_rejected,
    an_overlong_or_blank_search_is_rejected,
);

fn bad_titles_are_rejected_on_create(repo: &mut impl Repo, db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    repo.create_task(&owner, NewTask::new("existing")).unwrap();
    let before = dump_db(&mut db.conn());
    for title in bad_titles() {
        assert_validation(
            repo.create_task(&owner, NewTask::new(title.clone())),
            "title",
        );
        assert_validation(
            repo.create_tasks(&owner, vec![NewTask::new(title)]),
            "tasks[0].title",
        );
    }
    assert_eq!(dump_db(&mut db.conn()), before);
}

fn bad_titles_are_rejected_on_update(repo: &mut impl Repo, db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let task = repo.create_task(&owner, NewTask::new("existing")).unwrap();
    let before = dump_db(&mut db.conn());
    for title in bad_titles() {
        for check in [VersionCheck::Any, VersionCheck::Exactly(1)] {
            assert_validation(
                repo.update_task(
                    &owner,
                    task.id,
                    TaskPatch::default().title(title.clone()),
                    check,
                ),
                "title",
            );
        }
    }
    assert_eq!(repo.get_task(&owner, task.id).unwrap(), task);
    assert_eq!(dump_db(&mut db.conn()), before);
}

fn titles_of_500_characters_are_accepted_whatever_their_byte_length(
    repo: &mut impl Repo,
    _db: &TestDb,
) {
    let (_, owner) = new_user(repo, "ada");
    for title in longest_titles() {
        let task = repo
            .create_task(&owner, NewTask::new(format!(" \t{title}\n ")))
            .unwrap();
        assert_eq!(task.title, title);
        assert_eq!(task.title.chars().count(), MAX_TITLE_CHARS);
        assert_eq!(repo.get_task(&owner, task.id).unwrap().title, title);
        let updated = repo
            .update_task(
                &owner,
                task.id,
                TaskPatch::default().title("short"),
                VersionCheck::Any,
            )
            .unwrap();
        assert_eq!(updated.title, "short");
        let updated = repo
            .update_task(
                &owner,
                task.id,
                TaskPatch::default().title(title.clone()),
                VersionCheck::Any,
            )
            .unwrap();
        assert_eq!(updated.title, title);
    }
}

fn a_bad_element_in_bulk_creation_is_named_by_index_and_nothing_is_created(
    repo: &mut impl Repo,
    db: &TestDb,
) {
    let (_, owner) = new_user(repo, "ada");
    let before = dump_db(&mut db.conn());
    let mut batch: Vec<_> = (0..5).map(|i| NewTask::new(format!("ok {i}"))).collect();
    batch[3].title = "   ".into();
    assert_validation(repo.create_tasks(&owner, batch), "tasks[3].title");

    let mut batch: Vec<_> = (0..5).map(|i| NewTask::new(format!("ok {i}"))).collect();
    batch[1] = NewTask::new("fine").description("x".repeat(MAX_DESCRIPTION_CHARS + 1));
    assert_validation(repo.create_tasks(&owner, batch), "tasks[1].description");
    assert_eq!(dump_db(&mut db.conn()), before);
}

fn descriptions_over_10000_characters_are_rejected(repo: &mut impl Repo, db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let task = repo.create_task(&owner, NewTask::new("t")).unwrap();
    let before = dump_db(&mut db.conn());
    for description in [
        "x".repeat(MAX_DESCRIPTION_CHARS + 1),
        "é".repeat(MAX_DESCRIPTION_CHARS + 1),
        format!("{}\n", "x".repeat(MAX_DESCRIPTION_CHARS)),
    ] {
        assert_validation(
            repo.create_task(&owner, NewTask::new("t").description(description.clone())),
            "description",
        );
        assert_validation(
            repo.update_task(
                &owner,
                task.id,
                TaskPatch::default().description(description),
                VersionCheck::Any,
            ),
            "description",
        );
    }
    assert_eq!(dump_db(&mut db.conn()), before);
}

fn descriptions_of_10000_characters_are_accepted(repo: &mut impl Repo, _db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    for description in [
        "x".repeat(MAX_DESCRIPTION_CHARS),
        "日".repeat(MAX_DESCRIPTION_CHARS),
    ] {
        let task = repo
            .create_task(&owner, NewTask::new("t").description(description.clone()))
            .unwrap();
        assert_eq!(task.description.as_ref(), Some(&description));
        let cleared = repo
            .update_task(
                &owner,
                task.id,
                TaskPatch::default().clear_description(),
                VersionCheck::Any,
            )
            .unwrap();
        assert_eq!(cleared.description, None);
        let set = repo
            .update_task(
                &owner,
                task.id,
                TaskPatch::default().description(description.clone()),
                VersionCheck::Any,
            )
            .unwrap();
        assert_eq!(set.description, Some(description));
    }
}

fn a_nul_in_the_description_is_rejected(repo: &mut impl Repo, db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let task = repo.create_task(&owner, NewTask::new("t")).unwrap();
    let before = dump_db(&mut db.conn());
    for description in ["\0", "before\0after", "trailing\0"] {
        assert_validation(
            repo.create_task(&owner, NewTask::new("t").description(description)),
            "description",
        );
        assert_validation(
            repo.update_task(
                &owner,
                task.id,
                TaskPatch::default().description(description),
                VersionCheck::Any,
            ),
            "description",
        );
    }
    assert_eq!(dump_db(&mut db.conn()), before);
}

fn a_zero_page_size_is_rejected(repo: &mut impl Repo, _db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    repo.create_tasks(&owner, vec![NewTask::new("a"), NewTask::new("b")])
        .unwrap();
    assert_validation(repo.list_tasks(&owner, &TaskQuery::new().limit(0)), "limit");
    let cursor = repo
        .list_tasks(&owner, &TaskQuery::new().limit(1))
        .unwrap()
        .next_cursor
        .unwrap();
    assert_validation(
        repo.list_tasks(&owner, &TaskQuery::new().limit(0).after(cursor)),
        "limit",
    );
    assert_eq!(
        repo.list_tasks(&owner, &TaskQuery::new().limit(1))
            .unwrap()
            .items
            .len(),
        1
    );
}

fn an_empty_priority_range_is_rejected(repo: &mut impl Repo, _db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    repo.create_task(&owner, NewTask::new("a")).unwrap();
    let p = |n| Priority::new(n).unwrap();
    for (min, max) in [(2, 1), (5, 1), (4, 3)] {
        let filter = TaskFilter::default()
            .priority_at_least(p(min))
            .priority_at_most(p(max));
        assert_validation(repo.count_tasks(&owner, &filter), "priority");
        assert_validation(
            repo.list_tasks(&owner, &TaskQuery::new().filter(filter)),
            "priority",
        );
    }
    // A range of one priority is not empty.
    let filter = TaskFilter::default()
        .priority_at_least(Priority::NORMAL)
        .priority_at_most(Priority::NORMAL);
    assert_eq!(repo.count_tasks(&owner, &filter).unwrap(), 1);
}

fn an_empty_due_range_is_rejected(repo: &mut impl Repo, _db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    let t = |s| DateTime::from_timestamp(s, 0).unwrap();
    repo.create_task(&owner, NewTask::new("a").due_at(t(1_000)))
        .unwrap();
    for (from, before) in [(1_000, 1_000), (2_000, 1_000)] {
        let filter = TaskFilter::default().due_between(Some(t(from)), Some(t(before)));
        assert_validation(repo.count_tasks(&owner, &filter), "due");
        assert_validation(
            repo.list_tasks(&owner, &TaskQuery::new().filter(filter)),
            "due",
        );
    }
    let filter = TaskFilter::default().due_between(Some(t(1_000)), Some(t(1_001)));
    assert_eq!(repo.count_tasks(&owner, &filter).unwrap(), 1);
}

fn an_overlong_or_blank_search_is_rejected(repo: &mut impl Repo, _db: &TestDb) {
    let (_, owner) = new_user(repo, "ada");
    repo.create_task(&owner, NewTask::new("a")).unwrap();
    for search in [
        "x".repeat(MAX_SEARCH_CHARS + 1),
        "é".repeat(MAX_SEARCH_CHARS + 1),
    ] {
        let filter = TaskFilter::default().search(search);
        assert_validation(repo.count_tasks(&owner, &filter), "search");
        assert_validation(
            repo.list_tasks(&owner, &TaskQuery::new().filter(filter)),
            "search",
        );
    }
    let longest = TaskFilter::default().search("x".repeat(MAX_SEARCH_CHARS));
    assert_eq!(repo.count_tasks(&owner, &longest).unwrap(), 0);
    // Current behaviour: a blank search is an error rather than "no filter".
    assert_validation(
        repo.count_tasks(&owner, &TaskFilter::default().search("  ")),
        "search",
    );
}

#[test]
fn priorities_outside_1_to_5_cannot_be_built() {
    for bad in [0, 6, -1, i16::MIN, i16::MAX] {
        assert_validation(Priority::new(bad), "priority");
        assert_validation(Priority::try_from(bad), "priority");
    }
    for good in 1..=5 {
        assert_eq!(Priority::new(good).unwrap().get(), good);
    }
    // Nor can they arrive through JSON.
    for bad in [0, 6] {
        let json = format!(r#"{{"title": "t", "priority": {bad}}}"#);
        assert!(serde_json::from_str::<NewTask>(&json).is_err(), "{json}");
        let json = format!(r#"{{"priority": {bad}}}"#);
        assert!(serde_json::from_str::<TaskPatch>(&json).is_err(), "{json}");
    }
    let ok: NewTask = serde_json::from_str(r#"{"title": "t", "priority": 5}"#).unwrap();
    assert_eq!(ok.priority, Some(Priority::LOWEST));
}

// ---------------------------------------------------------------------------
// Cursors.
// ---------------------------------------------------------------------------

/// A hand-made cursor: version, sort key code, order code, id, key bytes.
fn crafted(version: u8, key: u8, order: u8, value: &[u8]) -> String {
    let mut bytes = vec![version, key, order];
    bytes.extend_from_slice(uuid::Uuid::now_v7().as_bytes());
    bytes.extend_from_slice(value);
    base64url(&bytes)
}

#[test]
fn malformed_cursors_are_validation_errors_on_cursor() {
    let micros = 1_790_000_000_000_000_i64.to_be_bytes();
    let mut bad: Vec<String> = vec![
        String::new(),
        "x".into(),
        "not a cursor!".into(),
        "====".into(),
        "A".repeat(5000),
        crafted(2, 1, 1, &micros),                 // unknown format version
        crafted(0, 1, 1, &micros),                 // unknown format version
        crafted(1, 0, 1, &micros),                 // unknown sort key
        crafted(1, 6, 1, &micros),                 // unknown sort key
        crafted(1, 1, 0, &micros),                 // unknown order
        crafted(1, 1, 3, &micros),                 // unknown order
        crafted(1, 1, 1, &micros[..7]),            // truncated time
        crafted(1, 2, 1, &[0; 9]),                 // over-long time
        crafted(1, 1, 1, &i64::MAX.to_be_bytes()), // time out of range
        crafted(1, 3, 1, &[0]),                    // priority 0
        crafted(1, 3, 1, &[6]),                    // priority 6
        crafted(1, 3, 1, &[]),                     // no priority
        crafted(1, 3, 1, &[3, 3]),                 // two priorities
        crafted(1, 4, 1, &[2]),                    // unknown due tag
        crafted(1, 4, 1, &[0, 0]),                 // "no due date" with a value
        crafted(1, 4, 2, &[1, 0, 0]),              // truncated due time
        crafted(1, 5, 1, &[]),                     // empty title
        crafted(1, 5, 1, &[0xff, 0xfe]),           // not UTF-8
        crafted(1, 5, 1, b"a\0b"),                 // NUL in title
    ];
    // A header cut short.
    bad.push(base64url(&[1, 1, 1, 0, 0, 0]));
    for text in &bad {
        assert_validation(text.parse::<Cursor>(), "cursor");
        let json = serde_json::to_string(text).unwrap();
        assert!(serde_json::from_str::<Cursor>(&json).is_err(), "{text:?}");
    }
    // The same layout with valid values is accepted.
    for good in [
        crafted(1, 1, 1, &micros),
        crafted(1, 2, 2, &micros),
        crafted(1, 3, 1, &[5]),
        crafted(1, 4, 1, &[0]),
        crafted(1, 4, 2, &[[1].as_slice(), &micros].concat()),
        crafted(1, 5, 2, "Ünïcode".as_bytes()),
    ] {
        let cursor: Cursor = good.parse().unwrap();
        assert_eq!(cursor.as_str(), good);
    }
}

#[test]
fn a_hand_made_cursor_positions_the_list() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    let p = |n| Priority::new(n).unwrap();
    let tasks = store
        .create_tasks(
            &owner,
            (1..=5)
                .map(|n| NewTask::new(format!("p{n}")).priority(p(n)))
                .collect(),
        )
        .unwrap();
    // Position "(priority 3, the largest id)": everything after it has a
    // priority above 3.
    let mut value = vec![1, 3, 1];
    value.extend_from_slice(&[0xff; 16]);
    value.push(3);
    let cursor: Cursor = base64url(&value).parse().unwrap();
    let page = store
        .list_tasks(
            &owner,
            &TaskQuery::new()
                .sort(TaskSort::new(SortKey::Priority, SortOrder::Asc))
                .after(cursor),
        )
        .unwrap();
    assert_eq!(page.items, tasks[3..].to_vec());
}

// ---------------------------------------------------------------------------
// Users.
// ---------------------------------------------------------------------------

const BAD_EMAILS: &[&str] = &[
    "",
    "   ",
    "ada",
    "@example.com",
    "ada@",
    "a b@example.com",
    "ada@exa mple.com",
    "a@b@c",
    "ada@.com",
    "ada@example.",
    "ada@example.com\n.evil",
    "ad\0a@example.com",
];

fn long_email(len: usize) -> String {
    let domain = "@example.com";
    format!("{}{domain}", "a".repeat(len - domain.len()))
}

#[test]
fn invalid_emails_are_rejected_everywhere_and_nothing_is_created() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    let before = dump_db(&mut db.conn());
    let too_long = long_email(255);
    for &email in BAD_EMAILS.iter().chain([too_long.as_str()].iter()) {
        assert_validation(store.create_user(NewUser::new(email)), "email");
        assert_validation(store.find_user_by_email(email), "email");
        assert_validation(store.operator_owner(email), "email");
        assert_validation(
            store.update_profile(
                &owner,
                UserPatch {
                    email: Some(email.to_owned()),
                    ..UserPatch::default()
                },
            ),
            "email",
        );
        assert_validation(
            store.owner_for_subject("sub-1", OnMissingSubject::Create(NewProfile::new(email))),
            "email",
        );
    }
    assert_eq!(dump_db(&mut db.conn()), before);
}

#[test]
fn unusual_but_plausible_emails_are_accepted() {
    let db = TestDb::new();
    let mut store = db.store();
    for (given, stored) in [
        ("a@b", "a@b"),
        (
            "  Ada.Lovelace+todo@Example.COM  ",
            "Ada.Lovelace+todo@Example.COM",
        ),
        ("jösé@exämple.com", "jösé@exämple.com"),
    ] {
        let user = store.create_user(NewUser::new(given)).unwrap();
        assert_eq!(user.email, stored);
    }
    let longest = long_email(254);
    assert_eq!(
        store
            .create_user(NewUser::new(longest.clone()))
            .unwrap()
            .email,
        longest
    );
    assert_eq!(count_rows(&mut db.conn(), "users"), 4);
}

#[test]
fn passwords_empty_too_long_or_with_nul_are_rejected() {
    let long = [
        "x".repeat(MAX_PASSWORD_BYTES + 1),
        // 513 characters, 1026 bytes: the upper bound is in bytes.
        "é".repeat(MAX_PASSWORD_BYTES / 2 + 1),
    ];
    assert_validation(Password::new(""), "password");
    for bad in &long {
        assert_validation(Password::new(bad.clone()), "password");
    }
    assert_validation(Password::new("password\0nul"), "password");
    for good in [
        "x".repeat(MIN_PASSWORD_CHARS - 1),
        "x".repeat(MIN_PASSWORD_CHARS),
        "é".repeat(MIN_PASSWORD_CHARS),
        "x".repeat(MAX_PASSWORD_BYTES),
        "é".repeat(MAX_PASSWORD_BYTES / 2),
        "        ".into(),
    ] {
        assert!(Password::new(good).is_ok());
    }
}

#[test]
fn a_new_password_shorter_than_the_minimum_is_rejected_and_changes_nothing() {
    let db = TestDb::new();
    let mut store = db.store();
    let short = [
        "x".repeat(MIN_PASSWORD_CHARS - 1),
        // Seven characters, fourteen bytes: length is counted in characters.
        "é".repeat(MIN_PASSWORD_CHARS - 1),
    ];
    let (_, owner) = common::new_user(&mut store, "ada");
    let before = dump_db(&mut db.conn());
    for bad in &short {
        let password = Password::new(bad.clone()).unwrap();
        assert_validation(
            store.create_user(NewUser::new(common::unique_email("bob")).password(password.clone())),
            "password",
        );
        assert_validation(store.change_password(&owner, &password), "password");
    }
    assert_eq!(dump_db(&mut db.conn()), before);
}

#[test]
fn invalid_profile_fields_are_rejected_and_nothing_is_created() {
    let db = TestDb::new();
    let mut store = db.store();
    let before = dump_db(&mut db.conn());
    let cases = [
        (
            NewUser::new(common::unique_email("a")).display_name(""),
            "display_name",
        ),
        (
            NewUser::new(common::unique_email("a")).display_name("x".repeat(101)),
            "display_name",
        ),
        (
            NewUser::new(common::unique_email("a")).display_name("two\nlines"),
            "display_name",
        ),
        (
            NewUser::new(common::unique_email("a")).time_zone(" "),
            "time_zone",
        ),
        (
            NewUser::new(common::unique_email("a")).time_zone("x".repeat(65)),
            "time_zone",
        ),
        (
            NewUser::new(common::unique_email("a")).auth_subject(""),
            "auth_subject",
        ),
        (
            NewUser::new(common::unique_email("a")).auth_subject("x".repeat(256)),
            "auth_subject",
        ),
    ];
    for (new, field) in cases {
        assert_validation(store.create_user(new), field);
    }
    assert_eq!(dump_db(&mut db.conn()), before);

    // The limits themselves are accepted.
    let user = store
        .create_user(
            NewUser::new(common::unique_email("a"))
                .display_name("x".repeat(100))
                .time_zone("x".repeat(64))
                .auth_subject("x".repeat(255)),
        )
        .unwrap();
    assert_eq!(user.display_name.map(|n| n.len()), Some(100));
}

#[test]
fn invalid_profile_updates_are_rejected_and_change_nothing() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    store
        .update_profile(
            &owner,
            UserPatch {
                display_name: Some(Some("Ada".into())),
                ..UserPatch::default()
            },
        )
        .unwrap();
    let before = dump_db(&mut db.conn());
    let patches = [
        (
            UserPatch {
                display_name: Some(Some(String::new())),
                ..UserPatch::default()
            },
            "display_name",
        ),
        (
            UserPatch {
                display_name: Some(Some("x".repeat(101))),
                ..UserPatch::default()
            },
            "display_name",
        ),
        (
            UserPatch {
                time_zone: Some(Some("x".repeat(65))),
                ..UserPatch::default()
            },
            "time_zone",
        ),
        (
            UserPatch {
                email: Some("nope".into()),
                display_name: Some(None),
                ..UserPatch::default()
            },
            "email",
        ),
    ];
    for (patch, field) in patches {
        assert_validation(store.update_profile(&owner, patch), field);
    }
    assert_eq!(dump_db(&mut db.conn()), before);
}

#[test]
fn a_blank_auth_subject_is_rejected() {
    let db = TestDb::new();
    let mut store = db.store();
    let before = dump_db(&mut db.conn());
    for subject in ["", "   ", "sub\nject"] {
        assert_validation(
            store.owner_for_subject(subject, OnMissingSubject::Reject),
            "auth_subject",
        );
        assert_validation(
            store.owner_for_subject(
                subject,
                OnMissingSubject::Create(NewProfile::new(common::unique_email("s"))),
            ),
            "auth_subject",
        );
    }
    assert_eq!(dump_db(&mut db.conn()), before);
}

#[test]
fn validation_errors_name_the_field_in_their_message() {
    let err = Priority::new(9).unwrap_err();
    assert!(err.to_string().starts_with("invalid priority"), "{err}");
    let err = Password::new("secret\0").unwrap_err();
    assert!(err.to_string().starts_with("invalid password"), "{err}");
    assert!(!err.to_string().contains("secret"), "{err}");
    assert!(
        !Error::Validation {
            field: "x".into(),
            reason: "y".into()
        }
        .is_retryable()
    );
}

#[test]
fn times_outside_years_1_to_9999_are_rejected_and_change_nothing() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    let task = store.create_task(&owner, NewTask::new("kept")).unwrap();
    let far = DateTime::from_timestamp(400_000_000_000, 0).unwrap(); // year ~14,645
    let before = dump_db(&mut db.conn());
    assert_validation(
        store.create_task(&owner, NewTask::new("x").due_at(far)),
        "due_at",
    );
    assert_validation(
        store.update_task(
            &owner,
            task.id,
            TaskPatch::default().due_at(far),
            VersionCheck::Any,
        ),
        "due_at",
    );
    for (filter, field) in [
        (
            TaskFilter::default().due_between(Some(far), None),
            "due_from",
        ),
        (
            TaskFilter::default().due_between(None, Some(far)),
            "due_before",
        ),
        (TaskFilter::default().updated_since(far), "updated_since"),
    ] {
        assert_validation(
            store.list_tasks(&owner, &TaskQuery::new().filter(filter.clone())),
            field,
        );
        assert_validation(store.count_tasks(&owner, &filter), field);
    }
    assert_eq!(dump_db(&mut db.conn()), before);
}
