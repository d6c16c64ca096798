//! The order and keyset position of task lists, and their page limit, as query
//! fragments whose SQL text depends only on the sort and the page size, never
//! on a value. Diesel caches a boxed query as a prepared statement only when
//! none of its parts is raw SQL (`diesel::dsl::sql` opts out of caching), so
//! these fragments are what lets every list run as a prepared statement that
//! PostgreSQL plans once, as `pgbench -M prepared` does.

use diesel::{
    expression::{ValidGrouping, is_aggregate},
    pg::Pg,
    prelude::*,
    query_builder::{AstPass, Query, QueryFragment, QueryId},
    sql_types::{Bool, Nullable, SmallInt, Text, Timestamptz},
};

use crate::{
    SortKey, SortOrder,
    cursor::{KeyValue, Position},
    schema::tasks,
};

/// The SQL expression of a sort key. These match the list indexes of the
/// migrations exactly, which is what lets PostgreSQL read an index in order.
fn key_sql(key: SortKey) -> &'static str {
    match key {
        SortKey::Created => "tasks.created_at",
        SortKey::Updated => "tasks.updated_at",
        SortKey::Priority => "tasks.priority",
        SortKey::Due => "COALESCE(tasks.due_at, 'infinity'::timestamptz)",
        SortKey::Title => "lower(tasks.title)",
    }
}

/// A sort key as an expression to order by.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SortExpr(pub(crate) SortKey);

impl Expression for SortExpr {
    // Only ordered by, never read, so the SQL type does not matter.
    type SqlType = Text;
}

impl QueryFragment<Pg> for SortExpr {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(key_sql(self.0));
        Ok(())
    }
}

/// `(key, id) > (cursor key, cursor id)`, or `<` when descending: a row
/// comparison that PostgreSQL turns into an index range, so a deep page costs
/// the same as the first. (A redundant `key >= cursor key` beside it looks
/// helpful but is not: a generic plan then counts both guesses, expects a
/// handful of rows after the cursor, and fetches and sorts them all instead
/// of reading the index in order; `plans_at_scale` checks this.)
#[derive(Debug, Clone)]
pub(crate) struct After(pub(crate) Position);

impl After {
    fn push_key_value<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        match &self.0.key {
            KeyValue::Time(time) => out.push_bind_param::<Timestamptz, _>(time),
            KeyValue::Priority(priority) => out.push_bind_param::<SmallInt, _>(priority),
            KeyValue::Due(due) => {
                out.push_sql("COALESCE(");
                out.push_bind_param::<Nullable<Timestamptz>, _>(due)?;
                out.push_sql(", 'infinity'::timestamptz)");
                Ok(())
            }
            KeyValue::Title(title) => {
                out.push_sql("lower(");
                out.push_bind_param::<Text, _>(title)?;
                out.push_sql(")");
                Ok(())
            }
        }
    }
}

impl Expression for After {
    type SqlType = Bool;
}

impl QueryFragment<Pg> for After {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("(");
        out.push_sql(key_sql(self.0.sort.key));
        out.push_sql(match self.0.sort.order {
            SortOrder::Asc => ", tasks.id) > (",
            SortOrder::Desc => ", tasks.id) < (",
        });
        self.push_key_value(&mut out)?;
        out.push_sql(", ");
        out.push_bind_param::<diesel::sql_types::Uuid, _>(&self.0.id)?;
        out.push_sql(")");
        Ok(())
    }
}

/// `<query> LIMIT <n>` with the limit written into the SQL rather than bound:
/// with a bound limit PostgreSQL's generic plan must guess the row count
/// and may prefer a full sort over the ordered index scan; with the number
/// in the text it plans for exactly one page. Each distinct text is a prepared
/// statement kept on the connection (Diesel's cache has no size bound), so
/// the limit is rounded up to one of a few [`FETCH_SIZES`] and the page is cut
/// to size after reading: any page size gives one of five statements.
#[derive(Debug, Clone)]
pub(crate) struct Limited<Q> {
    pub(crate) query: Q,
    pub(crate) limit: u32,
}

/// The row counts a list statement fetches: a page of 10, 25, 50, 100 or 200
/// tasks, plus the one row that tells whether there is a next page.
pub(crate) const FETCH_SIZES: [u32; 5] = [11, 26, 51, 101, 201];

impl<Q> Limited<Q> {
    /// `query`, fetching at least `rows` rows (at most the largest fetch size).
    pub(crate) fn at_least(query: Q, rows: u32) -> Self {
        let limit = FETCH_SIZES
            .into_iter()
            .find(|&size| size >= rows)
            .unwrap_or(FETCH_SIZES[FETCH_SIZES.len() - 1]);
        Self { query, limit }
    }
}

impl<Q: Query> Query for Limited<Q> {
    type SqlType = Q::SqlType;
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Limited<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        out.push_sql(&format!(" LIMIT {}", self.limit));
        Ok(())
    }
}

impl<Q> RunQueryDsl<PgConnection> for Limited<Q> {}

/// The three fragments have no static query id: their SQL varies with their
/// values (sort key, order, limit), so Diesel must key its statement cache
/// by the SQL text, never by the Rust type alone.
macro_rules! dynamic_query_id {
    ($($ty:ty),*) => {$(
        impl QueryId for $ty {
            type QueryId = ();
            const HAS_STATIC_QUERY_ID: bool = false;
        }
    )*};
}
dynamic_query_id!(SortExpr, After);

impl<Q> QueryId for Limited<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

/// Both expressions are plain column expressions of `tasks`.
macro_rules! tasks_expression {
    ($($ty:ty),*) => {$(
        impl AppearsOnTable<tasks::table> for $ty {}
        impl SelectableExpression<tasks::table> for $ty {}
        impl ValidGrouping<()> for $ty {
            type IsAggregate = is_aggregate::No;
        }
    )*};
}
tasks_expression!(SortExpr, After);

#[cfg(test)]
mod tests {
    use super::Limited;

    #[test]
    fn fetch_sizes_round_up_to_five_statements() {
        let limit = |rows| Limited::at_least((), rows).limit;
        let fetched: Vec<u32> = [1, 11, 12, 26, 27, 51, 52, 101, 102, 201, 500]
            .into_iter()
            .map(limit)
            .collect();
        assert_eq!(fetched, [11, 11, 26, 26, 51, 51, 101, 101, 201, 201, 201]);
    }
}
