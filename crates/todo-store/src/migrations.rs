//! The schema migrations, embedded in the library at compile time.

use diesel::{Connection, PgConnection, connection::SimpleConnection, pg::Pg};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use serde::Serialize;

use crate::{Error, Result, Store, repo::scope::Txn};

/// The migrations of the workspace's `migrations/` folder, the same ones the
/// `diesel` CLI runs (the crate's `migrations` is a link to that folder, and
/// the published crate carries a copy).
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Serialises schema changes across processes (several app instances may
/// migrate at startup). The key is arbitrary but fixed: "todo_mig" in ASCII.
const MIGRATION_LOCK: i64 = 0x746f_646f_5f6d_6967;

/// Runs `change` in one transaction that holds the migration lock and has no
/// statement timeout (building an index on a large table may take minutes,
/// and waiting for another migrator may too).
///
/// Both are transaction-level (`SET LOCAL`, `pg_advisory_xact_lock`): they
/// end with the transaction, on whatever server connection it ran. Behind a
/// transaction-mode pooler a session-level lock and unlock can land on two
/// different server connections, leaving the lock held by an idle one, and a
/// session-level `SET` would stay behind for the pooler's next client.
///
/// The transaction is READ COMMITTED whatever the database's default: a
/// migrator that waited for the lock must see what the one before it
/// committed (a REPEATABLE READ snapshot, taken before the wait, would not,
/// and it would apply every migration again). Inside a caller's transaction
/// this is a savepoint in it, with the caller's isolation, and the lock and
/// the timeout last until the caller's transaction ends.
fn with_migration_session<T>(
    conn: &mut PgConnection,
    change: impl FnOnce(&mut PgConnection) -> Result<T>,
) -> Result<T> {
    let locked = |conn: &mut PgConnection| {
        conn.batch_execute(&format!(
            "SET LOCAL statement_timeout = 0; SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"
        ))?;
        change(conn)
    };
    match Txn::current(conn) {
        Txn::None => conn.build_transaction().read_committed().run(locked),
        Txn::Own | Txn::Caller => conn.transaction(locked),
    }
}

/// Runs every pending migration and returns the versions applied (empty if
/// the schema was up to date). They run in one transaction: all of them or,
/// if one fails, none. Concurrent callers wait for each other, so several
/// processes may call it at startup, directly or through a transaction-mode
/// pooler. (A migration that cannot run inside a transaction, such as
/// `CREATE INDEX CONCURRENTLY`, would have to be run by the `diesel` CLI
/// over a direct connection; this crate has none.)
///
/// # Errors
/// [`Error::Database`] if a migration fails; nothing is applied.
pub fn run_migrations(conn: &mut PgConnection) -> Result<Vec<String>> {
    with_migration_session(conn, |conn| {
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|err| Error::Database(format!("migration failed: {err}")))?;
        Ok(applied.iter().map(ToString::to_string).collect())
    })
}

/// Reverts the most recent migration and returns its version.
///
/// # Errors
/// [`Error::Database`] if there is none or it fails.
pub fn revert_last_migration(conn: &mut PgConnection) -> Result<String> {
    with_migration_session(conn, |conn| {
        conn.revert_last_migration(MIGRATIONS)
            .map(|version| version.to_string())
            .map_err(|err| Error::Database(format!("revert failed: {err}")))
    })
}

/// Applied and pending migration versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
