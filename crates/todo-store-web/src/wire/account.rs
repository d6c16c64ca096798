//! The caller's own account on the wire.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use todo_store::{User, UserPatch};
use utoipa::ToSchema;
use uuid::Uuid;

/// The caller's account.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountBody {
    /// The account's id in this service.
    pub id: Uuid,
    /// The account's email address.
    pub email: String,
    /// The name shown for the account.
    pub display_name: Option<String>,
    /// A time zone name, e.g. `Europe/Paris` (for display; not checked
    /// against the IANA database).
    pub time_zone: Option<String>,
    /// When the account was created here.
    pub created_at: DateTime<Utc>,
    /// When the account last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<User> for AccountBody {
    fn from(user: User) -> Self {
        Self {
            id: user.id.as_uuid(),
            email: user.email,
            display_name: user.display_name,
            time_zone: user.time_zone,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// Changes to the caller's profile: absent fields stay; `null` clears.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchAccountBody {
    /// A new display name, or `null` to clear it.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<String>)]
    pub display_name: Option<Option<String>>,
    /// A new time zone name, or `null` to clear it.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<String>)]
    pub time_zone: Option<Option<String>>,
}

impl PatchAccountBody {
    /// The library's patch. The email address is Better Auth's to change,
    /// so it is not part of this body.
    pub fn into_patch(self) -> UserPatch {
        UserPatch {
            email: None,
            display_name: self.display_name,
            time_zone: self.time_zone,
        }
    }
}
