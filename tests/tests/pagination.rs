//! Keyset pagination and filters: walking every page with `next_cursor`
//! visits each matching task exactly once, in the order computed here in Rust
//! from the full set, for every sort key and direction.

#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;

use std::cmp::Ordering;

use chrono::{DateTime, TimeDelta, Utc};
use todo_store::{
    DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, NewTask, Owner, Priority, SortKey, SortOrder, StatusFilter,
    Task, TaskFilter, TaskPatch, TaskQuery, TaskRepo, TaskSort, TaskStatus, VersionCheck,
};
use todo_store_tests::TestDb;

use common::{Repo, assert_validation, new_user};

const SORT_KEYS: [SortKey; 5] = [
    SortKey::Created,
    SortKey::Updated,
    SortKey::Priority,
    SortKey::Due,
    SortKey::Title,
];
const ORDERS: [SortOrder; 2] = [SortOrder::Asc, SortOrder::Desc];

fn all_sorts() -> Vec<TaskSort> {
    SORT_KEYS
        .iter()
        .flat_map(|&key| ORDERS.iter().map(move |&order| TaskSort::new(key, order)))
        .collect()
}

fn day(n: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_900_000_000 + n * 86_400, 0).unwrap()
}

/// ASCII titles (so that Rust's `to_lowercase` is PostgreSQL's `lower`),
/// mixed case, with exact and case-insensitive duplicates.
const WORDS: [&str; 14] = [
    "alpha", "Alpha", "ALPHA", "bravo", "Charlie", "charlie", "delta", "Echo", "foxtrot", "Golf",
    "hotel", "kilo9", "Kilo10", "x",
];

fn new_task(i: usize) -> NewTask {
    let mut title = WORDS[(i * 5) % WORDS.len()].to_owned();
    if i % 4 == 1 {
        title.push_str("Zulu");
    }
    let priority = Priority::new(i16::try_from(i * 3 % 5).unwrap() + 1).unwrap();
    let mut task = NewTask::new(title).priority(priority);
    if !i.is_multiple_of(4) {
        task = task.due_at(day(i64::try_from(i * 5 % 7).unwrap()));
    }
    if i % 6 == 1 {
        task = task.description("Notes mention ALPHA and 100% of the_plan");
    }
    task
}

/// About sixty tasks for `owner`: created one by one and in batches (so some
/// share a creation time), some completed, some edited; plus a few tasks of
/// another user that must never show up. Returns the owner's tasks as stored.
fn seed(repo: &mut impl Repo, owner: &Owner) -> Vec<Task> {
    let mut ids = Vec::new();
    for i in 0..25 {
        ids.push(repo.create_task(owner, new_task(i)).unwrap().id);
    }
    let batch = repo
        .create_tasks(owner, (25..45).map(new_task).collect())
        .unwrap();
    ids.extend(batch.iter().map(|t| t.id));
    for i in 45..60 {
        ids.push(repo.create_task(owner, new_task(i)).unwrap().id);
    }
    for (i, &id) in ids.iter().enumerate() {
        if i % 3 == 0 {
            repo.set_task_status(owner, id, TaskStatus::Done, VersionCheck::Any)
                .unwrap();
        }
        if i % 7 == 2 {
            repo.update_task(
                owner,
                id,
                TaskPatch::default().description("edited"),
                VersionCheck::Any,
            )
            .unwrap();
        }
    }
    let (_, other) = new_user(repo, "other");
    repo.create_tasks(&other, (0..6).map(new_task).collect())
        .unwrap();
    ids.iter()
        .map(|&id| repo.get_task(owner, id).unwrap())
        .collect()
}

/// The order the library promises, computed in Rust. Ties are broken by id,
/// compared as UUID bytes (as PostgreSQL compares `uuid`).
fn compare(sort: TaskSort, a: &Task, b: &Task) -> Ordering {
    let due = |t: &Task| (t.due_at.is_none(), t.due_at); // NULL is +infinity
    let by_key = match sort.key {
        SortKey::Created => a.created_at.cmp(&b.created_at),
        SortKey::Updated => a.updated_at.cmp(&b.updated_at),
        SortKey::Priority => a.priority.cmp(&b.priority),
        SortKey::Due => due(a).cmp(&due(b)),
        SortKey::Title => a.title.to_lowercase().cmp(&b.title.to_lowercase()),
    };
    let ordering = by_key.then_with(|| a.id.as_uuid().as_bytes().cmp(b.id.as_uuid().as_bytes()));
    match sort.order {
        SortOrder::Asc => ordering,
        SortOrder::Desc => ordering.reverse(),
    }
}

