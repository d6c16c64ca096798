//! How a failed command ends: an exit code, and one line on stderr.

use std::process::ExitCode;

use todo_store::{DatabaseUrl, Error};

/// Anything not covered below.
pub const OTHER: u8 = 1;
/// A usage error: clap's own, kept as clap reports it.
pub const USAGE: u8 = 2;
/// Input rejected: nothing was changed.
pub const VALIDATION: u8 = 3;
/// The database could not be reached, refused the login, or does not exist.
pub const UNAVAILABLE: u8 = 6;

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

    /// The process exit code.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }

    /// The stderr line: `error: …`, with the password of `url` blotted out,
    /// on one line (libpq's messages span several, and a message may echo
    /// input), with no control character left to reach the terminal.
    pub fn line(&self, url: &DatabaseUrl) -> String {
        let message = url.scrub(&self.message);
        let parts: Vec<&str> = message
            .split(char::is_control)
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect();
        format!("error: {}", parts.join("; "))
    }
}

impl From<Error> for Failure {
    fn from(err: Error) -> Self {
        let code = match &err {
            Error::Validation { .. } => VALIDATION,
            Error::Unavailable(_) | Error::TooManyConnections(_) | Error::Misconfigured(_) => {
                UNAVAILABLE
            }
            _ => OTHER,
        };
        Self {
            code,
            message: err.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_kind_has_its_exit_code() {
        let code = |err: Error| Failure::from(err).code;
        assert_eq!(
            code(Error::validation("users", "must be at least 1")),
            VALIDATION
        );
        assert_eq!(code(Error::Unavailable("down".into())), UNAVAILABLE);
        assert_eq!(
            code(Error::Misconfigured("no such database".into())),
            UNAVAILABLE
        );
        assert_eq!(code(Error::Database("boom".into())), OTHER);
    }

    #[test]
    fn the_line_is_one_line_without_the_password() {
        let url = DatabaseUrl::new("postgres://ada:s3cret@db/app");
        let failure = Failure::other("could not use s3cret\n\tIs the server running?\n\u{1b}[31m");
        assert_eq!(
            failure.line(&url),
            "error: could not use ***; Is the server running?; [31m"
        );
    }
}
