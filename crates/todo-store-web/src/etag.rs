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
/// [`VersionCheck::Any`]; `"<version>"` (or a list of them, of which only
/// one can match a task's single version) is [`VersionCheck::Exactly`].
///
/// # Errors
/// 400 for a header that names no version this service could have issued.
pub fn version_check(headers: &HeaderMap) -> Result<VersionCheck, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(VersionCheck::Any);
    };
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
    let mut versions = text.split(',').map(|tag| {
        tag.trim()
            .strip_prefix('"')
            .and_then(|tag| tag.strip_suffix('"'))
            .and_then(|digits| digits.parse::<i32>().ok())
    });
    match (versions.next().flatten(), versions.next()) {
        (Some(version), None) => Ok(VersionCheck::Exactly(version)),
        // Several tags: a stored task has one version, so a list can only
        // match through one of them; the library takes one expected version.
        (Some(_), Some(_)) => Err(ApiError::bad_request(
            Some("If-Match"),
            "If-Match must name a single version",
        )),
        (None, _) => Err(malformed()),
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
        assert_eq!(
            check(Some("W/\"3\"")).map_err(|err| err.status()),
            Err(axum::http::StatusCode::PRECONDITION_FAILED)
        );
        for bad in ["3", "\"x\"", "\"\"", "\"3\", \"4\"", "\"99999999999\""] {
            assert!(check(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn etags_quote_the_version() {
        assert_eq!(etag(7), "\"7\"");
    }
}
