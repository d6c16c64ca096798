//! How a failed command ends: an exit code, and one line on stderr.

use std::process::ExitCode;

use todo_store::{DatabaseUrl, Error, backup::BackupError};

/// Anything not covered below.
pub const OTHER: u8 = 1;
/// A usage error: clap's own, kept as clap reports it.
pub const USAGE: u8 = 2;
/// Input rejected (for `import`: from the bad line's batch on).
pub const VALIDATION: u8 = 3;
/// The user or task does not exist (or belongs to another user).
pub const NOT_FOUND: u8 = 4;
/// Duplicate email, stale `--if-version`, concurrent update, a sync token
/// whose history is gone.
pub const CONFLICT: u8 = 5;
/// The database could not be reached.
pub const UNAVAILABLE: u8 = 6;
/// The user has as many tasks as their limit allows: nothing was written.
pub const LIMIT: u8 = 7;

/// A command that did not succeed: its exit code and what to tell the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    /// A failure with exit code [`OTHER`].
    pub fn other(message: impl Into<String>) -> Self {
        Self {
            code: OTHER,
            message: message.into(),
        }
    }

    /// The same failure with another message (same exit code).
    pub fn with_message(self, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..self
        }
    }

    /// The exit code number (0 is never one).
    pub fn code(&self) -> u8 {
        self.code
    }

    /// The process exit code.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code())
    }

    /// The message, as given (possibly several lines).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The stderr line: `error: …`, on one line, with the password of `url`
    /// blotted out wherever it appears.
    pub fn line(&self, url: &DatabaseUrl) -> String {
        format!("error: {}", one_line(&url.scrub(&self.message)))
    }
}

impl From<Error> for Failure {
    fn from(err: Error) -> Self {
        let code = match &err {
            Error::Validation { .. } => VALIDATION,
            Error::NotFound(_) => NOT_FOUND,
            // The data moved on past what the caller holds, like a stale
            // version: the cure is to read again, not to retry the same call.
            Error::Conflict(_) | Error::ResyncRequired => CONFLICT,
            Error::TaskLimitReached { .. } => LIMIT,
            // A refused login or a missing database is no more usable than a
            // server that is down: the same exit code, not retried.
            Error::Unavailable(_) | Error::TooManyConnections(_) | Error::Misconfigured(_) => {
                UNAVAILABLE
            }
            // `InvalidCredentials`, `Database`, and variants added later.
            _ => OTHER,
        };
        let mut message = err.to_string();
        if err == Error::ResyncRequired {
            message = "sync token too old: take a new token, then read all tasks again".into();
        }
        if code == UNAVAILABLE
            && message.contains("database \"")
            && message.contains("does not exist")
        {
            message.push_str(" (run `todo-store setup` to create it)");
        }
        Self { code, message }
    }
}

/// The exit code of the store's error behind a backup's (1 for a failed read
/// or write), with the backup's message, which names the line or batch.
impl From<BackupError> for Failure {
    fn from(err: BackupError) -> Self {
        match err {
            BackupError::Store(err) => err.into(),
            err => match err.store_error() {
                Some(store) => Failure::from(store.clone()).with_message(err.to_string()),
                None => Failure::other(err.to_string()),
            },
        }
    }
}

/// libpq's connection errors span several lines (one per address tried, plus
/// hints); the contract is one line on stderr, so lines are joined.
fn one_line(message: &str) -> String {
    let parts: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let joined = parts.join("; ");
    // Control characters (e.g. an escape sequence in echoed input) must not
    // reach the terminal.
    joined
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use todo_store::{ConflictKind, Entity};

    use super::*;

    #[test]
    fn each_error_kind_has_its_exit_code() {
        let validation = Error::validation("title", "must not be empty");
        assert_eq!(Failure::from(validation).code(), VALIDATION);
        assert_eq!(
            Failure::from(Error::NotFound(Entity::Task)).code(),
            NOT_FOUND
        );
        assert_eq!(
            Failure::from(Error::Conflict(ConflictKind::EmailTaken)).code(),
            CONFLICT
        );
        assert_eq!(
            Failure::from(Error::Unavailable("down".into())).code(),
            UNAVAILABLE
        );
        let resync = Failure::from(Error::ResyncRequired);
        assert_eq!(resync.code(), CONFLICT);
        assert!(
            resync.message().contains("read all tasks again"),
            "{}",
            resync.message()
        );
        let limit = Failure::from(Error::TaskLimitReached { limit: 10_000 });
        assert_eq!(limit.code(), LIMIT);
        assert!(limit.message().contains("10000"), "{}", limit.message());
        assert_eq!(Failure::from(Error::Database("boom".into())).code(), OTHER);
        assert_eq!(Failure::from(Error::InvalidCredentials).code(), OTHER);
    }

    #[test]
    fn multi_line_messages_become_one_line() {
        let failure = Failure::other("connection refused\n\tIs the server running?\n");
        let url = DatabaseUrl::new("postgres://localhost/x");
        assert_eq!(
            failure.line(&url),
            "error: connection refused; Is the server running?"
        );
    }

    #[test]
    fn the_url_password_never_reaches_the_message() {
        let url = DatabaseUrl::new("postgres://ada:s3cret@db/app?password=other&sslmode=require");
        let failure = Failure::other("could not use s3cret or other");
        let line = failure.line(&url);
        assert!(!line.contains("s3cret"), "{line}");
        assert!(!line.contains("other"), "{line}");
    }
}
