//! Sync tokens: a position in one owner's change sequence.
//!
//! A token is base64url text of a format version, the sequence number, and a
//! check value (BLAKE2b keyed with the owner's id) over both. It is opaque,
//! not secret: the check makes an edited token, or another user's, a
//! [`Error::Validation`] like any malformed text, so it can only ever be
//! used by the owner it was made for, and tells anyone else nothing.

use std::{fmt, str::FromStr};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use blake2::{
    Blake2bMac,
    digest::{Mac, consts::U8},
};
use serde::{Deserialize, Serialize};

use crate::{Error, Result, UserId};

const FORMAT_VERSION: u8 = 1;
const CHECK_LEN: usize = 8;
const TOKEN_LEN: usize = 1 + 8 + CHECK_LEN;
/// Base64 of [`TOKEN_LEN`] bytes, and some room for a later version.
const MAX_ENCODED_LEN: usize = 64;

/// An opaque position in an owner's change feed: from
/// [`TaskRepo::sync_token`](crate::TaskRepo::sync_token) or
/// [`Changes::next`](crate::Changes::next), for
/// [`TaskRepo::changes_since`](crate::TaskRepo::changes_since).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SyncToken(String);

impl SyncToken {
    /// The token for position `seq` in `owner`'s sequence.
    pub(crate) fn new(owner: UserId, seq: u64) -> Self {
        let mut bytes = [0u8; TOKEN_LEN];
        bytes[0] = FORMAT_VERSION;
        bytes[1..9].copy_from_slice(&seq.to_be_bytes());
        let check = check(owner, &bytes[..9]);
        bytes[9..].copy_from_slice(&check);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The position, if this token is `owner`'s; otherwise the same error as
    /// for any text that is not a token.
    pub(crate) fn seq_for(&self, owner: UserId) -> Result<u64> {
        let bytes = decode(&self.0)?;
        if check(owner, &bytes[..9]) != bytes[9..] {
            return Err(invalid());
        }
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&bytes[1..9]);
        Ok(u64::from_be_bytes(seq))
    }

    /// The token as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check(owner: UserId, message: &[u8]) -> [u8; CHECK_LEN] {
    let mut mac = Blake2bMac::<U8>::new_from_slice(owner.as_uuid().as_bytes())
        // A 16-byte key is within BLAKE2b's 64.
        .unwrap_or_else(|_| unreachable!("a 16-byte key is valid"));
    mac.update(message);
    mac.finalize().into_bytes().into()
}

fn decode(text: &str) -> Result<[u8; TOKEN_LEN]> {
    if text.len() > MAX_ENCODED_LEN {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
    match <[u8; TOKEN_LEN]>::try_from(bytes.as_slice()) {
        Ok(bytes) if bytes[0] == FORMAT_VERSION => Ok(bytes),
        _ => Err(invalid()),
    }
}

fn invalid() -> Error {
    Error::validation("token", "is not a valid sync token")
}

impl fmt::Display for SyncToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SyncToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SyncToken({})", self.0)
    }
}

impl FromStr for SyncToken {
    type Err = Error;

    /// Checks that the text is shaped like a token; whose it is, and where
    /// it points, are checked when it is used.
    fn from_str(s: &str) -> Result<Self> {
        let text = s.trim();
        decode(text)?;
        Ok(Self(text.to_owned()))
    }
}

impl TryFrom<String> for SyncToken {
    type Error = Error;
    fn try_from(text: String) -> Result<Self> {
        text.parse()
    }
}

impl From<SyncToken> for String {
    fn from(token: SyncToken) -> Self {
        token.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_for_its_owner_only() {
        let (alice, bob) = (UserId::new_v7(), UserId::new_v7());
        let token = SyncToken::new(alice, 42);
        let parsed: SyncToken = token.as_str().parse().expect("parses");
        assert_eq!(parsed.seq_for(alice).expect("alice's"), 42);
        let err = parsed.seq_for(bob).expect_err("not bob's");
        assert_eq!(err, invalid());
    }

    #[test]
    fn edited_and_malformed_tokens_are_validation_errors() {
        let alice = UserId::new_v7();
        let token = SyncToken::new(alice, 7).0;
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).expect("base64");
        bytes[8] ^= 1;
        let edited = SyncToken(URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(edited.seq_for(alice), Err(invalid()));
        for text in ["", "x", "!!!!", &"A".repeat(200), &token[..token.len() - 1]] {
            assert_eq!(text.parse::<SyncToken>(), Err(invalid()), "{text:?}");
        }
    }
}
