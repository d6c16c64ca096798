-- Task history and the per-user change sequence.
--
-- Every change of a task is recorded by the database itself, by the
-- statement-level triggers at the end of this file, so that every path that
-- changes a task is recorded: the library's repositories, a downstream
-- crate's own Diesel query, psql. The history is for debugging ("what
-- happened to my task?") and for device sync (`changes_since`): it is kept
-- for a bounded time (see `prune_history`) and goes with its owner's account.

-- A task's id never changes either: the history names a task by its id.
CREATE OR REPLACE FUNCTION todo_store_tasks_before_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.user_id IS DISTINCT FROM OLD.user_id THEN
        RAISE EXCEPTION 'a task cannot be moved to another user'
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'tasks_user_id_immutable',
                  TABLE = 'tasks';
    END IF;
    IF NEW.id IS DISTINCT FROM OLD.id THEN
        RAISE EXCEPTION 'a task''s id cannot change'
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'tasks_id_immutable',
                  TABLE = 'tasks';
    END IF;
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- Each user's change sequence: the number of their last change. The row is
-- the sequence's lock as well: a write takes the next numbers with an
-- UPDATE, which holds the row until the writing transaction ends, so the
-- writes of one user take their numbers one transaction after the other,
-- in commit order, and a rolled-back write gives its numbers back (no gaps).
-- The writes of different users lock different rows. Pruning never touches
-- it (it deletes a prefix of the history, which the feed notices).
CREATE TABLE task_sync_state (
    user_id  uuid   PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- The number of the user's last change; 0 before the first.
    last_seq bigint NOT NULL DEFAULT 0,
    -- The numbering's identity, carried in every sync token: a restore
    -- starts a new one (a backup does not carry it), so that a device's
    -- token from before the restore asks for a reload instead of being
    -- matched against other changes under the same numbers.
    epoch    uuid   NOT NULL DEFAULT gen_random_uuid(),
    CONSTRAINT task_sync_state_seq_check CHECK (last_seq >= 0)
);

-- One row per change of a task.
CREATE TABLE task_history (
    user_id       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The change's number in its owner's sequence (task_sync_state).
    seq           bigint      NOT NULL,
    task_id       uuid        NOT NULL,
    -- The version the change produced (for a delete, the last one).
    version       integer     NOT NULL,
    kind          text        NOT NULL,
    -- The time of the writing transaction, as `updated_at` records it.
    changed_at    timestamptz NOT NULL DEFAULT now(),
    -- Who made it: the owner the transaction was scoped to (`todo.user_id`),
    -- if any, and the database role.
    actor_user_id uuid,
    actor_role    text        NOT NULL,
    -- The task's fields (title, description, completed, completed_at,
    -- priority, due_at; times as UTC RFC 3339 text): before and after. A
    -- create has only `new_values` (every field), a delete only `old_values`
    -- (the last state), other changes the fields that changed, in both.
    old_values    jsonb,
    new_values    jsonb,
    CONSTRAINT task_history_pkey PRIMARY KEY (user_id, seq),
    CONSTRAINT task_history_seq_check CHECK (seq >= 1),
    CONSTRAINT task_history_version_check CHECK (version >= 1),
    CONSTRAINT task_history_kind_check
        CHECK (kind IN ('create', 'update', 'complete', 'reopen', 'delete')),
    CONSTRAINT task_history_values_check CHECK (
        (old_values IS NULL) = (kind = 'create')
        AND (new_values IS NULL) = (kind = 'delete')
    )
);

-- A task's changes, newest first (`task_history`).
CREATE INDEX task_history_task_idx ON task_history (user_id, task_id, seq);
-- Pruning by age: rows arrive in time order, so a BRIN index (a few pages
-- for millions of rows, next to nothing per insert) finds the old ones.
CREATE INDEX task_history_changed_at_idx ON task_history USING brin (changed_at);

