//! Read models (what a query returns) and input forms (what a caller sends).
//!
//! Input forms never carry a `user_id`: the owner always comes from an
//! [`Owner`](crate::Owner).

pub(crate) mod task;
pub(crate) mod user;

/// For `Option<Option<T>>` patch fields: a present JSON field, even `null`,
/// becomes `Some(..)`; an absent one stays `None` through `#[serde(default)]`.
pub(crate) fn present_or_null<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}