/// Whether `task` matches `filter`, computed in Rust (ASCII search).
fn matches(filter: &TaskFilter, task: &Task) -> bool {
    let status = match filter.status {
        StatusFilter::All => true,
        StatusFilter::Open => !task.completed,
        StatusFilter::Done => task.completed,
    };
    let search = filter.search.as_ref().is_none_or(|s| {
        let s = s.trim().to_lowercase();
        task.title.to_lowercase().contains(&s)
            || task
                .description
                .as_ref()
                .is_some_and(|d| d.to_lowercase().contains(&s))
    });
    status
        && search
        && filter.priority_min.is_none_or(|p| task.priority >= p)
        && filter.priority_max.is_none_or(|p| task.priority <= p)
        && filter
            .due_from
            .is_none_or(|from| task.due_at.is_some_and(|d| d >= from))
        && filter
            .due_before
            .is_none_or(|before| task.due_at.is_some_and(|d| d < before))
        && filter
            .updated_since
            .is_none_or(|since| task.updated_at >= since)
}

fn expected(all: &[Task], filter: &TaskFilter, sort: TaskSort) -> Vec<Task> {
    let mut tasks: Vec<Task> = all.iter().filter(|t| matches(filter, t)).cloned().collect();
    tasks.sort_by(|a, b| compare(sort, a, b));
    tasks
}

/// Every page of the list, following `next_cursor` to the end. Each page but
/// the last is full; the last one has no cursor.
fn walk(
    repo: &mut (impl TaskRepo + ?Sized),
    owner: &Owner,
    filter: &TaskFilter,
    sort: TaskSort,
    limit: u32,
) -> Vec<Task> {
    let mut query = TaskQuery::new()
        .filter(filter.clone())
        .sort(sort)
        .limit(limit);
    let mut seen = Vec::new();
    for _ in 0..10_000 {
        let page = repo.list_tasks(owner, &query).unwrap();
        let len = u32::try_from(page.items.len()).unwrap();
        seen.extend(page.items);
        match page.next_cursor {
            Some(cursor) => {
                assert_eq!(
                    len,
                    limit.min(MAX_PAGE_SIZE),
                    "a page before the last is full"
                );
                query = query.after(cursor);
            }
            None => return seen,
        }
    }
    panic!("the walk does not end");
}

/// Walks every (order, filter) combination for `key` and compares each walk,
/// and each count, with the Rust oracle.
fn check_walks_for(repo: &mut impl Repo, key: SortKey) {
    let (_, owner) = new_user(repo, "ada");
    let all = seed(repo, &owner);
    assert_eq!(all.len(), 60);
    let filters = [
        TaskFilter::default(),
        TaskFilter::default().status(StatusFilter::Open),
        TaskFilter::default().status(StatusFilter::Done),
        TaskFilter::default()
            .status(StatusFilter::Open)
            .priority_at_least(Priority::new(2).unwrap())
            .priority_at_most(Priority::new(4).unwrap())
            .due_between(Some(day(1)), None),
        TaskFilter::default().search("alpha"),
    ];
    for order in ORDERS {
        let sort = TaskSort::new(key, order);
        for filter in &filters {
            let want = expected(&all, filter, sort);
            assert!(!want.is_empty(), "{filter:?} should match something");
            let got = walk(repo, &owner, filter, sort, 7);
            let ids = |tasks: &[Task]| tasks.iter().map(|t| t.id).collect::<Vec<_>>();
            assert_eq!(ids(&got), ids(&want), "{sort:?} {filter:?}");
            assert_eq!(got, want, "{sort:?} {filter:?}");
            assert_eq!(
                repo.count_tasks(&owner, filter).unwrap(),
                u64::try_from(got.len()).unwrap(),
                "{filter:?}"
            );
        }
    }
}

on_both_repos!(
    walking_pages_by_creation_time_visits_every_task_once_in_order,
    walking_pages_by_update_time_visits_every_task_once_in_order,
    walking_pages_by_priority_visits_every_task_once_in_order,
    walking_pages_by_due_date_visits_every_task_once_in_order,
    walking_pages_by_title_visits_every_task_once_in_order,
);

fn walking_pages_by_creation_time_visits_every_task_once_in_order(
    repo: &mut impl Repo,
    _: &TestDb,
) {
    check_walks_for(repo, SortKey::Created);
}

fn walking_pages_by_update_time_visits_every_task_once_in_order(repo: &mut impl Repo, _: &TestDb) {
    check_walks_for(repo, SortKey::Updated);
}

