//! What the library asks of a server connection, and the rule that nothing
//! it sets outlives the call that set it.
//!
//! Behind a transaction-mode pooler (PgBouncer, Neon's `-pooler` endpoint)
//! one server connection serves many clients, one transaction at a time, so
//! a session-level `SET` would reach the next client of that connection. The
//! library therefore sets nothing at session level: the owner scope and the
//! statement timeout are transaction-local (`set_config(…, true)`), sent
//! with the `BEGIN` of the call's own transaction; and Diesel's
//! prepared-statement cache, which a pooler without prepared-statement
//! support cannot follow, can be turned off.

use std::time::Duration;

use diesel::{
    PgConnection,
    connection::{CacheSize, Connection},
};

use crate::{Error, Owner, Result, RowSecurity};

/// The environment variable [`StoreConfig::from_env`](crate::StoreConfig::from_env)
/// reads for [`StatementCache`]: `on` or `off`.
pub const STATEMENT_CACHE_ENV: &str = "TODO_STORE_STATEMENT_CACHE";

/// Whether each connection keeps Diesel's cache of prepared statements
/// (see [`StoreConfig::statement_cache`](crate::StoreConfig::statement_cache)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatementCache {
    /// Statements are prepared once per connection under a name
    /// (`__diesel_stmt_N`) and executed by name afterwards: one parse per
    /// connection, the default. Right for a direct connection and for
    /// poolers that track prepared statements (PgBouncer 1.21 or later with
    /// `max_prepared_statements` above 0, as Neon's `-pooler` endpoint is).
    #[default]
    Enabled,
    /// Every statement is parsed with the query that uses it, in one
    /// message (an unnamed statement). Needed behind a transaction-mode
    /// pooler without prepared-statement support (PgBouncer before 1.21, or
    /// with `max_prepared_statements = 0`). There, with the cache on, a name
    /// prepared on one server connection is missing on the next (`prepared
    /// statement "__diesel_stmt_0" does not exist`), is taken already
    /// (`… already exists`), or holds *another client's* statement, which
    /// then runs with this call's parameters and fails to decode
    /// (`Error deserializing field …`, `Unexpected null for non-null
    /// column`): `tests/tests/pooler.rs` saw a third to a half of the calls
    /// of 8 threads fail so through PgBouncer 1.18.
    Disabled,
}

impl StatementCache {
    /// Parses the value of [`STATEMENT_CACHE_ENV`]: `on` or `off` (also
    /// `true`/`false`, `1`/`0`, `enabled`/`disabled`), in any letter case.
    ///
    /// # Errors
    /// [`Error::Validation`] on `TODO_STORE_STATEMENT_CACHE` for anything else.
    pub fn parse(value: &str) -> Result<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "on" | "true" | "1" | "enabled" => Ok(Self::Enabled),
            "off" | "false" | "0" | "disabled" => Ok(Self::Disabled),
            _ => Err(Error::validation(STATEMENT_CACHE_ENV, "must be on or off")),
        }
    }

    /// Applies this choice to a freshly opened connection.
    pub(crate) fn apply(self, conn: &mut PgConnection) {
        if self == Self::Disabled {
            conn.set_prepared_statement_cache_size(CacheSize::Disabled);
        }
    }
}

/// How a [`Store`](crate::Store) runs an owner-scoped call; a caller's own
/// connection gets [`CallSettings::CALLER`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallSettings {
    pub(crate) row_security: RowSecurity,
    /// Set transaction-locally on the call's own scoped transaction.
    pub(crate) statement_timeout: Option<Duration>,
}

impl CallSettings {
    /// A caller's connection: always scoped (a bare connection does not know
    /// the store's configuration), and no timeout of the library's (the
    /// caller's session, or transaction, decides).
    pub(crate) const CALLER: Self = Self {
        row_security: RowSecurity::Scoped,
        statement_timeout: None,
    };

    /// The one message that opens a call's own transaction for `owner`:
    /// `BEGIN`, then the transaction-local owner scope and statement
    /// timeout, so that both end with the transaction. The id is a UUID and
    /// the timeout a number, both formatted here, so they can be written into
    /// the text.
    pub(crate) fn begin_sql(&self, owner: &Owner) -> String {
        let mut sql = format!(
            "BEGIN; SELECT set_config('todo.user_id', '{}', true)",
            owner.user_id()
        );
        if let Some(timeout) = self.statement_timeout {
            sql.push_str(&format!(
                ", set_config('statement_timeout', '{}', true)",
                timeout.as_millis()
            ));
        }
        sql
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UserId;

    #[test]
    fn the_statement_cache_setting_reads_on_and_off() {
        assert_eq!(StatementCache::parse(" OFF "), Ok(StatementCache::Disabled));
        assert_eq!(StatementCache::parse("on"), Ok(StatementCache::Enabled));
        assert_eq!(StatementCache::parse("0"), Ok(StatementCache::Disabled));
        assert!(matches!(
            StatementCache::parse("sometimes"),
            Err(Error::Validation { ref field, .. }) if field == STATEMENT_CACHE_ENV
        ));
    }

    #[test]
    fn the_scope_and_the_timeout_travel_with_begin() {
        let owner = Owner::verified(UserId::new_v7());
        let plain = CallSettings::CALLER.begin_sql(&owner);
        assert_eq!(
            plain,
            format!(
                "BEGIN; SELECT set_config('todo.user_id', '{}', true)",
                owner.user_id()
            )
        );
        let timed = CallSettings {
            statement_timeout: Some(Duration::from_secs(30)),
            ..CallSettings::CALLER
        }
        .begin_sql(&owner);
        assert!(timed.ends_with(", set_config('statement_timeout', '30000', true)"));
    }
}
