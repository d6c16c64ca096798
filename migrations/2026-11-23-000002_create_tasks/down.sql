DROP TABLE tasks;
DROP FUNCTION todo_store_tasks_before_update();
