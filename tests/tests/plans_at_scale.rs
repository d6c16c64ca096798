//! Query plans on a seeded database (`todo_store_bench::seed`: 30,000 tasks,
//! heavy users with 5,000 each, `VACUUM (ANALYZE)`), large enough for the
//! planner to weigh an index against a scan honestly. Every list shape must
//! read an index in the order asked, with no sort and no sequential scan, both
//! in the plan of a first call and in the plan PostgreSQL settles on for a
//! prepared statement run many times (as Diesel's cached statements are).

#![allow(clippy::unwrap_used)]

use diesel::{PgConnection, QueryableByName, RunQueryDsl, connection::SimpleConnection, sql_query};
use todo_store::{
    NewTask, OperatorRepo, Owner, SortKey, SortOrder, StatusFilter, TaskFilter, TaskQuery,
    TaskRepo, TaskSort, explain::explain_list, sql_text,
};
use todo_store_bench::seed::{self, Plan};
use todo_store_tests::TestDb;

const KEYS: [SortKey; 5] = [
    SortKey::Created,
    SortKey::Updated,
    SortKey::Priority,
    SortKey::Due,
    SortKey::Title,
];

fn seeded() -> TestDb {
    let db = TestDb::new();
    let plan = Plan {
        users: 40,
        tasks_per_user: 500,
        heavy_users: 2,
        heavy_tasks: 5_000,
        seed: 3,
    };
    let report = seed::run(&mut db.conn(), &plan, seed::DEFAULT_BATCH_ROWS, |_, _| {}).unwrap();
    assert_eq!((report.users_loaded, report.tasks_loaded), (42, 30_000));
    db
}

/// The index that serves each list order.
fn expected_index(key: SortKey, status: StatusFilter) -> &'static str {
    match (key, status) {
        (SortKey::Created, _) => "tasks_user_created_idx",
        (SortKey::Updated, _) => "tasks_user_updated_idx",
        (SortKey::Priority, StatusFilter::Open) => "tasks_user_open_priority_idx",
        (SortKey::Priority, _) => "tasks_user_priority_idx",
        (SortKey::Due, _) => "tasks_user_due_idx",
        (SortKey::Title, _) => "tasks_user_title_idx",
    }
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    line: String,
}