fn walking_pages_by_priority_visits_every_task_once_in_order(repo: &mut impl Repo, _: &TestDb) {
    check_walks_for(repo, SortKey::Priority);
}

fn walking_pages_by_due_date_visits_every_task_once_in_order(repo: &mut impl Repo, _: &TestDb) {
    check_walks_for(repo, SortKey::Due);
}

fn walking_pages_by_title_visits_every_task_once_in_order(repo: &mut impl Repo, _: &TestDb) {
    check_walks_for(repo, SortKey::Title);
}

#[test]
fn undated_tasks_come_last_ascending_and_first_descending() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    let tasks = store
        .create_tasks(
            &owner,
            vec![
                NewTask::new("undated"),
                NewTask::new("later").due_at(day(2)),
                NewTask::new("sooner").due_at(day(1)),
            ],
        )
        .unwrap();
    let mut titles = |order| {
        walk(
            &mut store,
            &owner,
            &TaskFilter::default(),
            TaskSort::new(SortKey::Due, order),
            1,
        )
        .into_iter()
        .map(|t| t.title)
        .collect::<Vec<_>>()
    };
    assert_eq!(titles(SortOrder::Asc), ["sooner", "later", "undated"]);
    assert_eq!(titles(SortOrder::Desc), ["undated", "later", "sooner"]);
    assert_eq!(tasks.len(), 3);
}

#[test]
fn a_cursor_is_rejected_by_a_list_with_another_sort() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    store
        .create_tasks(&owner, (0..4).map(new_task).collect())
        .unwrap();
    for from in all_sorts() {
        let cursor = store
            .list_tasks(&owner, &TaskQuery::new().sort(from).limit(1))
            .unwrap()
            .next_cursor
            .unwrap();
        for to in all_sorts() {
            let query = TaskQuery::new().sort(to).limit(1).after(cursor.clone());
            let result = store.list_tasks(&owner, &query);
            if to == from {
                assert_eq!(result.unwrap().items.len(), 1);
            } else {
                assert_validation(result, "cursor");
            }
        }
    }
}

#[test]
fn page_size_above_200_is_capped_at_200() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    // More than one bulk-insert chunk (1,000 rows).
    let created = store
        .create_tasks(
            &owner,
            (0..1_001).map(|i| NewTask::new(format!("t{i}"))).collect(),
        )
        .unwrap();
    assert_eq!(created.len(), 1_001);
    assert_eq!(
        store.count_tasks(&owner, &TaskFilter::default()).unwrap(),
        1_001
    );
    for limit in [MAX_PAGE_SIZE + 1, 1_000, u32::MAX] {
        let page = store
            .list_tasks(&owner, &TaskQuery::new().limit(limit))
            .unwrap();
        assert_eq!(page.items.len(), 200, "limit {limit}");
        assert!(page.next_cursor.is_some());
    }
    let page = store.list_tasks(&owner, &TaskQuery::new()).unwrap();
    assert_eq!(
        page.items.len(),
        usize::try_from(DEFAULT_PAGE_SIZE).unwrap()
    );
    let page = store
        .list_tasks(&owner, &TaskQuery::new().limit(MAX_PAGE_SIZE))
        .unwrap();
    assert_eq!(page.items.len(), 200);

    let sort = TaskSort::new(SortKey::Created, SortOrder::Asc);
    let walked = walk(&mut store, &owner, &TaskFilter::default(), sort, 1_000);
    let mut want = created;
    want.sort_by(|a, b| compare(sort, a, b));
    assert_eq!(walked, want);
}

#[test]
fn the_last_page_has_no_cursor_even_when_it_is_full() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    let empty = store.list_tasks(&owner, &TaskQuery::new()).unwrap();
    assert!(empty.items.is_empty());
    assert_eq!(empty.next_cursor, None);

    store
        .create_tasks(
            &owner,
            (0..14).map(|i| NewTask::new(format!("t{i}"))).collect(),
        )
        .unwrap();
    let first = store
        .list_tasks(&owner, &TaskQuery::new().limit(7))
        .unwrap();
    assert_eq!(first.items.len(), 7);
    let second = store
        .list_tasks(
            &owner,
            &TaskQuery::new().limit(7).after(first.next_cursor.unwrap()),
        )
        .unwrap();
    assert_eq!(second.items.len(), 7);
    assert_eq!(second.next_cursor, None);
    let exact = store
        .list_tasks(&owner, &TaskQuery::new().limit(14))
        .unwrap();
    assert_eq!(exact.items.len(), 14);
    assert_eq!(exact.next_cursor, None);
}

