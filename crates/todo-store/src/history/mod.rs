//! Task history and device sync.
//!
//! The database records every change of a task (triggers on `tasks`, see the
//! migration `task_history`), whatever made it: the repositories, a
//! downstream crate's own query, `psql`. Each change gets the next number of
//! its owner's **change sequence**, which has no gaps and follows commit
//! order, so a device can ask for exactly what changed since it last synced:
//!
//! - [`TaskRepo::task_history`](crate::TaskRepo::task_history): a task's
//!   changes, newest first, also after it was deleted (for debugging: what
//!   happened, when, and by whom);
//! - [`TaskRepo::sync_token`](crate::TaskRepo::sync_token) and
//!   [`TaskRepo::changes_since`](crate::TaskRepo::changes_since): the change
//!   feed behind an opaque [`SyncToken`];
//! - [`prune_history`]: the retention, for operators.
//!
//! A device that starts from nothing (or is told to reload with
//! [`Error::ResyncRequired`](crate::Error::ResyncRequired)) takes a token
//! **first**, then reads all tasks with
//! [`list_tasks`](crate::TaskRepo::list_tasks), then asks for the changes
//! since that token from then on. A change made while it was reading comes
//! again in the feed; applying it twice is harmless, and none is missed.
//!
//! ```no_run
//! use todo_store::{Changes, Owner, Store, TaskRepo};
//!
//! fn sync(store: &mut Store, owner: &Owner, token: &todo_store::SyncToken)
//!     -> todo_store::Result<todo_store::SyncToken>
//! {
//!     let mut token = token.clone();
//!     loop {
//!         let Changes { changed, deleted, next, more, .. } =
//!             store.changes_since(owner, &token, 200)?;
//!         for task in changed { /* insert or replace task.id locally */ let _ = task; }
//!         for id in deleted { /* remove id locally */ let _ = id; }
//!         token = next;
//!         if !more {
//!             return Ok(token);
//!         }
//!     }
//! }
//! ```

mod change;
mod fields;
mod prune;
pub(crate) mod queries;
mod token;

pub use change::{Actor, ChangeKind, Changes, HistoryPage, HistoryQuery, TaskChange};
pub use fields::TaskFields;
pub use prune::{DEFAULT_HISTORY_RETENTION_DAYS, Pruned, prune_history};
pub use token::SyncToken;
