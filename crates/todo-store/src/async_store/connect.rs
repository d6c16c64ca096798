//! Opening the async store's connections: the driver's settings from a
//! [`StoreConfig`], and the pool that holds them.

use std::sync::Arc;

use diesel::{ConnectionError, connection::CacheSize};
use diesel_async::{
    AsyncConnection, AsyncPgConnection,
    pooled_connection::{
        AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod, deadpool::Pool,
    },
};
use tokio_postgres::{NoTls, config::SslMode};

use crate::{Error, Result, StatementCache, StoreConfig};

/// The driver's settings for `config`: its URL, with the connect timeout
/// and the network timeouts of the configuration, as the sync store hands
/// them to libpq (`StoreConfig::driver_url`).
///
/// Encryption is not offered yet: a URL that asks for it (`sslmode=require`,
/// `verify-ca`, `verify-full`) is refused, and so, by the configuration's
/// [`TlsPolicy`](crate::TlsPolicy), is a remote host without it. The URL
/// goes to tokio-postgres, which knows fewer parameters than libpq: one it
/// does not know is refused with its name.
pub(crate) fn driver_config(config: &StoreConfig) -> Result<tokio_postgres::Config> {
    config.validate()?;
    if matches!(
        config.url.param("sslmode").as_deref(),
        Some("require" | "verify-ca" | "verify-full")
    ) {
        return Err(Error::validation(
            "database_url",
            "the async store does not encrypt connections yet: use the sync Store for a \
             server that needs TLS",
        ));
    }
    let mut driver: tokio_postgres::Config = config.url.expose().parse().map_err(|err| {
        Error::validation(
            "database_url",
            config.url.scrub(&format!(
                "not a connection string the async store reads: {err}"
            )),
        )
    })?;
    let third = (config.network_timeout / 3).max(std::time::Duration::from_secs(1));
    driver
        .ssl_mode(SslMode::Disable)
        .connect_timeout(config.connect_timeout)
        .keepalives(true)
        .keepalives_idle(third)
        .keepalives_interval(third)
        .keepalives_retries(2)
        .tcp_user_timeout(config.network_timeout);
    Ok(driver)
}

/// Opens one connection as the pool does.
pub(crate) async fn open(
    driver: &tokio_postgres::Config,
    cache: StatementCache,
) -> std::result::Result<AsyncPgConnection, ConnectionError> {
    let (client, connection) = driver
        .connect(NoTls)
        .await
        .map_err(|err| ConnectionError::BadConnection(err.to_string()))?;
    let mut conn = AsyncPgConnection::try_from_client_and_connection(client, connection).await?;
    if cache == StatementCache::Disabled {
        conn.set_prepared_statement_cache_size(CacheSize::Disabled);
    }
    Ok(conn)
}

/// The pool: at most `max_connections`, opened on demand with [`open`],
/// checked out without a round trip (a connection the driver found closed,
/// or whose flight never landed, is dropped instead of handed out).
pub(crate) fn pool(
    config: &StoreConfig,
    driver: tokio_postgres::Config,
) -> Result<Pool<AsyncPgConnection>> {
    let driver = Arc::new(driver);
    let cache = config.statement_cache;
    let mut manager = ManagerConfig::default();
    manager.recycling_method = RecyclingMethod::Fast;
    manager.custom_setup = Box::new(move |_url| {
        let driver = Arc::clone(&driver);
        Box::pin(async move { open(&driver, cache).await })
    });
    // The URL is only the manager's label: `custom_setup` connects.
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config("", manager);
    Pool::builder(manager)
        .max_size(config.max_connections as usize)
        .wait_timeout(Some(config.connect_timeout))
        .create_timeout(Some(config.connect_timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|err| Error::validation("max_connections", err.to_string()))
}
