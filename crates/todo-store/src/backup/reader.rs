//! [`BackupReader`]: the records of a backup file, checked, each with its
//! line number.

use std::{
    collections::{HashMap, hash_map::Entry},
    hash::{DefaultHasher, Hash, Hasher},
    io::BufRead,
};

use super::{
    error::BackupError,
    format::{self, End, LineIn},
    lines::Lines,
};
use crate::{
    Error, UserId,
    bulk::{self, ChangeRecord, PasswordHash, Secrets, SyncStateRecord, TaskRecord, UserRecord},
};

/// One record of a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackupRecord {
    /// An account.
    User(UserRecord),
    /// A task of the account `owner`.
    Task {
        /// The owner, whose user line comes earlier in the file.
        owner: UserId,
        /// The task.
        task: TaskRecord,
    },
    /// Where the change sequence of the account `owner` stands (version 2).
    SyncState {
        /// The owner, whose user line comes earlier in the file.
        owner: UserId,
        /// The sync state.
        state: SyncStateRecord,
    },
    /// A change of the task history of the account `owner` (version 2).
    Change {
        /// The owner, whose user line comes earlier in the file.
        owner: UserId,
        /// The change.
        change: ChangeRecord,
    },
}

/// Reads a backup (see the [module docs](super)) one record at a time, in
/// constant memory apart from one small entry per account.
///
/// [`new`](Self::new) reads and checks the header (of any version from
/// [`OLDEST_VERSION`](super::OLDEST_VERSION) to [`VERSION`](super::VERSION));
/// the iterator then yields each record with the number of its line,
/// checked by the repositories' and the history's rules and as it will be
/// stored (titles trimmed, a blank description as none, times in whole
/// microseconds). Every error names its line:
/// - a line that is not JSON, not a record, or breaks a rule;
/// - a sync state or change line in a version 1 file;
/// - a task, sync state or change whose account has no user line before
///   it;
/// - a user line whose id an earlier user line has with other values (the
///   same record twice is allowed, and imported once);
/// - an end line whose counts differ from the file's, anything after it, or
///   no end line at all (a truncated file).
///
/// The iterator ends after the end line; it yields nothing more after an
/// error.
///
/// ```
/// use todo_store::backup::{BackupReader, BackupRecord};
///
/// let file = r#"{"format":"todo-store","version":2,"secrets":false}
/// {"type":"user","id":"0192f0a0-0000-7000-8000-000000000001","email":"ada@example.com","created_at":"2030-01-01T00:00:00Z","updated_at":"2030-01-01T00:00:00Z"}
/// {"type":"task","user_id":"0192f0a0-0000-7000-8000-000000000001","id":"0192f0a0-0000-7000-8000-000000000002","title":"  Water the plants ","priority":3,"version":1,"created_at":"2030-01-01T00:00:00Z","updated_at":"2030-01-01T00:00:00Z"}
/// {"type":"sync_state","user_id":"0192f0a0-0000-7000-8000-000000000001","last_seq":1}
/// {"type":"change","user_id":"0192f0a0-0000-7000-8000-000000000001","seq":1,"task_id":"0192f0a0-0000-7000-8000-000000000002","version":1,"kind":"create","changed_at":"2030-01-01T00:00:00Z","actor_role":"todo_app","new_values":{"title":"Water the plants"}}
/// {"type":"end","users":1,"tasks":1,"sync_states":1,"changes":1}
/// "#;
/// let reader = BackupReader::new(file.as_bytes())?;
/// assert_eq!(reader.version(), 2);
/// let records = reader.collect::<Result<Vec<_>, _>>()?;
/// assert_eq!(records.len(), 4);
/// let (line, BackupRecord::Task { task, .. }) = &records[1] else { unreachable!() };
/// assert_eq!((*line, task.title.as_str()), (3, "Water the plants"));
///
/// let truncated = file.lines().take(3).collect::<Vec<_>>().join("\n");
/// let err = BackupReader::new(truncated.as_bytes())?
///     .find_map(Result::err)
///     .expect("a file without its end line is refused");
/// assert!(err.to_string().contains("truncated"), "{err}");
/// # Ok::<(), todo_store::backup::BackupError>(())
/// ```
#[derive(Debug)]
pub struct BackupReader<R> {
    lines: Lines<R>,
    version: u64,
    secrets: Secrets,
    /// Every account read so far: where, and a digest of its values.
    users: HashMap<UserId, Seen>,
    counts: End,
    finished: bool,
}

