//! The test server's address in a `postgres://` URL, and the same URL
//! through a local port (a pooler's, a proxy's), for the harnesses that sit
//! in front of the server.

use todo_store::DatabaseUrl;

/// A `postgres://` URL cut at its address.
struct UrlParts<'a> {
    scheme: &'a str,
    userinfo: Option<&'a str>,
    host_port: &'a str,
    /// The path and query string, as they were.
    rest: &'a str,
}

impl<'a> UrlParts<'a> {
    fn parse(url: &'a str) -> Self {
        let (scheme, after) = url
            .split_once("://")
            .unwrap_or_else(|| panic!("not a postgres:// URL: {}", DatabaseUrl::new(url)));
        let end = after.find(['/', '?']).unwrap_or(after.len());
        let (authority, rest) = after.split_at(end);
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => (Some(userinfo), host_port),
            None => (None, authority),
        };
        let query = rest.split_once('?').map_or("", |(_, query)| query);
        assert!(
            !query.split('&').any(|pair| {
                let key = pair.split('=').next().unwrap_or("");
                matches!(key, "host" | "hostaddr" | "port")
            }),
            "the test harness does not read an address from a URL's query string: {}",
            DatabaseUrl::new(url)
        );
        Self {
            scheme,
            userinfo,
            host_port,
            rest,
        }
    }
}

/// The server's host and port (`localhost`, or no host, as 127.0.0.1;
/// 5432 if none is given).
pub(crate) fn server_address(url: &DatabaseUrl) -> (String, u16) {
    let host_port = UrlParts::parse(url.expose()).host_port;
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, port.parse().unwrap()),
        _ => (host_port, 5432),
    };
    let host = match host {
        // A client might try ::1 first; the local server listens on IPv4.
        "localhost" | "" => "127.0.0.1".to_owned(),
        host => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned(),
    };
    (host, port)
}

/// The role the URL names, if it names one.
pub(crate) fn user(url: &DatabaseUrl) -> Option<String> {
    UrlParts::parse(url.expose())
        .userinfo
        .map(|userinfo| userinfo.split(':').next().unwrap_or("").to_owned())
        .filter(|user| !user.is_empty())
}

/// `url` with the same role, password, database and parameters, through
/// `127.0.0.1:port`.
pub(crate) fn via_local_port(url: &DatabaseUrl, port: u16) -> DatabaseUrl {
    let parts = UrlParts::parse(url.expose());
    let userinfo = parts
        .userinfo
        .map(|userinfo| format!("{userinfo}@"))
        .unwrap_or_default();
    DatabaseUrl::new(format!(
        "{}://{userinfo}127.0.0.1:{port}{}",
        parts.scheme, parts.rest
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_through_a_local_port_keeps_everything_but_the_address() {
        let url =
            DatabaseUrl::new("postgres://app:p%40ss@db.example.com:5433/todo?sslmode=disable");
        assert_eq!(
            via_local_port(&url, 6432).expose(),
            "postgres://app:p%40ss@127.0.0.1:6432/todo?sslmode=disable"
        );
        assert_eq!(server_address(&url), ("db.example.com".to_owned(), 5433));
        assert_eq!(user(&url).as_deref(), Some("app"));
        let local = DatabaseUrl::new("postgres://localhost/todo_store");
        assert_eq!(server_address(&local), ("127.0.0.1".to_owned(), 5432));
        assert_eq!(user(&local), None);
        assert_eq!(
            via_local_port(&local, 7000).expose(),
            "postgres://127.0.0.1:7000/todo_store"
        );
    }
}
