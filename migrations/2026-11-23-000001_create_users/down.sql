DROP TABLE users;
DROP FUNCTION todo_store_touch_updated_at();
