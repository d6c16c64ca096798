DROP INDEX tasks_user_search_idx;
-- The extensions go too, unless something else of the database has come to
-- use them since (then they stay: dropping that is not this migration's call).
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