/// The plan PostgreSQL uses for the library's statement once it has run it
/// a few times as a prepared statement (as Diesel's cached statements are):
/// after five runs it switches to a generic plan, made without the parameter
/// values, unless that plan looks costlier than the custom ones so far.
///
/// With `generic`, the generic plan itself (`plan_cache_mode =
/// force_generic_plan`), whatever PostgreSQL would choose.
fn prepared_plan(
    conn: &mut PgConnection,
    owner: &Owner,
    query: &TaskQuery,
    generic: bool,
) -> String {
    let text = sql_text::list_tasks(conn, owner, query).unwrap();
    let mode = if generic {
        "force_generic_plan"
    } else {
        "auto"
    };
    conn.batch_execute(&format!(
        "SET plan_cache_mode = {mode}; PREPARE list_plan AS {}",
        text.sql()
    ))
    .unwrap();
    let execute = format!("EXECUTE list_plan({})", text.params().join(", "));
    for _ in 0..6 {
        sql_query(&execute).execute(conn).unwrap();
    }
    let plan = sql_query(format!("EXPLAIN {execute}"))
        .load::<PlanLine>(conn)
        .unwrap();
    conn.batch_execute("DEALLOCATE list_plan; RESET plan_cache_mode")
        .unwrap();
    plan.into_iter()
        .map(|l| l.line)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A cursor `percent`% of the way down the list, found by walking it in
/// steps of at most a tenth, so that the walk never reaches the end.
fn deep_query(
    conn: &mut PgConnection,
    owner: &Owner,
    first: &TaskQuery,
    percent: u64,
) -> TaskQuery {
    let total = conn.count_tasks(owner, &first.filter).unwrap();
    let step = u32::try_from(total / 10).unwrap().clamp(1, 200);
    let mut walk = first.clone().limit(step);
    let mut seen = 0;
    while seen < total * percent / 100 {
        let page = conn.list_tasks(owner, &walk).unwrap();
        seen += page.items.len() as u64;
        walk = walk.after(page.next_cursor.expect("part of the list is left"));
    }
    first.clone().after(walk.after.unwrap())
}

#[test]
fn every_list_shape_reads_its_index_in_order_when_first_run_and_when_prepared() {
    let db = seeded();
    let mut conn = db.conn();
    let heavy = conn
        .operator_owner("heavy41@seed3.todo-store.invalid")
        .unwrap();
    let ordinary = conn
        .operator_owner("user7@seed3.todo-store.invalid")
        .unwrap();
    let mut checked = 0;
    // Deep in the heavy user's list, thousands of tasks are still ahead;
    // the ordinary user's 500 are walked 40% down, leaving several pages.
    // (With only a page or two left, fetching the rest and sorting it is as
    // cheap as reading the index in order, and the planner may do either.)
    for (owner, depth) in [(&heavy, 80), (&ordinary, 40)] {
        for key in KEYS {
            for order in [SortOrder::Asc, SortOrder::Desc] {
                for status in [StatusFilter::All, StatusFilter::Open] {
                    let first = TaskQuery::new()
                        .filter(TaskFilter::default().status(status))
                        .sort(TaskSort::new(key, order))
                        .limit(50);
                    let deep = deep_query(&mut conn, owner, &first, depth);
                    for (page, query) in [("first", &first), ("deep", &deep)] {
                        let custom = explain_list(&mut conn, owner, query).unwrap().join("\n");
                        let prepared = prepared_plan(&mut conn, owner, query, false);
                        let mut plans = vec![("first run", custom), ("prepared", prepared)];
                        // PostgreSQL runs a prepared statement on its generic
                        // plan once that looks no costlier than the custom
                        // ones. A first page's generic plan must read the index
                        // in order too. A deep page's must guess how much of
                        // the list lies past the cursor, may guess "a few rows"
                        // and plan to fetch and sort them, and is then not
                        // used: "prepared" above is the plan that is.
                        if query.after.is_none() {
                            plans.push(("generic", prepared_plan(&mut conn, owner, query, true)));
                        }
                        for (kind, plan) in plans {
                            let case = format!("{key:?} {order:?} {status:?} {page} {kind}");
                            let index = expected_index(key, status);
                            assert!(
                                plan.contains(&format!("Index Scan using {index}"))
                                    || plan.contains(&format!("Index Scan Backward using {index}")),
                                "{case}: not read from {index}:\n{plan}"
                            );
                            assert!(!plan.contains("Seq Scan"), "{case}: seq scan:\n{plan}");
                            assert!(!plan.contains("Sort"), "{case}: sorts:\n{plan}");
                            assert!(!plan.contains("Bitmap"), "{case}: bitmap scan:\n{plan}");
                            checked += 1;
                        }
                    }
                }
            }
        }
    }
    // 2 owners × 5 keys × 2 orders × 2 statuses × (first: 3 plans, deep: 2).
    assert_eq!(checked, 2 * 5 * 2 * 2 * 5);
}

#[derive(QueryableByName, PartialEq, Debug)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: uuid::Uuid,
}

