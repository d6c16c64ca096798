//! The keys a [`Verifier`](super::Verifier) accepts signatures from, each
//! with the one algorithm it may be used with.

use std::fmt;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{
        AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
        RSAKeyParameters,
    },
};

use super::ConfigError;

/// Fewest bytes an HS256 secret may have: the 256 bits of the hash (RFC 7518,
/// section 3.2).
pub const MIN_HS256_SECRET_BYTES: usize = 32;
/// Fewest bits an RSA modulus may have (NIST SP 800-131A).
pub const MIN_RSA_BITS: usize = 2048;
/// Most bits an RSA modulus may have (the limit of the RSA implementation).
const MAX_RSA_BITS: usize = 4096;

/// A shared secret for HS256 tokens.
///
/// Its `Debug` output is redacted and it implements neither `Display` nor
/// `Serialize`, so it cannot leak into logs, errors or JSON by accident.
///
/// ```
/// use todo_store::jwt::Hs256Secret;
/// # fn main() -> Result<(), todo_store::jwt::ConfigError> {
/// let secret = Hs256Secret::new("a shared secret of at least 32 bytes")?;
/// assert_eq!(format!("{secret:?}"), "Hs256Secret(<redacted>)");
/// assert!(Hs256Secret::new("too short").is_err());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Hs256Secret(Vec<u8>);

impl Hs256Secret {
    /// Wraps the secret shared with the token issuer, as raw bytes (decode a
    /// base64 secret first).
    ///
    /// # Errors
    /// [`ConfigError::WeakSecret`] if it has fewer than
    /// [`MIN_HS256_SECRET_BYTES`] bytes.
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self, ConfigError> {
        let secret = secret.into();
        if secret.len() < MIN_HS256_SECRET_BYTES {
            return Err(ConfigError::WeakSecret);
        }
        Ok(Self(secret))
    }
}

impl fmt::Debug for Hs256Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hs256Secret(<redacted>)")
    }
}

/// One key and the one algorithm it verifies.
#[derive(Clone)]
pub(super) struct VerifyingKey {
    pub(super) kid: Option<String>,
    pub(super) algorithm: Algorithm,
    pub(super) key: DecodingKey,
}

/// The keys a [`Verifier`](super::Verifier) trusts.
///
/// Each key verifies exactly one algorithm, fixed here by the key's own
/// `alg` or, without one, by its kind: an Ed25519 key `EdDSA`, a P-256 key
/// `ES256`, an RSA key `RS256` (or `PS256` if its `alg` says so), a shared
/// secret `HS256`. The token's own `alg` header is only compared against it,
/// never obeyed.
///
/// `Debug` shows each key's id and algorithm, never key material.
#[derive(Clone)]
pub struct Keys {
    pub(super) keys: Vec<VerifyingKey>,
    /// Ids of keys in the document that this verifier cannot use, so that a
    /// token naming one is reported as an unsupported algorithm rather than
    /// an unknown key.
    pub(super) unusable: Vec<String>,
}

