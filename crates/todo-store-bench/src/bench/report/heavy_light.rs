//! The read shapes for light and for heavy users side by side
//! (`--heavy-vs-light`): each population's latencies and their ratio.

use serde::Serialize;

use super::{comparison::ratio, round};
use crate::{bench::shape::Shape, stats::Summary};

/// Every read shape measured for the light users and for the heavy ones,
/// `rounds` times each per shape and client count, the two alternating.
#[derive(Debug, Clone, Serialize)]
pub struct HeavyVsLight {
    /// Runs of each population, per shape and client count.
    pub rounds: u32,
    /// The randomly chosen users that are not heavy ones.
    pub light: Population,
    /// The users with the most tasks.
    pub heavy: Population,
    /// Selected shapes that read the heavy users' lists by definition, and
    /// so are in the main table only.
    pub skipped: Vec<&'static str>,
    /// One row per read shape and client count.
    pub rows: Vec<HeavyLightRow>,
}

/// Whose calls one side made.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Population {
    /// Users the calls are drawn from.
    pub users: usize,
    /// Tasks of the one with the fewest.
    pub min_tasks: u64,
    /// Tasks of the one with the most.
    pub max_tasks: u64,
}

/// One read shape at one client count, for both populations. Times in
/// milliseconds, over all rounds of a population.
#[derive(Debug, Clone, Serialize)]
pub struct HeavyLightRow {
    /// The shape's name.
    pub shape: &'static str,
    /// Concurrent clients.
    pub clients: u32,
    /// Median latency for light users.
    pub light_p50_ms: f64,
    /// 95th percentile for light users.
    pub light_p95_ms: f64,
    /// Median latency for heavy users.
    pub heavy_p50_ms: f64,
    /// 95th percentile for heavy users.
    pub heavy_p95_ms: f64,
    /// `heavy_p95_ms / light_p95_ms`.
    pub p95_ratio: f64,
}

impl HeavyLightRow {
    /// The row of `shape` at `clients`, from both populations' summaries.
    pub(in crate::bench) fn new(
        shape: Shape,
        clients: u32,
        light: Summary,
        heavy: Summary,
    ) -> Self {
        Self {
            shape: shape.name(),
            clients,
            light_p50_ms: round(light.p50_ms, 3),
            light_p95_ms: round(light.p95_ms, 3),
            heavy_p50_ms: round(heavy.p50_ms, 3),
            heavy_p95_ms: round(heavy.p95_ms, 3),
            p95_ratio: ratio(heavy.p95_ms, light.p95_ms),
        }
    }
}

impl Population {
    fn describe(&self) -> String {
        let tasks = if self.min_tasks == self.max_tasks {
            format!("{}", self.min_tasks)
        } else {
            format!("{}–{}", self.min_tasks, self.max_tasks)
        };
        format!("{} users with {tasks} tasks each", self.users)
    }
}

impl HeavyVsLight {
    /// The comparison as a caption and a Markdown table, `duration_s` per run.
    pub fn markdown(&self, duration_s: u64) -> String {
        let skipped = match self.skipped.as_slice() {
            [] => String::new(),
            names => format!(
                " {} read the heavy users' lists by definition: in the table above only.",
                names.join(" and ")
            ),
        };
        let mut text = format!(
            "Read shapes for light users ({}) and heavy users ({}); {} alternating runs of \
             {duration_s} s for each.{skipped}\n\n\
             | shape | clients | light p50 | light p95 | heavy p50 | heavy p95 \
             | heavy p95 / light p95 |\n\
             |---|---:|---:|---:|---:|---:|---:|\n",
            self.light.describe(),
            self.heavy.describe(),
            self.rounds,
        );
        for r in &self.rows {
            text += &format!(
                "| {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.2} |\n",
                r.shape,
                r.clients,
                r.light_p50_ms,
                r.light_p95_ms,
                r.heavy_p50_ms,
                r.heavy_p95_ms,
                r.p95_ratio,
            );
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use todo_store::SortKey;

    use super::*;

    use super::super::summary;

    fn report(skipped: Vec<&'static str>) -> HeavyVsLight {
        HeavyVsLight {
            rounds: 2,
            light: Population {
                users: 90,
                min_tasks: 100,
                max_tasks: 100,
            },
            heavy: Population {
                users: 10,
                min_tasks: 9_000,
                max_tasks: 10_000,
            },
            skipped,
            rows: vec![HeavyLightRow::new(
                Shape::List(SortKey::Due),
                1,
                summary(400, 800),
                summary(600, 2_000),
            )],
        }
    }

    #[test]
    fn rows_are_heavy_over_light() {
        let row = &report(vec![]).rows[0];
        assert_eq!(row.shape, "list_due");
        assert_eq!((row.light_p50_ms, row.light_p95_ms), (0.4, 0.8));
        assert_eq!((row.heavy_p50_ms, row.heavy_p95_ms), (0.6, 2.0));
        assert_eq!(row.p95_ratio, 2.5);
    }

    #[test]
    fn the_caption_says_who_the_users_are_and_what_is_skipped() {
        let text = report(vec!["heavy_first_page", "deep_page"]).markdown(5);
        assert!(
            text.starts_with(
                "Read shapes for light users (90 users with 100 tasks each) and heavy users \
                 (10 users with 9000–10000 tasks each); 2 alternating runs of 5 s for each. \
                 heavy_first_page and deep_page read the heavy users' lists by definition: \
                 in the table above only.\n\n"
            ),
            "{text}"
        );
        assert!(
            text.ends_with(
                "| shape | clients | light p50 | light p95 | heavy p50 | heavy p95 \
                 | heavy p95 / light p95 |\n\
                 |---|---:|---:|---:|---:|---:|---:|\n\
                 | list_due | 1 | 0.400 | 0.800 | 0.600 | 2.000 | 2.50 |\n"
            ),
            "{text}"
        );
        let plain = report(vec![]).markdown(5);
        assert!(plain.contains("for each.\n\n"), "{plain}");
        assert!(!plain.contains("by definition"), "{plain}");
    }
}
