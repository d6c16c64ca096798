//! The write shapes on two databases side by side (`--compare-url`,
//! `--without-history-url`): each side's figures and their ratio.

use serde::Serialize;

use super::{HistoryCost, round};
use crate::{bench::shape::Shape, stats::Summary};

/// The write shapes on the main database and on a second one, each
/// measured `rounds` times per shape and client count, the two alternating.
#[derive(Debug, Clone, Serialize)]
pub struct WriteComparison {
    /// Runs of each side, per shape and client count.
    pub rounds: u32,
    /// `--database-url`.
    pub main: Database,
    /// `--compare-url` (or `--without-history-url`).
    pub compared: Database,
    /// One row per write shape and client count.
    pub rows: Vec<ComparedWrite>,
}

/// One side of a comparison: what the report calls it, and what it held.
#[derive(Debug, Clone, Serialize)]
pub struct Database {
    /// Its label (`--main-label`, `--compare-label`).
    pub label: String,
    /// Accounts it held when the run started.
    pub users: u64,
    /// Tasks it held when the run started.
    pub tasks: u64,
}

/// One write shape at one client count on both databases. Times in
/// milliseconds, over all rounds of a side; ratios are main / compared.
#[derive(Debug, Clone, Serialize)]
pub struct ComparedWrite {
    /// The shape's name.
    pub shape: &'static str,
    /// Concurrent clients.
    pub clients: u32,
    /// Median latency on the main database.
    pub main_p50_ms: f64,
    /// 95th percentile on the main database.
    pub main_p95_ms: f64,
    /// Calls per second on the main database.
    pub main_ops_per_s: f64,
    /// Median latency on the compared database.
    pub compared_p50_ms: f64,
    /// 95th percentile on the compared database.
    pub compared_p95_ms: f64,
    /// Calls per second on the compared database.
    pub compared_ops_per_s: f64,
    /// `main_p50_ms / compared_p50_ms`.
    pub p50_ratio: f64,
    /// `main_p95_ms / compared_p95_ms`.
    pub p95_ratio: f64,
}

impl ComparedWrite {
    /// The row of `shape` at `clients`, from both sides' summaries.
    pub(in crate::bench) fn new(
        shape: Shape,
        clients: u32,
        main: Summary,
        compared: Summary,
    ) -> Self {
        Self {
            shape: shape.name(),
            clients,
            main_p50_ms: round(main.p50_ms, 3),
            main_p95_ms: round(main.p95_ms, 3),
            main_ops_per_s: round(main.ops_per_s, 0),
            compared_p50_ms: round(compared.p50_ms, 3),
            compared_p95_ms: round(compared.p95_ms, 3),
            compared_ops_per_s: round(compared.ops_per_s, 0),
            p50_ratio: ratio(main.p50_ms, compared.p50_ms),
            p95_ratio: ratio(main.p95_ms, compared.p95_ms),
        }
    }
}

/// `ours / theirs` to two decimals (0 when `theirs` is 0).
pub(super) fn ratio(ours: f64, theirs: f64) -> f64 {
    match theirs {
        t if t > 0.0 => round(ours / t, 2),
        _ => 0.0,
    }
}

impl WriteComparison {
    /// The rows as [`HistoryCost`]s (the report's `history_cost`, as it was
    /// before `--compare-url`): main is with history, compared without.
    pub fn history_cost(&self) -> Vec<HistoryCost> {
        self.rows
            .iter()
            .map(|r| HistoryCost {
                shape: r.shape,
                clients: r.clients,
                rounds: self.rounds,
                with_p50_ms: r.main_p50_ms,
                with_p95_ms: r.main_p95_ms,
                with_ops_per_s: r.main_ops_per_s,
                without_p50_ms: r.compared_p50_ms,
                without_p95_ms: r.compared_p95_ms,
                without_ops_per_s: r.compared_ops_per_s,
                p50_ratio: r.p50_ratio,
                p95_ratio: r.p95_ratio,
            })
            .collect()
    }

    /// The comparison as a caption and a Markdown table, `duration_s` per run.
    pub fn markdown(&self, duration_s: u64) -> String {
        let (main, other) = (&self.main.label, &self.compared.label);
        let mut text = format!(
            "Write shapes on two databases: {main} (--database-url: {} users, {} tasks) and \
             {other} ({} users, {} tasks); {} alternating runs of {duration_s} s on each; \
             ratios are {main} / {other}.\n\n\
             | shape | clients | {main} p50 | {main} p95 | {other} p50 | {other} p95 \
             | p50 {main} / {other} | p95 {main} / {other} | ops/s {main} | ops/s {other} |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
            self.main.users, self.main.tasks, self.compared.users, self.compared.tasks, self.rounds,
        );
        for r in &self.rows {
            text += &format!(
                "| {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.2} | {:.2} | {:.0} | {:.0} |\n",
                r.shape,
                r.clients,
                r.main_p50_ms,
                r.main_p95_ms,
                r.compared_p50_ms,
                r.compared_p95_ms,
                r.p50_ratio,
                r.p95_ratio,
                r.main_ops_per_s,
                r.compared_ops_per_s,
            );
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::summary;

    fn comparison() -> WriteComparison {
        let database = |label: &str, users, tasks| Database {
            label: label.into(),
            users,
            tasks,
        };
        WriteComparison {
            rounds: 3,
            main: database("volume B", 10_010, 10_100_000),
            compared: database("volume A", 10_000, 1_000_000),
            rows: vec![ComparedWrite::new(
                Shape::Create,
                4,
                summary(1_500, 3_000),
                summary(1_000, 2_000),
            )],
        }
    }

    #[test]
    fn rows_are_main_over_compared() {
        let row = &comparison().rows[0];
        assert_eq!((row.main_p50_ms, row.main_p95_ms), (1.5, 3.0));
        assert_eq!((row.compared_p50_ms, row.compared_p95_ms), (1.0, 2.0));
        assert_eq!((row.p50_ratio, row.p95_ratio), (1.5, 1.5));
        assert_eq!(ratio(1.0, 0.0), 0.0);
    }

    #[test]
    fn the_table_is_labelled_with_both_databases() {
        let text = comparison().markdown(5);
        assert!(
            text.starts_with(
                "Write shapes on two databases: volume B (--database-url: 10010 users, \
                 10100000 tasks) and volume A (10000 users, 1000000 tasks); 3 alternating runs \
                 of 5 s on each; ratios are volume B / volume A.\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "| shape | clients | volume B p50 | volume B p95 | volume A p50 | volume A p95 \
                 | p50 volume B / volume A | p95 volume B / volume A | ops/s volume B \
                 | ops/s volume A |\n"
            ),
            "{text}"
        );
        assert!(
            text.ends_with(
                "| create | 4 | 1.500 | 3.000 | 1.000 | 2.000 | 1.50 | 1.50 | 100 | 100 |\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn without_history_it_is_also_the_history_cost() {
        let costs = comparison().history_cost();
        let cost = &costs[0];
        assert_eq!((cost.shape, cost.clients, cost.rounds), ("create", 4, 3));
        assert_eq!((cost.with_p95_ms, cost.without_p95_ms), (3.0, 2.0));
        assert_eq!((cost.p50_ratio, cost.p95_ratio), (1.5, 1.5));
    }
}
