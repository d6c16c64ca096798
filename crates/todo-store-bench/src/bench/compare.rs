//! Two databases side by side for the write shapes: `--compare-url` (any
//! second database, e.g. another volume) or `--without-history-url` (the
//! same data without the history triggers, checked as such). Each write
//! shape and client count runs `--rounds` times on each, alternating.

use diesel::PgConnection;
use todo_store::{DatabaseUrl, Error, Owner};

use super::{Settings, baseline, fixture};
use crate::rng::Rng;

/// What the report calls the second database of `--compare-url` by default.
const COMPARED: &str = "compared";
/// What the report calls `--database-url` beside it by default.
const MAIN: &str = "main";

/// The second database of a run, and what the report calls each side.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Where the second database is.
    pub url: DatabaseUrl,
    /// What the report calls `--database-url`.
    pub main_label: String,
    /// What the report calls the second database.
    pub label: String,
    /// Whether it is `--without-history-url`: checked to hold the same data
    /// without the history triggers, and written in the same accounts.
    pub without_history: bool,
}

impl Comparison {
    /// The comparison `settings` ask for, if any.
    pub fn of(settings: &Settings) -> Option<Self> {
        let (url, without_history) = match (&settings.compare_url, &settings.without_history_url) {
            (Some(url), _) => (url.clone(), false),
            (None, Some(url)) => (url.clone(), true),
            (None, None) => return None,
        };
        let (main, other) = if without_history {
            ("with history", "without history")
        } else {
            (MAIN, COMPARED)
        };
        Some(Self {
            url,
            main_label: settings.main_label.clone().unwrap_or_else(|| main.into()),
            label: settings
                .compare_label
                .clone()
                .unwrap_or_else(|| other.into()),
            without_history,
        })
    }

    /// The accounts of the second database the writes run in: those of
    /// `writers` (by email) without history, which first checks that the
    /// two databases hold the same data; otherwise seeded accounts drawn at
    /// random there, as on the main database.
    ///
    /// # Errors
    /// A validation failure if the databases cannot be compared; the
    /// library's error.
    pub fn owners(
        &self,
        measured: &mut PgConnection,
        other: &mut PgConnection,
        writers: &[Owner],
        seed: u64,
    ) -> Result<Vec<Owner>, Error> {
        if self.without_history {
            return baseline::owners(measured, other, writers);
        }
        let owners = fixture::seeded_sample(other, &mut Rng::stream(seed, 3_000))?;
        if owners.is_empty() {
            return Err(Error::validation(
                "compare_url",
                "holds no seeded account to write in: run `todo-store-bench seed` on it first",
            ));
        }
        Ok(owners)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// `bench`'s flags, alone.
    #[derive(Parser)]
    struct Bench {
        #[command(flatten)]
        settings: Settings,
    }

    fn comparison(args: &[&str]) -> Option<Comparison> {
        let all = std::iter::once("bench").chain(args.iter().copied());
        Comparison::of(&Bench::try_parse_from(all).expect("valid flags").settings)
    }

    #[test]
    fn compare_url_is_labelled_as_asked() {
        assert!(comparison(&[]).is_none());
        let labelled = comparison(&[
            "--compare-url",
            "postgres://localhost/a",
            "--compare-label",
            "volume A",
            "--main-label",
            "volume B",
        ])
        .expect("a comparison");
        assert_eq!(labelled.url.expose(), "postgres://localhost/a");
        assert_eq!(
            (labelled.main_label.as_str(), labelled.label.as_str()),
            ("volume B", "volume A")
        );
        assert!(!labelled.without_history);
        let plain = comparison(&["--compare-url", "postgres://localhost/a"]).expect("a comparison");
        assert_eq!(
            (plain.main_label.as_str(), plain.label.as_str()),
            ("main", "compared")
        );
    }

    #[test]
    fn without_history_url_is_a_comparison_labelled_by_the_history() {
        let url = "postgres://localhost/a0";
        let without = comparison(&["--without-history-url", url]).expect("a comparison");
        assert!(without.without_history);
        assert_eq!(without.url.expose(), url);
        assert_eq!(
            (without.main_label.as_str(), without.label.as_str()),
            ("with history", "without history")
        );
        let relabelled = comparison(&[
            "--without-history-url",
            url,
            "--compare-label",
            "no triggers",
        ])
        .expect("a comparison");
        assert_eq!(relabelled.label, "no triggers");
        assert!(relabelled.without_history);
    }

    #[test]
    fn one_second_database_at_most_and_labels_only_with_one() {
        for args in [
            &["bench", "--compare-url", "a", "--without-history-url", "b"][..],
            &["bench", "--compare-label", "volume A"],
            &["bench", "--main-label", "volume B"],
        ] {
            assert!(Bench::try_parse_from(args).is_err(), "{args:?}");
        }
    }
}
