DROP TRIGGER tasks_history_delete ON tasks;
DROP TRIGGER tasks_history_update ON tasks;
DROP TRIGGER tasks_history_insert ON tasks;
DROP TRIGGER tasks_no_truncate ON tasks;
DROP FUNCTION todo_store_tasks_no_truncate();
DROP FUNCTION todo_store_record_task_changes();
DROP FUNCTION todo_store_task_fields(text, text, boolean, timestamptz, smallint, timestamptz);
DROP FUNCTION todo_store_utc_text(timestamptz);
DROP TABLE task_history;
DROP TABLE task_sync_state;

-- Back to the earlier rule: only the owner is checked.
CREATE OR REPLACE FUNCTION todo_store_tasks_before_update() RETURNS trigger
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
