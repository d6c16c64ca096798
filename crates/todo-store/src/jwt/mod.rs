//! Bearer tokens to [`Owner`]s (cargo feature `jwt`).
//!
//! A [`Verifier`] checks a JSON Web Token: its signature, under a key chosen
//! by the header's `kid` from a JWKS document or under a shared HS256
//! secret; then its claims: `exp` (required), `nbf` (if present), `iss` and
//! `aud` (required, and equal to the configured ones), each time with a small
//! [leeway](VerifierConfig::leeway) for clock skew, and a non-empty `sub`.
//! Only then does [`owner_from_token`] ask the database for the account
//! linked to that subject ([`UserRepo::owner_for_subject`]), so a rejected
//! token never reaches the database, let alone becomes an `Owner`.
//!
//! The algorithms are those Better Auth's JWT plugin signs with (its
//! `keyPairConfig.alg`), from the keys of its JWKS document
//! ([`Keys::jwks_json`]), and HMAC for a shared secret ([`Keys::hs256`]):
//!
//! | Algorithm | Key |
//! |---|---|
//! | `EdDSA` (Better Auth's default) | Ed25519 (`"kty": "OKP"`) |
//! | `ES256` | P-256 (`"kty": "EC"`) |
//! | `RS256` | RSA, 2048 to 4096 bits |
//! | `PS256` | RSA, 2048 to 4096 bits, marked `"alg": "PS256"` |
//! | `HS256` | a shared secret of at least 32 bytes |
//!
//! The algorithm is fixed by the key (its `alg`, or its kind), never taken
//! from the token: the token's `alg` must equal it, so `alg: none`, an HMAC
//! token "signed" with a public key as its secret, or a PS256 token under an
//! RS256 key, is rejected ([`TokenError::UnsupportedAlgorithm`]).
//!
//! ```no_run
//! use todo_store::jwt::{self, Keys, Verifier, VerifierConfig};
//! use todo_store::{OnMissingSubject, Store, StoreConfig};
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // The key set Better Auth serves at `/api/auth/jwks`, fetched by the
//!     // application at start-up (and again when a token names a new `kid`).
//!     let jwks = std::fs::read_to_string("jwks.json")?;
//!     // Better Auth's default issuer and audience are the app's base URL.
//!     let verifier = Verifier::new(VerifierConfig::new(
//!         "https://app.example.com",
//!         "https://app.example.com",
//!         Keys::jwks_json(&jwks)?,
//!     ))?;
//!     let mut store = Store::connect(&StoreConfig::from_env()?)?;
//!
//!     // From `Authorization: Bearer <token>`, without the `Bearer `.
//!     let token = "eyJhbGciOiJFZERTQSIsImtpZCI6Ii4uLiJ9.e30.c2ln";
//!
//!     // Known users only:
//!     let (user, owner) =
//!         jwt::owner_from_token(&mut store, &verifier, token, OnMissingSubject::Reject)?;
//!     println!("{} is {:?}", user.email, owner.user_id());
//!
//!     // Or create the account on first sight, from the token's `email` and
//!     // `name` claims:
//!     let verified = verifier.verify(token)?;
//!     let profile = verified
//!         .first_sight_profile()
//!         .ok_or("the token carries no usable email")?;
//!     let (_user, _owner) = verified.owner(&mut store, OnMissingSubject::Create(profile))?;
//!     // Claims of the application's own, e.g. from Better Auth's
//!     // `definePayload`:
//!     let _role = verified.claims().get("role").and_then(|role| role.as_str());
//!     Ok(())
//! }
//! ```
//!
//! Secrets stay out of sight: [`Hs256Secret`], [`Keys`], [`VerifierConfig`]
//! and [`Verifier`] never show key material in `Debug`, and no error message
//! contains a key, the token, or any part of it.
//!
//! Signatures are checked by the [`jsonwebtoken`](https://docs.rs/jsonwebtoken)
//! crate with its pure-Rust (RustCrypto) backend. Should another crate in the
//! same build enable its `aws_lc_rs` backend as well, `jsonwebtoken` cannot
//! choose between them by itself: install one at start-up with
//! `jsonwebtoken::crypto::CryptoProvider::install_default`.

mod error;
mod keys;
mod subject;

use std::{fmt, time::Duration};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::Value;

pub use error::{AuthError, Claim, ConfigError, TokenError};
pub use keys::{Hs256Secret, Keys, MIN_HS256_SECRET_BYTES, MIN_RSA_BITS};
pub use subject::VerifiedSubject;

