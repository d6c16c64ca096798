//! The text search: a case-insensitive substring of the title or the
//! description, answered through the owner's search keys.
//!
//! `task_search_text` (migration `task_search_by_owner`) holds a copy of
//! each task's text, indexed by hashes of (owner, three-character piece) of
//! it; a search asks `todo_store_search_candidates` for the ids of the
//! owner's tasks that hold every piece of its pattern, reads those by
//! primary key, and the ILIKE decides. The migration explains why that finds exactly what the
//! ILIKE alone finds, and why the keys are not an index on `tasks` (row
//! security would keep every role but a superuser from using it).

use diesel::{
    expression::{AppearsOnTable, Expression, ValidGrouping, is_aggregate},
    pg::Pg,
    prelude::*,
    query_builder::{AstPass, QueryFragment, QueryId},
    sql_types::{Bool, Text, Uuid},
};

use crate::{Owner, UserId, schema::tasks};

/// `query` narrowed to the tasks of `owner` whose title or description
/// holds `text` (validated), ignoring case.
///
/// The candidates narrow, the ILIKE decides; a search of one or two
/// characters (no piece to look up) is the ILIKE alone.
pub(crate) fn matching(
    query: tasks::BoxedQuery<'static, Pg>,
    owner: &Owner,
    text: &str,
) -> tasks::BoxedQuery<'static, Pg> {
    let pattern = format!("%{}%", escape_like(text));
    let query = if has_piece(text) {
        query.filter(Candidates {
            owner: owner.user_id(),
            pattern: pattern.clone(),
        })
    } else {
        query
    };
    query.filter(
        tasks::title
            .ilike(pattern.clone())
            .or(tasks::description.ilike(pattern)),
    )
}

/// `"tasks"."id" = ANY ((SELECT todo_store_search_candidates($owner, $pattern))::uuid[])`:
/// the candidates are fetched once (an init plan) whatever plan the
/// statement gets, and uuid equality is leakproof, so the primary key
/// answers it under row security. (Diesel's `eq_any` does not write a
/// function's array result.) A fragment of its own rather than a `sql`
/// literal, which would keep Diesel from caching the statement: its text is
/// always the same, and an uncached statement costs the async store a round
/// trip more.
#[derive(Debug, Clone)]
struct Candidates {
    owner: UserId,
    pattern: String,
}

impl Expression for Candidates {
    type SqlType = Bool;
}

impl AppearsOnTable<tasks::table> for Candidates {}

impl ValidGrouping<()> for Candidates {
    type IsAggregate = is_aggregate::No;
}

impl QueryId for Candidates {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<Pg> for Candidates {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(r#""tasks"."id" = ANY ((SELECT todo_store_search_candidates("#);
        out.push_bind_param::<Uuid, _>(&self.owner)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&self.pattern)?;
        out.push_sql("))::uuid[])");
        Ok(())
    }
}

/// Whether `text` holds three letters or digits in a row: a piece the
/// search keys can look up. Without one every task of the owner would be a
/// candidate, so the search reads the owner's tasks directly. (Whether
/// PostgreSQL's `[[:alnum:]]` agrees for every character only decides
/// which way is taken: both find the same tasks.)
fn has_piece(text: &str) -> bool {
    let mut run = 0;
    text.chars().any(|c| {
        run = if c.is_alphanumeric() { run + 1 } else { 0 };
        run == 3
    })
}

/// LIKE treats `%`, `_` and `\` specially; a search for them means the characters.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::{escape_like, has_piece};

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like(r"50%_off\now"), r"50\%\_off\\now");
    }

    #[test]
    fn a_piece_is_three_letters_or_digits_in_a_row() {
        for text in ["abc", "x 12é", "日本語", "%ab_cde"] {
            assert!(has_piece(text), "{text}");
        }
        for text in ["ab", "a b c", "%_", "ab-cd", "🙂🙂🙂"] {
            assert!(!has_piece(text), "{text}");
        }
    }
}