impl Keys {
    /// The public keys of a JWKS document (RFC 7517), such as the one Better
    /// Auth's JWT plugin serves at `/api/auth/jwks`.
    ///
    /// Which algorithm a key verifies is set by its `alg`, or without one by
    /// its kind:
    ///
    /// | Key | `alg` | Verifies |
    /// |---|---|---|
    /// | Ed25519 (`"kty": "OKP", "crv": "Ed25519"`) | `EdDSA` or none | `EdDSA` |
    /// | P-256 (`"kty": "EC", "crv": "P-256"`) | `ES256` or none | `ES256` |
    /// | RSA (`"kty": "RSA"`, 2048 to 4096 bits) | `RS256` or none | `RS256` |
    /// | RSA (`"kty": "RSA"`, 2048 to 4096 bits) | `PS256` | `PS256` |
    ///
    /// Keys marked for another algorithm (an Ed25519 key with `"alg":
    /// "ES256"`, an RSA key with `"alg": "RS512"`), for encryption (`"use":
    /// "enc"`) or without `verify` among their `key_ops`, keys of other
    /// types and curves, and symmetric (`oct`) keys, which have no place in
    /// a published document, are skipped.
    ///
    /// # Errors
    /// [`ConfigError::InvalidJwks`] if it is not a JSON object with a `keys`
    /// array; [`ConfigError::NoUsableKey`] if no key is left;
    /// [`ConfigError::InvalidKey`] for a malformed Ed25519, P-256 or RSA key
    /// (a P-256 point off the curve, an RSA key too short, …);
    /// [`ConfigError::DuplicateKeyId`] if two usable keys share a `kid`.
    pub fn jwks_json(document: &str) -> Result<Self, ConfigError> {
        #[derive(serde::Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let document: Document =
            serde_json::from_str(document).map_err(|_| ConfigError::InvalidJwks)?;
        let mut keys: Vec<VerifyingKey> = Vec::new();
        let mut unusable = Vec::new();
        for value in document.keys {
            let kid = value
                .get("kid")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned);
            // A key of a type `Jwk` does not know (another curve, a new kty)
            // is as unusable as one it knows but this verifier does not use.
            let usable = match serde_json::from_value::<Jwk>(value) {
                Ok(jwk) => signature_key(&jwk, kid.as_deref())?,
                Err(_) => None,
            };
            let Some((algorithm, key)) = usable else {
                unusable.extend(kid);
                continue;
            };
            if let Some(kid) = &kid
                && keys.iter().any(|k| k.kid.as_deref() == Some(kid))
            {
                return Err(ConfigError::DuplicateKeyId(kid.clone()));
            }
            keys.push(VerifyingKey {
                kid,
                algorithm,
                key,
            });
        }
        if keys.is_empty() {
            return Err(ConfigError::NoUsableKey);
        }
        unusable.retain(|kid| !keys.iter().any(|k| k.kid.as_deref() == Some(kid)));
        Ok(Self { keys, unusable })
    }

    /// A single shared secret, for HS256 tokens. A token's `kid`, if any, is
    /// not needed to select it.
    pub fn hs256(secret: Hs256Secret) -> Self {
        Self {
            keys: vec![VerifyingKey {
                kid: None,
                algorithm: Algorithm::HS256,
                key: DecodingKey::from_secret(&secret.0),
            }],
            unusable: Vec::new(),
        }
    }

    /// The algorithms these keys verify (each once, in key order).
    pub(super) fn algorithms(&self) -> Vec<Algorithm> {
        let mut algorithms = Vec::new();
        for key in &self.keys {
            if !algorithms.contains(&key.algorithm) {
                algorithms.push(key.algorithm);
            }
        }
        algorithms
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Entry<'a>(&'a VerifyingKey);
        impl fmt::Debug for Entry<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct("Key")
                    .field("kid", &self.0.kid)
                    .field("algorithm", &self.0.algorithm)
                    .finish_non_exhaustive()
            }
        }
        f.debug_struct("Keys")
            .field("keys", &self.keys.iter().map(Entry).collect::<Vec<_>>())
            .field("unusable", &self.unusable)
            .finish()
    }
}

/// The algorithm and key for a JWK that can verify signatures here; `None`
/// for one this verifier does not use.
fn signature_key(
    jwk: &Jwk,
    kid: Option<&str>,
) -> Result<Option<(Algorithm, DecodingKey)>, ConfigError> {
    let common = &jwk.common;
    if matches!(&common.public_key_use, Some(usage) if *usage != PublicKeyUse::Signature) {
        return Ok(None);
    }
    if matches!(&common.key_operations, Some(ops) if !ops.contains(&KeyOperations::Verify)) {
        return Ok(None);
    }
    let Some(algorithm) = key_algorithm(jwk) else {
        return Ok(None);
    };
    let key = match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(params) => ed25519_key(&params.x),
        AlgorithmParameters::EllipticCurve(params) => p256_key(&params.x, &params.y),
        AlgorithmParameters::RSA(params) => rsa_key(params),
        // `key_algorithm` gives symmetric keys none: a shared secret in a
        // published key set would let anyone sign tokens.
        AlgorithmParameters::OctetKey(_) => return Ok(None),
    }
    .map_err(|reason| ConfigError::InvalidKey {
        kid: kid.map(str::to_owned),
        reason,
    })?;
    // Builds the verifier once, so that a key that is not a valid curve
    // point fails now rather than with the first token. (The signature is
    // empty: this fails only for a key the verifier refuses.)
    jsonwebtoken::crypto::verify("", b"", &key, algorithm).map_err(|_| {
        ConfigError::InvalidKey {
            kid: kid.map(str::to_owned),
            reason: "not a valid public key",
        }
    })?;
    Ok(Some((algorithm, key)))
}

