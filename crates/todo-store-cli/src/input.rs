//! Command-line text to library types.
//!
//! Every function here fails with [`Error::Validation`], the library's own
//! error for rejected input, so a bad value exits with code 3 like any other
//! validation error. All of them run before the database is contacted.

use std::{
    io::{self, BufRead, IsTerminal, Write},
    str::FromStr,
};

use chrono::{DateTime, Utc};
use todo_store::{
    Cursor, Error, MAX_PASSWORD_BYTES, Password, Priority, SyncToken, TaskId, VersionCheck,
};

/// `--priority`, `--priority-min`, `--priority-max`: 1 to 5.
pub fn priority(raw: &str) -> Result<Priority, Error> {
    let number = raw
        .trim()
        .parse::<i16>()
        .map_err(|_| Error::validation("priority", "must be a whole number between 1 and 5"))?;
    Priority::new(number)
}

/// A task id (UUID).
pub fn task_id(raw: &str) -> Result<TaskId, Error> {
    TaskId::from_str(raw)
}

/// `--due`: an RFC 3339 date-time with offset, stored in UTC.
pub fn due(raw: &str) -> Result<DateTime<Utc>, Error> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| {
            Error::validation(
                "due",
                "must be an RFC 3339 date-time such as 2030-01-31T17:00:00Z",
            )
        })
}

/// `--after`: a cursor printed with an earlier page.
pub fn cursor(raw: &str) -> Result<Cursor, Error> {
    Cursor::from_str(raw)
}

/// `--limit`: any whole number; 0 is rejected by the library, and anything
/// above its maximum page size is capped there.
pub fn limit(raw: &str) -> Result<u32, Error> {
    raw.trim()
        .parse::<u128>()
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
        .map_err(|_| Error::validation("limit", "must be a whole number of at least 1"))
}

/// `task history --before`: a change number printed with an earlier page.
pub fn before(raw: &str) -> Result<u64, Error> {
    raw.trim()
        .parse::<u64>()
        .map_err(|_| Error::validation("before", "must be a whole number"))
}

/// `task changes --since`: a sync token printed by an earlier `task changes`.
/// Only its shape is checked here; whose it is, and whether its history is
/// still kept, the library checks when it is used.
pub fn sync_token(raw: &str) -> Result<SyncToken, Error> {
    SyncToken::from_str(raw)
}

/// `history prune --older-than`: a whole number of days. How many at most
/// is the library's rule (`prune_history` refuses an age it cannot express).
pub fn older_than_days(raw: &str) -> Result<u32, Error> {
    raw.trim()
        .parse::<u32>()
        .map_err(|_| Error::validation("older_than", "must be a whole number of days"))
}

/// `limit set MAX_TASKS`: a whole number (the library bounds it).
pub fn max_tasks(raw: &str) -> Result<u32, Error> {
    raw.trim()
        .parse::<u32>()
        .map_err(|_| Error::validation("max_tasks", "must be a whole number of tasks"))
}

/// `--if-version`: absent means "whatever the current version".
pub fn version_check(raw: Option<&str>) -> Result<VersionCheck, Error> {
    let Some(raw) = raw else {
        return Ok(VersionCheck::Any);
    };
    match raw.trim().parse::<i32>() {
        Ok(version) if version >= 1 => Ok(VersionCheck::Exactly(version)),
        _ => Err(Error::validation(
            "version",
            "must be a whole number of at least 1",
        )),
    }
}

/// `--password-stdin`: the first line of stdin, without its line ending.
pub fn password_from_stdin() -> Result<Password, Error> {
    let stdin = io::stdin();
    if stdin.is_terminal() {
        // Typed input is echoed: there is no portable way to hide it without
        // another crate, so say so rather than pretend.
        eprint!("password (input is visible): ");
        let _ = io::stderr().flush();
    }
    password_from(stdin.lock())
}

/// The first line of `input` as a password.
fn password_from(input: impl BufRead) -> Result<Password, Error> {
    // Read at most a little more than the longest allowed password: enough to
    // tell "too long" apart, without buffering an unbounded line.
    let cap = u64::try_from(MAX_PASSWORD_BYTES)
        .unwrap_or(u64::MAX)
        .saturating_add(3);
    let mut line = Vec::new();
    input
        .take(cap)
        .read_until(b'\n', &mut line)
        .map_err(|err| {
            Error::validation("password", format!("could not be read from stdin: {err}"))
        })?;
    if line.ends_with(b"\n") {
        line.pop();
        if line.ends_with(b"\r") {
            line.pop();
        }
    }
    if line.len() > MAX_PASSWORD_BYTES {
        // Checked before UTF-8: a cut-off line may end inside a character.
        return Err(Error::validation(
            "password",
            format!("must have at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    let text =
        String::from_utf8(line).map_err(|_| Error::validation("password", "must be UTF-8 text"))?;
    Password::new(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_validation(result: Result<impl std::fmt::Debug, Error>, field: &str) -> bool {
        matches!(result, Err(Error::Validation { field: ref f, .. }) if f == field)
    }

    #[test]
    fn priorities_outside_one_to_five_are_validation_errors() {
        assert_eq!(priority(" 2 ").map(Priority::get), Ok(2));
        for bad in ["0", "6", "9", "-1", "99999", "high", ""] {
            assert!(is_validation(priority(bad), "priority"), "{bad:?}");
        }
    }

    #[test]
    fn due_dates_must_be_rfc3339_and_are_stored_in_utc() {
        let at = due("2030-01-31T18:00:00+01:00").map(|d| d.to_rfc3339());
        assert_eq!(at.as_deref(), Ok("2030-01-31T17:00:00+00:00"));
        for bad in ["tomorrow", "2030-01-31", "2030-13-01T00:00:00Z", ""] {
            assert!(is_validation(due(bad), "due"), "{bad:?}");
        }
    }

    #[test]
    fn versions_must_be_positive() {
        assert_eq!(version_check(None), Ok(VersionCheck::Any));
        assert_eq!(version_check(Some("3")), Ok(VersionCheck::Exactly(3)));
        for bad in ["0", "-2", "v3"] {
            assert!(
                is_validation(version_check(Some(bad)), "version"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn retention_days_are_whole_numbers() {
        assert_eq!(older_than_days(" 90 "), Ok(90));
        assert_eq!(older_than_days("0"), Ok(0));
        for bad in ["-1", "1.5", "ninety", "", "4294967296"] {
            assert!(is_validation(older_than_days(bad), "older_than"), "{bad:?}");
        }
    }

    #[test]
    fn change_numbers_and_tokens_are_checked_before_connecting() {
        assert_eq!(before("17"), Ok(17));
        assert!(is_validation(before("-3"), "before"));
        assert!(is_validation(sync_token("not a token"), "token"));
    }

    #[test]
    fn passwords_lose_their_line_ending_only() {
        assert!(password_from(&b"correct horse\r\nsecond line"[..]).is_ok());
        assert!(password_from(&b"  spaces kept  \n"[..]).is_ok());
        // The minimum length is the library's rule for passwords being set.
        assert!(password_from(&b"short\n"[..]).is_ok());
        assert!(is_validation(password_from(&b""[..]), "password"));
        let long = vec![b'a'; MAX_PASSWORD_BYTES + 10];
        assert!(is_validation(password_from(&long[..]), "password"));
        assert!(is_validation(
            password_from(&b"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\n"[..]),
            "password"
        ));
    }
}
