//! What a verified token says: the [`VerifiedSubject`] a
//! [`Verifier`](super::Verifier) makes from the claims of a token that passed
//! its checks, and the first-sight profile built from them.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, de};
use serde_json::{Map, Value};

use super::{Claim, TokenError};
use crate::{NewProfile, OnMissingSubject, Owner, User, UserRepo, validate};

/// The subject of a token that passed every check of a
/// [`Verifier`](super::Verifier), with the profile claims Better Auth puts
/// beside it and the rest of the token's claims. Only a `Verifier` makes one.
///
/// `Debug` shows the subject, the profile claims and the expiry, and of the
/// other claims only their names.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedSubject {
    subject: String,
    expires_at: DateTime<Utc>,
    claims: Map<String, Value>,
}

impl VerifiedSubject {
    /// The `sub` claim: the user's id at the auth service.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The `email` claim, if the token has a string one. Vouched for by the
    /// issuer, like everything in the token; whether the address was
    /// verified is [`email_verified`](Self::email_verified).
    pub fn email(&self) -> Option<&str> {
        self.text("email")
    }

    /// The `name` claim, if the token has a string one, as the token has it
    /// (Better Auth accepts an empty name, or a long one: see
    /// [`first_sight_profile`](Self::first_sight_profile) for one the store
    /// accepts).
    pub fn name(&self) -> Option<&str> {
        self.text("name")
    }

    /// Whether the issuer verified the `email`: Better Auth's
    /// `emailVerified`, or OIDC's `email_verified`. `None` if the token has
    /// neither as a boolean, or has both and they disagree (the token then
    /// says nothing clear).
    pub fn email_verified(&self) -> Option<bool> {
        let flag = |name: &str| self.claims.get(name).and_then(Value::as_bool);
        match (flag("emailVerified"), flag("email_verified")) {
            (Some(camel), Some(snake)) if camel != snake => None,
            (camel, snake) => camel.or(snake),
        }
    }

    /// All claims of the token, as it has them (each name once: a token that
    /// names a claim twice is [`TokenError::Malformed`]), for claims this
    /// type has no method for, such as an application's own.
    ///
    /// ```
    /// # fn role(verified: &todo_store::jwt::VerifiedSubject) -> Option<&str> {
    /// verified.claims().get("role").and_then(serde_json::Value::as_str)
    /// # }
    /// ```
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// When the token expires (`exp`), e.g. to bound a session built on it.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    /// The profile for an account created on first sight of this subject
    /// ([`OnMissingSubject::Create`]), from the token's `email` and `name`,
    /// made so that the store's validation accepts it:
    ///
    /// - the email as the store would store it (trimmed);
    /// - the name with line breaks, tabs and other white-space control
    ///   characters turned into spaces and the other control characters
    ///   dropped, trimmed, and cut to
    ///   [`MAX_DISPLAY_NAME_CHARS`](crate::MAX_DISPLAY_NAME_CHARS)
    ///   characters (between characters, never inside one); no name if the
    ///   token has none or nothing is left of it. Better Auth accepts an
    ///   empty name, or one of any length.
    ///
    /// `None` only if the token has no usable email: none, not a string, or
    /// one the store's email validation refuses. An account needs an email,
    /// so such a subject cannot be given an account from its token alone.
    ///
    /// The account can still be refused for what the profile does not
    /// decide: its email taken by another account
    /// ([`Error::Conflict`](crate::Error::Conflict)), or a subject over
    /// [`MAX_AUTH_SUBJECT_CHARS`](crate::MAX_AUTH_SUBJECT_CHARS) characters
    /// ([`Error::Validation`](crate::Error::Validation)). Whether the issuer
    /// verified the email is not looked at: check
    /// [`email_verified`](Self::email_verified) first if that matters.
    ///
    /// ```no_run
    /// use todo_store::{OnMissingSubject, Store, jwt::VerifiedSubject};
    ///
    /// # type Fallible = Result<(), Box<dyn std::error::Error>>;
    /// fn first_sight(store: &mut Store, verified: &VerifiedSubject) -> Fallible {
    ///     let profile = verified
    ///         .first_sight_profile()
    ///         .ok_or("the token carries no usable email")?;
    ///     let (user, _owner) = verified.owner(store, OnMissingSubject::Create(profile))?;
    ///     println!("signed in as {}", user.email);
    ///     Ok(())
    /// }
    /// ```
    pub fn first_sight_profile(&self) -> Option<NewProfile> {
        let email = validate::email(self.email()?).ok()?;
        let profile = NewProfile::new(email);
        Some(match self.name().and_then(validate::fit_display_name) {
            Some(name) => profile.display_name(name),
            None => profile,
        })
    }

    /// The account linked to this subject, and its [`Owner`]
    /// ([`UserRepo::owner_for_subject`]), created on first sight if
    /// `on_missing` says so.
    ///
    /// # Errors
    /// As [`UserRepo::owner_for_subject`]: [`Error::NotFound`](crate::Error::NotFound)
    /// for an unknown subject with [`OnMissingSubject::Reject`],
    /// [`Error::Conflict`](crate::Error::Conflict) if a new account's email
    /// is taken, [`Error::Validation`](crate::Error::Validation) (e.g. a
    /// subject over [`MAX_AUTH_SUBJECT_CHARS`](crate::MAX_AUTH_SUBJECT_CHARS) characters), or a database error.
    pub fn owner<R: UserRepo + ?Sized>(
        &self,
        repo: &mut R,
        on_missing: OnMissingSubject,
    ) -> crate::Result<(User, Owner)> {
        repo.owner_for_subject(&self.subject, on_missing)
    }

