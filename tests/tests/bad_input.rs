//! Bad input never hurts: property tests over every input type and the
//! cursor. Whatever arrives (arbitrary Unicode, NUL bytes, control
//! characters, megabyte strings, boundary numbers, tampered or truncated
//! cursors), the answer is success or a typed error, never a panic and never
//! a raw database error, and a failed call changes nothing.

#![allow(clippy::unwrap_used)]

mod common;

use std::cell::RefCell;

use chrono::{DateTime, Utc};
use common::{base64url, dump_db, new_user};
use diesel::PgConnection;
use proptest::{prelude::*, test_runner::Config};
use todo_store::{
    Cursor, Error, NewTask, NewUser, Owner, Priority, SortKey, SortOrder, TaskFilter, TaskId,
    TaskPatch, TaskQuery, TaskRepo, TaskSort, UserPatch, UserRepo, VersionCheck,
};
use todo_store_tests::TestDb;

/// Cases per property: each runs against a real database.
const CASES: u32 = 64;

/// Text that tends to break things: any Unicode, control characters and NUL,
/// whitespace only, and (rarely) a megabyte.
fn nasty_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        2 => "[\\x00-\\x1f\\x7f \\t\\r\\n]{0,8}",
        2 => "\\PC{0,20}\\x00\\PC{0,20}",
        1 => Just(String::new()),
        1 => Just("x".repeat(1_000_000)),
        1 => (0usize..700).prop_map(|n| "é".repeat(n)),
        1 => "\\PC{1,40}",
    ]
}

/// Any instant PostgreSQL or chrono might object to, and ordinary ones.
fn any_time() -> impl Strategy<Value = DateTime<Utc>> {
    prop_oneof![
        (-400_000_000_000i64..400_000_000_000)
            .prop_map(|s| DateTime::from_timestamp(s, 0).unwrap()),
        Just(DateTime::<Utc>::MIN_UTC),
        Just(DateTime::<Utc>::MAX_UTC),
        (0i64..4_000_000_000, 0u32..1_000_000_000)
            .prop_map(|(s, nanos)| DateTime::from_timestamp(s, nanos).unwrap()),
    ]
}

/// No id, or one of a few, so that cases repeat ids (idempotent creates,
/// conflicts) across the world's life.
fn any_client_id() -> impl Strategy<Value = Option<TaskId>> {
    proptest::option::of((0u128..4).prop_map(|n| TaskId::from_uuid(uuid::Uuid::from_u128(n + 1))))
}

/// A priority can only hold 1 to 5 (see `priorities_are_one_to_five`).
fn any_priority() -> impl Strategy<Value = Option<Priority>> {
    proptest::option::of((1i16..=5).prop_map(|n| Priority::new(n).unwrap()))
}

fn new_task() -> impl Strategy<Value = NewTask> {
    (
        nasty_text(),
        proptest::option::of(nasty_text()),
        any_priority(),
        proptest::option::of(any_time()),
        any_client_id(),
    )
        .prop_map(|(title, description, priority, due_at, id)| {
            let mut task = NewTask::new(title);
            task.description = description;
            task.priority = priority;
            task.due_at = due_at;
            task.id = id;
            task
        })
}

fn patch() -> impl Strategy<Value = TaskPatch> {
    (
        proptest::option::of(nasty_text()),
        proptest::option::of(proptest::option::of(nasty_text())),
        any_priority(),
        proptest::option::of(proptest::option::of(any_time())),
    )
        .prop_map(|(title, description, priority, due_at)| TaskPatch {
            title,
            description,
            priority,
            due_at,
        })
}

/// What a bad call may answer: anything typed, never a raw database error.
fn typed<T: std::fmt::Debug>(result: &Result<T, Error>) -> Result<(), TestCaseError> {
    match result {
        Err(Error::Database(message)) => Err(TestCaseError::fail(format!(
            "a raw database error for bad input: {message}"
        ))),
        Err(Error::Unavailable(message)) => Err(TestCaseError::fail(format!(
            "the connection did not survive: {message}"
        ))),
        _ => Ok(()),
    }
}

