//! Users: the [`User`] read model and the [`NewUser`] / [`UserPatch`] forms.

use chrono::{DateTime, Utc};
use diesel::{pg::Pg, prelude::*};
use serde::{Deserialize, Serialize};

use crate::{Password, UserId, schema::users};

/// A user account as stored, without its password hash.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = users, check_for_backend(Pg))]
#[non_exhaustive]
pub struct User {
    /// The user's id.
    pub id: UserId,
    /// The address as entered; unique whatever its letter case.
    pub email: String,
    /// The name to show, if any.
    pub display_name: Option<String>,
    /// IANA time zone name, e.g. `Europe/Paris`, if known.
    pub time_zone: Option<String>,
    /// Subject id at an external auth service, if linked.
    pub auth_subject: Option<String>,
    /// Whether the user can log in with a password.
    #[diesel(select_expression = users::password_hash.is_not_null())]
    #[diesel(select_expression_type = diesel::dsl::IsNotNull<users::password_hash>)]
    pub has_password: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When the account last changed.
    pub updated_at: DateTime<Utc>,
}

/// The input form for a new account.
///
/// ```
/// use todo_store::{NewUser, Password};
/// # fn main() -> Result<(), todo_store::Error> {
/// let user = NewUser::new("ada@example.com")
///     .display_name("Ada")
///     .password(Password::new("correct horse battery staple")?);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Required; unique whatever its letter case.
    pub email: String,
    /// Optional name to show.
    pub display_name: Option<String>,
    /// Optional IANA time zone name.
    pub time_zone: Option<String>,
    /// Without a password the user cannot log in with one.
    pub password: Option<Password>,
    /// Subject id at an external auth service.
    pub auth_subject: Option<String>,
}

impl NewUser {
    /// An account with only an email address.
    pub fn new(email: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            ..Self::default()
        }
    }

    /// Sets the display name.
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// Sets the time zone.
    pub fn time_zone(mut self, time_zone: impl Into<String>) -> Self {
        self.time_zone = Some(time_zone.into());
        self
    }

    /// Sets the password; it is stored only as an Argon2id hash.
    pub fn password(mut self, password: Password) -> Self {
        self.password = Some(password);
        self
    }

    /// Links the account to an external auth service's subject id.
    pub fn auth_subject(mut self, subject: impl Into<String>) -> Self {
        self.auth_subject = Some(subject.into());
        self
    }
}

/// The profile of an account created on first sight of an external identity
/// (see [`OnMissingSubject::Create`](crate::OnMissingSubject::Create)). It has
/// no password and no subject field: such an account logs in through the
/// external service only, under the subject it was created for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProfile {
    /// Required; unique whatever its letter case.
    pub email: String,
    /// Optional name to show.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Optional IANA time zone name.
    #[serde(default)]
    pub time_zone: Option<String>,
}

impl NewProfile {
    /// A profile with only an email address.
    pub fn new(email: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            ..Self::default()
        }
    }

    /// Sets the display name.
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// Sets the time zone.
    pub fn time_zone(mut self, time_zone: impl Into<String>) -> Self {
        self.time_zone = Some(time_zone.into());
        self
    }
}

/// A partial update of one's own profile: `None` leaves a field as it is,
/// `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// New email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// New display name (`Some(None)`, JSON `null`: remove it).
    #[serde(
        default,
        deserialize_with = "super::present_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub display_name: Option<Option<String>>,
    /// New time zone (`Some(None)`, JSON `null`: remove it).
    #[serde(
        default,
        deserialize_with = "super::present_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub time_zone: Option<Option<String>>,
}
