//! What `export` and `import` print.

use todo_store::DatabaseUrl;

use crate::{
    args::ExportArgs,
    commands::backup::{
        export::{self, ExportReport},
        import::ImportReport,
    },
    exit::Failure,
    output::{Format, Report},
};

/// Runs `export`, and prints its summary when the export went to a file: on
/// stdout, the exported lines are the whole output.
///
/// # Errors
/// As [`export::run`].
pub fn export(args: &ExportArgs, url: &DatabaseUrl, format: Format) -> Result<(), Failure> {
    let report = export::run(args, url)?;
    match report.output {
        Some(_) => format.print(&report),
        None => Ok(()),
    }
}

impl Report for ExportReport {
    fn text(&self) -> String {
        let output = self
            .output
            .as_ref()
            .map_or_else(|| "stdout".to_owned(), |path| path.display().to_string());
        format!(
            "Exported {} users and {} tasks ({}) to {output}: {} bytes in {:.1} s ({:.0} rows/s).\n",
            self.users,
            self.tasks,
            if self.secrets {
                "with password hashes: keep this file secret"
            } else {
                "without password hashes"
            },
            self.bytes,
            self.seconds,
            self.rows_per_second
        )
    }
}

impl Report for ImportReport {
    fn text(&self) -> String {
        let input = self
            .input
            .as_ref()
            .map_or_else(|| "stdin".to_owned(), |path| path.display().to_string());
        format!(
            "Imported {input} ({}) in {} batch(es), {:.1} s ({:.0} rows/s); VACUUM (ANALYZE) took {:.1} s.\n\
             users: {} read, {} inserted, {} already present\n\
             tasks: {} read, {} inserted, {} already present\n",
            if self.secrets {
                "with password hashes"
            } else {
                "without password hashes"
            },
            self.batches,
            self.load_seconds,
            self.rows_per_second,
            self.vacuum_seconds,
            self.users_read,
            self.users_inserted,
            self.users_present,
            self.tasks_read,
            self.tasks_inserted,
            self.tasks_present
        )
    }
}