/// Where an account was first read, and a digest of what it said.
#[derive(Debug, Clone, Copy)]
struct Seen {
    line: u64,
    digest: u64,
}

impl<R: BufRead> BackupReader<R> {
    /// Reads and checks the header (line 1). The format and its version are
    /// checked first, so that a file of a later version is refused as such.
    ///
    /// # Errors
    /// [`BackupError::Line`] for an empty input or a first line that is not
    /// the header of a version this library reads; [`BackupError::Read`] if
    /// reading fails.
    pub fn new(input: R) -> Result<Self, BackupError> {
        let mut lines = Lines::new(input);
        let (version, secrets) = match lines.next_line()? {
            Some(line) => {
                format::read_header(line).map_err(|error| BackupError::Line { line: 1, error })?
            }
            None => {
                return Err(BackupError::Line {
                    line: 1,
                    error: Error::validation("input", "empty: not a todo-store export"),
                });
            }
        };
        Ok(Self {
            lines,
            version,
            secrets,
            users: HashMap::new(),
            counts: End::default(),
            finished: false,
        })
    }

    /// The file's format version, as the header says: 1 (without history)
    /// or 2.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Whether the user lines carry password hashes, as the header says.
    pub fn secrets(&self) -> Secrets {
        self.secrets
    }

    /// Lines read so far, the header included.
    pub fn lines_read(&self) -> u64 {
        self.lines.number
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.lines.offset
    }

    /// User lines read so far.
    pub fn users_read(&self) -> u64 {
        self.counts.users
    }

    /// Task lines read so far.
    pub fn tasks_read(&self) -> u64 {
        self.counts.tasks
    }

    /// Sync state lines read so far.
    pub fn sync_states_read(&self) -> u64 {
        self.counts.sync_states
    }

    /// Change lines read so far.
    pub fn changes_read(&self) -> u64 {
        self.counts.changes
    }

    /// Fails unless the account `owner` had a user line before line `number`.
    fn known_owner(&self, number: u64, owner: UserId, what: &str) -> Result<(), BackupError> {
        match self.users.contains_key(&owner) {
            true => Ok(()),
            false => Err(BackupError::on_line(
                number,
                Error::validation(
                    "user_id",
                    format!("no user line with this id comes before this {what}"),
                ),
            )),
        }
    }

