//! Passwords in memory ([`Password`]) and at rest (Argon2id PHC strings).

use std::{fmt, sync::OnceLock};

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::{SaltString, rand_core::OsRng},
};

use crate::{Error, Result};

/// Fewest characters a new password may have (NIST SP 800-63B).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Most bytes a password may have: hashing cost must not be the attacker's to choose.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A plain-text password on its way to being hashed or verified.
///
/// Its `Debug` output is redacted and it implements neither `Display` nor
/// `Serialize`, so it cannot leak into logs, errors or JSON by accident.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Wraps a password typed by a user, to log in or to set.
    ///
    /// Only bounds that hold for *any* password are checked here; the
    /// minimum length applies when a password is set
    /// ([`UserRepo::create_user`](crate::UserRepo::create_user),
    /// [`UserRepo::change_password`](crate::UserRepo::change_password)), so
    /// raising it never locks out existing accounts.
    ///
    /// # Errors
    /// [`Error::Validation`] on the `password` field if it is empty, has more
    /// than [`MAX_PASSWORD_BYTES`] bytes, or contains NUL.
    pub fn new(plain: impl Into<String>) -> Result<Self> {
        let plain = plain.into();
        if plain.is_empty() {
            return Err(Error::validation("password", "must not be empty"));
        }
        if plain.len() > MAX_PASSWORD_BYTES {
            return Err(Error::validation(
                "password",
                format!("must have at most {MAX_PASSWORD_BYTES} bytes"),
            ));
        }
        if plain.contains('\0') {
            return Err(Error::validation("password", "must not contain NUL"));
        }
        Ok(Self(plain))
    }

    fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Argon2id with OWASP's minimum: 19 MiB of memory, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks the rules for a password being set, then hashes it.
///
/// # Errors
/// [`Error::Validation`] if it has fewer than [`MIN_PASSWORD_CHARS`] characters.
pub(crate) fn hash_new(password: &Password) -> Result<String> {
    if password.0.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::validation(
            "password",
            format!("must have at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    hash(password)
}

/// Hashes `password` with a fresh random salt into a PHC string.
fn hash(password: &Password) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.expose(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| Error::Database("password hashing failed".into()))
}

/// Whether `password` matches `phc`. Any malformed hash counts as a mismatch.
pub(crate) fn verify(password: &Password, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| hasher().verify_password(password.expose(), &parsed).is_ok())
        .unwrap_or(false)
}

/// Spends the same time as a real verification, for unknown accounts, so that
/// response times do not reveal which emails are registered.
pub(crate) fn verify_dummy(password: &Password) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let phc = DUMMY.get_or_init(|| {
        let filler = Password("dummy password never matches".into());
        hash(&filler).unwrap_or_default()
    });
    let _ = verify(password, phc);
}