#[test]
fn the_sql_text_of_a_call_returns_what_the_call_returns() {
    let db = seeded();
    let mut conn = db.conn();
    let owner = conn
        .operator_owner("heavy40@seed3.todo-store.invalid")
        .unwrap();
    // Quotes, backslashes and LIKE wildcards must survive as literals.
    let tricky = r"Call O'Brien about 50%_off \ now";
    conn.create_task(&owner, NewTask::new(tricky)).unwrap();
    let first = TaskQuery::new()
        .sort(TaskSort::new(SortKey::Title, SortOrder::Asc))
        .limit(20);
    let cursor = conn
        .list_tasks(&owner, &first)
        .unwrap()
        .next_cursor
        .unwrap();
    let queries = [
        first.clone(),
        first.clone().after(cursor),
        TaskQuery::new().filter(TaskFilter::default().search("O'Brien about 50%_off \\")),
        TaskQuery::new()
            .filter(TaskFilter::default().status(StatusFilter::Open))
            .sort(TaskSort::new(SortKey::Due, SortOrder::Desc)),
    ];
    for query in &queries {
        let page = conn.list_tasks(&owner, query).unwrap();
        let text = sql_text::list_tasks(&mut conn, &owner, query).unwrap();
        let rows: Vec<IdRow> = sql_query(text.inlined()).load(&mut conn).unwrap();
        // The statement fetches one row more than the page, to find the next cursor.
        let ids: Vec<_> = rows
            .into_iter()
            .map(|row| row.id)
            .take(page.items.len())
            .collect();
        let expected: Vec<_> = page.items.iter().map(|task| task.id.as_uuid()).collect();
        assert!(!expected.is_empty());
        assert_eq!(ids, expected, "{}", text.inlined());
    }
    let found = conn
        .list_tasks(&owner, &queries[2])
        .unwrap()
        .items
        .into_iter()
        .map(|task| task.title)
        .collect::<Vec<_>>();
    assert_eq!(found, [tricky]);

    let task = conn.list_tasks(&owner, &first).unwrap().items[0].clone();
    let get = sql_text::get_task(&mut conn, &owner, task.id).unwrap();
    let rows: Vec<IdRow> = sql_query(get.inlined()).load(&mut conn).unwrap();
    assert_eq!(
        rows,
        [IdRow {
            id: task.id.as_uuid()
        }]
    );

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    // Any filter beyond the status counts the tasks…
    let filter = TaskFilter::default().status(StatusFilter::Open).search("e");
    let count = sql_text::count_tasks(&mut conn, &owner, &filter).unwrap();
    assert!(count.sql().contains("$1") && !count.inlined().contains('$'));
    let counted = sql_query(count.inlined().replacen("COUNT(*)", "COUNT(*) AS count", 1))
        .get_result::<Count>(&mut conn)
        .unwrap()
        .count;
    assert_eq!(counted as u64, conn.count_tasks(&owner, &filter).unwrap());

    // …the status alone reads the owner's row of counts: all and done.
    #[derive(QueryableByName)]
    struct Kept {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        total: i32,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        done: i32,
    }
    let filter = TaskFilter::default().status(StatusFilter::Open);
    let kept = sql_text::count_tasks(&mut conn, &owner, &filter).unwrap();
    let row = sql_query(kept.inlined())
        .get_result::<Kept>(&mut conn)
        .unwrap();
    assert_eq!(
        (row.total - row.done) as u64,
        conn.count_tasks(&owner, &filter).unwrap()
    );
}

#[test]
fn a_search_probes_its_candidates_or_reads_a_list_index_never_the_table() {
    let db = seeded();
    let mut conn = db.conn();
    let owner = conn
        .operator_owner("heavy41@seed3.todo-store.invalid")
        .unwrap();
    conn.create_task(&owner, NewTask::new("Feed the axolotl"))
        .unwrap();
    // A common word of the seeded titles, and a word found once.
    let common = conn
        .list_tasks(&owner, &TaskQuery::new().limit(1))
        .unwrap()
        .items[0]
        .title
        .split(' ')
        .max_by_key(|word| word.len())
        .unwrap()
        .to_owned();
    // As the application role, which row security applies to: the plans a
    // deployment gets. (Diesel caches the list statement by its text, so
    // after five runs PostgreSQL may plan it generically; the candidates'
    // probe is then the same plan, checked by hand with
    // `plan_cache_mode = force_generic_plan`.)
    let app = db.app_role();
    let mut conn = app.conn();
    for (word, rare) in [("axolotl", true), (common.as_str(), false)] {
        for key in KEYS {
            let query = TaskQuery::new()
                .filter(TaskFilter::default().search(word))
                .sort(TaskSort::new(key, SortOrder::Desc))
                .limit(50);
            let plan = explain_list(&mut conn, &owner, &query).unwrap().join("\n");
            assert!(
                !plan.contains("Seq Scan"),
                "{word} {key:?}: seq scan:\n{plan}"
            );
            if rare {
                let probes = plan.lines().any(|line| {
                    line.contains("Index Cond: ((user_id = ") && line.contains("id = ANY")
                });
                assert!(
                    probes,
                    "{word} {key:?}: the candidates are not probed:\n{plan}"
                );
            }
        }
        let count =
            sql_text::count_tasks(&mut conn, &owner, &TaskFilter::default().search(word)).unwrap();
        let plan: Vec<PlanLine> = sql_query(format!("EXPLAIN {}", count.inlined()))
            .load(&mut conn)
            .unwrap();
        let plan = plan
            .into_iter()
            .map(|l| l.line)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            !plan.contains("Seq Scan"),
            "count {word}: seq scan:\n{plan}"
        );
    }
}