    fn next_record(&mut self) -> Result<Option<(u64, BackupRecord)>, BackupError> {
        let number = self.lines.number + 1;
        let at = |err: Error| BackupError::on_line(number, err);
        let Some(line) = self.lines.next_line()? else {
            return Err(BackupError::Line {
                line: number,
                error: Error::validation(
                    "input",
                    format!(
                        "it ends at line {} without the end line {{\"type\":\"end\",…}}: it is \
                         truncated, or not a complete export",
                        number - 1
                    ),
                ),
            });
        };
        let parsed: LineIn = serde_json::from_slice(line).map_err(|err| BackupError::Line {
            line: number,
            error: Error::validation(format!("line {number}"), format::json_error(&err)),
        })?;
        if self.version < 2 && matches!(parsed, LineIn::SyncState(_) | LineIn::Change(_)) {
            return Err(at(Error::validation(
                format!("line {number}"),
                format!(
                    "a version 1 file has no {} lines (the header says version 1)",
                    parsed.type_name()
                ),
            )));
        }
        let record = match parsed {
            LineIn::User(user) => {
                let user = user.into_record(self.secrets).map_err(at)?;
                let user = bulk::stored_user(user).map_err(at)?;
                self.first_of_its_id(number, &user)?;
                self.counts.users += 1;
                BackupRecord::User(user)
            }
            LineIn::Task(task) => {
                self.known_owner(number, task.user_id, "task")?;
                let (owner, task) = task.into_record().map_err(at)?;
                let task = bulk::stored_task(owner, task).map_err(at)?;
                self.counts.tasks += 1;
                BackupRecord::Task { owner, task }
            }
            LineIn::SyncState(state) => {
                self.known_owner(number, state.user_id, "sync state")?;
                let (owner, state) = state.into_record();
                let state = bulk::stored_sync_state(state).map_err(at)?;
                self.counts.sync_states += 1;
                BackupRecord::SyncState { owner, state }
            }
            LineIn::Change(change) => {
                self.known_owner(number, change.user_id, "change")?;
                let (owner, change) = change.into_record();
                let change = bulk::stored_change(owner, change).map_err(at)?;
                self.counts.changes += 1;
                BackupRecord::Change { owner, change }
            }
            LineIn::End(end) => {
                let end = end.counts(self.version).map_err(at)?;
                if end != self.counts {
                    return Err(at(Error::validation(
                        "end",
                        counts_differ(self.version, end, self.counts),
                    )));
                }
                if self.lines.next_line()?.is_some() {
                    return Err(BackupError::on_line(
                        number + 1,
                        Error::validation("input", "nothing may follow the end line"),
                    ));
                }
                return Ok(None);
            }
        };
        Ok(Some((number, record)))
    }

    /// Records the account of line `number`; an earlier line with its id
    /// must say the same.
    fn first_of_its_id(&mut self, number: u64, user: &UserRecord) -> Result<(), BackupError> {
        let seen = Seen {
            line: number,
            digest: digest(user),
        };
        match self.users.entry(user.id) {
            Entry::Vacant(entry) => {
                entry.insert(seen);
                Ok(())
            }
            Entry::Occupied(first) if first.get().digest == seen.digest => Ok(()),
            Entry::Occupied(first) => Err(BackupError::on_line(
                number,
                Error::validation(
                    "user",
                    format!(
                        "id {} is also on line {}, with other values: a record may be \
                         repeated only unchanged",
                        user.id,
                        first.get().line
                    ),
                ),
            )),
        }
    }
}

impl<R: BufRead> Iterator for BackupReader<R> {
    type Item = Result<(u64, BackupRecord), BackupError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let next = self.next_record().transpose();
        if !matches!(next, Some(Ok(_))) {
            self.finished = true;
        }
        next
    }
}

/// What an end line whose counts are not the file's says.
fn counts_differ(version: u64, said: End, found: End) -> String {
    match version {
        1 => format!(
            "says {} users and {} tasks, but the file has {} and {}",
            said.users, said.tasks, found.users, found.tasks
        ),
        _ => format!(
            "says {} users, {} tasks, {} sync states and {} changes, but the file has \
             {}, {}, {} and {}",
            said.users,
            said.tasks,
            said.sync_states,
            said.changes,
            found.users,
            found.tasks,
            found.sync_states,
            found.changes
        ),
    }
}

/// A digest of every value of an account: two user lines with one id are
/// the same record only if their digests match. (A collision, about one in
/// 2^64, would let a contradiction through to the import, which compares
/// the values themselves with the stored row and refuses it there.)
fn digest(user: &UserRecord) -> u64 {
    let mut hasher = DefaultHasher::new();
    (
        &user.email,
        &user.display_name,
        &user.time_zone,
        &user.auth_subject,
        user.password_hash.as_ref().map(PasswordHash::expose),
        user.created_at,
        user.updated_at,
    )
        .hash(&mut hasher);
    hasher.finish()
}
