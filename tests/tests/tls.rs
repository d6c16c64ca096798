//! The TLS policy, against a private cluster with a certificate of its own:
//! `require` encrypts, `verify-full` accepts the right authority and refuses
//! another with a typed error, and a URL that would allow plain text to
//! another machine is refused before any connection is tried.

#![allow(clippy::unwrap_used)]

use diesel::{QueryableByName, RunQueryDsl, sql_query, sql_types::Bool};
use todo_store::{Error, Store, StoreConfig, TlsPolicy};
use todo_store_tests::cluster::Cluster;

#[derive(QueryableByName)]
struct Encrypted {
    #[diesel(sql_type = Bool)]
    ssl: bool,
}

/// Whether the connection `config` opens is encrypted (`pg_stat_ssl`).
fn encrypted(config: &StoreConfig) -> bool {
    sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .get_result::<Encrypted>(&mut config.establish().unwrap())
        .unwrap()
        .ssl
}

#[test]
fn require_encrypts_and_verify_full_checks_the_certificate_authority() {
    let cluster = Cluster::start();
    let files = cluster.enable_tls();
    let url = cluster.url("todo");

    assert!(encrypted(&StoreConfig::new(format!(
        "{url}&sslmode=require"
    ))));
    let verified = StoreConfig::new(format!(
        "{url}&sslmode=verify-full&sslrootcert={}",
        files.ca.display()
    ));
    assert!(encrypted(&verified));
    // The pool connects the same way.
    let store = Store::connect(&verified.clone().max_connections(1)).unwrap();
    drop(store.conn().unwrap());
    // Locally, plain text stays possible: the policy is about other machines.
    assert!(!encrypted(&StoreConfig::new(format!(
        "{url}&sslmode=disable"
    ))));

    let wrong = StoreConfig::new(format!(
        "{url}&sslmode=verify-full&sslrootcert={}",
        files.wrong_ca.display()
    ));
    let err = wrong.establish().err().unwrap();
    assert!(
        matches!(&err, Error::Tls(message) if message.contains("certificate")),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    let err = Store::connect(&wrong).err().unwrap();
    assert!(matches!(err, Error::Tls(_)), "{err:?}");
}

#[test]
fn plain_text_to_another_machine_is_refused_unless_opted_out() {
    let remote = "postgres://ada:s3cret@db.example.invalid/app";
    for url in [
        remote.to_owned(),
        format!("{remote}?sslmode=prefer"),
        format!("{remote}?sslmode=disable"),
    ] {
        let err = StoreConfig::new(&url).establish().err().unwrap();
        assert!(
            matches!(&err, Error::Validation { field, reason }
                if field == "database_url" && reason.contains("sslmode")),
            "{url}: {err:?}"
        );
        assert!(!err.to_string().contains("s3cret"));
        assert!(matches!(
            Store::connect(&StoreConfig::new(&url)),
            Err(Error::Validation { .. })
        ));
    }
    // Opting out lets libpq try (and fail: the host does not exist).
    let err = StoreConfig::new(remote)
        .tls(TlsPolicy::AllowInsecure)
        .establish()
        .err()
        .unwrap();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    // An encrypting sslmode passes the policy the same way.
    let err = StoreConfig::new(format!("{remote}?sslmode=require"))
        .establish()
        .err()
        .unwrap();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
}
