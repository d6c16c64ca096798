//! Opening the async store's connections: the driver's settings from a
//! [`StoreConfig`], and the pool that holds them.

use std::{sync::Arc, time::Duration};

use diesel::{ConnectionError, connection::CacheSize};
use diesel_async::{
    AsyncConnection, AsyncPgConnection, SimpleAsyncConnection,
    pooled_connection::{
        AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod, deadpool::Pool,
    },
};
use postgres_openssl::MakeTlsConnector;
use tokio_postgres::config::SslMode;

use super::tls::{self, Encryption};
use crate::{Error, Result, StatementCache, StoreConfig};

/// The driver's settings for `config`: its URL, with the connect timeout
/// and the network timeouts of the configuration, as the sync store hands
/// them to libpq (`StoreConfig::driver_url`).
///
/// Encryption follows the URL's `sslmode` and `sslrootcert` as libpq
/// reads them (see `tls.rs`), after the configuration's
/// [`TlsPolicy`](crate::TlsPolicy) has refused a remote host without it.
/// The rest of the string goes to tokio-postgres, which knows fewer
/// parameters than libpq (one it does not know is refused with its name)
/// and reads no environment (`PGHOST`, `PGPASSWORD`, `.pgpass`).
pub(crate) fn driver_config(config: &StoreConfig) -> Result<Driver> {
    config.validate()?;
    let invalid = |reason: String| Error::validation("database_url", config.url.scrub(&reason));
    let mut encryption = Encryption::asked(config)?;
    let root_cert = config.url.param("sslrootcert");
    // libpq's TLS parameters are read above; tokio-postgres refuses
    // `verify-ca`, `verify-full` and `sslrootcert`.
    let rest = config.url.without_params(&["sslmode", "sslrootcert"]);
    let mut driver: tokio_postgres::Config = match rest.expose().parse() {
        Ok(driver) => driver,
        Err(err) => {
            return Err(invalid(format!(
                "not a connection string the async store reads: {}",
                describe(&err)
            )));
        }
    };
    if !config.url.is_url() {
        // A `key=value` string: tokio-postgres read its `sslmode`.
        encryption = match driver.get_ssl_mode() {
            SslMode::Disable => Encryption::Off,
            SslMode::Require => Encryption::Unverified,
            _ => Encryption::IfOffered,
        };
    }
    driver.ssl_mode(encryption.driver_mode());
    if driver.get_hosts().is_empty() {
        return Err(invalid(
            "names no host: the async store reads no PGHOST or service file".to_owned(),
        ));
    }
    // The configuration's timeouts, for each the URL does not set itself
    // (as the sync store hands them to libpq).
    let own = |key: &str| config.url.param(key).is_some();
    let third = (config.network_timeout / 3).max(Duration::from_secs(1));
    driver.keepalives(true);
    if !own("connect_timeout") {
        driver.connect_timeout(config.connect_timeout);
    }
    if !own("keepalives_idle") {
        driver.keepalives_idle(third);
    }
    if !own("keepalives_interval") {
        driver.keepalives_interval(third);
    }
    if !own("keepalives_retries") {
        driver.keepalives_retries(2);
    }
    if !own("tcp_user_timeout") {
        driver.tcp_user_timeout(config.network_timeout);
    }
    Ok(Driver {
        config: driver,
        tls: tls::connector(encryption, root_cert.as_deref())?,
    })
}

/// How to open the async store's connections.
#[derive(Clone)]
pub(crate) struct Driver {
    config: tokio_postgres::Config,
    tls: MakeTlsConnector,
}

/// A driver error as one line with its cause: tokio-postgres' own message
/// is only its kind ("db error"), the server's message is its source.
pub(crate) fn describe(err: &tokio_postgres::Error) -> String {
    if let Some(db) = err.as_db_error() {
        return format!("{}:  {}", db.severity(), db.message());
    }
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        // A cause often repeats its own cause's text (OpenSSL's do).
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// Opens one connection as the pool does.
pub(crate) async fn open(
    driver: &Driver,
    cache: StatementCache,
) -> std::result::Result<AsyncPgConnection, ConnectionError> {
    let bad = |err: tokio_postgres::Error| ConnectionError::BadConnection(describe(&err));
    let (client, connection) = driver
        .config
        .connect(driver.tls.clone())
        .await
        .map_err(bad)?;
    if cache == StatementCache::Enabled {
        return AsyncPgConnection::try_from_client_and_connection(client, connection).await;
    }
    // Behind a pooler that keeps no prepared statement between
    // transactions: diesel-async sets the connection up (time zone,
    // encoding) with named statements, which must run, and be deallocated,
    // inside one transaction of their own, on one server connection. So the
    // driver's connection is run here, and `BEGIN` sent before the set-up.
    tokio::spawn(async move {
        // Ends when the client is dropped; an error then has no one to tell.
        let _ = connection.await;
    });
    client.batch_execute("BEGIN").await.map_err(bad)?;
    let mut conn = AsyncPgConnection::try_from(client).await?;
    conn.batch_execute("DEALLOCATE ALL; COMMIT")
        .await
        .map_err(ConnectionError::CouldntSetupConfiguration)?;
    conn.set_prepared_statement_cache_size(CacheSize::Disabled);
    Ok(conn)
}

/// The pool: at most `max_connections`, opened on demand with [`open`],
/// checked out without a round trip (a connection the driver found closed,
/// or whose flight never landed, is dropped instead of handed out).
pub(crate) fn pool(config: &StoreConfig, driver: Driver) -> Result<Pool<AsyncPgConnection>> {
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
