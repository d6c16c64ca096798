-- Search keys that carry the owner, where row-level security lets a search use them.
--
-- The trigram index of `task_search` keyed its entries by trigram alone,
-- with the owner as a second column: the posting list of a common trigram
-- ("the", "ing") spans every user's tasks, and each search intersected the
-- owner's entries with such lists. Measured at 10,000 users, a search for a
-- common word cost more with that index than without it. Worse, no role
-- that row-level security applies to (the application role, and the
-- tables' owner: `tasks` forces it) could use it at all: PostgreSQL uses a
-- query's condition inside an index only if its functions are LEAKPROOF
-- (they might otherwise show rows the policy hides), and neither `ILIKE`
-- nor any operator of a text index is; only a superuser can mark one so.
--
-- So the keys are an index of a table beside the tasks, `task_search_text`,
-- which has no policy and which no one but the tables' owner may read or
-- write: a copy of each task's title and description, GIN-indexed by the
-- 64-bit hashes of (owner, three-character piece) of its text. A key's
-- entries are one owner's tasks only, so a search reads what its owner
-- has, however large the table grows. Triggers on `tasks` keep the copy
-- (in the same transaction); the search asks
-- `todo_store_search_candidates(owner, pattern)` (SECURITY DEFINER) for the
-- ids of the owner's tasks that hold every piece of the pattern, and reads
-- those tasks by primary key (`id = ANY (…)`: uuid equality is leakproof, so
-- the probe works under the policy), where the ILIKE decides.
--
-- Exactness. The library's search is `title ILIKE p OR description ILIKE p`
-- with `p = '%' || escaped search || '%'`. In a UTF-8 database ILIKE is
-- `lower(text) LIKE lower(p)`, so a match means the lowered search, cut into
-- runs of alphanumeric characters, lies inside runs of the lowered title or
-- description: every three-character piece of the pattern's runs is a piece
-- of the row's runs. The keys hold the row's pieces, the candidates are the
-- rows that hold all of the pattern's, and the ILIKE then decides: the
-- results are exactly those of the plain ILIKE. Both sides are cut by the
-- same functions, so what counts as alphanumeric cannot differ between
-- them. A hash collision can only let a row through to the ILIKE, never
-- keep one out. (The functions lower with the database's default
-- collation, as ILIKE does on `title` and `description`, which use it.)
--
-- A pattern with no run of three characters (a search of one or two
-- letters, or of punctuation) has no piece: its keys are then the owner's
-- own key, which every row carries, and the candidates are all of the
-- owner's tasks (the library leaves the candidates out of such a search).
--
-- The functions are SQL-standard bodies (`RETURN`), parsed now: they do not
-- depend on `search_path` when they run.

-- The keys of every three-character piece of each alphanumeric run of
-- `body`, hashed with `seed` (the owner's hash).
CREATE FUNCTION todo_store_trigram_keys(seed bigint, body text) RETURNS bigint[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (
    SELECT coalesce(pg_catalog.array_agg(pg_catalog.hashtextextended(pg_catalog.substr(run, i, 3), seed)), '{}')
    FROM pg_catalog.regexp_split_to_table(body, '[^[:alnum:]]+') AS run,
         pg_catalog.generate_series(1, pg_catalog.length(run) - 2) AS i
);

-- What the index holds for a task: the owner's key and the keys of the
-- title and the description, each lowered on its own as ILIKE lowers it.
CREATE FUNCTION todo_store_search_keys(owner uuid, title text, description text) RETURNS bigint[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN pg_catalog.array_append(
    todo_store_trigram_keys(
        pg_catalog.uuid_hash_extended(owner, 0),
        pg_catalog.lower(title) || ' ' || coalesce(pg_catalog.lower(description), '')),
    pg_catalog.uuid_hash_extended(owner, 0)
);

-- What a search asks for: the keys of the ILIKE pattern (the very string
-- ILIKE lowers; `%` and the escapes are not alphanumeric), or the owner's
-- key alone when the pattern has none.
CREATE FUNCTION todo_store_pattern_keys(owner uuid, pattern text) RETURNS bigint[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (
    SELECT CASE WHEN pg_catalog.cardinality(keys) > 0 THEN keys
                ELSE ARRAY[pg_catalog.uuid_hash_extended(owner, 0)] END
    FROM todo_store_trigram_keys(pg_catalog.uuid_hash_extended(owner, 0), pg_catalog.lower(pattern)) AS keys
);

-- The text a search reads, a copy of each task's: the keys are an index
-- over it, not stored (a table of stored keys took 4.1 GB at volume B;
-- this one takes 2.5 GB, its index of keys 0.6 GB of that).
CREATE TABLE task_search_text (
    user_id uuid NOT NULL,
    task_id uuid NOT NULL,
    title text NOT NULL,
    description text,
    PRIMARY KEY (user_id, task_id)
);
REVOKE ALL ON task_search_text FROM PUBLIC;

-- Keeps `task_search_text` as `tasks` changes, from one statement's
-- transition tables: new tasks are copied, a changed title or description
-- too (a status change writes nothing here), deleted tasks go.
-- SECURITY DEFINER with a pinned search_path, for the reasons given at
-- `todo_store_count_tasks()`; it refuses any table but `tasks`.
CREATE FUNCTION todo_store_keep_search_text() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    IF TG_RELID <> 'tasks'::regclass THEN
        RAISE EXCEPTION 'todo_store_keep_search_text() keeps the tasks table only'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO task_search_text (user_id, task_id, title, description)
        SELECT user_id, id, title, description FROM new_rows
        ON CONFLICT (user_id, task_id)
        DO UPDATE SET title = EXCLUDED.title, description = EXCLUDED.description;
    ELSIF TG_OP = 'UPDATE' THEN
        -- A task's owner and id never change (the database refuses it).
        UPDATE task_search_text k
           SET title = n.title, description = n.description
          FROM new_rows n
          JOIN old_rows o ON o.user_id = n.user_id AND o.id = n.id
         WHERE k.user_id = n.user_id AND k.task_id = n.id
           AND (o.title, o.description) IS DISTINCT FROM (n.title, n.description);
    ELSIF TG_OP = 'DELETE' THEN
        DELETE FROM task_search_text k
         USING old_rows o
         WHERE k.user_id = o.user_id AND k.task_id = o.id;
    ELSE
        DELETE FROM task_search_text;
    END IF;
    RETURN NULL;
END
$$;

-- The ids of `owner`'s tasks whose keys hold every piece of `pattern` (an
-- ILIKE pattern): candidates, which the caller's ILIKE then decides on.
-- Run as the tables' owner, since the copy is nobody else's to read; it
-- returns ids only, and of the scoped owner only when a scope is set (the
-- tasks themselves are then read under the caller's row security).
CREATE FUNCTION todo_store_search_candidates(owner uuid, pattern text) RETURNS uuid[]
LANGUAGE sql STABLE STRICT SECURITY DEFINER AS $$
    SELECT coalesce(array_agg(task_id), '{}')
      FROM task_search_text
     WHERE user_id = owner
       AND owner = coalesce(todo_store_scope(), owner)
       AND todo_store_search_keys(user_id, title, description)
           @> todo_store_pattern_keys(owner, pattern)
$$;

DO $$
BEGIN
    EXECUTE format(
        'ALTER FUNCTION todo_store_keep_search_text() SET search_path = pg_catalog, %I, pg_temp',
        current_schema());
    EXECUTE format(
        'ALTER FUNCTION todo_store_search_candidates(uuid, text) SET search_path = pg_catalog, %I, pg_temp',
        current_schema());
END
$$;
REVOKE EXECUTE ON FUNCTION todo_store_keep_search_text() FROM PUBLIC;

-- Named to fire between the history's triggers and the counts' (name
-- order): it locks no row of an owner's, so the lock order of those two
-- stays as it was.
CREATE TRIGGER tasks_search_text_insert
    AFTER INSERT ON tasks REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION todo_store_keep_search_text();
CREATE TRIGGER tasks_search_text_update
    AFTER UPDATE ON tasks REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION todo_store_keep_search_text();
CREATE TRIGGER tasks_search_text_delete
    AFTER DELETE ON tasks REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION todo_store_keep_search_text();
CREATE TRIGGER tasks_search_text_truncate
    AFTER TRUNCATE ON tasks
    FOR EACH STATEMENT EXECUTE FUNCTION todo_store_keep_search_text();

-- The text of the tasks stored now (the triggers above already hold a
-- lock on `tasks` that keeps writers out until this migration commits),
-- then the keys' index: built once, faster than entry by entry.
INSERT INTO task_search_text (user_id, task_id, title, description)
SELECT user_id, id, title, description FROM tasks;

-- New entries wait in a pending list, merged into the index in bulk when
-- it fills; every search reads the whole list. 64 kB (the least allowed):
-- at volume B, after a burst of writes, a full 1 MB list added 0.6-2.3 ms
-- to every search and its merge cost the write that filled it up to 380 ms;
-- with 64 kB searches stay within noise of an empty list and merges take up
-- to 25 ms (BENCHMARKS.md). `fastupdate = off` made writes 5-10 % slower.
CREATE INDEX task_search_keys_idx ON task_search_text
    USING gin (todo_store_search_keys(user_id, title, description))
    WITH (fastupdate = on, gin_pending_list_limit = 64);


DROP INDEX tasks_user_search_idx;

-- Nothing of this schema uses the extensions any more; they go, unless
-- something else of the database depends on them (as PostgreSQL records
-- it) or another role owns them.
DO $$
BEGIN
    DROP EXTENSION IF EXISTS btree_gin;
EXCEPTION WHEN dependent_objects_still_exist OR insufficient_privilege THEN
    RAISE NOTICE 'btree_gin is in use elsewhere or not ours to drop: kept';
END
$$;
DO $$
BEGIN
    DROP EXTENSION IF EXISTS pg_trgm;
EXCEPTION WHEN dependent_objects_still_exist OR insufficient_privilege THEN
    RAISE NOTICE 'pg_trgm is in use elsewhere or not ours to drop: kept';
END
$$;
