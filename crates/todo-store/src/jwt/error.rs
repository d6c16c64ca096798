//! The errors of the `jwt` module: a rejected token, a rejected
//! configuration, and a failed token-to-owner lookup.

use std::fmt;

/// A registered claim the verifier checks (RFC 7519, section 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Claim {
    /// `exp`, the expiry time; required.
    Exp,
    /// `nbf`, the time before which the token is not valid; optional.
    Nbf,
    /// `iss`, the issuer; required.
    Iss,
    /// `aud`, the audience; required.
    Aud,
    /// `sub`, the subject (the user's id at the auth service); required.
    Sub,
}

impl Claim {
    /// The claim of this name, as the token spells it.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "exp" => Claim::Exp,
            "nbf" => Claim::Nbf,
            "iss" => Claim::Iss,
            "aud" => Claim::Aud,
            "sub" => Claim::Sub,
            _ => return None,
        })
    }
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Claim::Exp => "exp",
            Claim::Nbf => "nbf",
            Claim::Iss => "iss",
            Claim::Aud => "aud",
            Claim::Sub => "sub",
        })
    }
}

/// Why a token was rejected by [`Verifier::verify`](super::Verifier::verify).
///
/// Every variant means "not authenticated" (HTTP 401); they differ only to
/// tell an operator what went wrong. Messages never contain the token, any
/// part of it (not even its `kid` or claims: they are the sender's to choose),
/// or a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a compact JWS of three base64url parts with JSON header and
    /// payload, longer than [`MAX_TOKEN_BYTES`](super::MAX_TOKEN_BYTES), or
    /// demanding header extensions the verifier does not implement (`crit`).
    #[error("malformed token")]
    Malformed,
    /// The signature does not match the header and payload under the
    /// selected key: tampered, or signed with another key.
    #[error("token signature does not verify")]
    BadSignature,
    /// The header's `kid` names no key the verifier holds (a key set of
    /// several keys also needs a `kid` to choose one). After a key rotation,
    /// fetching the key set again may help.
    #[error("token is signed with an unknown key")]
    UnknownKey,
    /// The header's `alg` is not the algorithm of the selected key: `none`,
    /// an HMAC token for a public-key verifier or the reverse, or any
    /// algorithm the verifier does not accept.
    #[error("token algorithm is not accepted")]
    UnsupportedAlgorithm,
    /// `exp` is further in the past than the leeway.
    #[error("token has expired")]
    Expired,
    /// `nbf` is further in the future than the leeway.
    #[error("token is not valid yet")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    #[error("token is from another issuer")]
    WrongIssuer,
    /// `aud` does not name the configured audience.
    #[error("token is meant for another audience")]
    WrongAudience,
    /// A required claim is absent (or of the wrong JSON type).
    #[error("token lacks the {0} claim")]
    MissingClaim(Claim),
    /// A claim is present but unusable, e.g. an empty `sub` or an `exp`
    /// that is not a time.
    #[error("token has an invalid {0} claim")]
    InvalidClaim(Claim),
}

/// Why a [`Verifier`](super::Verifier) or its [`Keys`](super::Keys) could not
/// be built. These are the operator's mistakes (or the auth service's), found
/// at start-up or when the key set is fetched again, never a client's.
///
/// Messages never contain a secret; a key id is shown, as it is public.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The document is not JSON of the form `{"keys": [...]}`.
    #[error("the JWKS document is not a JSON object with a \"keys\" array")]
    InvalidJwks,
    /// The key set holds no public key for `EdDSA` (Ed25519), `ES256`
    /// (P-256), `RS256` or `PS256` (RSA) signatures. Symmetric keys,
    /// encryption keys, other curves and other algorithms are skipped.
    #[error("the JWKS document holds no Ed25519, P-256 or RSA signature key")]
    NoUsableKey,
    /// Two usable keys share a `kid`, so a token could not choose between them.
    #[error("two keys in the JWKS document have the key id {0:?}")]
    DuplicateKeyId(String),
    /// A key of a supported type is not a valid key, or too weak.
    #[error("invalid key{}: {reason}", kid.as_ref().map(|kid| format!(" {kid:?}")).unwrap_or_default())]
    InvalidKey {
        /// The key's `kid`, if it has one.
        kid: Option<String>,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An HS256 secret shorter than
    /// [`MIN_HS256_SECRET_BYTES`](super::MIN_HS256_SECRET_BYTES) (RFC 7518,
    /// section 3.2: at least the hash's 256 bits).
    #[error(
        "an HS256 secret must have at least {} bytes",
        super::MIN_HS256_SECRET_BYTES
    )]
    WeakSecret,
    /// The issuer or audience is empty.
    #[error("the expected {0} must not be empty")]
    Empty(Claim),
    /// A leeway longer than [`MAX_LEEWAY`](super::MAX_LEEWAY).
    #[error("the leeway must be at most {} seconds", super::MAX_LEEWAY.as_secs())]
    LeewayTooLong,
}

/// Why [`owner_from_token`](super::owner_from_token) found no owner.
///
/// | Variant | Meaning | Typical answer |
/// |---|---|---|
/// | [`Token`](Self::Token) | The token was rejected; the database was not asked. | 401 |
/// | [`Store`](Self::Store) with [`Error::NotFound`](crate::Error::NotFound) | A valid token for a subject that has no account, under [`OnMissingSubject::Reject`](crate::OnMissingSubject::Reject). | 401 or 403 |
/// | [`Store`](Self::Store) with [`Error::Conflict`](crate::Error::Conflict) or [`Error::Validation`](crate::Error::Validation) | A first-sight account could not be created (email taken, invalid profile, over-long subject). | 409 / 422 |
/// | [`Store`](Self::Store), anything else | The database failed; see [`Error::is_retryable`](crate::Error::is_retryable). | 503 / 500 |
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The token was rejected before the database was asked.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The token was valid; looking up (or creating) its account failed.
    #[error(transparent)]
    Store(#[from] crate::Error),
}

impl AuthError {
    /// Whether the same call may succeed if retried later: only some
    /// database failures (see [`Error::is_retryable`](crate::Error::is_retryable)),
    /// never a rejected token.
    pub fn is_retryable(&self) -> bool {
        match self {
            AuthError::Token(_) => false,
            AuthError::Store(err) => err.is_retryable(),
        }
    }
}
