//! A task's version as its `ETag`, and `If-Match` as the library's
//! [`VersionCheck`]: a write with a stale `If-Match` is refused (412)
//! instead of overwriting a change the client has not seen.

use axum::http::{HeaderMap, HeaderValue, header};
use serde::Deserialize;
use todo_store::VersionCheck;
use utoipa::IntoParams;

use crate::problem::ApiError;

/// The `If-Match` header, as the OpenAPI document describes it (handlers
/// read it with [`version_check`]).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfMatch {
    /// The task's `ETag` (e.g. `"3"`): write only if the task is still at
    /// that version; `*` for any version.
    #[serde(rename = "If-Match")]
    #[param(nullable = false, pattern = r#"^(\*|"[0-9]{1,9}")$"#)]
    pub if_match: Option<String>,
}

/// The `ETag` of a task at `version`: a strong validator, `"<version>"`.
pub fn etag(version: i32) -> HeaderValue {
    // Digits and quotes only: always a valid header value.
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// The version check an `If-Match` header asks for: none or `*` is
/// [`VersionCheck::Any`]; `"<version>"` is [`VersionCheck::Exactly`].
///
/// # Errors
/// 400 for a header that is not `*` or one tag of the form `"<digits>"`,
/// or that comes more than once; 412 for a tag that can match no task's
/// version (a weak tag, `"0"`, `"03"`: tags compare exactly).
pub fn version_check(headers: &HeaderMap) -> Result<VersionCheck, ApiError> {
    let mut values = headers.get_all(header::IF_MATCH).iter();
    let Some(value) = values.next() else {
        return Ok(VersionCheck::Any);
    };
    if values.next().is_some() {
        return Err(ApiError::bad_request(
            Some("If-Match"),
            "If-Match must name a single version",
        ));
    }
    let malformed = || {
        ApiError::bad_request(
            Some("If-Match"),
            "If-Match must be * or an ETag of this service, e.g. \"3\"",
        )
    };
    let text = value.to_str().map_err(|_| malformed())?.trim();
    if text == "*" {
        return Ok(VersionCheck::Any);
    }
    // If-Match compares strongly (RFC 9110, 13.1.1): a weak tag never
    // matches, so the write is refused as for a stale version.
    if text.starts_with("W/") {
        return Err(ApiError::precondition_failed(None));
    }
    if text.contains(',') {
        // A stored task has one version: the library takes one expected
        // version, so a list is refused rather than half read.
        return Err(ApiError::bad_request(
            Some("If-Match"),
            "If-Match must name a single version",
        ));
    }
    let digits = text
        .strip_prefix('"')
        .and_then(|tag| tag.strip_suffix('"'))
        .filter(|digits| (1..=9).contains(&digits.len()))
        .filter(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(malformed)?;
    // This service's tags are versions, 1 and up, written without leading
    // zeros; any other well-formed tag is one it never issued.
    match digits.parse::<i32>() {
        Ok(version) if version >= 1 && !digits.starts_with('0') => {
            Ok(VersionCheck::Exactly(version))
        }
        _ => Err(ApiError::precondition_failed(None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(value: Option<&str>) -> Result<VersionCheck, ApiError> {
        let mut headers = HeaderMap::new();
        if let Some(value) = value {
            headers.insert(
                header::IF_MATCH,
                HeaderValue::from_str(value).map_err(|_| ApiError::bad_request(None, "test"))?,
            );
        }
        version_check(&headers)
    }

    #[test]
    fn if_match_reads_as_a_version_check() {
        assert_eq!(check(None), Ok(VersionCheck::Any));
        assert_eq!(check(Some("*")), Ok(VersionCheck::Any));
        assert_eq!(check(Some("\"3\"")), Ok(VersionCheck::Exactly(3)));
        assert_eq!(check(Some(" \"12\" ")), Ok(VersionCheck::Exactly(12)));
        let status = |value| check(Some(value)).map_err(|err| err.status());
        use axum::http::StatusCode;
        for never_issued in ["\"0\"", "\"03\"", "W/\"3\""] {
            assert_eq!(
                status(never_issued),
                Err(StatusCode::PRECONDITION_FAILED),
                "{never_issued}"
            );
        }
        for bad in [
            "3",
            "\"x\"",
            "\"\"",
            "\"3\", \"4\"",
            "\"9999999999\"",
            "\"+3\"",
            "\"-1\"",
            "\" 3\"",
        ] {
            assert_eq!(status(bad), Err(StatusCode::BAD_REQUEST), "{bad}");
        }
        let mut twice = HeaderMap::new();
        twice.append(header::IF_MATCH, HeaderValue::from_static("\"1\""));
        twice.append(header::IF_MATCH, HeaderValue::from_static("\"3\""));
        assert_eq!(
            version_check(&twice).map_err(|err| err.status()),
            Err(StatusCode::BAD_REQUEST)
        );
    }

    #[test]
    fn etags_quote_the_version() {
        assert_eq!(etag(7), "\"7\"");
    }
}
