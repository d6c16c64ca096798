-- Per-user task counts, kept by the database, and a per-user task limit.
--
-- `count_tasks` by status alone reads one row here instead of counting the
-- owner's tasks. The counts change in the same transaction as the tasks,
-- by the statement-level triggers below (a bulk create is one update of the
-- owner's row, however many tasks it adds), so every path that changes a
-- task keeps them right: the repositories, a downstream crate's own query,
-- psql, a restore.
--
-- The same row holds the owner's limit: a statement that would leave an
-- owner with more tasks than the limit fails as a whole, whoever sends it.

-- The deployment's settings that the database enforces: exactly one row.
CREATE TABLE store_settings (
    singleton          boolean PRIMARY KEY DEFAULT true,
    -- The task limit of every user without one of their own.
    max_tasks_per_user integer NOT NULL DEFAULT 10000,
    CONSTRAINT store_settings_singleton_check CHECK (singleton),
    CONSTRAINT store_settings_max_tasks_check CHECK (max_tasks_per_user >= 0)
);
INSERT INTO store_settings DEFAULT VALUES;

-- Without its row, no limit would apply: the row cannot be deleted.
CREATE FUNCTION todo_store_keep_settings() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'store_settings keeps its one row: UPDATE it instead'
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER store_settings_keep_row
    BEFORE DELETE OR TRUNCATE ON store_settings
    FOR EACH STATEMENT EXECUTE FUNCTION todo_store_keep_settings();

CREATE TABLE task_counts (
    user_id   uuid    PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    total     integer NOT NULL DEFAULT 0,
    done      integer NOT NULL DEFAULT 0,
    -- This user's own task limit; NULL: the deployment's
    -- (`store_settings.max_tasks_per_user`).
    max_tasks integer,
    -- A count that went wrong fails the write rather than drifting.
    CONSTRAINT task_counts_check CHECK (done BETWEEN 0 AND total),
    CONSTRAINT task_counts_max_tasks_check CHECK (max_tasks >= 0)
);

-- The owner reads their own counts; only the triggers and the operator
-- write them (the application role gets SELECT, see `setup_app_role`).
ALTER TABLE task_counts ENABLE ROW LEVEL SECURITY;
CREATE POLICY task_counts_owner_reads ON task_counts FOR SELECT
    USING (user_id = todo_store_scope());

-- Roles that may read tasks may read (their owner's) counts and the
-- settings: an application role set up before this migration keeps working.
DO $$
DECLARE
    grantee regrole;
BEGIN
    FOR grantee IN
        SELECT DISTINCT a.grantee::regrole
          FROM pg_class c, aclexplode(c.relacl) a
         WHERE c.oid = 'tasks'::regclass
           AND a.privilege_type = 'SELECT'
           AND a.grantee NOT IN (0, c.relowner)
    LOOP
        EXECUTE format('GRANT SELECT ON task_counts, store_settings TO %s', grantee);
    END LOOP;
END
$$;

-- Applies one statement's changes of `tasks` to the counts, from its
-- transition tables: one row per owner, taken in owner order (inserts), so
-- that two statements over the same owners cannot deadlock. The owner's row
-- stays locked until the transaction ends, so the writes of one owner count
-- one after the other, and the limit check of an insert sees every task
-- committed before it.
--
-- SECURITY DEFINER, with its search_path pinned below (pg_catalog first,
-- so that no function or operator of the caller's making with the same
-- signature as a built-in one is called instead; `format`, whose built-in
-- signature is variadic, is named with its schema), as the history's
-- trigger function (see there why). Nobody but the tables' owner may
-- execute it, or attach it to another table (it refuses to run for one).
CREATE FUNCTION todo_store_count_tasks() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    over_user  uuid;
    over_total integer;
    over_limit integer;
BEGIN
    -- Only for `tasks`: attached to a table of someone else's making, it
    -- would write counts (as the tables' owner) from that table's rows.
    IF TG_RELID <> 'tasks'::regclass THEN
        RAISE EXCEPTION 'todo_store_count_tasks() counts the tasks table only'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'INSERT' THEN
        WITH per_owner AS (
            SELECT user_id, count(*)::integer AS total,
                   (count(*) FILTER (WHERE completed))::integer AS done
              FROM new_rows
             GROUP BY user_id
        ),
        counted AS (
            INSERT INTO task_counts AS c (user_id, total, done)
            SELECT user_id, total, done FROM per_owner ORDER BY user_id
            ON CONFLICT (user_id) DO UPDATE
                SET total = c.total + excluded.total, done = c.done + excluded.done
            RETURNING c.user_id, c.total, c.max_tasks
        )
        SELECT k.user_id, k.total, COALESCE(k.max_tasks, s.max_tasks_per_user)
          INTO over_user, over_total, over_limit
          FROM counted k CROSS JOIN store_settings s
         WHERE k.total > COALESCE(k.max_tasks, s.max_tasks_per_user)
         LIMIT 1;
        IF over_user IS NOT NULL THEN
            -- The library reads the limit back from this message: keep
            -- "the limit is N" as it is.
            RAISE EXCEPTION 'too many tasks: the limit is % per user', over_limit
                USING ERRCODE = 'check_violation',
                      CONSTRAINT = 'task_counts_limit',
                      TABLE = 'tasks',
                      DETAIL = pg_catalog.format('User %s would have %s tasks.', over_user, over_total);
        END IF;
    ELSIF TG_OP = 'UPDATE' THEN
        -- Only completing and reopening change a count.
        UPDATE task_counts c
           SET done = c.done + p.delta
          FROM (SELECT n.user_id, sum(CASE WHEN n.completed THEN 1 ELSE -1 END)::integer AS delta
                  FROM new_rows n
                  JOIN old_rows o USING (user_id, id)
                 WHERE n.completed <> o.completed
                 GROUP BY n.user_id) p
         WHERE c.user_id = p.user_id AND p.delta <> 0;
    ELSIF TG_OP = 'TRUNCATE' THEN
        -- Only a restore may truncate (see `tasks_no_truncate`).
        UPDATE task_counts SET total = 0, done = 0 WHERE total <> 0;
    ELSE
        -- (Deleting an account deletes its counts with it; the update then
        -- finds no row, or one about to go.)
        UPDATE task_counts c
           SET total = c.total - p.total, done = c.done - p.done
          FROM (SELECT user_id, count(*)::integer AS total,
                       (count(*) FILTER (WHERE completed))::integer AS done
                  FROM old_rows
                 GROUP BY user_id) p
         WHERE c.user_id = p.user_id;
    END IF;
    RETURN NULL;
END
$$;

DO $$
BEGIN
    EXECUTE format(
        'ALTER FUNCTION todo_store_count_tasks() SET search_path = pg_catalog, %I, pg_temp',
        current_schema());
END
$$;

-- PostgreSQL's default grants EXECUTE to PUBLIC: a role could then attach
-- these functions, which run as the tables' owner, to a temporary table of
-- its own and write any user's counts or history. The triggers on `tasks`
-- fire whoever writes (no EXECUTE privilege is needed for that).
REVOKE EXECUTE ON FUNCTION todo_store_count_tasks() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION todo_store_record_task_changes() FROM PUBLIC;

-- Named to fire after the history's triggers (PostgreSQL fires the
-- triggers of one event in name order): every write then locks its
-- owners' rows in one order, `task_sync_state` before `task_counts`, and
-- two transactions of one owner cannot deadlock on them.
CREATE TRIGGER tasks_tally_insert
    AFTER INSERT ON tasks REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION todo_store_count_tasks();
CREATE TRIGGER tasks_tally_update
    AFTER UPDATE ON tasks REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION todo_store_count_tasks();
CREATE TRIGGER tasks_tally_delete
    AFTER DELETE ON tasks REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION todo_store_count_tasks();
CREATE TRIGGER tasks_tally_truncate
    AFTER TRUNCATE ON tasks
    FOR EACH STATEMENT EXECUTE FUNCTION todo_store_count_tasks();

-- The counts of the tasks stored now (the triggers above hold the table's
-- writers off until this migration commits).
INSERT INTO task_counts (user_id, total, done)
SELECT user_id, count(*), count(*) FILTER (WHERE completed)
  FROM tasks
 GROUP BY user_id;