/// One database for all cases of a property (each property runs on a
/// thread of its own), with one user and a few tasks.
struct World {
    _db: TestDb,
    conn: PgConnection,
    owner: Owner,
    task: TaskId,
}

fn world() -> World {
    let db = TestDb::new();
    let mut conn = db.conn();
    let (_, owner) = new_user(&mut conn, "prop");
    for i in 0..5 {
        conn.create_task(&owner, NewTask::new(format!("Task {i}")))
            .unwrap();
    }
    let task = conn.create_task(&owner, NewTask::new("Target")).unwrap().id;
    // Another user, with tasks under the very ids the cases use and others;
    // their titles are marked, and no answer may ever show one.
    let (_, other) = new_user(&mut conn, "other");
    for n in 0..4u128 {
        let new = NewTask::new(format!("Foreign {n}"));
        let new = if n < 2 {
            new.id(TaskId::from_uuid(uuid::Uuid::from_u128(n + 1)))
        } else {
            new
        };
        conn.create_task(&other, new).unwrap();
    }
    World {
        _db: db,
        conn,
        owner,
        task,
    }
}

thread_local! {
    static WORLD: RefCell<Option<World>> = const { RefCell::new(None) };
}

/// Runs `f` on this thread's world, made on first use and dropped (with its
/// database) when the thread ends.
fn in_world(f: impl FnOnce(&mut World) -> Result<(), TestCaseError>) -> Result<(), TestCaseError> {
    WORLD.with(|cell| f(cell.borrow_mut().get_or_insert_with(world)))
}

