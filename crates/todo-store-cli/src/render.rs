//! The pieces that the commands' text is made of: times, terminal-safe free
//! text, shortened titles, aligned `label  value` fields.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

/// A time as RFC 3339 in UTC, to the second: the form `--due` accepts.
pub fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `rows` per second over `time` (0 for no time at all).
pub fn per_second(rows: u64, time: Duration) -> f64 {
    match time.as_secs_f64() {
        secs if secs > 0.0 => rows as f64 / secs,
        _ => 0.0,
    }
}

/// Free text made safe for a terminal: control characters other than
/// newline and tab (e.g. escape sequences stored in a description) are shown
/// escaped instead of being interpreted.
pub fn safe(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\t' => c.to_string(),
            c if c.is_control() => c.escape_unicode().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Free text on one line, for a table cell: [`safe`], with line breaks and
/// tabs shown as `\n` and `\t`.
pub fn inline(text: &str) -> String {
    safe(text).replace('\n', "\\n").replace('\t', "\\t")
}

/// `text` cut to `max` characters, with an ellipsis if it was longer.
pub fn shortened(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
    short.push('…');
    short
}

/// `label  value` lines; continuation lines of a value are indented under it.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs
        .iter()
        .map(|(label, _)| label.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (label, value) in pairs {
        let mut lines = value.lines();
        out.push_str(&format!(
            "{label:<width$}  {}\n",
            lines.next().unwrap_or_default()
        ));
        for line in lines {
            out.push_str(&format!("{:<width$}  {line}\n", ""));
        }
    }
    out
}

/// The value, or `-` if there is none.
pub fn or_dash(value: Option<String>) -> String {
    value.unwrap_or_else(|| "-".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_for_the_terminal() {
        assert_eq!(safe("a\u{1b}[31mb\nc"), "a\\u{1b}[31mb\nc");
    }

    #[test]
    fn table_cells_stay_on_one_line() {
        assert_eq!(inline("a\nb\tc\u{1b}"), "a\\nb\\tc\\u{1b}");
    }

    #[test]
    fn long_titles_are_shortened_in_tables() {
        assert_eq!(shortened("abcdef", 4), "abc…");
        assert_eq!(shortened("abcd", 4), "abcd");
    }

    #[test]
    fn multi_line_values_stay_aligned() {
        let text = fields(&[("id", "1".into()), ("description", "a\nb".into())]);
        assert_eq!(text, "id           1\ndescription  a\n             b\n");
    }
}
