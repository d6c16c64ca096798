//! The owner scope that PostgreSQL's row-level security reads: every
//! owner-scoped call tells the server whose rows it may touch, inside its
//! own transaction, so that the setting can never outlive the call. Inside a
//! caller's transaction it is set in that transaction for the call, and the
//! scope the call found there (none, or the owner of an enclosing
//! [`in_owner_scope`]) is put back afterwards: one round trip to set it
//! (reading the one before in the same statement), and one more to put the
//! old one back when it differs.
//!
//! The migrations put policies on `tasks` (and on changes to `users`) that
//! compare each row with `todo_store_scope()`, the transaction-local setting
//! `todo.user_id`. A role that is subject to them (the application role, see
//! `todo-store setup --app-role`) sees no task at all outside a scoped
//! transaction, and only the scoped owner's inside one, whatever the query
//! says. That is the second wall behind the library's types: one unscoped
//! query in a downstream crate cannot leak another user's tasks.
//!
//! Cost: at the top level, `BEGIN`, the scope and the store's statement
//! timeout travel together in one round trip (one simple-protocol message,
//! see `CallSettings::begin_sql`), the call's statements follow, then
//! `COMMIT`: two round trips more than an unscoped single-statement call.
//! `BENCHMARKS.md` has the measured cost.

use diesel::{
    PgConnection, QueryableByName, RunQueryDsl,
    connection::{AnsiTransactionManager, SimpleConnection, TransactionManager},
    sql_types::Text,
};

use crate::{Owner, Result, Store, session::CallSettings};

/// Whether the library scopes each owner-scoped call for PostgreSQL's
/// row-level security (see [`StoreConfig::row_security`](crate::StoreConfig::row_security)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RowSecurity {
    /// Every owner-scoped call runs in a transaction that sets
    /// `todo.user_id` to its owner (the default). Needed when the
    /// application connects as a role subject to the policies, and harmless
    /// for a role that bypasses them.
    #[default]
    Scoped,
    /// Calls are sent without a scope: two round trips fewer per call. Only
    /// for roles that bypass row-level security (a superuser, a `BYPASSRLS`
    /// role such as Neon's project owner): a role subject to the policies
    /// then sees no tasks at all. The library's `Owner` checks still apply.
    Unscoped,
}

/// The transaction a repository call runs in, which decides whether its
/// writes need a savepoint (see `task_queries::single_write`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Txn {
    /// None: each statement commits by itself.
    None,
    /// One the scope opened for this call alone; it ends with the call.
    Own,
    /// The caller's: a failure must leave it usable, so writes take a savepoint.
    Caller,
}

impl Txn {
    /// The caller's transaction if one is open, else none.
    pub(crate) fn current(conn: &mut PgConnection) -> Self {
        let open = AnsiTransactionManager::transaction_manager_status_mut(conn)
            .transaction_depth()
            // A broken transaction manager: act as if nested (savepoints),
            // the cautious choice; the statement will report the breakage.
            .map_or(true, |depth| depth.is_some());
        if open { Txn::Caller } else { Txn::None }
    }
}

/// Runs the call `call` on behalf of `owner`, scoped as `settings` say.
pub(crate) fn run<T>(
    conn: &mut PgConnection,
    owner: &Owner,
    settings: CallSettings,
    call: impl FnOnce(&mut PgConnection, Txn) -> Result<T>,
) -> Result<T> {
    let txn = Txn::current(conn);
    match (settings.row_security, txn) {
        (RowSecurity::Unscoped, txn) => call(conn, txn),
        (RowSecurity::Scoped, Txn::Caller) => {
            // Local to the caller's transaction, and only for this call: the
            // scope it found (none, or an enclosing `in_owner_scope`'s owner)
            // is put back afterwards, so that a call for another owner
            // cannot leave that owner's rows open to what follows.
            let previous = set_scope_returning_previous(conn, owner)?;
            let answer = call(conn, Txn::Caller);
            if previous != owner.user_id().to_string() {
                let restored = set_scope(conn, &previous);
                // After a failure the transaction may be aborted, and the
                // caller must roll it back anyway: the call's error counts.
                if answer.is_ok() {
                    restored?;
                }
            }
            answer
        }
        (RowSecurity::Scoped, _) => {
            // One round trip for BEGIN, the scope and the timeout.
            let begun =
                AnsiTransactionManager::begin_transaction_sql(conn, &settings.begin_sql(owner));
            if let Err(err) = begun {
                // BEGIN may have succeeded and the set_config failed (a
                // cancel): Diesel then does not count the transaction, so it
                // must not outlive this call on a pooled connection.
                let _ = conn.batch_execute("ROLLBACK");
                return Err(err.into());
            }
            match call(conn, Txn::Own) {
                Ok(answer) => {
                    AnsiTransactionManager::commit_transaction(conn)?;
                    Ok(answer)
                }
                Err(err) => {
                    // A failed rollback leaves Diesel's transaction manager
                    // broken, and the pool then discards the connection.
                    let _ = AnsiTransactionManager::rollback_transaction(conn);
                    Err(err)
                }
            }
        }
    }
}

