//! One flight per owner-scoped call: `BEGIN` with the owner's scope, the
//! call's statement and `COMMIT` leave together, and the call waits one
//! round trip for all three answers.
//!
//! Why the order holds (diesel-async 0.9.2, pinned for it; the tests with
//! cold and disabled statement caches guard it). tokio-postgres sends
//! requests in the order they are first polled, and `join!` polls its
//! futures in the order written. The `BEGIN` message is a simple query,
//! sent at its first poll. Every Diesel statement (the call's, and
//! `COMMIT`) takes diesel-async's statement-cache lock, which hands out
//! turns in arrival order, and keeps it while it prepares a statement not
//! yet cached (sending Parse and waiting for the answer); the statement's
//! Bind and Execute are then sent in the same poll that releases the lock,
//! before `COMMIT` is polled again. (A statement binding a custom SQL type
//! would look its type up before taking the lock, where `COMMIT` could
//! overtake it: the library has none, and a flight must not carry one.)
//! So `COMMIT` can never
//! overtake the statement, even when the statement must be prepared first
//! or is never cached: a `COMMIT` sent as a simple query could (it takes no
//! lock), and the statement would then run after the transaction, without
//! its scope. Hence `COMMIT` is a prepared statement of its own ([`Commit`]),
//! and nothing after the first message is a simple query.
//!
//! Prepared statements cost a round trip the first time on each connection
//! (Parse, then wait): a call whose statement or `COMMIT` is not in the
//! connection's cache yet takes two or three flights, in the same order.
//!
//! What that costs: `COMMIT` leaves before the statement's answer is read,
//! so a failure only the client sees (rows it cannot decode) comes after a
//! write the server has committed; the sync store would roll back then.
//!
//! Why a failure leaves a clean connection: each message ends with its own
//! Sync, so a failing statement aborts the transaction, and `COMMIT` then
//! ends it (PostgreSQL answers `ROLLBACK`). A call dropped before all three
//! answers arrived (a cancelled request, a timeout) may leave its
//! transaction open on the server: the connection is marked broken before
//! the flight leaves and healthy again only once its `COMMIT` has
//! succeeded, and a connection that goes back to the pool so marked is
//! closed at once (the server then rolls its transaction back), not kept
//! until its next checkout.

use diesel::{
    QueryResult,
    connection::TransactionManagerStatus,
    pg::Pg,
    query_builder::{AstPass, QueryFragment, QueryId},
};
use diesel_async::{AnsiTransactionManager, AsyncPgConnection, TransactionManager};

use crate::{Result, StatementCache};

/// `COMMIT` as a statement diesel-async prepares once per connection and
/// caches (its type is its cache key), unlike `sql_query("COMMIT")`, which
/// is prepared again at every call.
#[derive(Debug, Clone, Copy, QueryId)]
pub(crate) struct Commit;

impl QueryFragment<Pg> for Commit {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("COMMIT");
        Ok(())
    }
}

/// How a store sends a call's messages: all in one flight, or each after
/// the answer it follows, for a transaction-mode pooler that does not
/// carry prepared statements from one transaction to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sending {
    /// `BEGIN`, the statement and a prepared `COMMIT` in one flight; each
    /// statement prepared once per connection (the statement cache on).
    Pipelined,
    /// The statement cache off: every statement is prepared (under
    /// tokio-postgres' name for it) inside the call's transaction, and
    /// closed again before the simple `COMMIT` that ends it, so that no
    /// named statement outlives the transaction on the pooler's server
    /// connection. `BEGIN` still leaves with the statement's Parse; its
    /// Bind and Execute follow the Parse's answer, and the `COMMIT` the
    /// statement's: three flights, as the sync store's three round trips.
    Sequential,
}

impl Sending {
    /// The sending that the statement cache setting calls for.
    pub(crate) fn of(cache: StatementCache) -> Self {
        match cache {
            StatementCache::Enabled => Self::Pipelined,
            StatementCache::Disabled => Self::Sequential,
        }
    }
}

