//! What `seed` and `bench` print.

use crate::{
    commands::{bench::BenchReport, seed::SeedReport},
    output::Report,
};

impl Report for SeedReport {
    fn text(&self) -> String {
        let mut text = String::new();
        if self.users_present > 0 {
            text += &format!(
                "{} of the seed's {} users were already loaded.\n",
                self.users_present, self.planned_users
            );
        }
        text += &format!(
            "Seed {}: loaded {} users and {} tasks in {:.1} s ({:.0} rows/s); VACUUM (ANALYZE) took {:.1} s.\n",
            self.seed,
            self.users_loaded,
            self.tasks_loaded,
            self.load_seconds,
            self.rows_per_second,
            self.vacuum_seconds
        );
        text
    }
}

impl Report for BenchReport {
    fn text(&self) -> String {
        self.markdown()
    }
}
