//! Input rules shared by the repositories. The database enforces the same rules
//! with CHECK constraints; checking here first gives precise, typed errors.
//! Every limit is defined here once: the validation errors, the messages for
//! the database's own CHECK violations (`error::check_constraint_field`) and
//! the docs use these constants, and a test holds the migrations' CHECKs
//! against them (`tests/tests/schema.rs`).

use chrono::{DateTime, Datelike, TimeDelta, Utc};

use crate::{Error, Result};

/// Longest task title, in characters, after trimming.
pub const MAX_TITLE_CHARS: usize = 500;
/// Longest task description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;
/// Longest search text, in characters.
pub const MAX_SEARCH_CHARS: usize = 200;
/// Shortest email address, in characters.
pub const MIN_EMAIL_CHARS: usize = 3;
/// Longest email address, in characters (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;
/// Longest display name, in characters, after trimming.
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;
/// Longest time zone name, in characters.
pub const MAX_TIME_ZONE_CHARS: usize = 64;
/// Longest subject id of an external auth service (a JWT `sub`), in characters.
pub const MAX_AUTH_SUBJECT_CHARS: usize = 255;

/// A single-line text: trimmed, `min..=max` characters, no control characters.
pub(crate) fn line<'a>(field: &str, raw: &'a str, max: usize) -> Result<&'a str> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(Error::validation(field, "must not be empty"));
    }
    let chars = text.chars().count();
    if chars > max {
        return Err(Error::validation(
            field,
            format!("must be at most {max} characters (got {chars})"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(Error::validation(
            field,
            "must not contain control characters",
        ));
    }
    Ok(text)
}

/// A free text: at most `max` characters, no NUL (PostgreSQL text cannot hold it).
/// An empty text means "none".
pub(crate) fn free_text<'a>(field: &str, raw: &'a str, max: usize) -> Result<Option<&'a str>> {
    if raw.contains('\0') {
        return Err(Error::validation(field, "must not contain NUL characters"));
    }
    let chars = raw.chars().count();
    if chars > max {
        return Err(Error::validation(
            field,
            format!("must be at most {max} characters (got {chars})"),
        ));
    }
    Ok((!raw.trim().is_empty()).then_some(raw))
}

/// A time PostgreSQL can store and a person can mean: years 1 to 9999.
///
/// Returned as PostgreSQL will store it: whole microseconds counted from
/// 2000-01-01, cut toward that date (as Diesel sends it), so that a value
/// compared with what comes back equals it.
pub(crate) fn timestamp(field: &str, time: DateTime<Utc>) -> Result<DateTime<Utc>> {
    if !(1..=9999).contains(&time.year()) {
        return Err(Error::validation(
            field,
            "must be between the years 1 and 9999",
        ));
    }
    let epoch = DateTime::<Utc>::from_timestamp(946_684_800, 0).unwrap_or(time);
    Ok((time - epoch)
        .num_microseconds()
        .map_or(time, |micros| epoch + TimeDelta::microseconds(micros)))
}

/// An identifier issued by someone else (e.g. a JWT `sub`): compared exactly,
/// so it is never trimmed; surrounding white space or control characters are
/// rejected instead.
pub(crate) fn exact_token<'a>(field: &str, raw: &'a str, max: usize) -> Result<&'a str> {
    let token = line(field, raw, max)?;
    if token != raw {
        return Err(Error::validation(
            field,
            "must not start or end with white space",
        ));
    }
    Ok(token)
}

/// `rule` applied to an optional field: `None` stays `None`.
pub(crate) fn optional<'a>(
    raw: Option<&'a str>,
    rule: fn(&'a str) -> Result<&'a str>,
) -> Result<Option<&'a str>> {
    raw.map(rule).transpose()
}

/// A display name: one trimmed line of up to [`MAX_DISPLAY_NAME_CHARS`].
pub(crate) fn display_name(raw: &str) -> Result<&str> {
    line("display_name", raw, MAX_DISPLAY_NAME_CHARS)
}