/// Runs `call`; it must answer in the library's types, and change nothing
/// if it failed.
fn check<T: std::fmt::Debug>(
    world: &mut World,
    call: impl FnOnce(&mut PgConnection, &Owner) -> Result<T, Error>,
) -> Result<(), TestCaseError> {
    let before = dump_db(&mut world.conn);
    let result = call(&mut world.conn, &world.owner);
    typed(&result)?;
    // Nothing of the other user's ever comes back (their titles are marked).
    prop_assert!(
        !format!("{result:?}").contains("Foreign "),
        "another user's task leaked: {result:?}"
    );
    if result.is_err() {
        prop_assert_eq!(
            dump_db(&mut world.conn),
            before,
            "a failed call changed data"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(Config { cases: CASES, ..Config::default() })]

    #[test]
    fn priorities_are_one_to_five(n in any::<i16>()) {
        match Priority::new(n) {
            Ok(priority) => prop_assert!((1..=5).contains(&n) && priority.get() == n),
            Err(Error::Validation { field, .. }) => {
                prop_assert!(!(1..=5).contains(&n));
                prop_assert_eq!(field, "priority");
            }
            Err(other) => prop_assert!(false, "{other:?}"),
        }
    }

    #[test]
    fn creating_tasks_from_anything(tasks in proptest::collection::vec(new_task(), 1..4)) {
        in_world(|world| {
            for task in &tasks {
                check(world, |conn, owner| conn.create_task(owner, task.clone()))?;
            }
            check(world, |conn, owner| conn.create_tasks(owner, tasks.clone()))?;
            Ok(())
        })?;
    }

    #[test]
    fn updating_with_anything(patch in patch(), version in any::<i32>(), own in any::<bool>()) {
        in_world(|world| {
            let id = if own { world.task } else { TaskId::new_v7() };
            let check_version = if version % 2 == 0 { VersionCheck::Any } else { VersionCheck::Exactly(version) };
            check(world, |conn, owner| conn.update_task(owner, id, patch.clone(), check_version))?;
            check(world, |conn, owner| {
                conn.set_task_status(owner, id, todo_store::TaskStatus::Done, VersionCheck::Exactly(version))
            })?;
            check(world, |conn, owner| conn.delete_task(owner, id, VersionCheck::Exactly(version)))?;
            Ok(())
        })?;
    }

    #[test]
    fn listing_with_any_filter_and_limit(
        search in proptest::option::of(nasty_text()),
        from in proptest::option::of(any_time()),
        before in proptest::option::of(any_time()),
        since in proptest::option::of(any_time()),
        min in any_priority(),
        max in any_priority(),
        limit in prop_oneof![Just(0u32), Just(1), Just(200), Just(201), Just(u32::MAX), any::<u32>()],
    ) {
        in_world(|world| {
            let mut filter = TaskFilter::default();
            filter.search = search;
            filter.due_from = from;
            filter.due_before = before;
            filter.updated_since = since;
            filter.priority_min = min;
            filter.priority_max = max;
            let query = TaskQuery::new().filter(filter.clone()).limit(limit);
            check(world, |conn, owner| conn.list_tasks(owner, &query))?;
            check(world, |conn, owner| conn.count_tasks(owner, &filter))?;
            Ok(())
        })?;
    }

    #[test]
    fn any_cursor_text_is_refused_or_stays_in_the_owners_list(
        text in prop_oneof![any::<String>(), "[A-Za-z0-9_-]{0,80}"],
        bytes in proptest::collection::vec(any::<u8>(), 0..80),
        header in (0u8..4, 0u8..8, 0u8..4),
    ) {
        in_world(|world| {
            // Arbitrary text, and arbitrary bytes behind a plausible header.
            let mut crafted = vec![header.0, header.1, header.2];
            crafted.extend(&bytes);
            for candidate in [text.clone(), base64url(&crafted)] {
                let Ok(cursor) = candidate.parse::<Cursor>() else { continue };
                for key in [SortKey::Created, SortKey::Priority, SortKey::Due, SortKey::Title] {
                    let query = TaskQuery::new()
                        .sort(TaskSort::new(key, SortOrder::Asc))
                        .after(cursor.clone());
                    check(world, |conn, owner| conn.list_tasks(owner, &query))?;
                }
            }
            Ok(())
        })?;
    }

    #[test]
    fn tampered_and_truncated_cursors(position in 0usize..200, byte in any::<u8>(), cut in 0usize..200) {
        in_world(|world| {
            for key in [SortKey::Created, SortKey::Updated, SortKey::Priority, SortKey::Due, SortKey::Title] {
                let first = TaskQuery::new().sort(TaskSort::new(key, SortOrder::Desc)).limit(2);
                let page = world.conn.list_tasks(&world.owner, &first).unwrap();
                let text = page.next_cursor.unwrap().as_str().to_owned();
                let mut tampered = text.clone().into_bytes();
                let at = position % tampered.len();
                tampered[at] = byte;
                let truncated = &text[..cut % text.len()];
                for candidate in [String::from_utf8_lossy(&tampered).into_owned(), truncated.to_owned()] {
                    if let Ok(cursor) = candidate.parse::<Cursor>() {
                        let query = first.clone().after(cursor);
                        let result = world.conn.list_tasks(&world.owner, &query);
                        typed(&result)?;
                        // Whatever it decodes to, a cursor only moves within
                        // the owner's own tasks.
                        if let Ok(page) = result {
                            for task in page.items {
                                prop_assert!(world.conn.get_task(&world.owner, task.id).is_ok());
                            }
                        }
                    }
                }
            }
            Ok(())
        })?;
    }

    #[test]
    fn accounts_from_anything(
        email in prop_oneof![nasty_text(), "[a-z]{1,10}@[a-z]{1,10}\\.[a-z]{2,3}"],
        name in proptest::option::of(nasty_text()),
        zone in proptest::option::of(nasty_text()),
        subject in proptest::option::of(nasty_text()),
    ) {
        in_world(|world| {
            let mut new = NewUser::new(email.clone());
            new.display_name = name.clone();
            new.time_zone = zone.clone();
            new.auth_subject = subject;
            check(world, |conn, _| conn.create_user(new))?;
            let patch = UserPatch {
                email: Some(email),
                display_name: Some(name),
                time_zone: Some(zone),
            };
            check(world, |conn, owner| conn.update_profile(owner, patch))?;
            Ok(())
        })?;
    }
}
