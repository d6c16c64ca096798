//! The SQL text of the library's own read queries, with their parameters, for
//! diagnostics and benchmarks: replaying a repository call with `psql` or
//! `pgbench` runs the statement the library sends, with the same values.
//!
//! ```no_run
//! # use todo_store::{Owner, TaskQuery};
//! # fn demo(conn: &mut diesel::PgConnection, owner: &Owner) -> todo_store::Result<()> {
//! let text = todo_store::sql_text::list_tasks(conn, owner, &TaskQuery::default())?;
//! println!("{}", text.sql()); // SELECT ... WHERE ("tasks"."user_id" = $1) ...
//! println!("{}", text.inlined()); // ... WHERE ("tasks"."user_id" = '0193…'::uuid) ...
//! # Ok(()) }
//! ```

use diesel::{
    pg::{Pg, PgQueryBuilder},
    prelude::*,
    query_builder::{AstPass, Query, QueryBuilder, QueryFragment, QueryId},
    sql_types::{Array, Nullable, Text},
};

use crate::{Error, Owner, Result, TaskFilter, TaskId, TaskQuery, repo::task_queries};

/// A statement as the library sends it: SQL with `$1`, `$2`, … placeholders,
/// and each parameter written as a typed SQL literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlText {
    sql: String,
    /// Each parameter's value in its type's text form (`None` for NULL).
    values: Vec<Option<String>>,
    params: Vec<String>,
}

impl SqlText {
    /// The SQL, with placeholders, exactly as sent.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The parameters as SQL literals, e.g. `'0193…'::uuid`; `$1` is the first.
    pub fn params(&self) -> &[String] {
        &self.params
    }

    /// The parameters' values as text, as a client sends them to a prepared
    /// statement (`None` for NULL); `$1` is the first.
    pub fn values(&self) -> &[Option<String>] {
        &self.values
    }

    /// The SQL with every placeholder replaced by its literal: one statement
    /// that `psql` can run as it is.
    pub fn inlined(&self) -> String {
        self.with_params(|n| self.params[n - 1].clone())
    }

    /// The SQL with each placeholder `$n` (`n` from 1 to the number of
    /// parameters) replaced by `render(n)`, e.g. by a `pgbench` variable.
    pub fn with_params(&self, render: impl Fn(usize) -> String) -> String {
        let mut out = String::with_capacity(self.sql.len() + 64 * self.params.len());
        let mut rest = self.sql.as_str();
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let digits = rest[at + 1..]
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len() - at - 1);
            match rest[at + 1..at + 1 + digits].parse::<usize>() {
                Ok(n) if (1..=self.params.len()).contains(&n) => out.push_str(&render(n)),
                _ => out.push_str(&rest[at..at + 1 + digits]),
            }
            rest = &rest[at + 1 + digits..];
        }
        out.push_str(rest);
        out
    }
}

/// The statement [`TaskRepo::list_tasks`](crate::TaskRepo::list_tasks) sends.
///
/// # Errors
/// [`Error::Validation`] as for `list_tasks`; a database error.
pub fn list_tasks(conn: &mut PgConnection, owner: &Owner, query: &TaskQuery) -> Result<SqlText> {
    let (statement, _) = task_queries::page_statement(owner, query)?;
    render(conn, &statement)
}

/// The statement [`TaskRepo::count_tasks`](crate::TaskRepo::count_tasks) sends.
///
/// # Errors
/// [`Error::Validation`] as for `count_tasks`; a database error.
pub fn count_tasks(conn: &mut PgConnection, owner: &Owner, filter: &TaskFilter) -> Result<SqlText> {
    match task_queries::count_statement(owner, filter)? {
        task_queries::CountStatement::Kept(kept) => render(conn, &kept),
        task_queries::CountStatement::Scan(scan) => render(conn, &scan),
    }
}

/// The statement [`TaskRepo::get_task`](crate::TaskRepo::get_task) sends.
///
/// # Errors
/// A database error.
pub fn get_task(conn: &mut PgConnection, owner: &Owner, id: TaskId) -> Result<SqlText> {
    render(conn, &task_queries::get_statement(owner, id))
}

/// Renders `query`'s parameters on the server, which knows every type's text
/// form: `SELECT ARRAY[$1::text, …], ARRAY[quote_nullable($1) || '::' ||
/// pg_typeof($1), …] WHERE true OR EXISTS (<query>)`. The query itself is
/// only planned, never run, and it supplies the parameters with their types.
fn render<Q: QueryFragment<Pg>>(conn: &mut PgConnection, query: &Q) -> Result<SqlText> {
    let mut builder = PgQueryBuilder::default();
    query.to_sql(&mut builder, &Pg)?;
    let sql = builder.finish();
    let count = placeholder_count(&sql);
    if count == 0 {
        return Ok(SqlText {
            sql,
            values: Vec::new(),
            params: Vec::new(),
        });
    }
    let (values, params) =
        RenderParams { query, count }.get_result::<(Vec<Option<String>>, Vec<String>)>(conn)?;
    if params.len() != count || values.len() != count {
        return Err(Error::Database(
            "could not render the statement's parameters".into(),
        ));
    }
    Ok(SqlText {
        sql,
        values,
        params,
    })
}

/// The highest `$n` in `sql`.
fn placeholder_count(sql: &str) -> usize {
    sql.split('$')
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<usize>().ok()
        })
        .max()
        .unwrap_or(0)
}

struct RenderParams<'q, Q> {
    query: &'q Q,
    count: usize,
}

impl<Q> QueryId for RenderParams<'_, Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for RenderParams<'_, Q> {
    type SqlType = (Array<Nullable<Text>>, Array<Text>);
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for RenderParams<'_, Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        let each = |render: &dyn Fn(usize) -> String| {
            (1..=self.count).map(render).collect::<Vec<_>>().join(", ")
        };
        out.push_sql(&format!(
            "SELECT ARRAY[{}]::text[], ARRAY[{}]::text[] WHERE true OR EXISTS (",
            each(&|n| format!("${n}::text")),
            each(&|n| format!("quote_nullable(${n}) || '::' || pg_typeof(${n})::text")),
        ));
        self.query.walk_ast(out.reborrow())?;
        out.push_sql(")");
        Ok(())
    }
}

impl<Q> RunQueryDsl<PgConnection> for RenderParams<'_, Q> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_replaced_whole() {
        let text = SqlText {
            sql: "a = $1 AND b = $10 AND c = $2 AND d = $11".into(),
            values: (1..=10).map(|n| Some(format!("v{n}"))).collect(),
            params: (1..=10).map(|n| format!("'v{n}'")).collect(),
        };
        assert_eq!(placeholder_count(&text.sql), 11);
        assert_eq!(
            text.inlined(),
            "a = 'v1' AND b = 'v10' AND c = 'v2' AND d = $11"
        );
    }
}