#[test]
fn a_walk_neither_skips_nor_repeats_when_tasks_change_between_pages() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    let mut created = Vec::new();
    for i in 0..12 {
        created.push(store.create_task(&owner, new_task(i)).unwrap());
    }
    let sort = TaskSort::new(SortKey::Created, SortOrder::Asc);
    let query = TaskQuery::new().sort(sort).limit(4);
    let first = store.list_tasks(&owner, &query).unwrap();
    assert_eq!(first.items, created[..4]);
    // Between pages: delete a visited task and an unvisited one, add a new one.
    store
        .delete_tasks(&owner, &[created[1].id, created[9].id])
        .unwrap();
    let added = store.create_task(&owner, NewTask::new("late")).unwrap();
    let mut seen = first.items.clone();
    let mut query = query.after(first.next_cursor.unwrap());
    loop {
        let page = store.list_tasks(&owner, &query).unwrap();
        seen.extend(page.items);
        match page.next_cursor {
            Some(cursor) => query = query.after(cursor),
            None => break,
        }
    }
    let mut want: Vec<Task> = created
        .into_iter()
        .enumerate()
        .filter(|&(i, _)| i != 9)
        .map(|(_, t)| t)
        .collect();
    want.push(added);
    assert_eq!(seen, want);
}

// ---------------------------------------------------------------------------
// Filters.
// ---------------------------------------------------------------------------

fn titles(tasks: &[Task]) -> Vec<&str> {
    let mut titles: Vec<&str> = tasks.iter().map(|t| t.title.as_str()).collect();
    titles.sort_unstable();
    titles
}

fn list_all(store: &mut impl TaskRepo, owner: &Owner, filter: TaskFilter) -> Vec<Task> {
    let count = store.count_tasks(owner, &filter).unwrap();
    let items = walk(store, owner, &filter, TaskSort::default(), MAX_PAGE_SIZE);
    assert_eq!(count, u64::try_from(items.len()).unwrap());
    items
}

#[test]
fn search_is_case_insensitive_and_matches_title_or_description() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    let (_, bob) = new_user(&mut store, "bob");
    store
        .create_tasks(
            &owner,
            vec![
                NewTask::new("Buy MILK"),
                NewTask::new("buttermilk pancakes"),
                NewTask::new("groceries").description("Milk, eggs"),
                NewTask::new("water the plants"),
            ],
        )
        .unwrap();
    store
        .create_task(&bob, NewTask::new("milk for bob"))
        .unwrap();
    for search in ["milk", "MILK", "Milk", "  mIlK  "] {
        let found = list_all(&mut store, &owner, TaskFilter::default().search(search));
        assert_eq!(
            titles(&found),
            ["Buy MILK", "buttermilk pancakes", "groceries"],
            "{search:?}"
        );
    }
    let found = list_all(&mut store, &owner, TaskFilter::default().search("eggs"));
    assert_eq!(titles(&found), ["groceries"]);
    let found = list_all(
        &mut store,
        &owner,
        TaskFilter::default().search("water the"),
    );
    assert_eq!(titles(&found), ["water the plants"]);
    assert!(list_all(&mut store, &owner, TaskFilter::default().search("coffee")).is_empty());
}

#[test]
fn search_treats_percent_underscore_and_backslash_literally() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    store
        .create_tasks(
            &owner,
            vec![
                NewTask::new("50% off"),
                NewTask::new("500 off"),
                NewTask::new("snake_case"),
                NewTask::new("snakeXcase"),
                NewTask::new(r"C:\temp"),
                NewTask::new("C:temp"),
                NewTask::new("plain"),
            ],
        )
        .unwrap();
    let search = |store: &mut todo_store::Store, text: &str| {
        titles(&list_all(store, &owner, TaskFilter::default().search(text)))
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(search(&mut store, "%"), ["50% off"]);
    assert_eq!(search(&mut store, "0%"), ["50% off"]);
    assert_eq!(search(&mut store, "50%"), ["50% off"]);
    assert_eq!(search(&mut store, "_"), ["snake_case"]);
    assert_eq!(search(&mut store, "e_c"), ["snake_case"]);
    assert_eq!(search(&mut store, "\\"), [r"C:\temp"]);
    assert_eq!(search(&mut store, r":\t"), [r"C:\temp"]);
    assert_eq!(search(&mut store, "%_"), Vec::<String>::new());
}

