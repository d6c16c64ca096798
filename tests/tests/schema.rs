//! The schema itself: migrations are reversible, the catalog holds the rules
//! the library relies on, and list queries are served by the list indexes.

#![allow(clippy::unwrap_used)]

use diesel::{
    PgConnection, QueryableByName, RunQueryDsl, connection::SimpleConnection, sql_query,
    sql_types::Text,
};
use todo_store::{migration_status, revert_last_migration, run_migrations};
use todo_store_tests::TestDb;

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

fn plan(conn: &mut PgConnection, sql: &str) -> String {
    let plan: Vec<String> = sql_query(sql)
        .load::<PlanLine>(conn)
        .unwrap()
        .into_iter()
        .map(|l| l.line)
        .collect();
    plan.join("\n")
}

fn lines(conn: &mut PgConnection, sql: &str) -> Vec<String> {
    sql_query(sql)
        .load::<Line>(conn)
        .unwrap()
        .into_iter()
        .map(|l| l.line)
        .collect()
}

/// Tables, columns, constraints, indexes, triggers and functions of `public`.
fn schema_snapshot(conn: &mut PgConnection) -> Vec<String> {
    lines(
        conn,
        "SELECT line FROM (
            SELECT format('column %s.%s %s null=%s default=%s', table_name, column_name,
                          data_type, is_nullable, column_default) AS line
              FROM information_schema.columns WHERE table_schema = 'public'
            UNION ALL
            SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
              FROM pg_constraint WHERE connamespace = 'public'::regnamespace
            UNION ALL
            SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
            UNION ALL
            SELECT 'trigger ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
            UNION ALL
            SELECT format('function %s %s', proname, md5(prosrc))
              FROM pg_proc WHERE pronamespace = 'public'::regnamespace
        ) s ORDER BY line",
    )
}

#[test]
fn migrations_go_up_down_and_up_again_to_the_same_schema() {
    let db = TestDb::empty();
    let mut conn = db.conn();
    let applied = run_migrations(&mut conn).unwrap();
    assert_eq!(
        applied.len(),
        migration_status(&mut conn).unwrap().applied.len()
    );
    let first = schema_snapshot(&mut conn);
    assert!(first.iter().any(|l| l.starts_with("column tasks.title")));

    for _ in 0..applied.len() {
        revert_last_migration(&mut conn).unwrap();
    }
    let status = migration_status(&mut conn).unwrap();
    assert!(status.applied.is_empty());
    assert_eq!(status.pending.len(), applied.len());
    let reverted = schema_snapshot(&mut conn);
    assert!(
        reverted
            .iter()
            .all(|l| l.contains("__diesel_schema_migrations")),
        "down migrations left objects behind: {reverted:#?}"
    );

    run_migrations(&mut conn).unwrap();
    assert_eq!(schema_snapshot(&mut conn), first);
}

#[test]
fn running_migrations_again_applies_nothing() {
    let db = TestDb::new();
    let mut conn = db.conn();
    assert!(run_migrations(&mut conn).unwrap().is_empty());
    assert!(migration_status(&mut conn).unwrap().pending.is_empty());
}

