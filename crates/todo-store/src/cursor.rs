//! Opaque keyset-pagination cursors.
//!
//! A cursor records the sort and the position of the last task of a page: the
//! value of the sort key and the task id. It is base64url text so it fits in a
//! URL. It grants nothing: every list is scoped to its owner, so an edited
//! cursor can at most move within the owner's own tasks, and a malformed one is
//! a [`Error::Validation`] on the `cursor` field.
//!
//! Opaque is not secret: the cursor is encoded, not encrypted. For the title
//! sort it holds the last task's title, so treat cursors like the page they
//! came from (e.g. keep them out of logs you would not put titles in).

use std::{fmt, str::FromStr};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Error, Priority, Result, SortKey, SortOrder, Task, TaskSort, validate};

const FORMAT_VERSION: u8 = 1;
/// Long enough for a 500-character title of 4-byte characters.
const MAX_ENCODED_LEN: usize = 4096;

/// An opaque position in a task list; see [`Page::next_cursor`](crate::Page::next_cursor).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cursor(String);

impl Cursor {
    /// The cursor as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cursor({})", self.0)
    }
}

impl FromStr for Cursor {
    type Err = Error;

    /// Checks that the text decodes to a position.
    fn from_str(s: &str) -> Result<Self> {
        let cursor = Cursor(s.trim().to_owned());
        Position::decode(&cursor)?;
        Ok(cursor)
    }
}

impl TryFrom<String> for Cursor {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Cursor> for String {
    fn from(cursor: Cursor) -> String {
        cursor.0
    }
}

/// The sort-key value of the last task of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyValue {
    Time(DateTime<Utc>),
    Priority(Priority),
    /// `None`: no due date, which sorts as +infinity.
    Due(Option<DateTime<Utc>>),
    Title(String),
}

/// A decoded cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) sort: TaskSort,
    pub(crate) key: KeyValue,
    pub(crate) id: Uuid,
}

impl Position {
    /// The position of `task` in a list ordered by `sort`.
    pub(crate) fn of(task: &Task, sort: TaskSort) -> Self {
        let key = match sort.key {
            SortKey::Created => KeyValue::Time(task.created_at),
            SortKey::Updated => KeyValue::Time(task.updated_at),
            SortKey::Priority => KeyValue::Priority(task.priority),
            SortKey::Due => KeyValue::Due(task.due_at),
            SortKey::Title => KeyValue::Title(task.title.clone()),
        };
        Self {
            sort,
            key,
            id: task.id.as_uuid(),
        }
    }