#[test]
fn due_range_includes_its_start_and_excludes_its_end() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    store
        .create_tasks(
            &owner,
            vec![
                NewTask::new("d0").due_at(day(0)),
                NewTask::new("d1").due_at(day(1)),
                NewTask::new("d2").due_at(day(2)),
                NewTask::new("d3").due_at(day(3)),
                NewTask::new("undated"),
            ],
        )
        .unwrap();
    let between = |store: &mut todo_store::Store, from: Option<i64>, before: Option<i64>| {
        let filter = TaskFilter::default().due_between(from.map(day), before.map(day));
        titles(&list_all(store, &owner, filter))
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(between(&mut store, Some(1), Some(3)), ["d1", "d2"]);
    assert_eq!(between(&mut store, Some(1), None), ["d1", "d2", "d3"]);
    assert_eq!(between(&mut store, None, Some(1)), ["d0"]);
    assert_eq!(between(&mut store, Some(3), Some(4)), ["d3"]);
    assert_eq!(between(&mut store, Some(4), None), Vec::<String>::new());
    assert_eq!(
        between(&mut store, None, None),
        ["d0", "d1", "d2", "d3", "undated"]
    );
    // One microsecond wide.
    let filter =
        TaskFilter::default().due_between(Some(day(2)), Some(day(2) + TimeDelta::microseconds(1)));
    assert_eq!(titles(&list_all(&mut store, &owner, filter)), ["d2"]);
}

#[test]
fn updated_since_includes_tasks_changed_at_or_after_the_time() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    let all = seed(&mut store, &owner);
    let mut times: Vec<DateTime<Utc>> = all.iter().map(|t| t.updated_at).collect();
    times.sort_unstable();
    let last = *times.last().unwrap();
    for since in [
        times[0] - TimeDelta::microseconds(1),
        times[0],
        times[times.len() / 2],
        last,
        last + TimeDelta::microseconds(1),
    ] {
        let filter = TaskFilter::default().updated_since(since);
        let sort = TaskSort::new(SortKey::Updated, SortOrder::Asc);
        let want = expected(&all, &filter, sort);
        assert_eq!(walk(&mut store, &owner, &filter, sort, 7), want, "{since}");
    }
    let everything = TaskFilter::default().updated_since(times[0]);
    assert_eq!(store.count_tasks(&owner, &everything).unwrap(), 60);
    let nothing = TaskFilter::default().updated_since(last + TimeDelta::microseconds(1));
    assert_eq!(store.count_tasks(&owner, &nothing).unwrap(), 0);
}

#[test]
fn priority_range_filters_inclusively() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    let p = |n| Priority::new(n).unwrap();
    store
        .create_tasks(
            &owner,
            (1..=5)
                .map(|n| NewTask::new(format!("p{n}")).priority(p(n)))
                .collect(),
        )
        .unwrap();
    let run = |store: &mut todo_store::Store, filter: TaskFilter| {
        titles(&list_all(store, &owner, filter))
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        run(&mut store, TaskFilter::default().priority_at_least(p(4))),
        ["p4", "p5"]
    );
    assert_eq!(
        run(&mut store, TaskFilter::default().priority_at_most(p(2))),
        ["p1", "p2"]
    );
    assert_eq!(
        run(
            &mut store,
            TaskFilter::default()
                .priority_at_least(p(2))
                .priority_at_most(p(4))
        ),
        ["p2", "p3", "p4"]
    );
    assert_eq!(
        run(
            &mut store,
            TaskFilter::default()
                .priority_at_least(p(3))
                .priority_at_most(p(3))
        ),
        ["p3"]
    );
}

#[test]
fn status_filter_selects_open_or_done_tasks() {
    let db = TestDb::new();
    let mut store = db.store();
    let (_, owner) = new_user(&mut store, "ada");
    let tasks = store
        .create_tasks(
            &owner,
            vec![NewTask::new("a"), NewTask::new("b"), NewTask::new("c")],
        )
        .unwrap();
    store
        .set_task_status(&owner, tasks[1].id, TaskStatus::Done, VersionCheck::Any)
        .unwrap();
    let run = |store: &mut todo_store::Store, status| {
        titles(&list_all(
            store,
            &owner,
            TaskFilter::default().status(status),
        ))
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>()
    };
    assert_eq!(run(&mut store, StatusFilter::All), ["a", "b", "c"]);
    assert_eq!(run(&mut store, StatusFilter::Open), ["a", "c"]);
    assert_eq!(run(&mut store, StatusFilter::Done), ["b"]);
}