#[test]
fn tasks_belong_to_users_with_cascade_and_owner_first_primary_key() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let constraints = lines(
        &mut conn,
        "SELECT conname || ' ' || pg_get_constraintdef(oid) AS line FROM pg_constraint
          WHERE conrelid = 'tasks'::regclass ORDER BY conname",
    );
    for expected in [
        "tasks_pkey PRIMARY KEY (user_id, id)",
        "tasks_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE",
        "tasks_priority_check CHECK (((priority >= 1) AND (priority <= 5)))",
        "tasks_completed_at_check CHECK ((completed = (completed_at IS NOT NULL)))",
        "tasks_description_check CHECK ((char_length(description) <= 10000))",
    ] {
        assert!(
            constraints.iter().any(|c| c == expected),
            "missing {expected:?} in {constraints:#?}"
        );
    }
    assert!(
        constraints
            .iter()
            .any(|c| c.starts_with("tasks_title_check CHECK"))
    );
    let not_null = lines(
        &mut conn,
        "SELECT column_name AS line FROM information_schema.columns
          WHERE table_name = 'tasks' AND is_nullable = 'NO' ORDER BY 1",
    );
    for column in [
        "completed",
        "created_at",
        "id",
        "priority",
        "title",
        "updated_at",
        "user_id",
        "version",
    ] {
        assert!(
            not_null.iter().any(|c| c == column),
            "{column} should be NOT NULL"
        );
    }
    let triggers = lines(
        &mut conn,
        "SELECT tgname::text AS line FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1",
    );
    assert_eq!(
        triggers,
        [
            "store_settings_keep_row",
            "tasks_before_update",
            "tasks_history_delete",
            "tasks_history_insert",
            "tasks_history_update",
            "tasks_no_truncate",
            "tasks_search_text_delete",
            "tasks_search_text_insert",
            "tasks_search_text_truncate",
            "tasks_search_text_update",
            "tasks_tally_delete",
            "tasks_tally_insert",
            "tasks_tally_truncate",
            "tasks_tally_update",
            "users_touch_updated_at"
        ]
    );
    // The history and the counts go with their account.
    for table in ["task_history", "task_sync_state", "task_counts"] {
        let cascades = lines(
            &mut conn,
            &format!(
                "SELECT pg_get_constraintdef(oid) AS line FROM pg_constraint
                  WHERE conrelid = '{table}'::regclass AND contype = 'f'"
            ),
        );
        assert_eq!(
            cascades,
            ["FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE"],
            "{table}"
        );
    }
}

#[test]
fn list_and_lookup_indexes_exist() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let indexes = lines(
        &mut conn,
        "SELECT indexname || ' ' || regexp_replace(indexdef, '^.* USING ', '') AS line
           FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
    );
    for expected in [
        "tasks_pkey btree (user_id, id)",
        "tasks_user_created_idx btree (user_id, created_at, id)",
        "tasks_user_updated_idx btree (user_id, updated_at, id)",
        "tasks_user_priority_idx btree (user_id, priority, id)",
        "tasks_user_due_idx btree (user_id, COALESCE(due_at, 'infinity'::timestamp with time zone), id)",
        "tasks_user_title_idx btree (user_id, lower(title), id)",
        "tasks_user_open_priority_idx btree (user_id, priority, id) WHERE (NOT completed)",
        "task_search_text_pkey btree (user_id, task_id)",
        "task_search_keys_idx gin (todo_store_search_keys(user_id, title, description)) \
         WITH (fastupdate='on', gin_pending_list_limit='64')",
        "users_email_lower_key btree (lower(email))",
        "users_auth_subject_key btree (auth_subject)",
    ] {
        assert!(
            indexes.iter().any(|i| i == expected),
            "missing {expected:?} in {indexes:#?}"
        );
    }
}

/// 20 users × 2,000 tasks with varied keys, analysed, so that the planner
/// chooses between index and sequential scans on honest statistics.
fn seed_for_plans(conn: &mut PgConnection) {
    conn.batch_execute(
        "INSERT INTO users (id, email)
             SELECT gen_random_uuid(), 'plan' || g || '@example.com' FROM generate_series(1, 20) g;
         INSERT INTO tasks (user_id, id, title, description, priority, due_at, completed,
                            completed_at, created_at)
             SELECT u.id, gen_random_uuid(), 'Task ' || md5(g::text), 'about ' || g, 1 + g % 5,
                    CASE WHEN g % 3 = 0 THEN NULL ELSE now() + g * interval '1 hour' END,
                    g % 3 = 1, CASE WHEN g % 3 = 1 THEN now() END,
                    now() - g * interval '1 minute'
               FROM users u, generate_series(1, 2000) g;
         ANALYZE users; ANALYZE tasks;",
    )
    .unwrap();
}

// List plans are checked at scale, on a database seeded by
// `todo_store_bench::seed`, in tests/tests/plans_at_scale.rs.

#[test]
fn every_lookup_is_an_index_probe() {
    let db = TestDb::new();
    let mut conn = db.conn();
    seed_for_plans(&mut conn);
    let plans = plan(
        &mut conn,
        "EXPLAIN SELECT * FROM tasks
          WHERE user_id = '0193a000-0000-7000-8000-000000000001'
            AND id = '0193a000-0000-7000-8000-000000000002'",
    );
    // Any index that starts with user_id and holds id answers in one probe;
    // the planner may pick one of the list indexes over the primary key.
    assert!(plans.starts_with("Index Scan"), "{plans}");
    assert!(
        plans.contains("Index Cond: ((user_id = ") && plans.contains("AND (id = "),
        "{plans}"
    );
    // With 20 users a sequential scan is the honest choice; this checks that
    // the unique index on lower(email) can answer the lookup.
    conn.batch_execute("SET enable_seqscan = off").unwrap();
    let by_email = plan(
        &mut conn,
        "EXPLAIN SELECT * FROM users WHERE lower(email) = lower('plan3@example.com')",
    );
    assert!(by_email.contains("users_email_lower_key"), "{by_email}");
}

