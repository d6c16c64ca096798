//! Query plans of the library's own queries, for tests and diagnostics.

use diesel::{
    pg::Pg,
    prelude::*,
    query_builder::{AstPass, Query, QueryFragment, QueryId},
    sql_types::Text,
};

use crate::{Owner, Result, TaskQuery, repo::task_queries};

/// `EXPLAIN <query>`, with the query's bind parameters.
#[derive(Debug)]
struct Explain<Q>(Q);

impl<Q> QueryId for Explain<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for Explain<Q> {
    type SqlType = Text;
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Explain<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("EXPLAIN ");
        self.0.walk_ast(out.reborrow())
    }
}

impl<Q> RunQueryDsl<PgConnection> for Explain<Q> {}

/// The plan PostgreSQL chooses for [`TaskRepo::list_tasks`](crate::TaskRepo::list_tasks)
/// with this owner and query, one line per plan line.
///
/// # Errors
/// [`Error::Validation`](crate::Error::Validation) as for `list_tasks`, or a
/// database error.
pub fn explain_list(
    conn: &mut PgConnection,
    owner: &Owner,
    query: &TaskQuery,
) -> Result<Vec<String>> {
    let (statement, _) = task_queries::page_statement(owner, query)?;
    Ok(Explain(statement).load::<String>(conn)?)
}
