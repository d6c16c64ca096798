-- Search keys that carry the owner.
--
-- The trigram index of `task_search` keyed its entries by trigram alone,
-- with the owner as a second column: the posting list of a common trigram
-- ("the", "ing") spans every user's tasks, and each search intersected the
-- owner's entries with such lists. Measured at 10,000 users, a search for a
-- common word cost more with that index than without it.
--
-- Here each key is a 64-bit hash of (owner, trigram): a key's posting list
-- holds one owner's tasks only, so a search reads what its owner has and
-- nothing of anyone else's, however large the table grows.
--
-- Exactness. The library's search is `title ILIKE p OR description ILIKE p`
-- with `p = '%' || escaped search || '%'`. In a UTF-8 database ILIKE is
-- `lower(text) LIKE lower(p)`, so a match means the lowered search, cut into
-- runs of alphanumeric characters, lies inside runs of the lowered title or
-- description: every three-character piece of the pattern's runs is a piece
-- of the row's runs. The index holds the row's pieces, the library asks for
-- rows that hold all of the pattern's (`@>`), and the ILIKE then decides:
-- the results are exactly those of the plain ILIKE. Both sides are cut by
-- the same function, so what counts as alphanumeric (the database's
-- `lc_ctype`) cannot differ between them. A hash collision can only let a
-- row through to the ILIKE, never keep one out.
--
-- A pattern with no run of three characters (a search of one or two
-- letters, or of punctuation) has no piece: its keys are then the owner's
-- own key, which every row carries, and the index narrows to the owner's
-- tasks only, as a B-tree on the owner would.
--
-- The functions are SQL-standard bodies (`RETURN`), parsed now: the index
-- does not depend on `search_path` when it is rebuilt or restored.

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

-- New entries wait in a pending list, merged into the index in bulk when
-- it fills; every search reads the whole list. 64 kB (the least allowed):
-- at volume B, after a burst of writes, a full 1 MB list added 0.6-2.3 ms
-- to every search and its merge cost the write that filled it up to 380 ms;
-- with 64 kB searches stay within noise of an empty list, merges take up to
-- 25 ms, and writes cost what they did (BENCHMARKS.md). `fastupdate = off`
-- made writes 5-10 % slower.
CREATE INDEX tasks_search_keys_idx ON tasks
    USING gin (todo_store_search_keys(user_id, title, description))
    WITH (fastupdate = on, gin_pending_list_limit = 64);

DROP INDEX tasks_user_search_idx;

-- Nothing of this schema uses the extensions any more; they go, unless
-- something else of the database has come to use them.
DO $$
BEGIN
    DROP EXTENSION IF EXISTS btree_gin;
EXCEPTION WHEN dependent_objects_still_exist THEN
    RAISE NOTICE 'btree_gin is in use elsewhere: kept';
END
$$;
DO $$
BEGIN
    DROP EXTENSION IF EXISTS pg_trgm;
EXCEPTION WHEN dependent_objects_still_exist THEN
    RAISE NOTICE 'pg_trgm is in use elsewhere: kept';
END
$$;