/// The display name closest to `raw` that [`display_name`] accepts, for
/// text the store must take as it comes (a token's `name` claim): line
/// breaks, tabs and the other white-space control characters become spaces,
/// the other control characters are dropped, and the rest is trimmed and cut
/// to [`MAX_DISPLAY_NAME_CHARS`] characters (a `char` is never split), then
/// trimmed again as the cut may end on a space. `None` if nothing is left.
// Only the `jwt` feature's first-sight profiles need it.
#[cfg(feature = "jwt")]
pub(crate) fn fit_display_name(raw: &str) -> Option<String> {
    let visible: String = raw
        .chars()
        .filter_map(|c| match c {
            // "Ada\nLovelace" is two words, not "AdaLovelace".
            c if c.is_control() && c.is_whitespace() => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect();
    let cut: String = visible
        .trim()
        .chars()
        .take(MAX_DISPLAY_NAME_CHARS)
        .collect();
    let name = cut.trim_end();
    (!name.is_empty()).then(|| name.to_owned())
}

/// A time zone name: one trimmed line of up to [`MAX_TIME_ZONE_CHARS`].
pub(crate) fn time_zone(raw: &str) -> Result<&str> {
    line("time_zone", raw, MAX_TIME_ZONE_CHARS)
}

/// An external auth service's subject id: exact, up to [`MAX_AUTH_SUBJECT_CHARS`].
pub(crate) fn auth_subject(raw: &str) -> Result<&str> {
    exact_token("auth_subject", raw, MAX_AUTH_SUBJECT_CHARS)
}

/// A plausible email address: trimmed, [`MIN_EMAIL_CHARS`] to
/// [`MAX_EMAIL_CHARS`] characters, one `@` with text on both sides, no
/// spaces or control characters. Deliverability is not ours to judge.
pub(crate) fn email(raw: &str) -> Result<&str> {
    let email = line("email", raw, MAX_EMAIL_CHARS)?;
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if !valid || email.chars().count() < MIN_EMAIL_CHARS {
        return Err(Error::validation(
            "email",
            "must be an address like name@example.com",
        ));
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_cut_to_microseconds_as_postgresql_stores_them() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().expect("a time");
        let check = |raw: &str, stored: &str| {
            assert_eq!(timestamp("t", at(raw)), Ok(at(stored)), "{raw}");
        };
        check(
            "2030-01-31T17:00:00.123456789Z",
            "2030-01-31T17:00:00.123456Z",
        );
        // Before 2000 the cut is toward 2000, as Diesel counts from there.
        check("1999-12-31T23:59:59.999999999Z", "2000-01-01T00:00:00Z");
        check(
            "1999-12-31T23:59:59.9999985Z",
            "1999-12-31T23:59:59.999999Z",
        );
        check("2000-01-01T00:00:00Z", "2000-01-01T00:00:00Z");
    }

    #[test]
    fn line_trims_and_bounds() {
        assert_eq!(line("title", "  hi  ", 5), Ok("hi"));
        assert!(line("title", " \t ", 5).is_err());
        assert!(line("title", "abcdef", 5).is_err());
        assert!(line("title", "a\nb", 5).is_err());
        assert_eq!(line("title", "ééééé", 5), Ok("ééééé"));
    }

    #[test]
    fn free_text_rejects_nul_and_maps_empty_to_none() {
        assert_eq!(free_text("d", "", 3), Ok(None));
        assert_eq!(free_text("d", "a\nb", 3), Ok(Some("a\nb")));
        assert!(free_text("d", "a\0", 3).is_err());
        assert!(free_text("d", "abcd", 3).is_err());
    }

    #[test]
    fn tokens_are_exact() {
        assert_eq!(exact_token("sub", "abc", 5), Ok("abc"));
        assert!(exact_token("sub", " abc", 5).is_err());
        assert!(exact_token("sub", "abc\n", 5).is_err());
    }

    #[test]
    fn timestamps_stay_within_four_digit_years() {
        let ok = DateTime::from_timestamp(0, 0).expect("epoch");
        assert!(timestamp("due_at", ok).is_ok());
        let far = DateTime::from_timestamp(300_000_000_000, 0).expect("in chrono range");
        assert!(timestamp("due_at", far).is_err());
    }

    #[cfg(feature = "jwt")]
    #[test]
    fn fitted_display_names_are_accepted_as_they_are() {
        let long = "n".repeat(150);
        let wide = "名".repeat(MAX_DISPLAY_NAME_CHARS + 7);
        let space_at_cut = format!("{} tail", "a".repeat(MAX_DISPLAY_NAME_CHARS - 1));
        for (raw, fitted) in [
            ("", None),
            (" \t\n ", None),
            ("\u{7}\u{0}\u{1b}", None),
            ("  Ada  ", Some("Ada")),
            ("Ada\nLovelace", Some("Ada Lovelace")),
            ("\u{0}A\u{7}da\u{1b}[31m", Some("Ada[31m")),
            ("\u{85}Ada\r\n", Some("Ada")),
            (long.as_str(), Some(&long[..MAX_DISPLAY_NAME_CHARS])),
            (wide.as_str(), Some(&wide[..3 * MAX_DISPLAY_NAME_CHARS])),
            (
                space_at_cut.as_str(),
                Some(&space_at_cut[..MAX_DISPLAY_NAME_CHARS - 1]),
            ),
        ] {
            let got = fit_display_name(raw);
            assert_eq!(got.as_deref(), fitted, "{raw:?}");
            if let Some(name) = got {
                assert_eq!(display_name(&name), Ok(name.as_str()), "{raw:?}");
            }
        }
    }

    #[test]
    fn emails() {
        assert_eq!(email(" Ada@Example.com "), Ok("Ada@Example.com"));
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "a b@example.com",
            "a@b@c",
            "ada@.com",
        ] {
            assert!(email(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