use crate::{OnMissingSubject, Owner, User, UserRepo};
use keys::VerifyingKey;
use subject::Claims;

/// The leeway [`VerifierConfig::new`] sets: 30 seconds.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// The longest leeway a [`Verifier`] accepts: 5 minutes.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// The longest token a [`Verifier`] reads, in bytes (16 KiB); longer ones are
/// [`TokenError::Malformed`] without being decoded.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// What a [`Verifier`] expects of a token.
///
/// ```
/// use std::time::Duration;
/// use todo_store::jwt::{Hs256Secret, Keys, VerifierConfig};
/// # fn main() -> Result<(), todo_store::jwt::ConfigError> {
/// let keys = Keys::hs256(Hs256Secret::new("a shared secret of at least 32 bytes")?);
/// let config = VerifierConfig::new("https://auth.example.com", "todo-api", keys)
///     .leeway(Duration::from_secs(10));
/// assert_eq!(config.leeway, Duration::from_secs(10));
/// assert!(!format!("{config:?}").contains("shared secret"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifierConfig {
    /// The `iss` every token must carry, e.g. the auth service's base URL.
    pub issuer: String,
    /// The audience every token must name in `aud` (a string, or one of an
    /// array's).
    pub audience: String,
    /// How far `exp` may lie in the past and `nbf` in the future, for clock
    /// skew between the issuer and this server (default [`DEFAULT_LEEWAY`],
    /// at most [`MAX_LEEWAY`]; whole seconds count).
    pub leeway: Duration,
    /// The keys signatures are checked with.
    pub keys: Keys,
}

impl VerifierConfig {
    /// Expects tokens from `issuer`, for `audience`, signed with one of
    /// `keys`, with the default leeway.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>, keys: Keys) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            leeway: DEFAULT_LEEWAY,
            keys,
        }
    }

    /// Sets the leeway.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }
}

/// Checks tokens against a [`VerifierConfig`]. Build it once and share it
/// (it is `Send + Sync`); build a new one when the key set changes.
#[derive(Clone)]
pub struct Verifier {
    issuer: String,
    audience: String,
    leeway: Duration,
    keys: Keys,
    /// The algorithms of `keys`: a token naming another is rejected before
    /// any key is looked up.
    algorithms: Vec<Algorithm>,
    /// One validation per key (in the order of `keys.keys`): its algorithm,
    /// and the same claim checks for all.
    validations: Vec<Validation>,
}

impl Verifier {
    /// A verifier for `config`.
    ///
    /// # Errors
    /// [`ConfigError::Empty`] if the issuer or audience is empty;
    /// [`ConfigError::LeewayTooLong`] for a leeway over [`MAX_LEEWAY`].
    pub fn new(config: VerifierConfig) -> Result<Self, ConfigError> {
        let VerifierConfig {
            issuer,
            audience,
            leeway,
            keys,
        } = config;
        if issuer.is_empty() {
            return Err(ConfigError::Empty(Claim::Iss));
        }
        if audience.is_empty() {
            return Err(ConfigError::Empty(Claim::Aud));
        }
        if leeway > MAX_LEEWAY {
            return Err(ConfigError::LeewayTooLong);
        }
        let validations = keys
            .keys
            .iter()
            .map(|key| {
                let mut validation = Validation::new(key.algorithm);
                validation.leeway = leeway.as_secs();
                validation.validate_exp = true;
                validation.validate_nbf = true;
                validation.validate_aud = true;
                validation.set_issuer(&[&issuer]);
                validation.set_audience(&[&audience]);
                // Without `iss` and `aud` among the required claims, a token
                // that simply omits them would pass.
                validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
                validation
            })
            .collect();
        Ok(Self {
            algorithms: keys.algorithms(),
            issuer,
            audience,
            leeway,
            keys,
            validations,
        })
    }