#[test]
fn concurrent_migration_runs_wait_for_each_other_and_all_succeed() {
    let db = TestDb::empty();
    // Whatever the database's default isolation: a migrator that waited
    // must see what the one before it committed.
    db.conn()
        .batch_execute(&format!(
            "ALTER DATABASE {} SET default_transaction_isolation = 'repeatable read'",
            db.name()
        ))
        .unwrap();
    let outcomes: Vec<_> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| run_migrations(&mut db.conn())))
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    });
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    let applied: usize = outcomes.iter().map(|o| o.as_ref().unwrap().len()).sum();
    assert_eq!(
        applied,
        migration_status(&mut db.conn()).unwrap().applied.len()
    );
}

/// A migrator waits for another one (here a session holding the lock for
/// longer than the session's timeout) and runs its migrations without the
/// timeout; afterwards the session's own timeout is back.
#[test]
fn migrations_run_without_the_statement_timeout_and_restore_it() {
    let db = TestDb::empty();
    let mut holder = db.conn();
    holder
        .batch_execute("SELECT pg_advisory_lock(x'746f646f5f6d6967'::bigint)")
        .unwrap();
    let mut conn = db.conn();
    conn.batch_execute("SET statement_timeout = '100ms'")
        .unwrap();
    let applied = std::thread::scope(|scope| {
        let migrator = scope.spawn(|| run_migrations(&mut conn));
        // Held for longer than the migrator's session allows a statement.
        std::thread::sleep(std::time::Duration::from_millis(400));
        holder
            .batch_execute("SELECT pg_advisory_unlock(x'746f646f5f6d6967'::bigint)")
            .unwrap();
        migrator.join().unwrap()
    });
    assert!(!applied.unwrap().is_empty());
    assert_eq!(
        lines(
            &mut conn,
            "SELECT current_setting('statement_timeout') AS line"
        ),
        ["100ms"]
    );
}

/// Each length limit is defined once, in the library; the migrations'
/// CHECK constraints must say the same numbers.
#[test]
fn the_databases_length_checks_say_the_librarys_limits() {
    use todo_store::{
        MAX_AUTH_SUBJECT_CHARS, MAX_DESCRIPTION_CHARS, MAX_DISPLAY_NAME_CHARS, MAX_EMAIL_CHARS,
        MAX_TIME_ZONE_CHARS, MAX_TITLE_CHARS, MIN_EMAIL_CHARS,
    };
    let db = TestDb::new();
    let mut conn = db.conn();
    let definition = |conn: &mut PgConnection, name: &str| {
        lines(
            conn,
            &format!(
                "SELECT pg_get_constraintdef(oid) AS line FROM pg_constraint \
                 WHERE conname = '{name}'"
            ),
        )
        .join("")
    };
    let expected = [
        (
            "tasks_title_check",
            format!("char_length(title) <= {MAX_TITLE_CHARS})"),
        ),
        (
            "tasks_description_check",
            format!("char_length(description) <= {MAX_DESCRIPTION_CHARS})"),
        ),
        (
            "users_email_check",
            format!(
                "(char_length(email) >= {MIN_EMAIL_CHARS}) AND (char_length(email) <= {MAX_EMAIL_CHARS})"
            ),
        ),
        (
            "users_display_name_check",
            format!("char_length(display_name) <= {MAX_DISPLAY_NAME_CHARS})"),
        ),
        (
            "users_time_zone_check",
            format!("char_length(time_zone) <= {MAX_TIME_ZONE_CHARS})"),
        ),
        (
            "users_auth_subject_check",
            format!("char_length(auth_subject) <= {MAX_AUTH_SUBJECT_CHARS})"),
        ),
    ];
    for (constraint, bound) in expected {
        let def = definition(&mut conn, constraint);
        assert!(def.contains(&bound), "{constraint}: {def} lacks {bound}");
    }
}
