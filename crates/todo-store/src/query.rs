//! What to list: [`TaskFilter`] (which tasks), [`TaskSort`] (in which order),
//! [`TaskQuery`] (both, plus the page), and the resulting [`Page`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Cursor, Priority};

/// Default number of tasks on a page.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Largest page: bigger requests are capped to this.
pub const MAX_PAGE_SIZE: u32 = 200;

/// Which tasks to include, by completion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusFilter {
    /// Open and done tasks.
    #[default]
    All,
    /// Only tasks still to do.
    Open,
    /// Only completed tasks.
    Done,
}

/// Which of the owner's tasks to include. All conditions must hold.
///
/// ```
/// use todo_store::{Priority, StatusFilter, TaskFilter};
/// let urgent_and_open = TaskFilter::default()
///     .status(StatusFilter::Open)
///     .priority_at_most(Priority::new(2)?)
///     .search("invoice");
/// # Ok::<(), todo_store::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskFilter {
    /// Open, done or all tasks.
    pub status: StatusFilter,
    /// Lowest priority number to include (1 is the most urgent).
    pub priority_min: Option<Priority>,
    /// Highest priority number to include.
    pub priority_max: Option<Priority>,
    /// Text contained in the title or description, case-insensitively.
    /// `%`, `_` and `\` match themselves.
    pub search: Option<String>,
    /// Only tasks due at or after this time.
    pub due_from: Option<DateTime<Utc>>,
    /// Only tasks due strictly before this time.
    pub due_before: Option<DateTime<Utc>>,
    /// Only tasks changed at or after this time.
    pub updated_since: Option<DateTime<Utc>>,
}

impl TaskFilter {
    /// Only tasks with this status.
    pub fn status(mut self, status: StatusFilter) -> Self {
        self.status = status;
        self
    }

    /// Only tasks with a priority number of at least `min`.
    pub fn priority_at_least(mut self, min: Priority) -> Self {
        self.priority_min = Some(min);
        self
    }

    /// Only tasks with a priority number of at most `max`.
    pub fn priority_at_most(mut self, max: Priority) -> Self {
        self.priority_max = Some(max);
        self
    }

    /// Only tasks whose title or description contains `text` (any case:
    /// PostgreSQL's `ILIKE`, narrowed first by the owner's search keys when
    /// `text` holds three letters or digits in a row).
    /// `text` is trimmed; a blank or over-long text is rejected by
    /// [`list_tasks`](crate::TaskRepo::list_tasks) as invalid, since it can
    /// only be a client mistake.
    pub fn search(mut self, text: impl Into<String>) -> Self {
        self.search = Some(text.into());
        self
    }

    /// Only tasks due in `[from, before)`; either bound may be open.
    pub fn due_between(
        mut self,
        from: Option<DateTime<Utc>>,
        before: Option<DateTime<Utc>>,
    ) -> Self {
        self.due_from = from;
        self.due_before = before;
        self
    }

    /// Only tasks changed at or after `since` (for sync after being offline).
    pub fn updated_since(mut self, since: DateTime<Utc>) -> Self {
        self.updated_since = Some(since);
        self
    }
}

/// The field a list is ordered by. Ties are always broken by task id, so the
/// order is total and pages never skip or repeat a task.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortKey {
    /// Creation time.
    #[default]
    Created,
    /// Time of the last change.
    Updated,
    /// Priority number (ascending: most urgent first).
    Priority,
    /// Due time (ascending: soonest first, undated tasks last).
    Due,
    /// Title, case-insensitively.
    Title,
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

/// An ordering for a task list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaskSort {
    /// The field.
    pub key: SortKey,
    /// The direction.
    pub order: SortOrder,
}

impl TaskSort {
    /// An ordering by `key` in `order`.
    pub const fn new(key: SortKey, order: SortOrder) -> Self {
        Self { key, order }
    }
}

/// A page request: which tasks, in which order, how many, and after which cursor.
///
/// ```
/// use todo_store::{SortKey, SortOrder, StatusFilter, TaskFilter, TaskQuery, TaskSort};
/// let query = TaskQuery::new()
///     .filter(TaskFilter::default().status(StatusFilter::Open))
///     .sort(TaskSort::new(SortKey::Due, SortOrder::Asc))
///     .limit(20);
/// assert_eq!(query.page_size(), 20);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskQuery {
    /// Which tasks.
    pub filter: TaskFilter,
    /// In which order.
    pub sort: TaskSort,
    /// How many at most (default [`DEFAULT_PAGE_SIZE`], capped at [`MAX_PAGE_SIZE`]).
    pub limit: Option<u32>,
    /// Continue after this cursor, taken from the previous [`Page::next_cursor`].
    pub after: Option<Cursor>,
}

impl TaskQuery {
    /// The first page of all tasks, oldest first.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the filter.
    pub fn filter(mut self, filter: TaskFilter) -> Self {
        self.filter = filter;
        self
    }

    /// Sets the order.
    pub fn sort(mut self, sort: TaskSort) -> Self {
        self.sort = sort;
        self
    }

    /// Sets the page size (capped at [`MAX_PAGE_SIZE`]; 0 is rejected by `list`).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Continues after `cursor`.
    pub fn after(mut self, cursor: Cursor) -> Self {
        self.after = Some(cursor);
        self
    }

    /// The page size this query will use.
    pub fn page_size(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_PAGE_SIZE).min(MAX_PAGE_SIZE)
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items, in the requested order.
    pub items: Vec<T>,
    /// Pass to [`TaskQuery::after`] for the next page; `None` on the last page.
    pub next_cursor: Option<Cursor>,
}
