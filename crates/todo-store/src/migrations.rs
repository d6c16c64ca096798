//! The schema migrations, embedded in the library at compile time.

use diesel::{PgConnection, pg::Pg};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::{Error, Result, Store};

/// The migrations of the workspace's `migrations/` folder, the same ones the
/// `diesel` CLI runs.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

/// Runs every pending migration, each in its own transaction, and returns the
/// versions applied (empty if the schema was up to date).
///
/// # Errors
/// [`Error::Database`] if a migration fails; it is rolled back.
pub fn run_migrations(conn: &mut PgConnection) -> Result<Vec<String>> {
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(|err| Error::Database(format!("migration failed: {err}")))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Reverts the most recent migration and returns its version.
///
/// # Errors
/// [`Error::Database`] if there is none or it fails.
pub fn revert_last_migration(conn: &mut PgConnection) -> Result<String> {
    conn.revert_last_migration(MIGRATIONS)
        .map(|version| version.to_string())
        .map_err(|err| Error::Database(format!("revert failed: {err}")))
}

/// Applied and pending migration versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Versions already applied, oldest first.
    pub applied: Vec<String>,
    /// Versions not applied yet, oldest first.
    pub pending: Vec<String>,
}

/// Which migrations are applied and which are pending.
///
/// # Errors
/// [`Error::Database`] if the migrations table cannot be read.
pub fn migration_status(conn: &mut PgConnection) -> Result<MigrationStatus> {
    let failed = |err: Box<dyn std::error::Error + Send + Sync>| {
        Error::Database(format!("cannot read migration state: {err}"))
    };
    let mut applied: Vec<String> = MigrationHarness::<Pg>::applied_migrations(conn)
        .map_err(failed)?
        .iter()
        .map(ToString::to_string)
        .collect();
    applied.sort();
    let pending = MigrationHarness::<Pg>::pending_migrations(conn, MIGRATIONS)
        .map_err(failed)?
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    Ok(MigrationStatus { applied, pending })
}

impl Store {
    /// Runs pending migrations on a pooled connection; see [`run_migrations`].
    ///
    /// # Errors
    /// As [`run_migrations`], and [`Error::Unavailable`].
    pub fn run_migrations(&self) -> Result<Vec<String>> {
        run_migrations(&mut *self.conn()?)
    }
}
