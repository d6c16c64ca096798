-- Row-level security: the database's own wall between users, behind the
-- library's `Owner` type. A role subject to these policies (the application
-- role: not a superuser, no BYPASSRLS, not the tables' owner; see
-- `todo-store setup --app-role`) reaches only the rows of the owner its
-- current transaction is scoped to, whatever the query asks for.
--
-- The scope is the transaction-local setting `todo.user_id`, which the
-- library sets at the start of every owner-scoped call
-- (`SELECT set_config('todo.user_id', $1, true)`). Being local, it ends with
-- the transaction, so a pooled connection (or a transaction-mode pooler)
-- never carries one user's scope into the next call. After a scoped
-- transaction the setting reads as '' rather than NULL, hence the NULLIF.
CREATE FUNCTION todo_store_scope() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT NULLIF(current_setting('todo.user_id', true), '')::uuid
$$;

-- FORCE: the owner of the table is held to the policies too, unless it
-- bypasses row-level security (a superuser or a BYPASSRLS role, as
-- operator tools connect with).
ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE tasks FORCE ROW LEVEL SECURITY;

-- One policy for every command: a row is visible, changeable and insertable
-- only for its owner. Without a scope, `todo_store_scope()` is NULL and no
-- row matches.
CREATE POLICY tasks_owner_only ON tasks
    USING (user_id = todo_store_scope())
    WITH CHECK (user_id = todo_store_scope());

-- Accounts: reading and signing up need no scope (a login looks an account
-- up by email before anyone is authenticated); changing or deleting an
-- account needs its owner's.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;

CREATE POLICY users_readable ON users FOR SELECT USING (true);
CREATE POLICY users_sign_up ON users FOR INSERT WITH CHECK (true);
CREATE POLICY users_own_update ON users FOR UPDATE
    USING (id = todo_store_scope())
    WITH CHECK (id = todo_store_scope());
CREATE POLICY users_own_delete ON users FOR DELETE
    USING (id = todo_store_scope());