/// Sends the statement `$statement` (written with `$c`, a
/// `&AsyncPgConnection` of its own, e.g. `query.get_result(&mut $c)`) on
/// `$conn`, between `BEGIN` and the owner scope of `$begin_sql` and a
/// `COMMIT`, as `$sending` says (one flight when pipelined), and settles
/// the answers (see [`landed`]). A macro, not a function: each call's
/// statement future borrows the connection for its own lifetime, which a
/// function taking a closure cannot name.
macro_rules! in_one_flight {
    ($conn:expr, $sending:expr, $begin_sql:expr, |$c:ident| $statement:expr) => {{
        let conn: &mut diesel_async::AsyncPgConnection = $conn;
        let begin_sql: String = $begin_sql;
        $crate::async_store::flight::taking_off(conn);
        use diesel_async::{RunQueryDsl as _, SimpleAsyncConnection as _};
        match $sending {
            $crate::async_store::flight::Sending::Pipelined => {
                let (begun, answer, committed) = {
                    let mut begin_on: &diesel_async::AsyncPgConnection = &*conn;
                    #[allow(unused_mut)]
                    let mut $c: &diesel_async::AsyncPgConnection = &*conn;
                    let mut commit_on: &diesel_async::AsyncPgConnection = &*conn;
                    futures_util::join!(
                        begin_on.batch_execute(&begin_sql),
                        $statement,
                        $crate::async_store::flight::Commit.execute(&mut commit_on),
                    )
                };
                $crate::async_store::flight::landed(conn, begun, answer, committed)
            }
            $crate::async_store::flight::Sending::Sequential => {
                let (begun, answer) = {
                    let mut begin_on: &diesel_async::AsyncPgConnection = &*conn;
                    #[allow(unused_mut)]
                    let mut $c: &diesel_async::AsyncPgConnection = &*conn;
                    futures_util::join!(begin_on.batch_execute(&begin_sql), $statement)
                };
                // The statement was closed when its future ended: before this.
                let end = match (&begun, &answer) {
                    (Ok(()), Ok(_)) => "COMMIT",
                    _ => "ROLLBACK",
                };
                let ended = conn.batch_execute(end).await.map(|()| 0);
                $crate::async_store::flight::landed(conn, begun, answer, ended)
            }
        }
    }};
}
pub(crate) use in_one_flight;

/// Marks `conn` broken until its flight has landed (see the module docs).
pub(crate) fn taking_off(conn: &mut AsyncPgConnection) {
    <AnsiTransactionManager as TransactionManager<AsyncPgConnection>>::transaction_manager_status_mut(conn)
        .set_in_error();
}

/// The call's answer from the three of a flight that has landed: the
/// `BEGIN`'s error first (nothing after it ran as asked), then the
/// statement's (the transaction it aborted was rolled back by the
/// `COMMIT`), then the `COMMIT`'s (a write refused at commit).
pub(crate) fn landed<T>(
    conn: &mut AsyncPgConnection,
    begun: QueryResult<()>,
    answer: QueryResult<T>,
    committed: QueryResult<usize>,
) -> Result<T> {
    // All three answered. A `COMMIT` that succeeded ended the transaction
    // (committed, or rolled back after a failed statement); one that failed
    // may leave it open (an aborted transaction, or a `COMMIT` the server
    // could not find prepared), so the connection stays marked broken and
    // is closed when it goes back (see `PooledConn`).
    settled(conn, committed.is_ok());
    begun?;
    let answer = answer?;
    committed?;
    Ok(answer)
}

/// Marks `conn` healthy again if its transaction `ended` (committed, or
/// rolled back); otherwise it stays marked broken, to be closed on its way
/// back to the pool.
pub(crate) fn settled(conn: &mut AsyncPgConnection, ended: bool) {
    if ended {
        *<AnsiTransactionManager as TransactionManager<AsyncPgConnection>>::transaction_manager_status_mut(conn) =
            TransactionManagerStatus::default();
    }
}

/// Sends `$statement` (written with `$c`, as for [`in_one_flight`]) for
/// `$owner` on `$conn` as the store `$store` scopes its calls: in one
/// flight with its scope, or as [`plain_call`] when unscoped.
macro_rules! owner_call {
    ($store:expr, $conn:expr, $owner:expr, |$c:ident| $statement:expr) => {
        match $store.calls.row_security {
            $crate::RowSecurity::Scoped => $crate::async_store::flight::in_one_flight!(
                &mut *$conn,
                $store.sending,
                $store.calls.begin_sql($owner),
                |$c| $statement
            ),
            $crate::RowSecurity::Unscoped => {
                $crate::async_store::flight::plain_call!($store, $conn, |$c| $statement)
            }
        }
    };
}
pub(crate) use owner_call;

/// Sends `$statement` (written with `$c`) on `$conn` with no scope: alone,
/// or, where each statement must stay inside a transaction (behind a
/// pooler, see [`Sending::Sequential`]), in one of its own.
macro_rules! plain_call {
    ($store:expr, $conn:expr, |$c:ident| $statement:expr) => {
        match $store.sending {
            $crate::async_store::flight::Sending::Pipelined => {
                #[allow(unused_mut)]
                let mut $c: &diesel_async::AsyncPgConnection = &*$conn;
                $statement.await.map_err($crate::Error::from)
            }
            $crate::async_store::flight::Sending::Sequential => {
                $crate::async_store::flight::in_one_flight!(
                    &mut *$conn,
                    $crate::async_store::flight::Sending::Sequential,
                    "BEGIN".to_owned(),
                    |$c| $statement
                )
            }
        }
    };
}
pub(crate) use plain_call;
