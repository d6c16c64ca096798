//! [`TlsPolicy`]: no plain-text connections to another machine by accident.
//!
//! libpq's default `sslmode` is `prefer`: it encrypts if the server offers
//! TLS and silently falls back to plain text if it does not (or if someone
//! in between says it does not). For a server on another machine that is
//! not good enough, so the library refuses `disable`, `allow`, `prefer` and
//! a missing `sslmode` there, unless the caller opts out explicitly.

use crate::{DatabaseUrl, Error, Result};

/// Which connections the library lets libpq open without TLS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsPolicy {
    /// The default: a URL naming any host other than `localhost`, a
    /// loopback address or a Unix socket must say `sslmode=require`,
    /// `verify-ca` or `verify-full` (with `sslrootcert=…` for the last two).
    #[default]
    RequireForRemote,
    /// Any `sslmode`, e.g. for a database on a private network that does
    /// not speak TLS. Opting out is the caller's explicit choice.
    AllowInsecure,
}

impl TlsPolicy {
    /// Checks `url` against the policy, before any connection is attempted.
    ///
    /// # Errors
    /// [`Error::Validation`] on `database_url`, naming the host and the
    /// `sslmode` (never the password), if the URL would allow plain text to
    /// a remote host.
    pub(crate) fn check(self, url: &DatabaseUrl) -> Result<()> {
        if self == TlsPolicy::AllowInsecure {
            return Ok(());
        }
        let sslmode = url.param("sslmode");
        let encrypted = matches!(
            sslmode.as_deref(),
            Some("require" | "verify-ca" | "verify-full")
        );
        if encrypted {
            return Ok(());
        }
        let mut hosts = url.hosts();
        // Where the URL leaves the host to libpq's environment or a service
        // file, the host is whatever they say: judged from the environment,
        // and a service (unknowable here) counts as remote.
        if hosts.iter().all(String::is_empty) {
            hosts.extend(
                ["PGHOST", "PGHOSTADDR"]
                    .into_iter()
                    .filter_map(|var| std::env::var(var).ok().filter(|value| !value.is_empty())),
            );
        }
        let hosts: Vec<String> = hosts
            .iter()
            .flat_map(|list| list.split(','))
            .map(str::to_owned)
            .collect();
        if !url.is_url() || url.param("service").is_some() {
            return Err(Error::validation(
                "database_url",
                "the host cannot be told from this connection string (not a postgres:// URL, \
                 or a service file); add sslmode=require or verify-full, or opt out with \
                 TlsPolicy::AllowInsecure",
            ));
        }
        match hosts.iter().find(|host| !is_local(host)) {
            None => Ok(()),
            Some(host) => Err(Error::validation(
                "database_url",
                format!(
                    "sslmode={} would allow an unencrypted connection to {host}; use \
                     sslmode=require or verify-full (or TlsPolicy::AllowInsecure to opt out)",
                    sslmode.as_deref().unwrap_or("prefer (the default)")
                ),
            )),
        }
    }
}

/// Whether `host` is this machine: a Unix socket directory, `localhost`, or
/// a loopback address.
fn is_local(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.is_empty()
        || host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn check(url: &str) -> Result<()> {
        TlsPolicy::default().check(&DatabaseUrl::new(url))
    }

    #[test]
    fn local_servers_need_no_tls() {
        for url in [
            "postgres://localhost/db",
            "postgres://127.0.0.1:5432/db",
            "postgres://127.0.0.2/db",
            "postgres://[::1]:5432/db",
            "postgres:///db",
            "postgres:///db?host=/var/run/postgresql",
            "postgres://%2Fvar%2Frun%2Fpostgresql/db",
            "postgres://u:pw@localhost/db?sslmode=disable",
        ] {
            assert_eq!(check(url), Ok(()), "{url}");
        }
    }

    #[test]
    fn remote_servers_need_an_encrypting_sslmode() {
        for url in [
            "postgres://u:secret@db.example.com/app",
            "postgres://u:secret@db.example.com/app?sslmode=prefer",
            "postgres://u:secret@db.example.com/app?sslmode=allow",
            "postgres://u:secret@10.0.0.5/app?sslmode=disable",
            "postgres://u:secret@localhost,db.example.com/app",
            "postgres://localhost/app?host=db.example.com",
            "postgres://localhost/app?hostaddr=203.0.113.7",
            "postgres://db.example.com/app?sslmode=require&ssl%6Dode=disable",
            "postgres:///app?service=prod",
            "host=db.example.com dbname=app password=secret",
        ] {
            let err = check(url).unwrap_err();
            let message = err.to_string();
            assert!(message.contains("sslmode"), "{message}");
            assert!(!message.contains("secret"), "{message}");
        }
        for url in [
            "postgres://u:pw@ep-x.eu-central-1.aws.neon.tech/neondb?sslmode=require",
            "postgres://u:pw@db.example.com/app?sslmode=verify-full&sslrootcert=/etc/ca.pem",
            "postgres://u:pw@db.example.com/app?sslmode=verify-ca",
            "postgres://localhost/app?host=fe80::1&sslmode=require",
        ] {
            assert_eq!(check(url), Ok(()), "{url}");
        }
        assert_eq!(
            TlsPolicy::AllowInsecure.check(&DatabaseUrl::new("postgres://db.example.com/app")),
            Ok(())
        );
    }
}
