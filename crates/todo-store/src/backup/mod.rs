//! Logical backups: every account and task (or one user's) as a JSON Lines
//! file, and that file written back (cargo feature `bulk`).
//!
//! [`export`] writes a consistent snapshot in constant memory; [`import`]
//! reads it back in batches, one transaction each, on several connections,
//! idempotently; [`BackupReader`] reads the records of a file with their
//! line numbers, for a tool of your own. Both directions go through the
//! [`bulk`](crate::bulk) paths, so every record is checked by the same rules
//! as the repositories.
//!
//! # The format, version 1
//!
//! ```text
//! {"format":"todo-store","version":1,"secrets":false}
//! {"type":"user","id":"…","email":"…","display_name":null,"time_zone":null,"auth_subject":null,"created_at":"…","updated_at":"…"}
//! {"type":"task","user_id":"…","id":"…","title":"…","description":null,"priority":3,"due_at":null,"completed_at":null,"version":1,"created_at":"…","updated_at":"…"}
//! {"type":"end","users":1,"tasks":1}
//! ```
//!
//! - The header comes first and holds nothing that varies (no date, no
//!   host), so that the same data always gives the same bytes.
//! - Users (by id) come before tasks (by owner, then id); a task's user
//!   always comes on an earlier line.
//! - Keys are always written, in this order, `null` for a missing value;
//!   on reading, a missing optional key counts as `null` and an unknown key
//!   is an error.
//! - Times are RFC 3339 in UTC with exactly six fractional digits,
//!   PostgreSQL's precision.
//! - User lines carry `password_hash` only in a file whose header says
//!   `"secrets":true`; such a file must be kept like the database itself.
//! - The end line counts the records, so that a truncated file is
//!   recognised.
//! - No line is longer than [`MAX_LINE_BYTES`].
//! - A record may appear twice only unchanged: an import refuses a record
//!   that contradicts another one of the file, or the one already stored
//!   under its id, rather than keep one of them without a word.
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
//!     println!("{} tasks, {} bytes", written.tasks, written.bytes);
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
pub use format::{FORMAT, MAX_LINE_BYTES, VERSION};
pub use import::{AfterImport, ImportOptions, ImportProgress, ImportSummary, import};
pub use reader::{BackupReader, BackupRecord};
