//! What the benchmark measures: the shapes of call, and a read call with its
//! parameters fixed (so that the library and `pgbench` run the very same
//! statements with the very same parameters).

use diesel::PgConnection;
use todo_store::{
    AsyncStore, Error, Owner, SortKey, Store, TaskFilter, TaskId, TaskQuery, TaskRepo,
    sql_text::{self, SqlText},
};

/// One kind of call the benchmark measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    /// First page of a user's list, by this key in its natural order.
    List(SortKey),
    /// First page of a heavy user's list (newest first).
    HeavyFirstPage,
    /// A page 90% of the way down a heavy user's list, by keyset cursor.
    DeepPage,
    /// Open tasks by priority.
    OpenByPriority,
    /// Text search in titles and descriptions, for a word of one of the
    /// user's titles (the seed's words are in 3-7 % of the tasks).
    Search,
    /// Text search for the whole title of one of the user's tasks: a
    /// handful of matches.
    SearchPhrase,
    /// One task by id.
    Get,
    /// How many tasks a user has.
    Count,
    /// Create a task.
    Create,
    /// Change a task's title, expecting its version.
    Update,
    /// Mark a task done (or open again), expecting its version.
    Complete,
    /// Delete a task, expecting its version.
    Delete,
    /// The change feed of the seeded user with the most tasks, from tokens
    /// some changes behind (`--changes-behind`): measured on its own, once,
    /// with one client.
    ChangesSince,
}

impl Shape {
    /// Every shape, in the order they run: reads, then the writes (whose
    /// tasks `create` makes and `delete` removes), then the change feed.
    pub const ALL: [Shape; 17] = [
        Shape::List(SortKey::Created),
        Shape::List(SortKey::Updated),
        Shape::List(SortKey::Priority),
        Shape::List(SortKey::Due),
        Shape::List(SortKey::Title),
        Shape::HeavyFirstPage,
        Shape::DeepPage,
        Shape::OpenByPriority,
        Shape::Search,
        Shape::SearchPhrase,
        Shape::Get,
        Shape::Count,
        Shape::Create,
        Shape::Update,
        Shape::Complete,
        Shape::Delete,
        Shape::ChangesSince,
    ];

    /// The shape's name in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Shape::List(SortKey::Created) => "list_created",
            Shape::List(SortKey::Updated) => "list_updated",
            Shape::List(SortKey::Priority) => "list_priority",
            Shape::List(SortKey::Due) => "list_due",
            Shape::List(SortKey::Title) => "list_title",
            Shape::HeavyFirstPage => "heavy_first_page",
            Shape::DeepPage => "deep_page",
            Shape::OpenByPriority => "open_by_priority",
            Shape::Search => "search",
            Shape::SearchPhrase => "search_phrase",
            Shape::Get => "get",
            Shape::Count => "count",
            Shape::Create => "create",
            Shape::Update => "update",
            Shape::Complete => "complete",
            Shape::Delete => "delete",
            Shape::ChangesSince => "changes_since",
        }
    }

    /// The shape called `name`.
    pub fn named(name: &str) -> Option<Shape> {
        Shape::ALL.into_iter().find(|shape| shape.name() == name)
    }

    /// Whether the shape only reads (and so can be replayed by `pgbench`).
    pub fn is_read(self) -> bool {
        !matches!(
            self,
            Shape::Create | Shape::Update | Shape::Complete | Shape::Delete | Shape::ChangesSince
        )
    }

    /// Whether the shape writes tasks of its own, one call at a time.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            Shape::Create | Shape::Update | Shape::Complete | Shape::Delete
        )
    }
}

/// A read call with its parameters fixed.
#[derive(Debug, Clone)]
pub enum Read {
    /// `list_tasks`.
    List(Owner, TaskQuery),
    /// `get_task`.
    Get(Owner, TaskId),
    /// `count_tasks`.
    Count(Owner, TaskFilter),
}

impl Read {
    /// Makes the call through the library.
    pub fn call(&self, store: &mut Store) -> Result<(), Error> {
        match self {
            Read::List(owner, query) => store.list_tasks(owner, query).map(drop),
            Read::Get(owner, id) => store.get_task(owner, *id).map(drop),
            Read::Count(owner, filter) => store.count_tasks(owner, filter).map(drop),
        }
    }

    /// Makes the call through the async store.
    pub async fn call_async(&self, store: &AsyncStore) -> Result<(), Error> {
        match self {
            Read::List(owner, query) => store.list_tasks(owner, query).await.map(drop),
            Read::Get(owner, id) => store.get_task(owner, *id).await.map(drop),
            Read::Count(owner, filter) => store.count_tasks(owner, filter).await.map(drop),
        }
    }

    /// The owner the call is made for.
    pub fn owner(&self) -> &Owner {
        match self {
            Read::List(owner, _) | Read::Get(owner, _) | Read::Count(owner, _) => owner,
        }
    }

    /// The statement the library sends for this call.
    pub fn sql(&self, conn: &mut PgConnection) -> Result<SqlText, Error> {
        match self {
            Read::List(owner, query) => sql_text::list_tasks(conn, owner, query),
            Read::Get(owner, id) => sql_text::get_task(conn, owner, *id),
            Read::Count(owner, filter) => sql_text::count_tasks(conn, owner, filter),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_round_trip_by_name() {
        for shape in Shape::ALL {
            assert_eq!(Shape::named(shape.name()), Some(shape));
        }
        assert_eq!(Shape::named("nope"), None);
        assert_eq!(Shape::ALL.iter().filter(|s| s.is_read()).count(), 12);
        assert_eq!(Shape::ALL.iter().filter(|s| s.is_write()).count(), 4);
    }
}