#[derive(QueryableByName)]
struct Previous {
    #[diesel(sql_type = Text)]
    previous: String,
}

/// Sets the transaction-local scope to `owner` and returns the scope it
/// replaced (empty for none), in one round trip. The materialised CTE is
/// read before the outer row, and so before `set_config` runs.
fn set_scope_returning_previous(conn: &mut PgConnection, owner: &Owner) -> Result<String> {
    let row: Previous = diesel::sql_query(
        "WITH scope AS MATERIALIZED \
         (SELECT coalesce(current_setting('todo.user_id', true), '') AS previous) \
         SELECT previous, set_config('todo.user_id', $1, true) AS set FROM scope",
    )
    .bind::<Text, _>(owner.user_id().to_string())
    .get_result(conn)?;
    Ok(row.previous)
}

/// Sets the transaction-local scope to `user_id` (empty: none).
fn set_scope(conn: &mut PgConnection, user_id: &str) -> diesel::QueryResult<()> {
    diesel::sql_query("SELECT set_config('todo.user_id', $1, true)")
        .bind::<Text, _>(user_id)
        .execute(conn)?;
    Ok(())
}

/// Scopes the rest of the transaction open on `conn` to `owner`, for a
/// call that opened that transaction itself (and so has no scope to put
/// back).
#[cfg(feature = "bulk")]
pub(crate) fn set_for_transaction(
    conn: &mut PgConnection,
    owner: &Owner,
) -> diesel::QueryResult<()> {
    set_scope(conn, &owner.user_id().to_string())
}

/// Runs `query` on `conn` in a transaction scoped to `owner`, for
/// PostgreSQL's row-level security: a downstream crate's own Diesel query on
/// [`schema`](crate::schema) then sees and changes only the owner's tasks,
/// whatever it says, when the connection's role is subject to the policies
/// (the application role, see [`setup_app_role`](crate::setup_app_role)).
///
/// At the top level it opens the transaction (`BEGIN` and the scope in one
/// round trip) and commits it if `query` succeeds, or rolls it back if it
/// fails. Inside a transaction the caller has open it sets the scope in that
/// transaction for `query`, and puts back the scope it found afterwards.
/// Repository calls made inside `query` on the same connection are scoped to
/// their own owner while they run, and leave `owner`'s scope as it was.
///
/// The types do not guard such a query, only the policies do: a role that
/// bypasses row-level security (a superuser, `BYPASSRLS`, the tables' owner
/// without `FORCE`) sees every row, scope or not.
///
/// ```no_run
/// use diesel::prelude::*;
/// use todo_store::{Owner, schema::tasks};
///
/// fn open_count(conn: &mut PgConnection, owner: &Owner) -> todo_store::Result<i64> {
///     todo_store::in_owner_scope(conn, owner, |conn| {
///         // As the application role the policies add the owner filter; it
///         // is written here too, for roles they do not hold.
///         Ok(tasks::table
///             .filter(tasks::user_id.eq(owner.user_id()))
///             .filter(tasks::completed.eq(false))
///             .count()
///             .get_result(conn)?)
///     })
/// }
/// ```
///
/// # Errors
/// What `query` returns, and [`Error::Unavailable`](crate::Error::Unavailable)
/// or [`Error::Database`](crate::Error::Database) if the transaction cannot
/// be opened or committed.
pub fn in_owner_scope<T>(
    conn: &mut PgConnection,
    owner: &Owner,
    query: impl FnOnce(&mut PgConnection) -> Result<T>,
) -> Result<T> {
    run(conn, owner, CallSettings::CALLER, |conn, _| query(conn))
}

impl Store {
    /// Runs `query` on a pooled connection in a transaction scoped to
    /// `owner`, as [`in_owner_scope`] does, with the store's
    /// [`statement_timeout`](crate::StoreConfig::statement_timeout). It is
    /// scoped whatever the store's [`RowSecurity`], and, like the store's own
    /// calls, run again whole under its [`RetryPolicy`](crate::RetryPolicy)
    /// if PostgreSQL aborts it for a serialization failure or a deadlock
    /// (hence `FnMut`).
    ///
    /// # Errors
    /// As [`in_owner_scope`], and [`Error::Unavailable`](crate::Error::Unavailable)
    /// if no connection can be checked out.
    pub fn in_owner_scope<T>(
        &self,
        owner: &Owner,
        mut query: impl FnMut(&mut PgConnection) -> Result<T>,
    ) -> Result<T> {
        let settings = CallSettings {
            row_security: RowSecurity::Scoped,
            ..self.calls
        };
        self.retry
            .run(|| run(&mut *self.conn()?, owner, settings, |conn, _| query(conn)))
    }
}
