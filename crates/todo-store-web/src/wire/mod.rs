//! The JSON the API speaks: one type per request or response body, each
//! converted to or from the library's own types, and described in the
//! OpenAPI document by its derive. Bodies refuse unknown fields, so a
//! `user_id` (or any misspelt field) is an error, never ignored.

pub mod account;
pub mod history;
pub mod task;

use serde::{Deserialize, Deserializer};

/// For a field that may be absent (leave as is), `null` (clear) or a value
/// (set): `None`, `Some(None)` and `Some(Some(value))`.
pub(crate) fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `err` about the query parameter `parameter`: the library names its own
/// fields (`priority`, `search`), the client should read the parameter it
/// sent.
pub(crate) fn named(err: todo_store::Error, parameter: &str) -> todo_store::Error {
    match err {
        todo_store::Error::Validation { reason, .. } => {
            todo_store::Error::validation(parameter, reason)
        }
        other => other,
    }
}
