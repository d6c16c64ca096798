//! `migrate run|revert|status`.

use todo_store::{DatabaseUrl, migration_status, revert_last_migration, run_migrations};

use crate::{args::MigrateCommand, db, exit::Failure, output::Report};

/// Runs a `migrate` command.
///
/// # Errors
/// [`todo_store::Error::Unavailable`] if the database cannot be reached; a
/// database error if a migration fails (it is rolled back) or, for `revert`,
/// if none is applied.
pub fn run(command: MigrateCommand, url: &DatabaseUrl) -> Result<Report, Failure> {
    let mut conn = db::connect(url)?;
    Ok(match command {
        MigrateCommand::Run => Report::Migrated(run_migrations(&mut conn)?),
        MigrateCommand::Revert => Report::Reverted(revert_last_migration(&mut conn)?),
        MigrateCommand::Status => {
            let status = migration_status(&mut conn)?;
            Report::MigrationStatus {
                applied: status.applied,
                pending: status.pending,
            }
        }
    })
}
