//! `migrate run|revert|status`.

use serde::Serialize;
use todo_store::{
    DatabaseUrl, MigrationStatus, migration_status, revert_last_migration, run_migrations,
};

use todo_store_cmd::Failure;

use crate::{
    args::MigrateCommand,
    db,
    output::{Format, Report},
    table::Table,
};

/// Runs a `migrate` command.
///
/// # Errors
/// [`todo_store::Error::Unavailable`] if the database cannot be reached; a
/// database error if a migration fails (it is rolled back) or, for `revert`,
/// if none is applied.
pub fn run(command: MigrateCommand, url: &DatabaseUrl, format: Format) -> Result<(), Failure> {
    let mut conn = db::connect(url)?;
    match command {
        MigrateCommand::Run => format.print(&Applied {
            applied: run_migrations(&mut conn)?,
        }),
        MigrateCommand::Revert => format.print(&Reverted {
            reverted: revert_last_migration(&mut conn)?,
        }),
        MigrateCommand::Status => format.print(&migration_status(&mut conn)?),
    }
}

/// `migrate run`: the versions applied, oldest first.
#[derive(Debug, Serialize)]
struct Applied {
    applied: Vec<String>,
}

impl Report for Applied {
    fn text(&self) -> String {
        applied_text(&self.applied)
    }
}

/// What applying `versions` did, as `migrate run` and `setup` say it.
pub fn applied_text(versions: &[String]) -> String {
    if versions.is_empty() {
        "The schema is up to date: no pending migrations.\n".to_owned()
    } else {
        format!(
            "Applied {} migration(s): {}\n",
            versions.len(),
            versions.join(", ")
        )
    }
}

/// `migrate revert`: the version reverted.
#[derive(Debug, Serialize)]
struct Reverted {
    reverted: String,
}

impl Report for Reverted {
    fn text(&self) -> String {
        format!("Reverted migration {}.\n", self.reverted)
    }
}

impl Report for MigrationStatus {
    fn text(&self) -> String {
        let mut table = Table::new(["VERSION", "STATE"]);
        for version in &self.applied {
            table.row(vec![version.clone(), "applied".into()]);
        }
        for version in &self.pending {
            table.row(vec![version.clone(), "pending".into()]);
        }
        format!(
            "{}{} applied, {} pending\n",
            table.render(),
            self.applied.len(),
            self.pending.len()
        )
    }
}
