//! The one place the library reads an error's words.
//!
//! Stock Diesel 2.3 names a few SQLSTATEs with its `DatabaseErrorKind`
//! (unique, foreign key, check and not-null violations, serialization
//! failure, a lost connection) and reports every other one as `Unknown`,
//! without the code. Diesel 2.4 exposes the code (`sqlstate()`), but no
//! `diesel_migrations` release works with it yet. Until one does, the
//! classes below are recognised by PostgreSQL's primary message text; a
//! connection that never opened has no SQLSTATE at all in libpq, only text,
//! whatever the Diesel version.
//!
//! The limit, documented on [`Error`]: PostgreSQL translates its messages
//! into the server's `lc_messages`. On a server that does not speak English
//! these errors become [`Error::Database`] (or, for a connection,
//! [`Error::Unavailable`]) and are not retried automatically: nothing is
//! lost, the class is only coarser. When Diesel's SQLSTATE can be used,
//! [`classify_statement_error`] is the one function to change.

use crate::{ConflictKind, Error};

/// An error class the library names, recognised by message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// `40P01` deadlock_detected.
    ConcurrentUpdate,
    /// `57P01`–`57P05`, `25P03`: the server ended or refused the session.
    Unavailable,
    /// `53300` too_many_connections.
    TooManyConnections,
    /// `53100` disk_full (and Neon's project size limit).
    StorageFull,
    /// `57014` statement timeout, `55P03` lock_not_available.
    Timeout,
    /// `3D000`, `28000`, `28P01`, `42501` at start-up: no such database or
    /// role, a refused password or host; retrying cannot help.
    Misconfigured,
    /// libpq's own messages about certificates and servers without TLS.
    Tls,
}

impl Class {
    /// The library error of this class, carrying `message` (one line).
    pub(crate) fn error(self, message: String) -> Error {
        match self {
            Class::ConcurrentUpdate => Error::Conflict(ConflictKind::ConcurrentUpdate),
            Class::Unavailable => Error::Unavailable(message),
            Class::TooManyConnections => Error::TooManyConnections(message),
            Class::StorageFull => Error::StorageFull(message),
            Class::Timeout => Error::Timeout(message),
            Class::Misconfigured => Error::Misconfigured(message),
            Class::Tls => Error::Tls(message),
        }
    }
}

/// Primary messages of errors raised by a statement, with their SQLSTATE
/// (for the reader: the code is what a newer Diesel would give). Each is
/// PostgreSQL's own English text (`src/backend`, `errmsg`), matched as a
/// substring of the message.
const STATEMENT_ERRORS: &[(&str, &str, Class)] = &[
    ("deadlock detected", "40P01", Class::ConcurrentUpdate),
    // `could not extend file "…": No space left on device`, and the same
    // errno behind `could not write to file` and friends.
    ("No space left on device", "53100", Class::StorageFull),
    // Neon: "could not extend file because project size limit (… MB) has
    // been exceeded".
    ("project size limit", "53100", Class::StorageFull),
    ("cluster size limit", "53100", Class::StorageFull),
    (
        "too many clients already",
        "53300",
        Class::TooManyConnections,
    ),
    (
        "remaining connection slots are reserved",
        "53300",
        Class::TooManyConnections,
    ),
    (
        "too many connections for",
        "53300",
        Class::TooManyConnections,
    ),
    (
        "terminating connection due to administrator command",
        "57P01",
        Class::Unavailable,
    ),
    // The postmaster died under the backend (`kill -9`): the async store's
    // driver reads this FATAL message where libpq reports a lost connection.
    (
        "terminating connection due to unexpected postmaster exit",
        "57P01",
        Class::Unavailable,
    ),
    (
        "terminating connection because of crash of another server process",
        "57P02",
        Class::Unavailable,
    ),
    // "the database system is starting up", "… is shutting down", "… is in
    // recovery mode", "… is not yet accepting connections", "… is not
    // accepting connections".
    ("the database system is ", "57P03", Class::Unavailable),
    (
        "terminating connection due to idle-session timeout",
        "57P05",
        Class::Unavailable,
    ),
    (
        "terminating connection due to idle-in-transaction timeout",
        "25P03",
        Class::Unavailable,
    ),
    (
        "canceling statement due to statement timeout",
        "57014",
        Class::Timeout,
    ),
    (
        "canceling statement due to lock timeout",
        "55P03",
        Class::Timeout,
    ),
    // `SELECT … FOR UPDATE NOWAIT`, `LOCK … NOWAIT`.
    ("could not obtain lock on", "55P03", Class::Timeout),
];

/// Messages of a connection attempt that failed (libpq's text, which quotes
/// the server's start-up error after "FATAL:"). Checked in order: the
/// first match wins.
const CONNECTION_ERRORS: &[(&str, Class)] = &[
    ("too many clients already", Class::TooManyConnections),
    (
        "remaining connection slots are reserved",
        Class::TooManyConnections,
    ),
    ("too many connections for", Class::TooManyConnections),
    // libpq, client side.
    ("certificate", Class::Tls),
    ("server does not support SSL", Class::Tls),
    ("SSL error: tlsv1 alert", Class::Tls),
    // `database "x" does not exist` (3D000), `role "x" does not exist`
    // (28000).
    ("\" does not exist", Class::Misconfigured),
    // `password authentication failed for user "x"` (28P01), and peer,
    // ident, LDAP … authentication (28000).
    ("authentication failed for user", Class::Misconfigured),
    ("no pg_hba.conf entry", Class::Misconfigured),
    ("pg_hba.conf rejects connection", Class::Misconfigured),
    // `role "x" is not permitted to log in` (28000).
    ("is not permitted to log in", Class::Misconfigured),
    // `permission denied for database "x"` (42501, no CONNECT privilege).
    ("permission denied for database", Class::Misconfigured),
    // libpq: the server asked for a password and none was given.
    ("no password supplied", Class::Misconfigured),
];

/// The class of a statement's error that Diesel reported as `Unknown`, if
/// the library names one.
pub(crate) fn classify_statement_error(message: &str) -> Option<Class> {
    STATEMENT_ERRORS
        .iter()
        .find(|(text, _, _)| message.contains(text))
        .map(|&(_, _, class)| class)
}

/// The class of a failed connection attempt, if not plain `Unavailable`.
pub(crate) fn classify_connection_error(message: &str) -> Option<Class> {
    CONNECTION_ERRORS
        .iter()
        .find(|(text, _)| message.contains(text))
        .map(|&(_, class)| class)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sqlstate_is_listed_with_a_five_character_code() {
        for (text, code, _) in STATEMENT_ERRORS {
            assert_eq!(code.len(), 5, "{text}");
        }
    }

    #[test]
    fn a_network_failure_during_a_tls_handshake_stays_unavailable() {
        let message = "connection to server at \"db\" (10.0.0.1), port 5432 failed: \
                       SSL SYSCALL error: EOF detected";
        assert_eq!(classify_connection_error(message), None);
        assert_eq!(
            classify_connection_error("FATAL:  database \"nope\" does not exist"),
            Some(Class::Misconfigured)
        );
    }
}