/// The one algorithm a JWK verifies here: the one its `alg` names, or when
/// it has none, the one its kind of key implies. `None` for a key this
/// verifier does not use: another curve, a symmetric key, or an `alg` that
/// does not fit the key (an Ed25519 key marked `ES256`, say).
///
/// An RSA key may serve `RS256` or `PS256`: without an `alg` it verifies
/// `RS256`, RFC 7518's recommended RSA algorithm. Better Auth marks each
/// key with its `alg`, so its PS256 keys verify `PS256`.
fn key_algorithm(jwk: &Jwk) -> Option<Algorithm> {
    let alg = jwk.common.key_algorithm.as_ref();
    match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(params) if params.curve == EllipticCurve::Ed25519 => {
            matches!(alg, None | Some(KeyAlgorithm::EdDSA)).then_some(Algorithm::EdDSA)
        }
        AlgorithmParameters::EllipticCurve(params) if params.curve == EllipticCurve::P256 => {
            matches!(alg, None | Some(KeyAlgorithm::ES256)).then_some(Algorithm::ES256)
        }
        AlgorithmParameters::RSA(_) => match alg {
            None | Some(KeyAlgorithm::RS256) => Some(Algorithm::RS256),
            Some(KeyAlgorithm::PS256) => Some(Algorithm::PS256),
            Some(_) => None,
        },
        _ => None,
    }
}

fn ed25519_key(x: &str) -> Result<DecodingKey, &'static str> {
    // Checked here: the EdDSA implementation slices the first 32 bytes and
    // would panic on fewer.
    let bytes = URL_SAFE_NO_PAD
        .decode(x)
        .map_err(|_| "x is not base64url")?;
    if bytes.len() != 32 {
        return Err("an Ed25519 public key has 32 bytes");
    }
    DecodingKey::from_ed_components(x).map_err(|_| "x is not base64url")
}

fn p256_key(x: &str, y: &str) -> Result<DecodingKey, &'static str> {
    // The key is the two coordinates side by side: a short `x` and a long
    // `y` would make another point, so each length is checked.
    for (coordinate, not_base64) in [(x, "x is not base64url"), (y, "y is not base64url")] {
        let bytes = URL_SAFE_NO_PAD.decode(coordinate).map_err(|_| not_base64)?;
        if bytes.len() != 32 {
            return Err("a P-256 coordinate has 32 bytes");
        }
    }
    DecodingKey::from_ec_components(x, y).map_err(|_| "x or y is not base64url")
}

fn rsa_key(params: &RSAKeyParameters) -> Result<DecodingKey, &'static str> {
    let n = URL_SAFE_NO_PAD
        .decode(&params.n)
        .map_err(|_| "n is not base64url")?;
    let e = URL_SAFE_NO_PAD
        .decode(&params.e)
        .map_err(|_| "e is not base64url")?;
    let bits = significant_bits(&n);
    if bits < MIN_RSA_BITS {
        return Err("an RSA key needs at least 2048 bits");
    }
    if bits > MAX_RSA_BITS {
        return Err("an RSA key may have at most 4096 bits");
    }
    if significant_bits(&e) < 2 {
        return Err("the RSA exponent must be at least 3");
    }
    Ok(DecodingKey::from_rsa_raw_components(&n, &e))
}

/// The bit length of a big-endian unsigned integer.
fn significant_bits(bytes: &[u8]) -> usize {
    let mut digits = bytes.iter().skip_while(|&&b| b == 0);
    match digits.next() {
        Some(&first) => (8 - first.leading_zeros() as usize) + 8 * digits.count(),
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_bits_ignores_leading_zeros() {
        assert_eq!(significant_bits(&[]), 0);
        assert_eq!(significant_bits(&[0, 0]), 0);
        assert_eq!(significant_bits(&[1]), 1);
        assert_eq!(significant_bits(&[0, 0x80, 0]), 16);
        assert_eq!(significant_bits(&[1, 0, 1]), 17);
    }

    #[test]
    fn symmetric_and_encryption_keys_in_a_jwks_are_never_used() {
        let oct = r#"{"keys":[{"kty":"oct","kid":"s","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}]}"#;
        assert_eq!(Keys::jwks_json(oct).err(), Some(ConfigError::NoUsableKey));
        let enc = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","use":"enc","kid":"e",
            "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
        assert_eq!(Keys::jwks_json(enc).err(), Some(ConfigError::NoUsableKey));
    }
}
