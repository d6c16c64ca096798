//! What a benchmark run measures, and how: also the flags of
//! `todo-store-bench bench` (the field docs are their `--help`).

use std::path::PathBuf;

use clap::{ArgGroup, Args, ValueEnum};
use todo_store::{DatabaseUrl, RowSecurity};

/// The settings of one [`run`](super::run).
#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("second_database").args(["compare_url", "without_history_url"])))]
pub struct Settings {
    /// Seconds each shape runs per client count (for the library, then pgbench)
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    pub duration: u64,
    /// Concurrent clients of the second round (the first has one)
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub clients: u32,
    /// Run only this shape (repeatable); all shapes by default
    #[arg(long = "shape", value_name = "NAME")]
    pub shapes: Vec<String>,
    /// Also measure every read shape (but heavy_first_page and deep_page)
    /// for the light users and for the heavy ones (the 10 with the most
    /// tasks), alternating (--rounds times each), side by side in one run
    #[arg(long)]
    pub heavy_vs_light: bool,
    /// Also measure every read and write shape through the async store
    /// (one connection and one current-thread tokio runtime per client)
    /// beside the sync store, alternating (--rounds times each), side by
    /// side in one run
    #[arg(long)]
    pub async_vs_sync: bool,
    /// Reach the server (library, pgbench and fixture alike) through a
    /// local proxy that holds each direction's bytes this many
    /// microseconds, as a network link would; needs a postgres:// URL
    #[arg(long, value_name = "MICROSECONDS")]
    pub link_delay_us: Option<u64>,
    /// Also run the write shapes on this second database, in seeded accounts
    /// of its own, alternating with the first (--rounds times each); ratios
    /// are --database-url / --compare-url
    #[arg(long, value_name = "URL", value_parser = parse_url)]
    pub compare_url: Option<DatabaseUrl>,
    /// Also run the write shapes on this second database, seeded like
    /// --database-url but with the history triggers disabled, alternating
    /// with the first (--rounds times each): the cost of the history, side
    /// by side in one run. Checks both databases first; the labels default
    /// to "with history" and "without history"
    #[arg(long, value_name = "URL", value_parser = parse_url)]
    pub without_history_url: Option<DatabaseUrl>,
    /// What the report calls the second database [default: compared]
    #[arg(long, value_name = "LABEL", requires = "second_database")]
    pub compare_label: Option<String>,
    /// What the report calls --database-url beside the second database
    /// [default: main]
    #[arg(long, value_name = "LABEL", requires = "second_database")]
    pub main_label: Option<String>,
    /// Alternations of each measurement of a side-by-side comparison:
    /// each write shape and client count between the two databases, each
    /// read shape and client count between light and heavy users
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub rounds: u32,
    /// The `changes_since` shape: the feed is measured from tokens this many
    /// changes behind (comma-separated), paging to the end from each
    #[arg(
        long,
        value_name = "N,…",
        value_delimiter = ',',
        default_value = "1,100,10000"
    )]
    pub changes_behind: Vec<u64>,
    /// The `changes_since` shape: changes per call
    #[arg(long, value_name = "N", default_value_t = todo_store::MAX_PAGE_SIZE)]
    pub changes_limit: u32,
    /// Random seed for choosing users and calls
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    /// The pgbench program to compare with
    #[arg(long, value_name = "PATH", default_value = "pgbench")]
    pub pgbench: PathBuf,
    /// Connect the library with this URL instead, e.g. as the application
    /// role so that row-level security is evaluated; pgbench connects
    /// with it too, the fixture and the clean-up keep --database-url
    #[arg(long, value_name = "URL", value_parser = parse_url)]
    pub app_url: Option<DatabaseUrl>,
    /// Whether the library scopes each call for row-level security
    #[arg(long, value_enum, value_name = "MODE", default_value_t = RowSecurityArg::Scoped)]
    pub row_security: RowSecurityArg,
}

/// `--row-security`: [`RowSecurity`] on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RowSecurityArg {
    /// Every call in a transaction that sets the owner scope (the default)
    Scoped,
    /// No scope: for a role that bypasses row-level security
    Unscoped,
}

impl RowSecurityArg {
    /// The name as typed.
    pub fn name(self) -> &'static str {
        match self {
            RowSecurityArg::Scoped => "scoped",
            RowSecurityArg::Unscoped => "unscoped",
        }
    }
}

impl From<RowSecurityArg> for RowSecurity {
    fn from(mode: RowSecurityArg) -> Self {
        match mode {
            RowSecurityArg::Scoped => RowSecurity::Scoped,
            RowSecurityArg::Unscoped => RowSecurity::Unscoped,
        }
    }
}

/// A URL argument, kept in a type that never shows its password.
fn parse_url(text: &str) -> Result<DatabaseUrl, String> {
    Ok(DatabaseUrl::new(text))
}
