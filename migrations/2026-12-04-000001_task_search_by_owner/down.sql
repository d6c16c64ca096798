CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;
CREATE INDEX tasks_user_search_idx ON tasks
    USING gin (user_id, title gin_trgm_ops, description gin_trgm_ops)
    WITH (fastupdate = on, gin_pending_list_limit = 1024);
DROP TRIGGER tasks_search_text_insert ON tasks;
DROP TRIGGER tasks_search_text_update ON tasks;
DROP TRIGGER tasks_search_text_delete ON tasks;
DROP TRIGGER tasks_search_text_truncate ON tasks;
DROP FUNCTION todo_store_search_candidates(uuid, text);
DROP FUNCTION todo_store_keep_search_text();
DROP TABLE task_search_text;
DROP FUNCTION todo_store_pattern_keys(uuid, text);
DROP FUNCTION todo_store_search_keys(uuid, text, text);
DROP FUNCTION todo_store_trigram_keys(bigint, text);
