//! Logical backups: every account, task and change of the task history
//! (or one user's) as a JSON Lines file, and that file written back (cargo
//! feature `bulk`).
//!
//! [`export`] writes a consistent snapshot in constant memory; [`import`]
//! reads it back in batches, one transaction each, on several connections,
//! idempotently; [`BackupReader`] reads the records of a file with their
//! line numbers, for a tool of your own. Both directions go through the
//! [`bulk`](crate::bulk) paths, so every record is checked by the same rules
//! as the repositories.
//!
//! # The format, version 2
//!
//! ```text
//! {"format":"todo-store","version":2,"secrets":false}
//! {"type":"user","id":"…","email":"…","display_name":null,"time_zone":null,"auth_subject":null,"created_at":"…","updated_at":"…"}
//! {"type":"task","user_id":"…","id":"…","title":"Water the plants","description":null,"priority":3,"due_at":null,"completed_at":null,"version":2,"created_at":"…","updated_at":"…"}
//! {"type":"sync_state","user_id":"…","last_seq":2}
//! {"type":"change","user_id":"…","seq":1,"task_id":"…","version":1,"kind":"create","changed_at":"…","actor_user_id":"…","actor_role":"todo_app","old_values":null,"new_values":{"completed":false,"completed_at":null,"description":null,"due_at":null,"priority":3,"title":"Water plants"}}
//! {"type":"change","user_id":"…","seq":2,"task_id":"…","version":2,"kind":"update","changed_at":"…","actor_user_id":"…","actor_role":"todo_app","old_values":{"title":"Water plants"},"new_values":{"title":"Water the plants"}}
//! {"type":"end","users":1,"tasks":1,"sync_states":1,"changes":2}
//! ```
//!
//! - The header comes first and holds nothing that varies (no date, no
//!   host), so that the same data always gives the same bytes.
//! - Then four sections, each in a fixed order: users (by id), tasks (by
//!   owner, then id), sync states (by owner), changes (by owner, then
//!   number). Every line that names a user comes after that user's line.
//! - A `sync_state` line is a row of `task_sync_state`: the number of the
//!   user's last change. A user who never changed a task has none. The
//!   numbering's epoch is not carried: a restore that creates the sync state
//!   starts a new one, so that devices' sync tokens from before the restore
//!   ask for a reload. (How far the history was pruned needs no line: the
//!   first `change` line kept says it; see
//!   [`prune_history`](crate::prune_history).)
//! - A `change` line is a row of `task_history` (see [`crate::history`]),
//!   its owner in `user_id`; the changes of deleted tasks are there too.
//!   `old_values` and `new_values` are the JSON objects the history holds,
//!   carried as they are (not read into [`TaskFields`](crate::TaskFields)
//!   and written out again), with their keys in name order (`jsonb` keeps
//!   keys in an order of its own, not the one they came in, so there is no
//!   other order to keep).
//! - Keys are always written, in this order, `null` for a missing value;
//!   on reading, a missing optional key counts as `null` and an unknown key
//!   is an error.
//! - Times are RFC 3339 in UTC with exactly six fractional digits,
//!   PostgreSQL's precision.
//! - User lines carry `password_hash` only in a file whose header says
//!   `"secrets":true`; such a file must be kept like the database itself.
//! - The end line counts the records of each kind, so that a truncated file
//!   is recognised.
//! - No line is longer than [`MAX_LINE_BYTES`].
//! - A record may appear twice only unchanged: an import refuses a record
//!   that contradicts another one of the file, or the one already stored
//!   under its id (a change: under its owner and number), rather than keep
//!   one of them without a word. A sync state is a high-water mark instead:
//!   an import raises the stored one to it (and a user's `last_seq` to the
//!   number of each of their changes), never lowers it.
//!
//! An import records no history of its own: the tasks it inserts are not
//! recorded as created by the restore (its transactions set
//! `todo.history = 'off'` with `row_security = off`, which the history
//! triggers honour), and the history restored is the file's, so that export
//! → import into an empty database → export gives the same bytes.
//!
//! # Version 1
//!
//! Version 1, the format before the history, is the same without
//! `sync_state` and `change` lines, its end line counting users and tasks
//! only (`{"type":"end","users":1,"tasks":1}`). Such a file still imports
//! ([`OLDEST_VERSION`]): its tasks arrive without history, and their
//! owners' change sequences start when they next change a task. A version 1
//! file with a `sync_state` or `change` line is refused. Exports are always
//! written in the current [`VERSION`].
//!
//! # Example
//!
//! One user's data, copied into another database:
//!
//! ```no_run
//! use std::{fs::File, io::BufReader};
//! use todo_store::{
//!     Owner, StoreConfig,
//!     backup::{self, BackupReader, ImportOptions},
//!     bulk::{Accounts, ExportOptions},
//! };
//!
//! fn copy_user(owner: Owner) -> Result<(), Box<dyn std::error::Error>> {
//!     let mut source = StoreConfig::new("postgres://localhost/todo_store").establish()?;
//!     let options = ExportOptions::default().accounts(Accounts::One(owner));
//!     let mut file = File::create("user.jsonl")?;
//!     let written = backup::export(&mut source, &options, &mut file, |_| {})?;
//!     file.sync_all()?;
//!     println!("{} tasks, {} changes, {} bytes", written.tasks, written.changes, written.bytes);
//!
//!     let mut target = [StoreConfig::new("postgres://localhost/todo_store_copy").establish()?];
//!     let reader = BackupReader::new(BufReader::new(File::open("user.jsonl")?))?;
//!     let restored = backup::import(&mut target, reader, &ImportOptions::default(), |_| {})?;
//!     println!("{} tasks inserted", restored.imported.tasks_inserted);
//!     Ok(())
//! }
//! ```

mod batch;
mod error;
mod export;
mod format;
mod import;
mod lines;
mod reader;
mod writer;

pub use error::BackupError;
pub use export::{ExportSummary, export};
pub use format::{FORMAT, MAX_LINE_BYTES, OLDEST_VERSION, VERSION};
pub use import::{AfterImport, ImportOptions, ImportProgress, ImportSummary, import};
pub use reader::{BackupReader, BackupRecord};
