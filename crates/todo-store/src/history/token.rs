//! Sync tokens: a position in one owner's change sequence.
//!
//! A token is base64url text of a format version, the numbering's epoch (see
//! `task_sync_state.epoch`), the sequence number, and a check value (BLAKE2b
//! keyed with the owner's id) over them. It is opaque, not secret: anyone who
//! sees a token can decode how many changes its owner had made. The check
//! makes an edited token, or another user's, a [`Error::Validation`] like any
//! malformed text, so a token can only ever be used by the owner it was made
//! for, and presenting another's reveals nothing about it.

use std::{fmt, str::FromStr};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use blake2::{
    Blake2bMac,
    digest::{Mac, consts::U8},
};
use serde::{Deserialize, Serialize};

use uuid::Uuid;

use crate::{Error, Result, UserId};

const FORMAT_VERSION: u8 = 1;
const EPOCH_LEN: usize = 16;
const SEQ_LEN: usize = 8;
const CHECK_LEN: usize = 8;
/// Where the check value starts: after the version, the epoch and the number.
const SIGNED_LEN: usize = 1 + EPOCH_LEN + SEQ_LEN;
const TOKEN_LEN: usize = SIGNED_LEN + CHECK_LEN;
/// Base64 of [`TOKEN_LEN`] bytes, and some room for a later version.
const MAX_ENCODED_LEN: usize = 64;

/// An opaque position in an owner's change feed: from
/// [`TaskRepo::sync_token`](crate::TaskRepo::sync_token) or
/// [`Changes::next`](crate::Changes::next), for
/// [`TaskRepo::changes_since`](crate::TaskRepo::changes_since).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SyncToken(String);

/// What a token says: a position in one numbering of an owner's changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    /// The numbering (`task_sync_state.epoch`); nil before the owner's first
    /// change, when there is no numbering yet.
    pub(crate) epoch: Uuid,
    /// The number of the last change the holder has seen (0: none).
    pub(crate) seq: u64,
}

impl SyncToken {
    /// The token for `position` in `owner`'s changes.
    pub(crate) fn new(owner: UserId, position: Position) -> Self {
        let mut bytes = [0u8; TOKEN_LEN];
        bytes[0] = FORMAT_VERSION;
        bytes[1..1 + EPOCH_LEN].copy_from_slice(position.epoch.as_bytes());
        bytes[1 + EPOCH_LEN..SIGNED_LEN].copy_from_slice(&position.seq.to_be_bytes());
        let check = check(owner, &bytes[..SIGNED_LEN]);
        bytes[SIGNED_LEN..].copy_from_slice(&check);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The position, if this token is `owner`'s; otherwise the same error as
    /// for any text that is not a token.
    pub(crate) fn position_for(&self, owner: UserId) -> Result<Position> {
        let bytes = decode(&self.0)?;
        if check(owner, &bytes[..SIGNED_LEN]) != bytes[SIGNED_LEN..] {
            return Err(invalid());
        }
        let mut epoch = [0u8; EPOCH_LEN];
        epoch.copy_from_slice(&bytes[1..1 + EPOCH_LEN]);
        let mut seq = [0u8; SEQ_LEN];
        seq.copy_from_slice(&bytes[1 + EPOCH_LEN..SIGNED_LEN]);
        Ok(Position {
            epoch: Uuid::from_bytes(epoch),
            seq: u64::from_be_bytes(seq),
        })
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

    fn at(seq: u64) -> Position {
        Position {
            epoch: Uuid::now_v7(),
            seq,
        }
    }

    #[test]
    fn a_token_round_trips_for_its_owner_only() {
        let (alice, bob) = (UserId::new_v7(), UserId::new_v7());
        let position = at(42);
        let token = SyncToken::new(alice, position);
        let parsed: SyncToken = token.as_str().parse().expect("parses");
        assert_eq!(parsed.position_for(alice).expect("alice's"), position);
        let err = parsed.position_for(bob).expect_err("not bob's");
        assert_eq!(err, invalid());
    }

    #[test]
    fn edited_and_malformed_tokens_are_validation_errors() {
        let alice = UserId::new_v7();
        let token = SyncToken::new(alice, at(7)).0;
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).expect("base64");
        for byte in [1, 20, SIGNED_LEN - 1, TOKEN_LEN - 1] {
            bytes[byte] ^= 1;
            let edited = SyncToken(URL_SAFE_NO_PAD.encode(&bytes));
            assert_eq!(edited.position_for(alice), Err(invalid()), "byte {byte}");
            bytes[byte] ^= 1;
        }
        for text in ["", "x", "!!!!", &"A".repeat(200), &token[..token.len() - 1]] {
            assert_eq!(text.parse::<SyncToken>(), Err(invalid()), "{text:?}");
        }
    }
}
