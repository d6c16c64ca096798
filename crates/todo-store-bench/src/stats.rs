//! What a measured run comes to: latency percentiles, and rates.

use std::time::Duration;

/// Latencies of one measured run, summarised.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    /// Calls completed.
    pub ops: usize,
    /// Median latency, milliseconds.
    pub p50_ms: f64,
    /// 95th percentile, milliseconds.
    pub p95_ms: f64,
    /// 99th percentile, milliseconds.
    pub p99_ms: f64,
    /// Slowest call, milliseconds.
    pub max_ms: f64,
    /// Calls per second of wall time.
    pub ops_per_s: f64,
}

impl Summary {
    /// Summarises `latencies_us` (microseconds, any order) measured over `wall`.
    /// `None` if there are none.
    pub fn of(mut latencies_us: Vec<u64>, wall: Duration) -> Option<Self> {
        if latencies_us.is_empty() {
            return None;
        }
        latencies_us.sort_unstable();
        let ms = |us: u64| us as f64 / 1_000.0;
        let at = |q: f64| ms(percentile(&latencies_us, q));
        Some(Self {
            ops: latencies_us.len(),
            p50_ms: at(0.50),
            p95_ms: at(0.95),
            p99_ms: at(0.99),
            max_ms: ms(latencies_us[latencies_us.len() - 1]),
            ops_per_s: per_second(latencies_us.len() as u64, wall),
        })
    }
}

/// `count` per second over `time` (0 for no time at all).
pub fn per_second(count: u64, time: Duration) -> f64 {
    match time.as_secs_f64() {
        secs if secs > 0.0 => count as f64 / secs,
        _ => 0.0,
    }
}

/// The nearest-rank percentile of sorted, non-empty `values`.
fn percentile(sorted: &[u64], q: f64) -> u64 {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<u64> = (1..=100).map(|n| n * 1_000).collect();
        let summary = Summary::of(values, Duration::from_secs(2)).expect("values");
        assert_eq!(summary.ops, 100);
        assert_eq!(
            (summary.p50_ms, summary.p95_ms, summary.p99_ms),
            (50.0, 95.0, 99.0)
        );
        assert_eq!((summary.max_ms, summary.ops_per_s), (100.0, 50.0));
        assert_eq!(Summary::of(vec![], Duration::from_secs(1)), None);
        let one = Summary::of(vec![7_000], Duration::from_secs(1)).expect("one");
        assert_eq!((one.p50_ms, one.p99_ms), (7.0, 7.0));
        assert_eq!(
            Summary::of(vec![1], Duration::ZERO).map(|s| s.ops_per_s),
            Some(0.0)
        );
    }
}
