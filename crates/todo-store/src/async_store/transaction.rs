//! Calls whose transaction spans several flights, because what comes next
//! depends on an answer (a bulk create with client-chosen ids reads back
//! the tasks under ids already taken, and decides from them whether to
//! commit): the first flight carries `BEGIN` and the statements that need
//! nothing, the next ones what needed their answers, and the last one
//! `COMMIT` or `ROLLBACK` ([`closed`]). The order within a flight holds as
//! in `flight.rs`; between flights the transaction stays open and the
//! connection marked broken (closed if the call is dropped there).

/// Sends `BEGIN` as `$begin_sql` says and `$statement` (written with `$c`,
/// as for `in_one_flight!`) on `$conn` in one flight, leaving the
/// transaction open if both succeed; otherwise rolls it back (one more
/// round trip) and answers the first error.
macro_rules! opening_flight {
    ($conn:expr, $begin_sql:expr, |$c:ident| $statement:expr) => {{
        let conn: &mut diesel_async::AsyncPgConnection = $conn;
        let begin_sql: &str = $begin_sql;
        $crate::async_store::flight::taking_off(conn);
        let (begun, answer) = {
            use diesel_async::SimpleAsyncConnection as _;
            let mut begin_on: &diesel_async::AsyncPgConnection = &*conn;
            #[allow(unused_mut)]
            let mut $c: &diesel_async::AsyncPgConnection = &*conn;
            futures_util::join!(begin_on.batch_execute(begin_sql), $statement)
        };
        $crate::async_store::transaction::opened(conn, begun, answer).await
    }};
}
pub(crate) use opening_flight;

use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};

use diesel_async::RunQueryDsl;

use super::flight::{Commit, Sending, settled};
use crate::Result;

/// The answer of an opening flight: the statement's, with the transaction
/// left open; or, if `BEGIN` or the statement failed, the first error,
/// after rolling the transaction back.
pub(crate) async fn opened<T>(
    conn: &mut AsyncPgConnection,
    begun: QueryResult<()>,
    answer: QueryResult<T>,
) -> Result<T> {
    if begun.is_err() || answer.is_err() {
        let ended = conn.batch_execute("ROLLBACK").await;
        settled(conn, ended.is_ok());
    }
    begun?;
    Ok(answer?)
}

/// Ends the transaction an opening flight left open: `COMMIT` if `answer`
/// is a success, `ROLLBACK` otherwise; the connection is marked healthy
/// again once it has ended. The call's answer is `answer`, or the
/// `COMMIT`'s error.
pub(crate) async fn closed<T>(
    conn: &mut AsyncPgConnection,
    sending: Sending,
    answer: Result<T>,
) -> Result<T> {
    let ended = match (&answer, sending) {
        (Ok(_), Sending::Pipelined) => Commit.execute(conn).await.map(drop),
        // No prepared statement may outlive the transaction (see `Sending`).
        (Ok(_), Sending::Sequential) => conn.batch_execute("COMMIT").await,
        (Err(_), _) => conn.batch_execute("ROLLBACK").await,
    };
    settled(conn, ended.is_ok());
    let answer = answer?;
    ended?;
    Ok(answer)
}
