DROP POLICY users_own_delete ON users;
DROP POLICY users_own_update ON users;
DROP POLICY users_sign_up ON users;
DROP POLICY users_readable ON users;
ALTER TABLE users NO FORCE ROW LEVEL SECURITY;
ALTER TABLE users DISABLE ROW LEVEL SECURITY;

DROP POLICY tasks_owner_only ON tasks;
ALTER TABLE tasks NO FORCE ROW LEVEL SECURITY;
ALTER TABLE tasks DISABLE ROW LEVEL SECURITY;

DROP FUNCTION todo_store_scope();
