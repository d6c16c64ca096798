//! A short-lived program, for `tests/tests/exit.rs`: it opens a [`Store`]
//! whose pool keeps idle connections, and returns from `main` while r2d2's
//! workers are still opening them in the background (libpq's TLS handshake,
//! with the default `sslmode=prefer`). The process must exit cleanly, not
//! die in a library's exit-time clean-up.
//!
//! `DATABASE_URL` names the database. Arguments: the pool's `min_idle`, which
//! is also its size (default 4), and how long to wait, in microseconds,
//! before returning (default 0), so that a series of runs can return at
//! different points of the handshakes; and `plain-first` to open a plain
//! Diesel connection before the store, so that libpq, not the library,
//! initialises OpenSSL (with its exit-time clean-up).

use std::time::Duration;

use todo_store::{Store, StoreConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let min_idle = args.next().map_or(Ok(4), |arg| arg.parse())?;
    let wait = Duration::from_micros(args.next().map_or(Ok(0), |arg| arg.parse())?);
    if args.next().as_deref() == Some("plain-first") {
        use diesel::Connection;
        let url = std::env::var("DATABASE_URL")?;
        drop(diesel::PgConnection::establish(&url)?);
    }
    let config = StoreConfig::from_env()?
        .max_connections(min_idle)
        .min_idle(min_idle);
    let _store = Store::connect(&config)?;
    std::thread::sleep(wait);
    Ok(())
}
