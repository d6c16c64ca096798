//! The text search: a case-insensitive substring of the title or the
//! description, answered through the owner's search keys.
//!
//! The index (`tasks_search_keys_idx`, migration `task_search_by_owner`)
//! holds, for each task, hashes of (owner, three-character piece) of its
//! text; a search asks for the rows that hold every piece of its pattern,
//! then the ILIKE decides. The migration explains why that finds exactly
//! what the ILIKE alone finds.

use diesel::{
    pg::Pg,
    prelude::*,
    sql_types::{Nullable, Text, Uuid},
};

use crate::{Owner, schema::tasks};

diesel::define_sql_function! {
    /// The keys the index holds for a task (migration `task_search_by_owner`).
    fn todo_store_search_keys(owner: Uuid, title: Text, description: Nullable<Text>) -> Array<BigInt>;
}

diesel::define_sql_function! {
    /// The keys a task must hold to match an ILIKE pattern: its pieces, or
    /// the owner's own key when it has none.
    fn todo_store_pattern_keys(owner: Uuid, pattern: Text) -> Array<BigInt>;
}

/// `query` narrowed to the tasks of `owner` whose title or description
/// holds `text` (validated), ignoring case.
///
/// The keys narrow, the ILIKE decides: both are always there, so a search
/// of one or two characters (no piece to look up) is still exact.
pub(crate) fn matching(
    query: tasks::BoxedQuery<'static, Pg>,
    owner: &Owner,
    text: &str,
) -> tasks::BoxedQuery<'static, Pg> {
    let pattern = format!("%{}%", escape_like(text));
    query
        .filter(
            todo_store_search_keys(tasks::user_id, tasks::title, tasks::description)
                .contains(todo_store_pattern_keys(owner.user_id(), pattern.clone())),
        )
        .filter(
            tasks::title
                .ilike(pattern.clone())
                .or(tasks::description.ilike(pattern)),
        )
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
    use super::escape_like;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like(r"50%_off\now"), r"50\%\_off\\now");
    }
}