    /// Layout: version, sort key, order, id (16 bytes), then the key value.
    pub(crate) fn encode(&self) -> Cursor {
        let mut bytes = vec![
            FORMAT_VERSION,
            sort_key_code(self.sort.key),
            order_code(self.sort.order),
        ];
        bytes.extend_from_slice(self.id.as_bytes());
        match &self.key {
            KeyValue::Time(t) => bytes.extend_from_slice(&t.timestamp_micros().to_be_bytes()),
            KeyValue::Priority(p) => bytes.push(p.get() as u8),
            KeyValue::Due(None) => bytes.push(0),
            KeyValue::Due(Some(t)) => {
                bytes.push(1);
                bytes.extend_from_slice(&t.timestamp_micros().to_be_bytes());
            }
            KeyValue::Title(title) => bytes.extend_from_slice(title.as_bytes()),
        }
        Cursor(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub(crate) fn decode(cursor: &Cursor) -> Result<Self> {
        let invalid = || Error::validation("cursor", "is not a cursor returned by this list");
        if cursor.0.len() > MAX_ENCODED_LEN {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(&cursor.0).map_err(|_| invalid())?;
        let (header, rest) = bytes.split_at_checked(19).ok_or_else(invalid)?;
        let [version, key, order, id @ ..] = header else {
            return Err(invalid());
        };
        if *version != FORMAT_VERSION {
            return Err(invalid());
        }
        let sort = TaskSort::new(
            sort_key_from_code(*key).ok_or_else(invalid)?,
            order_from_code(*order).ok_or_else(invalid)?,
        );
        let id = Uuid::from_slice(id).map_err(|_| invalid())?;
        // Only times PostgreSQL can store: an edited cursor must be refused
        // here, not by the database ("timestamp out of range").
        let time = |raw: &[u8]| -> Option<DateTime<Utc>> {
            DateTime::from_timestamp_micros(i64::from_be_bytes(raw.try_into().ok()?))
                .filter(|t| validate::timestamp("cursor", *t).is_ok())
        };
        let key = match (sort.key, rest) {
            (SortKey::Created | SortKey::Updated, raw) => {
                KeyValue::Time(time(raw).ok_or_else(invalid)?)
            }
            (SortKey::Priority, [p]) => {
                KeyValue::Priority(Priority::new(i16::from(*p)).map_err(|_| invalid())?)
            }
            (SortKey::Due, [0]) => KeyValue::Due(None),
            (SortKey::Due, [1, raw @ ..]) => KeyValue::Due(Some(time(raw).ok_or_else(invalid)?)),
            (SortKey::Title, raw) => KeyValue::Title(
                String::from_utf8(raw.to_vec())
                    .ok()
                    .filter(|t| !t.is_empty() && !t.contains('\0'))
                    .ok_or_else(invalid)?,
            ),
            _ => return Err(invalid()),
        };
        Ok(Self { sort, key, id })
    }
}

fn sort_key_code(key: SortKey) -> u8 {
    match key {
        SortKey::Created => 1,
        SortKey::Updated => 2,
        SortKey::Priority => 3,
        SortKey::Due => 4,
        SortKey::Title => 5,
    }
}

fn sort_key_from_code(code: u8) -> Option<SortKey> {
    Some(match code {
        1 => SortKey::Created,
        2 => SortKey::Updated,
        3 => SortKey::Priority,
        4 => SortKey::Due,
        5 => SortKey::Title,
        _ => return None,
    })
}

fn order_code(order: SortOrder) -> u8 {
    match order {
        SortOrder::Asc => 1,
        SortOrder::Desc => 2,
    }
}

fn order_from_code(code: u8) -> Option<SortOrder> {
    match code {
        1 => Some(SortOrder::Asc),
        2 => Some(SortOrder::Desc),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(position: Position) {
        let cursor = position.encode();
        let parsed: Cursor = cursor.as_str().parse().expect("valid cursor");
        assert_eq!(Position::decode(&parsed).ok(), Some(position));
    }

    #[test]
    fn a_time_the_database_cannot_hold_is_not_a_cursor() {
        // An edited cursor's time may decode fine in Rust and still be past
        // PostgreSQL's range, where the query would fail instead.
        for micros in [i64::MAX / 2, i64::MIN / 2, -62_200_000_000_000_000] {
            let mut bytes = vec![FORMAT_VERSION, sort_key_code(SortKey::Created), 1];
            bytes.extend_from_slice(Uuid::now_v7().as_bytes());
            bytes.extend_from_slice(&micros.to_be_bytes());
            let text = URL_SAFE_NO_PAD.encode(bytes);
            assert!(matches!(
                text.parse::<Cursor>(),
                Err(Error::Validation { field, .. }) if field == "cursor"
            ));
        }
    }

    #[test]
    fn every_key_round_trips() {
        let id = Uuid::now_v7();
        let now = DateTime::from_timestamp_micros(1_790_000_000_123_456).expect("in range");
        for (key, value) in [
            (SortKey::Created, KeyValue::Time(now)),
            (SortKey::Updated, KeyValue::Time(now)),
            (SortKey::Priority, KeyValue::Priority(Priority::LOWEST)),
            (SortKey::Due, KeyValue::Due(None)),
            (SortKey::Due, KeyValue::Due(Some(now))),
            (SortKey::Title, KeyValue::Title("Ünïcode ✓ title".into())),
        ] {
            for order in [SortOrder::Asc, SortOrder::Desc] {
                round_trip(Position {
                    sort: TaskSort::new(key, order),
                    key: value.clone(),
                    id,
                });
            }
        }
    }

    #[test]
    fn garbage_is_a_validation_error() {
        for bad in ["", "x", "!!!!", "AQEB", &"A".repeat(5000)] {
            assert!(
                matches!(bad.parse::<Cursor>(), Err(Error::Validation { ref field, .. }) if field == "cursor"),
                "{bad:?}"
            );
        }
    }
}
