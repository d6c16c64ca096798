//! [`BulkInsert`]: many new tasks in one INSERT whose text is the same for
//! any number of rows, so that it is prepared once per connection.
//!
//! A multi-row `VALUES` list writes one set of placeholders per row: a new
//! statement text per row count, which Diesel prepares afresh each time
//! (one parse per call; with diesel-async a round trip of its own), and
//! which would fill the statement cache if it were kept. Here each column
//! travels as one array parameter and PostgreSQL's `unnest` turns the
//! arrays back into rows: six parameters and one text, whatever the count.

use chrono::{DateTime, Utc};
use diesel::{
    QueryResult,
    pg::Pg,
    prelude::*,
    query_builder::{AstPass, QueryFragment},
    sql_types::{Array, Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid},
};

use super::{
    cached::Cached,
    task_queries::{TaskRow, TaskRows},
};
use crate::{Owner, Priority, Task, TaskId, UserId};

/// The rows of one INSERT, column by column.
pub(crate) struct BulkInsert<'a> {
    owner: UserId,
    ids: Vec<TaskId>,
    titles: Vec<&'a str>,
    descriptions: Vec<Option<&'a str>>,
    priorities: Vec<Priority>,
    due: Vec<Option<DateTime<Utc>>>,
    /// Whether a row whose id is taken inserts nothing (client-chosen ids).
    if_absent: bool,
    /// The columns of a [`Task`], for `RETURNING`.
    returning: diesel::dsl::AsSelect<Task, Pg>,
}

impl<'a> BulkInsert<'a> {
    /// The INSERT of `rows` (all of them `owner`'s), returning the tasks
    /// inserted, in the order given; with `if_absent`, rows whose id is
    /// taken insert nothing.
    pub(crate) fn statement(
        owner: &Owner,
        rows: &[TaskRow<'a>],
        if_absent: bool,
    ) -> Cached<'a, TaskRows> {
        let mut insert = BulkInsert {
            owner: owner.user_id(),
            ids: Vec::with_capacity(rows.len()),
            titles: Vec::with_capacity(rows.len()),
            descriptions: Vec::with_capacity(rows.len()),
            priorities: Vec::with_capacity(rows.len()),
            due: Vec::with_capacity(rows.len()),
            if_absent,
            returning: Task::as_select(),
        };
        for row in rows {
            debug_assert_eq!(row.user_id, insert.owner, "one owner per insert");
            insert.ids.push(row.id);
            insert.titles.push(row.title);
            insert.descriptions.push(row.description);
            insert.priorities.push(row.priority);
            insert.due.push(row.due_at);
        }
        Cached::new(insert)
    }
}

impl QueryFragment<Pg> for BulkInsert<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "INSERT INTO tasks (user_id, id, title, description, priority, due_at) \
             SELECT ",
        );
        out.push_bind_param::<SqlUuid, _>(&self.owner)?;
        out.push_sql(", r.id, r.title, r.description, r.priority, r.due_at FROM unnest(");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.titles)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.descriptions)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<SmallInt>, _>(&self.priorities)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Timestamptz>>, _>(&self.due)?;
        // In the order given: RETURNING answers in the order inserted.
        out.push_sql(
            ") WITH ORDINALITY AS r(id, title, description, priority, due_at, n) \
             ORDER BY r.n",
        );
        if self.if_absent {
            out.push_sql(" ON CONFLICT (user_id, id) DO NOTHING");
        }
        out.push_sql(" RETURNING ");
        self.returning.walk_ast(out.reborrow())
    }
}
