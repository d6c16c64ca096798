//! The async store's encryption against a private cluster with a
//! certificate of its own, as `tls.rs` checks the sync store's: `sslmode`
//! and `sslrootcert` mean what they mean to libpq, and a certificate that
//! fails verification is a typed [`Error::Tls`].

#![allow(clippy::unwrap_used)]

use diesel::{QueryableByName, RunQueryDsl, sql_query, sql_types::Bool};
use todo_store::{AsyncStore, Error, StoreConfig};
use todo_store_tests::cluster::Cluster;

#[derive(QueryableByName)]
struct Encrypted {
    #[diesel(sql_type = Bool)]
    ssl: bool,
}

/// Opens an async store on `url` plus `params`, and answers whether its
/// connection is encrypted, as the server sees it (`pg_stat_ssl`, found by
/// the store's application name).
async fn encrypted(url: &str, params: &str) -> Result<bool, Error> {
    let name = format!("async_tls_{}", std::process::id());
    let config =
        StoreConfig::new(format!("{url}&application_name={name}{params}")).max_connections(1);
    let store = AsyncStore::connect(&config).await?;
    let mut admin = StoreConfig::new(format!("{url}&sslmode=disable"))
        .establish()
        .unwrap();
    let row = sql_query(
        "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
         WHERE a.application_name = $1",
    )
    .bind::<diesel::sql_types::Text, _>(&name)
    .get_result::<Encrypted>(&mut admin)
    .unwrap();
    drop(store);
    Ok(row.ssl)
}

#[tokio::test]
async fn sslmode_and_sslrootcert_mean_what_they_mean_to_libpq() {
    let cluster = Cluster::start();
    let files = cluster.enable_tls();
    let url = cluster.url("todo");
    let (ca, wrong) = (files.ca.display(), files.wrong_ca.display());

    assert_eq!(encrypted(&url, "&sslmode=disable").await, Ok(false));
    // libpq's default, `prefer`, encrypts when the server offers it.
    assert_eq!(encrypted(&url, "").await, Ok(true));
    assert_eq!(encrypted(&url, "&sslmode=require").await, Ok(true));
    for mode in ["verify-ca", "verify-full"] {
        let right = format!("&sslmode={mode}&sslrootcert={ca}");
        assert_eq!(encrypted(&url, &right).await, Ok(true), "{mode}");
        let other = format!("&sslmode={mode}&sslrootcert={wrong}");
        let err = encrypted(&url, &other).await.unwrap_err();
        assert!(
            matches!(&err, Error::Tls(message) if message.contains("certificate")),
            "{mode}: {err:?}"
        );
        assert!(!err.is_retryable());
        // The driver's words once, without the pool's preamble.
        let message = err.to_string();
        assert!(!message.contains("creating a new object"), "{message}");
        assert_eq!(
            message.matches("certificate verify failed").count(),
            1,
            "{message}"
        );
    }
    // With a root certificate file, `require` and `prefer` check the chain
    // too, as libpq's `require` does (and `prefer` fails rather than fall
    // back to plain text).
    for mode in ["require", "prefer"] {
        let right = format!("&sslmode={mode}&sslrootcert={ca}");
        assert_eq!(encrypted(&url, &right).await, Ok(true), "{mode}");
        let other = format!("&sslmode={mode}&sslrootcert={wrong}");
        let err = encrypted(&url, &other).await.unwrap_err();
        assert!(matches!(&err, Error::Tls(_)), "{mode}: {err:?}");
    }
    let missing = "&sslmode=verify-full&sslrootcert=/nonexistent/root.crt";
    let err = encrypted(&url, missing).await.unwrap_err();
    assert!(
        matches!(&err, Error::Tls(message) if message.contains("/nonexistent/root.crt")),
        "{err:?}"
    );
    let err = encrypted(&url, "&sslmode=sometimes").await.unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
}

/// The configuration's policy holds before any connection is tried: plain
/// text to another machine is refused, with the password nowhere in the
/// message.
#[tokio::test]
async fn a_remote_host_without_encryption_is_refused_before_connecting() {
    let config = StoreConfig::new("postgres://u:secret@db.example.com/app?sslmode=disable");
    let err = AsyncStore::connect(&config).await.unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    assert!(!err.to_string().contains("secret"));
}
