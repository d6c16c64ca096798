//! [`Cached`]: a statement of any shape, under one type, that Diesel
//! prepares once per connection and caches by its SQL text.
//!
//! Diesel caches no `UPDATE` (an `AsChangeset` with optional fields writes
//! different SQL under one Rust type, so the type cannot be the cache key).
//! Keyed by the SQL text instead, as boxed queries are, caching is safe for
//! any statement whose values are all bind parameters. The sync store does
//! not need it (libpq sends an uncached statement in one round trip), the
//! async store does: diesel-async prepares an uncached statement in a round
//! trip of its own, every time. One type for every variant of a write (a
//! version check or none) also lets the sync and the async store share the
//! function that builds it.

use std::marker::PhantomData;

use diesel::{
    PgConnection, QueryResult, RunQueryDsl,
    pg::Pg,
    query_builder::{AstPass, Query, QueryFragment, QueryId},
};

/// A statement returning rows of SQL type `ST` (`()` for none), cached by
/// its SQL text. Only for statements whose values are all bind parameters.
pub(crate) struct Cached<'a, ST> {
    statement: Box<dyn QueryFragment<Pg> + Send + 'a>,
    rows: PhantomData<fn() -> ST>,
}

impl<'a, ST> Cached<'a, ST> {
    /// `statement`, whose values must all be bind parameters.
    pub(crate) fn new(statement: impl QueryFragment<Pg> + Send + 'a) -> Self {
        Self {
            statement: Box::new(statement),
            rows: PhantomData,
        }
    }
}

impl<ST> std::fmt::Debug for Cached<'_, ST> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cached(..)")
    }
}

impl<ST> Query for Cached<'_, ST> {
    type SqlType = ST;
}

impl<ST> QueryFragment<Pg> for Cached<'_, ST> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.statement.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

/// No static id: the cache key is the SQL text (and the bind types).
impl<ST> QueryId for Cached<'_, ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST> RunQueryDsl<PgConnection> for Cached<'_, ST> {}