-- An owner reads only their own history and sequence. Only the triggers
-- (below, as the tables' owner) write them; the application role gets
-- SELECT alone (see `setup_app_role`). Not FORCEd: the tables' owner writes
-- through the triggers, and prunes.
ALTER TABLE task_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY task_history_owner_reads ON task_history FOR SELECT
    USING (user_id = todo_store_scope());
ALTER TABLE task_sync_state ENABLE ROW LEVEL SECURITY;
CREATE POLICY task_sync_state_owner_reads ON task_sync_state FOR SELECT
    USING (user_id = todo_store_scope());

-- Roles that may read tasks may read (their owner's) history: an application
-- role set up before this migration keeps working.
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
        EXECUTE format('GRANT SELECT ON task_history, task_sync_state TO %s', grantee);
    END LOOP;
END
$$;

-- A time as the history records it: UTC RFC 3339 text with microseconds,
-- whatever the session's TimeZone (jsonb's own rendering follows it).
CREATE FUNCTION todo_store_utc_text(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- All the fields of a task as the history records them (a create, a delete).
CREATE FUNCTION todo_store_task_fields(
    title text, description text, completed boolean, completed_at timestamptz,
    priority smallint, due_at timestamptz
) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object(
        'title', title,
        'description', description,
        'completed', completed,
        'completed_at', todo_store_utc_text(completed_at),
        'priority', priority,
        'due_at', todo_store_utc_text(due_at)
    )
$$;

-- Records the changes of one statement on `tasks`, from its transition
-- tables (one trigger per kind of statement, below): one history row per
-- task, numbered from each owner's sequence with one upsert per owner
-- (however many of their tasks changed), taken in owner order so that two
-- statements over the same owners cannot deadlock. Within a statement, an
-- owner's changes are numbered in task id order.
--
-- The three branches differ only in how they read the transition tables
-- into `change`; each is one static statement, so PL/pgSQL plans it once
-- per session (a shared SQL function, planned on every call, or an array
-- handed to one, cost a write twice as much again).
--
-- SECURITY DEFINER: it runs as the tables' owner, so the application role
-- needs no privilege to write history (and has none). Its search_path is
-- fixed below (this schema, then pg_temp), so that no caller can put a
-- temporary table of its own in the place of the ones it writes. The
-- actor's role is the caller's: the session's role, or the one it SET ROLE
-- to.
--
-- Skipped only for a restore that brings its history along: the setting
-- `todo.history = 'off'` is honoured with `row_security = off`, under which
-- a role subject to row-level security cannot have changed `tasks` at all.
-- Deletes that cascade from deleting an account are not recorded: the
-- account's history goes with it.
CREATE FUNCTION todo_store_record_task_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    actor_owner uuid := todo_store_scope();
    actor_role text := CASE current_setting('role')
                           WHEN 'none' THEN session_user::text
                           ELSE current_setting('role')
                       END;
BEGIN
    IF current_setting('todo.history', true) = 'off'
       AND current_setting('row_security') = 'off' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        WITH change AS (
            SELECT n.user_id, n.id AS task_id, n.version, 'create' AS kind,
                   NULL::jsonb AS old_values,
                   todo_store_task_fields(n.title, n.description, n.completed,
                                          n.completed_at, n.priority, n.due_at) AS new_values
              FROM new_rows n
        ),
        per_owner AS (
            SELECT user_id, count(*) AS n FROM change GROUP BY user_id
        ),
        numbered AS (
            INSERT INTO task_sync_state AS s (user_id, last_seq)
            SELECT user_id, n FROM per_owner ORDER BY user_id
            ON CONFLICT (user_id) DO UPDATE SET last_seq = s.last_seq + excluded.last_seq
            RETURNING s.user_id, s.last_seq
        )
        INSERT INTO task_history (user_id, seq, task_id, version, kind, actor_user_id,
                                  actor_role, old_values, new_values)
        SELECT c.user_id,
               n.last_seq - p.n + row_number() OVER (PARTITION BY c.user_id ORDER BY c.task_id),
               c.task_id, c.version, c.kind, actor_owner, actor_role,
               c.old_values, c.new_values
          FROM change c
          JOIN per_owner p USING (user_id)
          JOIN numbered n USING (user_id);
    ELSIF TG_OP = 'UPDATE' THEN
        WITH change AS (
            SELECT n.user_id, n.id AS task_id, n.version,
                   CASE WHEN o.completed = n.completed THEN 'update'
                        WHEN n.completed THEN 'complete'
                        ELSE 'reopen' END AS kind,
                   d.old_values, d.new_values
              FROM new_rows n
              JOIN old_rows o USING (user_id, id)
              CROSS JOIN LATERAL (
                  -- Only the fields that changed (field by field: several
                  -- times cheaper than comparing two whole jsonb objects).
                  SELECT CASE WHEN o.title IS DISTINCT FROM n.title
                              THEN jsonb_build_object('title', o.title) ELSE '{}' END
                         || CASE WHEN o.description IS DISTINCT FROM n.description
                              THEN jsonb_build_object('description', o.description) ELSE '{}' END
                         || CASE WHEN o.completed IS DISTINCT FROM n.completed
                              THEN jsonb_build_object('completed', o.completed) ELSE '{}' END
                         || CASE WHEN o.completed_at IS DISTINCT FROM n.completed_at
                              THEN jsonb_build_object('completed_at', todo_store_utc_text(o.completed_at)) ELSE '{}' END
                         || CASE WHEN o.priority IS DISTINCT FROM n.priority
                              THEN jsonb_build_object('priority', o.priority) ELSE '{}' END
                         || CASE WHEN o.due_at IS DISTINCT FROM n.due_at
                              THEN jsonb_build_object('due_at', todo_store_utc_text(o.due_at)) ELSE '{}' END AS old_values,
                         CASE WHEN o.title IS DISTINCT FROM n.title
                              THEN jsonb_build_object('title', n.title) ELSE '{}' END
                         || CASE WHEN o.description IS DISTINCT FROM n.description
                              THEN jsonb_build_object('description', n.description) ELSE '{}' END
                         || CASE WHEN o.completed IS DISTINCT FROM n.completed
                              THEN jsonb_build_object('completed', n.completed) ELSE '{}' END
                         || CASE WHEN o.completed_at IS DISTINCT FROM n.completed_at
                              THEN jsonb_build_object('completed_at', todo_store_utc_text(n.completed_at)) ELSE '{}' END
                         || CASE WHEN o.priority IS DISTINCT FROM n.priority
                              THEN jsonb_build_object('priority', n.priority) ELSE '{}' END
                         || CASE WHEN o.due_at IS DISTINCT FROM n.due_at
                              THEN jsonb_build_object('due_at', todo_store_utc_text(n.due_at)) ELSE '{}' END AS new_values
              ) d
        ),
        per_owner AS (
            SELECT user_id, count(*) AS n FROM change GROUP BY user_id
        ),
        numbered AS (
            INSERT INTO task_sync_state AS s (user_id, last_seq)
            SELECT user_id, n FROM per_owner ORDER BY user_id
            ON CONFLICT (user_id) DO UPDATE SET last_seq = s.last_seq + excluded.last_seq
            RETURNING s.user_id, s.last_seq
        )
        INSERT INTO task_history (user_id, seq, task_id, version, kind, actor_user_id,
                                  actor_role, old_values, new_values)
        SELECT c.user_id,
               n.last_seq - p.n + row_number() OVER (PARTITION BY c.user_id ORDER BY c.task_id),
               c.task_id, c.version, c.kind, actor_owner, actor_role,
               c.old_values, c.new_values
          FROM change c
          JOIN per_owner p USING (user_id)
          JOIN numbered n USING (user_id);
    ELSE
        WITH change AS (
            SELECT o.user_id, o.id AS task_id, o.version, 'delete' AS kind,
                   todo_store_task_fields(o.title, o.description, o.completed,
                                          o.completed_at, o.priority, o.due_at) AS old_values,
                   NULL::jsonb AS new_values
              FROM old_rows o
             -- Not the tasks of an account being deleted (a cascade).
             WHERE EXISTS (SELECT FROM users u WHERE u.id = o.user_id)
        ),
        per_owner AS (
            SELECT user_id, count(*) AS n FROM change GROUP BY user_id
        ),
        numbered AS (
            INSERT INTO task_sync_state AS s (user_id, last_seq)
            SELECT user_id, n FROM per_owner ORDER BY user_id
            ON CONFLICT (user_id) DO UPDATE SET last_seq = s.last_seq + excluded.last_seq
            RETURNING s.user_id, s.last_seq
        )
        INSERT INTO task_history (user_id, seq, task_id, version, kind, actor_user_id,
                                  actor_role, old_values, new_values)
        SELECT c.user_id,
               n.last_seq - p.n + row_number() OVER (PARTITION BY c.user_id ORDER BY c.task_id),
               c.task_id, c.version, c.kind, actor_owner, actor_role,
               c.old_values, c.new_values
          FROM change c
          JOIN per_owner p USING (user_id)
          JOIN numbered n USING (user_id);
    END IF;
    RETURN NULL;
END
$$;

-- A statement that deletes every task at once would leave no trace:
-- refused, except in a restore (as above), which brings its own history.
CREATE FUNCTION todo_store_tasks_no_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('todo.history', true) = 'off'
       AND current_setting('row_security') = 'off' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'TRUNCATE tasks would bypass the task history: DELETE instead'
        USING ERRCODE = 'feature_not_supported';
END
$$;

-- The function that writes the history names its tables without a schema:
-- pin its search_path to the schema migrated into, with pg_temp last.
DO $$
BEGIN
    EXECUTE format(
        'ALTER FUNCTION todo_store_record_task_changes() SET search_path = %I, pg_temp',
        current_schema());
END
$$;

CREATE TRIGGER tasks_no_truncate
    BEFORE TRUNCATE ON tasks
    FOR EACH STATEMENT EXECUTE FUNCTION todo_store_tasks_no_truncate();
CREATE TRIGGER tasks_history_insert
    AFTER INSERT ON tasks REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION todo_store_record_task_changes();
CREATE TRIGGER tasks_history_update
    AFTER UPDATE ON tasks REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION todo_store_record_task_changes();
CREATE TRIGGER tasks_history_delete
    AFTER DELETE ON tasks REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION todo_store_record_task_changes();
