DROP TRIGGER tasks_tally_truncate ON tasks;
DROP TRIGGER tasks_tally_delete ON tasks;
DROP TRIGGER tasks_tally_update ON tasks;
DROP TRIGGER tasks_tally_insert ON tasks;
GRANT EXECUTE ON FUNCTION todo_store_record_task_changes() TO PUBLIC;
DROP FUNCTION todo_store_count_tasks();
DROP TABLE task_counts;
DROP TABLE store_settings;
DROP FUNCTION todo_store_keep_settings();