    /// The claim `name`, if it is a string.
    fn text(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
}

impl fmt::Debug for VerifiedSubject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The other claims by name only: a token may hold kilobytes of them,
        // and those worth a look are shown on their own.
        struct Names<'a>(&'a Map<String, Value>);
        impl fmt::Debug for Names<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(self.0.keys()).finish()
            }
        }
        f.debug_struct("VerifiedSubject")
            .field("subject", &self.subject)
            .field("email", &self.email())
            .field("name", &self.name())
            .field("email_verified", &self.email_verified())
            .field("expires_at", &self.expires_at)
            .field("claims", &Names(&self.claims))
            .finish()
    }
}

/// The claims of a verified payload, each name once. RFC 7519 (section 4)
/// lets a reader take the last of duplicate names, or refuse them; readers
/// that differ there could each see another subject, so they are refused.
pub(super) struct Claims(Map<String, Value>);

impl<'de> Deserialize<'de> for Claims {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> de::Visitor<'de> for Visitor {
            type Value = Claims;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of claims")
            }

            fn visit_map<A: de::MapAccess<'de>>(self, mut entries: A) -> Result<Claims, A::Error> {
                let mut claims = Map::new();
                while let Some((name, value)) = entries.next_entry::<String, Value>()? {
                    if claims.contains_key(&name) {
                        return Err(de::Error::custom("a claim is named twice"));
                    }
                    claims.insert(name, value);
                }
                Ok(Claims(claims))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

impl Claims {
    /// The subject of these claims. `jsonwebtoken` has checked `exp`, `nbf`,
    /// `iss`, `aud` and the presence of `sub`; what it lets through of the
    /// wrong type is refused here.
    pub(super) fn verified(self) -> Result<VerifiedSubject, TokenError> {
        let Claims(claims) = self;
        let subject = match claims.get("sub") {
            Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
            Some(Value::String(_)) => return Err(TokenError::InvalidClaim(Claim::Sub)),
            _ => return Err(TokenError::MissingClaim(Claim::Sub)),
        };
        let expires_at = claims
            .get("exp")
            .and_then(unix_time)
            .ok_or(TokenError::InvalidClaim(Claim::Exp))?;
        Ok(VerifiedSubject {
            subject,
            expires_at,
            claims,
        })
    }
}

/// A NumericDate (seconds since the epoch, possibly fractional) as a time.
fn unix_time(value: &Value) -> Option<DateTime<Utc>> {
    let seconds = match value.as_i64() {
        Some(seconds) => seconds,
        // Rounded as `jsonwebtoken` rounds it for its own check. The cast
        // saturates; an absurd time is refused by `from_timestamp`.
        None => value.as_f64().filter(|s| s.is_finite())?.round() as i64,
    };
    DateTime::from_timestamp(seconds, 0)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn subject(claims: Value) -> VerifiedSubject {
        let mut claims = claims;
        claims["sub"] = json!("better-auth|sam");
        claims["exp"] = json!(1_700_000_000);
        serde_json::from_value::<Claims>(claims)
            .ok()
            .and_then(|claims| claims.verified().ok())
            .expect("valid claims")
    }

    #[test]
    fn numeric_dates_become_times() {
        assert_eq!(
            unix_time(&json!(1_700_000_000)).map(|t| t.timestamp()),
            Some(1_700_000_000)
        );
        assert_eq!(
            unix_time(&json!(1_700_000_000.6)).map(|t| t.timestamp()),
            Some(1_700_000_001)
        );
        assert_eq!(unix_time(&json!(1e300)), None);
        assert_eq!(unix_time(&json!("soon")), None);
    }

    #[test]
    fn a_claim_named_twice_is_refused() {
        let twice = r#"{"sub":"a","exp":1700000000,"role":"user","role":"admin"}"#;
        assert!(serde_json::from_str::<Claims>(twice).is_err());
        let once = r#"{"sub":"a","exp":1700000000,"role":"user"}"#;
        assert!(serde_json::from_str::<Claims>(once).is_ok());
    }

    #[test]
    fn email_verified_reads_either_spelling_and_only_booleans() {
        let verified = |claims| subject(claims).email_verified();
        assert_eq!(verified(json!({"emailVerified": true})), Some(true));
        assert_eq!(verified(json!({"email_verified": false})), Some(false));
        assert_eq!(
            verified(json!({"emailVerified": true, "email_verified": true})),
            Some(true)
        );
        assert_eq!(
            verified(json!({"emailVerified": true, "email_verified": false})),
            None
        );
        assert_eq!(
            verified(json!({"emailVerified": "true", "email_verified": false})),
            Some(false)
        );
        assert_eq!(verified(json!({"emailVerified": "true"})), None);
        assert_eq!(verified(json!({"emailVerified": 1})), None);
        assert_eq!(verified(json!({})), None);
    }

    #[test]
    fn debug_names_the_other_claims_without_their_values() {
        let shown = format!(
            "{:?}",
            subject(json!({"email": "sam@example.com", "secret_plan": "world domination"}))
        );
        assert!(shown.contains("sam@example.com"), "{shown}");
        assert!(shown.contains("secret_plan"), "{shown}");
        assert!(!shown.contains("world domination"), "{shown}");
    }

    #[test]
    fn first_sight_profiles_need_a_usable_email() {
        let profile = |claims| subject(claims).first_sight_profile();
        assert_eq!(profile(json!({})), None);
        assert_eq!(profile(json!({"email": 42})), None);
        assert_eq!(profile(json!({"email": "not an address"})), None);
        assert_eq!(
            profile(json!({"email": " sam@example.com ", "name": ""})),
            Some(NewProfile::new("sam@example.com"))
        );
        assert_eq!(
            profile(json!({"email": "sam@example.com", "name": "\tSam\nSmith "})),
            Some(NewProfile::new("sam@example.com").display_name("Sam Smith"))
        );
    }
}