    /// Checks `token` (a compact JWS, without `Bearer `) and returns its
    /// subject. Nothing else is consulted: no database, no network.
    ///
    /// In order: the token's size and shape; its `alg` against the
    /// algorithms of the keys; the key its `kid` names; that key's
    /// algorithm against `alg`; the signature; `exp`, `nbf`, `iss`, `aud`;
    /// and `sub`.
    ///
    /// # Errors
    /// A [`TokenError`] saying why the token was rejected.
    pub fn verify(&self, token: &str) -> Result<VerifiedSubject, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed);
        }
        let header = Header::peek(token)?;
        if !self
            .algorithms
            .iter()
            .any(|alg| alg_name(*alg) == header.alg)
        {
            return Err(TokenError::UnsupportedAlgorithm);
        }
        let (key, validation) = self.select(header.kid.as_deref())?;
        if alg_name(key.algorithm) != header.alg {
            return Err(TokenError::UnsupportedAlgorithm);
        }
        let data =
            jsonwebtoken::decode::<Claims>(token, &key.key, validation).map_err(token_error)?;
        data.claims.verified()
    }

    /// The key for a token's `kid`, and its validation.
    fn select(&self, kid: Option<&str>) -> Result<(&VerifyingKey, &Validation), TokenError> {
        let keys = &self.keys.keys;
        let found = match (kid, keys.as_slice()) {
            // A sole key without an id (a shared secret, say) needs no `kid`
            // to be chosen, and ignores one.
            (_, [only]) if only.kid.is_none() => Some(0),
            (Some(kid), _) => keys.iter().position(|k| k.kid.as_deref() == Some(kid)),
            (None, [_]) => Some(0),
            (None, _) => None,
        };
        match found {
            Some(i) => keys
                .get(i)
                .zip(self.validations.get(i))
                .ok_or(TokenError::UnknownKey),
            None if kid.is_some_and(|kid| self.keys.unusable.iter().any(|u| u == kid)) => {
                Err(TokenError::UnsupportedAlgorithm)
            }
            None => Err(TokenError::UnknownKey),
        }
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway", &self.leeway)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

/// Verifies `token`, then returns the account linked to its subject and its
/// [`Owner`], creating the account on first sight if `on_missing` says so.
/// The database is asked only after the token passed every check.
///
/// # Errors
/// [`AuthError::Token`] if the token is rejected (nothing was read or
/// written); [`AuthError::Store`] with the errors of
/// [`VerifiedSubject::owner`] otherwise. [`AuthError`] has the table.
pub fn owner_from_token<R: UserRepo + ?Sized>(
    repo: &mut R,
    verifier: &Verifier,
    token: &str,
    on_missing: OnMissingSubject,
) -> Result<(User, Owner), AuthError> {
    let verified = verifier.verify(token)?;
    Ok(verified.owner(repo, on_missing)?)
}

/// The header fields read before the signature is checked: only to choose
/// the key, and to refuse what the verifier cannot honour.
#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    /// RFC 7515, section 4.1.11: extensions the recipient must understand.
    /// This verifier implements none, so a token that lists any is refused.
    #[serde(default)]
    crit: Option<Value>,
}

impl Header {
    fn peek(token: &str) -> Result<Self, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(_), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let json = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| TokenError::Malformed)?;
        let header: Header = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
        if header.crit.is_some() {
            return Err(TokenError::Malformed);
        }
        Ok(header)
    }
}

/// The `alg` header value of an algorithm (RFC 7518).
fn alg_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
    }
}

/// `jsonwebtoken`'s verdict as a [`TokenError`]. Its errors carry details
/// (e.g. `serde_json` messages quoting claim values); none of them is kept.
fn token_error(err: jsonwebtoken::errors::Error) -> TokenError {
    use jsonwebtoken::errors::ErrorKind as K;
    match err.kind() {
        K::InvalidSignature => TokenError::BadSignature,
        K::ExpiredSignature => TokenError::Expired,
        K::ImmatureSignature => TokenError::NotYetValid,
        K::InvalidIssuer => TokenError::WrongIssuer,
        K::InvalidAudience => TokenError::WrongAudience,
        K::InvalidAlgorithm | K::MissingAlgorithm | K::InvalidAlgorithmName => {
            TokenError::UnsupportedAlgorithm
        }
        K::MissingRequiredClaim(claim) => {
            Claim::from_name(claim).map_or(TokenError::Malformed, TokenError::MissingClaim)
        }
        K::InvalidClaimFormat(claim) => {
            Claim::from_name(claim).map_or(TokenError::Malformed, TokenError::InvalidClaim)
        }
        // Bad base64, JSON or UTF-8, and any kind added later: whatever was
        // not understood is not accepted.
        _ => TokenError::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alg_names_round_trip_through_jsonwebtoken() {
        for alg in [
            Algorithm::HS256,
            Algorithm::HS384,
            Algorithm::HS512,
            Algorithm::ES256,
            Algorithm::ES384,
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
            Algorithm::EdDSA,
        ] {
            assert_eq!(alg_name(alg).parse::<Algorithm>().ok(), Some(alg));
        }
    }

    #[test]
    fn verifier_is_shareable_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Verifier>();
        assert_send_sync::<AuthError>();
    }
}
