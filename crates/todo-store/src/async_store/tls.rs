//! The async store's encryption, as libpq gives the sync store: the URL's
//! `sslmode` (libpq's names and meanings) and `sslrootcert`, over the same
//! OpenSSL, with the server's host name sent for SNI (Neon routes on it).
//!
//! | `sslmode` | encrypts | checks the certificate |
//! |---|---|---|
//! | `disable`, `allow` | no | — |
//! | `prefer` (the default) | if the server offers it | only with `sslrootcert` |
//! | `require` | yes | only with `sslrootcert` (then as `verify-ca`) |
//! | `verify-ca` | yes | signed by a trusted authority |
//! | `verify-full` | yes | that, and issued for the host name |
//!
//! The trusted authorities are `sslrootcert`'s file alone if given, else
//! the system's (libpq would read `~/.postgresql/root.crt` instead; a URL
//! that names its file behaves the same with both stores). As with libpq,
//! a root certificate file makes `require` check the chain as `verify-ca`
//! does; `prefer` checks it too, and fails (where libpq would fall back to
//! plain text) when the check fails. Whether a remote host
//! may be reached without encryption at all is the configuration's
//! [`TlsPolicy`](crate::TlsPolicy), checked before this.

use openssl::{
    ssl::{SslConnector, SslMethod, SslVerifyMode},
    x509::{X509, store::X509Store, store::X509StoreBuilder},
};
use postgres_openssl::MakeTlsConnector;
use tokio_postgres::config::SslMode;

use crate::{Error, Result, StoreConfig};

/// What the URL asks of encryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encryption {
    /// `disable`, `allow`.
    Off,
    /// `prefer`, or no `sslmode`.
    IfOffered,
    /// `require`.
    Unverified,
    /// `verify-ca`.
    VerifiedAuthority,
    /// `verify-full`.
    VerifiedHost,
}

impl Encryption {
    /// The mode `config`'s URL asks for (as libpq reads it).
    pub(crate) fn asked(config: &StoreConfig) -> Result<Self> {
        Ok(match config.url.param("sslmode").as_deref() {
            None | Some("prefer") => Self::IfOffered,
            Some("disable" | "allow") => Self::Off,
            Some("require") => Self::Unverified,
            Some("verify-ca") => Self::VerifiedAuthority,
            Some("verify-full") => Self::VerifiedHost,
            Some(other) => {
                return Err(Error::validation(
                    "database_url",
                    format!(
                        "sslmode={other} is not one of disable, allow, prefer, require, \
                         verify-ca, verify-full"
                    ),
                ));
            }
        })
    }

    /// The driver's mode for this.
    pub(crate) fn driver_mode(self) -> SslMode {
        match self {
            Self::Off => SslMode::Disable,
            Self::IfOffered => SslMode::Prefer,
            Self::Unverified | Self::VerifiedAuthority | Self::VerifiedHost => SslMode::Require,
        }
    }
}

/// The connector for `encryption`, trusting only `root_cert`'s
/// authorities (a PEM file) when given, else the system's. As libpq does,
/// a root certificate file makes `require` (and `prefer`) check the chain
/// too; unlike libpq, a `prefer` that fails the check does not fall back to
/// plain text, it fails.
pub(crate) fn connector(
    encryption: Encryption,
    root_cert: Option<&str>,
) -> Result<MakeTlsConnector> {
    let failed = |err: openssl::error::ErrorStack| Error::Tls(err.to_string());
    let mut builder = SslConnector::builder(SslMethod::tls_client()).map_err(failed)?;
    let verifies = match encryption {
        Encryption::Off => false,
        Encryption::IfOffered | Encryption::Unverified => root_cert.is_some(),
        Encryption::VerifiedAuthority | Encryption::VerifiedHost => true,
    };
    if !verifies {
        builder.set_verify(SslVerifyMode::NONE);
    } else {
        builder.set_verify(SslVerifyMode::PEER);
        match root_cert {
            // The file's authorities replace the system's (which the
            // builder loaded): trusted alone, as libpq trusts it.
            Some(path) => builder.set_cert_store(authorities_in(path)?),
            None => builder.set_default_verify_paths().map_err(failed)?,
        }
    }
    let mut connector = MakeTlsConnector::new(builder.build());
    // The host name always goes out for SNI; only `verify-full` holds the
    // certificate to it.
    let check_host = encryption == Encryption::VerifiedHost;
    connector.set_callback(move |connect, _host| {
        connect.set_verify_hostname(check_host);
        Ok(())
    });
    Ok(connector)
}

/// A certificate store holding the authorities of the PEM file `path`, and
/// nothing else.
fn authorities_in(path: &str) -> Result<X509Store> {
    let unreadable = |reason: String| {
        Error::Tls(format!(
            "could not read root certificate file {path}: {reason}"
        ))
    };
    let pem = std::fs::read(path).map_err(|err| unreadable(err.to_string()))?;
    let certificates = X509::stack_from_pem(&pem).map_err(|err| unreadable(err.to_string()))?;
    if certificates.is_empty() {
        return Err(unreadable("no certificate in it".to_owned()));
    }
    let mut store = X509StoreBuilder::new().map_err(|err| unreadable(err.to_string()))?;
    for certificate in certificates {
        store
            .add_cert(certificate)
            .map_err(|err| unreadable(err.to_string()))?;
    }
    Ok(store.build())
}
