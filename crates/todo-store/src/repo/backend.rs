//! Where a repository call runs: the one capability each backend provides,
//! "run this read" and "run this write", so that every repository method is
//! written once (in `repo/calls.rs`) for all of them.
//!
//! - A caller's [`PgConnection`] runs each closure once, on itself, inside
//!   whatever transaction the caller has open.
//! - The pool-backed [`Store`] checks a connection out for each attempt and
//!   hands it back afterwards. Every call, read or write, is repeated under
//!   the store's [`RetryPolicy`](crate::RetryPolicy) when PostgreSQL aborted
//!   its transaction for a serialization failure or a deadlock: each call is
//!   one whole transaction (or one statement), rolled back by the abort, so
//!   the repeat is safe. A read that fails because its connection turned out
//!   to be lost (the server restarted while it sat in the pool) is made once
//!   more on another connection, which the pool checks first; reads change
//!   nothing, so this is always safe. Writes are not repeated after a lost
//!   connection: whether a lost write reached the database is the caller's
//!   question (a create with a client-chosen id can simply be sent again).
//!
//! Slow work that needs no database (password hashing and verification,
//! tens of milliseconds of CPU) happens outside these closures, so with a
//! store it runs while no connection is checked out and cannot starve the
//! pool.

use diesel::PgConnection;

use super::scope::{self, Txn};
use crate::{Error, Owner, Result, Store, session::CallSettings};

/// A place to run repository calls. Sealed: it lives in a private module,
/// so only this crate implements it (for [`PgConnection`] and [`Store`]).
pub trait Backend {
    /// How owner-scoped calls are scoped and timed out here.
    #[doc(hidden)]
    fn call_settings(&self) -> CallSettings;

    /// Runs `read`, which changes nothing, to its answer.
    #[doc(hidden)]
    fn read<T>(&mut self, read: impl FnMut(&mut PgConnection) -> Result<T>) -> Result<T>;

    /// Runs `write`, one whole transaction (or one statement), to its answer.
    #[doc(hidden)]
    fn write<T>(&mut self, write: impl FnMut(&mut PgConnection) -> Result<T>) -> Result<T>;

    /// Runs the read `call` on behalf of `owner`, in the owner's scope.
    #[doc(hidden)]
    fn scoped_read<T>(
        &mut self,
        owner: &Owner,
        call: impl Fn(&mut PgConnection, Txn) -> Result<T>,
    ) -> Result<T> {
        let settings = self.call_settings();
        self.read(|conn| scope::run(conn, owner, settings, &call))
    }

    /// Runs the write `call` on behalf of `owner`, in the owner's scope.
    #[doc(hidden)]
    fn scoped_write<T>(
        &mut self,
        owner: &Owner,
        call: impl Fn(&mut PgConnection, Txn) -> Result<T>,
    ) -> Result<T> {
        let settings = self.call_settings();
        self.write(|conn| scope::run(conn, owner, settings, &call))
    }
}

/// The caller's connection: each closure runs once, in the caller's
/// transaction if one is open. Every call is scoped for row-level security
/// (a bare connection does not know a store's configuration).
impl Backend for PgConnection {
    fn call_settings(&self) -> CallSettings {
        CallSettings::CALLER
    }

    fn read<T>(&mut self, mut read: impl FnMut(&mut PgConnection) -> Result<T>) -> Result<T> {
        read(self)
    }

    fn write<T>(&mut self, mut write: impl FnMut(&mut PgConnection) -> Result<T>) -> Result<T> {
        write(self)
    }
}

impl Backend for Store {
    fn call_settings(&self) -> CallSettings {
        self.calls
    }

    fn read<T>(&mut self, mut read: impl FnMut(&mut PgConnection) -> Result<T>) -> Result<T> {
        self.retry.run(|| {
            let mut conn = self.conn()?;
            match read(&mut conn) {
                // The statement found the connection lost (not the checkout):
                // once more, on a connection the pool checks first.
                Err(Error::Unavailable(_)) => {
                    drop(conn);
                    read(&mut *self.conn()?)
                }
                answer => answer,
            }
        })
    }

    fn write<T>(&mut self, mut write: impl FnMut(&mut PgConnection) -> Result<T>) -> Result<T> {
        self.retry.run(|| write(&mut *self.conn()?))
    }
}
