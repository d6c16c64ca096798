-- Tasks. Every task belongs to exactly one user, for ever.

CREATE TABLE tasks (
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id           uuid        NOT NULL,
    title        text        NOT NULL,
    description  text,
    completed    boolean     NOT NULL DEFAULT false,
    completed_at timestamptz,
    -- 1 is the most urgent, 5 the least.
    priority     smallint    NOT NULL DEFAULT 3,
    due_at       timestamptz,
    -- Optimistic-concurrency token: 1 on insert, +1 on every change (see trigger).
    version      integer     NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    -- Owner first: every owner-scoped lookup is one probe of this index, and the
    -- table can later be sharded by user_id.
    CONSTRAINT tasks_pkey PRIMARY KEY (user_id, id),
    -- The library stores titles trimmed; 1 to 500 characters.
    CONSTRAINT tasks_title_check CHECK (
        char_length(title) BETWEEN 1 AND 500
        AND title = btrim(title, E' \t\n\r\f')
    ),
    CONSTRAINT tasks_description_check CHECK (char_length(description) <= 10000),
    CONSTRAINT tasks_completed_at_check CHECK (completed = (completed_at IS NOT NULL)),
    CONSTRAINT tasks_priority_check CHECK (priority BETWEEN 1 AND 5),
    CONSTRAINT tasks_version_check CHECK (version >= 1)
);

-- On every update: the owner never changes, the version advances by exactly one,
-- and updated_at is the time of the change. Callers cannot get these wrong.
CREATE FUNCTION todo_store_tasks_before_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.user_id IS DISTINCT FROM OLD.user_id THEN
        RAISE EXCEPTION 'a task cannot be moved to another user'
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'tasks_user_id_immutable',
                  TABLE = 'tasks';
    END IF;
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TRIGGER tasks_before_update
    BEFORE UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION todo_store_tasks_before_update();

-- List indexes. Every list query is `WHERE user_id = $1 [AND (key, id) > ($k, $id)]
-- ORDER BY key, id LIMIT n` (or the reverse); each index below serves one sort key in
-- both directions (forward and backward scans), with `id` as the stable tie-break.

-- sort=created
CREATE INDEX tasks_user_created_idx ON tasks (user_id, created_at, id);
-- sort=updated, and the `updated since` filter
CREATE INDEX tasks_user_updated_idx ON tasks (user_id, updated_at, id);
-- sort=priority
CREATE INDEX tasks_user_priority_idx ON tasks (user_id, priority, id);
-- sort=due: tasks without a due date sort after every dated task (ascending)
CREATE INDEX tasks_user_due_idx ON tasks (user_id, (COALESCE(due_at, 'infinity'::timestamptz)), id);
-- sort=title: case-insensitive alphabetical order
CREATE INDEX tasks_user_title_idx ON tasks (user_id, lower(title), id);
-- "What should I do next": open tasks by priority (status=open, sort=priority).
CREATE INDEX tasks_user_open_priority_idx ON tasks (user_id, priority, id) WHERE NOT completed;
