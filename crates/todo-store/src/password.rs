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

/// Memory of a new hash, in KiB: OWASP's minimum for Argon2id, 19 MiB.
pub const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
/// Passes of a new hash (OWASP's minimum with 19 MiB).
pub const ARGON2_PASSES: u32 = 2;
/// Lanes of a new hash.
pub const ARGON2_LANES: u32 = 1;

/// Argon2id with today's parameters; raising them makes every login with
/// an older hash store a new one (see [`needs_rehash`]).
fn hasher() -> Argon2<'static> {
    let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, None)
        .expect("constant Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Whether the stored hash `phc` is weaker than a new one would be (less
/// memory, fewer passes or lanes, an older Argon2 version or another
/// algorithm), so that a successful login should replace it.
pub(crate) fn needs_rehash(phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        // Never verifies, so never reaches a rehash.
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return true;
    };
    parsed.algorithm != Algorithm::Argon2id.ident()
        || parsed.version != Some(Version::V0x13.into())
        || params.m_cost() < ARGON2_MEMORY_KIB
        || params.t_cost() < ARGON2_PASSES
        || params.p_cost() < ARGON2_LANES
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
pub(crate) fn hash(password: &Password) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.expose(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| Error::Database("password hashing failed".into()))
}

/// Whether `password` matches `phc`. Any malformed hash counts as a mismatch.
pub(crate) fn verify(password: &Password, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            #[cfg(test)]
            tests::record_verification(&parsed);
            hasher().verify_password(password.expose(), &parsed).is_ok()
        })
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use std::cell::RefCell;

    use super::*;

    thread_local! {
        /// The `(m, t, p)` of every verification this thread ran.
        static VERIFICATIONS: RefCell<Vec<(u32, u32, u32)>> = const { RefCell::new(Vec::new()) };
    }

    pub(crate) fn record_verification(parsed: &PasswordHash<'_>) {
        if let Ok(params) = Params::try_from(parsed) {
            VERIFICATIONS.with(|v| {
                v.borrow_mut()
                    .push((params.m_cost(), params.t_cost(), params.p_cost()))
            });
        }
    }

    /// The verifications recorded since the last call.
    pub(crate) fn take_verifications() -> Vec<(u32, u32, u32)> {
        VERIFICATIONS.with(|v| std::mem::take(&mut *v.borrow_mut()))
    }

    fn weak_hash(password: &Password, m: u32, t: u32) -> String {
        let params = Params::new(m, t, 1, None).unwrap();
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(password.expose(), &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string()
    }

    #[test]
    fn hashes_weaker_than_todays_need_a_rehash() {
        let pw = Password::new("correct horse").unwrap();
        assert!(!needs_rehash(&hash(&pw).unwrap()));
        assert!(needs_rehash(&weak_hash(&pw, 8 * 1024, 2)));
        assert!(needs_rehash(&weak_hash(&pw, ARGON2_MEMORY_KIB, 1)));
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, 1, None).unwrap(),
        )
        .hash_password(pw.expose(), &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
        assert!(needs_rehash(&argon2i));
        assert!(!needs_rehash("not a hash"));
    }

    #[test]
    fn todays_parameters_are_at_least_owasps_minimum() {
        let pw = Password::new("correct horse").unwrap();
        let phc = hash(&pw).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    }
}
