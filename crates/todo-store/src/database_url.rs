//! [`DatabaseUrl`]: a connection URL that keeps its password to itself.

use std::fmt;

use crate::{Error, Result};

/// A PostgreSQL connection URL whose password never appears in `Debug` or
/// `Display` output.
///
/// ```
/// use todo_store::DatabaseUrl;
/// let url = DatabaseUrl::new("postgres://ada:s3cret@db.example.com/app?sslmode=require");
/// assert_eq!(url.to_string(), "postgres://ada:***@db.example.com/app?sslmode=require");
/// assert!(!format!("{url:?}").contains("s3cret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

/// The pieces of `scheme://[userinfo@]host[/path][?query]`. The userinfo ends
/// at the *last* `@` before the path, so that a password with an unescaped
/// `?`, `:` or `@` is still recognised as one (and hidden).
struct Parts<'a> {
    scheme: &'a str,
    userinfo: Option<&'a str>,
    host: &'a str,
    path: &'a str,
    query: Option<&'a str>,
}

impl<'a> Parts<'a> {
    fn parse(url: &'a str) -> Option<Self> {
        let (scheme, rest) = url.split_once("://")?;
        let path_start = rest.find('/').unwrap_or(rest.len());
        let (userinfo, rest) = match rest[..path_start].rfind('@') {
            Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
            None => (None, rest),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, Some(query)),
            None => (rest, None),
        };
        let (host, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        Some(Self {
            scheme,
            userinfo,
            host,
            path,
            query,
        })
    }

    fn join(&self, userinfo: Option<&str>, path: &str, query: Option<&str>) -> String {
        let mut url = format!("{}://", self.scheme);
        if let Some(userinfo) = userinfo {
            url.push_str(userinfo);
            url.push('@');
        }
        url.push_str(self.host);
        url.push_str(path);
        if let Some(query) = query {
            url.push('?');
            url.push_str(query);
        }
        url
    }
}

impl DatabaseUrl {
    /// Wraps a URL such as `postgres://user:password@host:5432/db?sslmode=require`.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into().trim().to_owned())
    }

    /// The full URL, password included: only for handing to the driver.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The same server, another database (e.g. `postgres`, to create this one).
    ///
    /// # Errors
    /// [`Error::Validation`] on `database_url` if it has no `scheme://` part.
    pub fn with_database(&self, database: &str) -> Result<Self> {
        let parts = Parts::parse(&self.0).ok_or_else(|| {
            Error::validation("database_url", "must look like postgres://host/db")
        })?;
        Ok(Self(parts.join(
            parts.userinfo,
            &format!("/{database}"),
            parts.query,
        )))
    }

    /// The same server and database, as another role: `user` and, if
    /// given, `password` replace the URL's credentials (percent-encoded as
    /// needed). E.g. the application role's URL from the owner's.
    ///
    /// ```
    /// use todo_store::DatabaseUrl;
    /// let owner = DatabaseUrl::new("postgres://owner:pw@db.example.com/app?sslmode=require");
    /// let app = owner.with_user("todo_app", Some("p@ss")).unwrap();
    /// assert_eq!(app.expose(), "postgres://todo_app:p%40ss@db.example.com/app?sslmode=require");
    /// ```
    ///
    /// # Errors
    /// [`Error::Validation`] on `database_url` if it has no `scheme://` part.
    pub fn with_user(&self, user: &str, password: Option<&str>) -> Result<Self> {
        let parts = Parts::parse(&self.0).ok_or_else(|| {
            Error::validation("database_url", "must look like postgres://host/db")
        })?;
        let mut userinfo = percent_encode(user);
        if let Some(password) = password {
            userinfo.push(':');
            userinfo.push_str(&percent_encode(password));
        }
        Ok(Self(parts.join(Some(&userinfo), parts.path, parts.query)))
    }

    /// The database name in the path, percent-decoded as libpq decodes it;
    /// `None` if the URL names none or its escapes are malformed.
    pub fn database(&self) -> Option<String> {
        let parts = Parts::parse(&self.0)?;
        percent_decode(parts.path.trim_start_matches('/')).filter(|name| !name.is_empty())
    }

    /// Whether this is a `postgres://` (or `postgresql://`) URL, the form
    /// whose parameters the library can read.
    pub(crate) fn is_url(&self) -> bool {
        Parts::parse(&self.0).is_some()
    }

    /// The value of query parameter `key` (keys and values percent-decoded,
    /// the last one wins, as in libpq).
    pub(crate) fn param(&self, key: &str) -> Option<String> {
        let parts = Parts::parse(&self.0)?;
        parts
            .query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter_map(|pair| pair.split_once('='))
            .rfind(|(k, _)| percent_decode(k).is_some_and(|k| k == key))
            .and_then(|(_, value)| percent_decode(value))
    }

    /// The hosts libpq may connect to: the `host` parameter if given, else
    /// the comma-separated hosts of the authority (ports removed), plus any
    /// `hostaddr`; an empty string means the default Unix socket.
    pub(crate) fn hosts(&self) -> Vec<String> {
        let decode = |host: &str| percent_decode(host).unwrap_or_else(|| host.to_owned());
        let mut hosts: Vec<String> = match self.param("host") {
            // Ports are a parameter of their own here.
            Some(list) => list.split(',').map(decode).collect(),
            None => {
                let authority = Parts::parse(&self.0).map_or("", |parts| parts.host);
                authority
                    .split(',')
                    .map(|host| {
                        let host = decode(host);
                        // `[::1]:5432` keeps its brackets; `host:5432` loses the port.
                        match host.rfind(':') {
                            Some(i) if !host.starts_with('/') && !host[i..].contains(']') => {
                                host[..i].to_owned()
                            }
                            _ => host,
                        }
                    })
                    .collect()
            }
        };
        if let Some(addresses) = self.param("hostaddr") {
            hosts.extend(addresses.split(',').map(str::to_owned));
        }
        hosts
    }

    /// This URL without any of the query parameters `keys` (compared
    /// percent-decoded); a string that is not a URL is returned as it is.
    #[cfg(feature = "async")]
    pub(crate) fn without_params(&self, keys: &[&str]) -> Self {
        let Some(parts) = Parts::parse(&self.0) else {
            return self.clone();
        };
        let kept: Vec<&str> = parts
            .query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|pair| {
                let key = pair.split('=').next().unwrap_or(pair);
                !percent_decode(key).is_some_and(|key| keys.contains(&key.as_str()))
            })
            .collect();
        let query = kept.join("&");
        let query = (!query.is_empty()).then_some(query.as_str());
        Self(parts.join(parts.userinfo, parts.path, query))
    }

    /// Adds `key=value` to the query string unless `key` is already there.
    pub(crate) fn with_default_param(&self, key: &str, value: &str) -> Self {
        let Some(parts) = Parts::parse(&self.0) else {
            return self.clone();
        };
        let present = parts
            .query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .any(|pair| pair.split('=').next() == Some(key));
        if present {
            return self.clone();
        }
        let query = match parts.query {
            Some(query) => format!("{query}&{key}={value}"),
            None => format!("{key}={value}"),
        };
        Self(parts.join(parts.userinfo, parts.path, Some(&query)))
    }

    /// `message` with this URL's password removed, raw and percent-decoded.
    /// libpq quotes parts of a malformed URL in its errors, so every error
    /// about a connection passes through here.
    pub fn scrub(&self, message: &str) -> String {
        let mut secrets: Vec<String> = Vec::new();
        if let Some(parts) = Parts::parse(&self.0) {
            if let Some((_, password)) = parts.userinfo.and_then(|u| u.split_once(':')) {
                secrets.push(password.to_owned());
                // libpq ends the userinfo at the *first* `@`, so it may quote
                // the rest of a password with an unescaped `@` as a host name.
                secrets.extend(
                    password
                        .split('@')
                        .filter(|piece| piece.len() >= 4)
                        .map(str::to_owned),
                );
            }
            for pair in parts.query.into_iter().flat_map(|q| q.split('&')) {
                if let Some((key, value)) = pair.split_once('=')
                    && key.eq_ignore_ascii_case("password")
                {
                    secrets.push(value.to_owned());
                }
            }
        }
        let decoded: Vec<String> = secrets.iter().filter_map(|s| percent_decode(s)).collect();
        secrets.extend(decoded);
        // Longest first, so that a secret containing another is removed whole.
        secrets.retain(|secret| !secret.is_empty());
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        let mut out = message.to_owned();
        for secret in &secrets {
            out = out.replace(secret.as_str(), "***");
        }
        out
    }

    fn redacted(&self) -> String {
        let Some(parts) = Parts::parse(&self.0) else {
            return "<unparsed connection string>".to_owned();
        };
        let userinfo = parts
            .userinfo
            .map(|userinfo| match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:***"),
                None => userinfo.to_owned(),
            });
        let query = parts.query.map(|query| {
            query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => pair.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("&")
        });
        parts.join(userinfo.as_deref(), parts.path, query.as_deref())
    }
}

/// `%XX` escapes to bytes; `None` for a malformed escape or non-UTF-8 result.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// `text` with everything but RFC 3986's unreserved characters
/// percent-encoded, as URL userinfo needs.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({:?})", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_every_password_form() {
        for (raw, shown) in [
            ("postgres://u:p@h/db", "postgres://u:***@h/db"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            (
                "postgres://h/db?password=p&sslmode=require",
                "postgres://h/db?password=***&sslmode=require",
            ),
            (
                "postgresql://u:p%40ss@h:5432/db",
                "postgresql://u:***@h:5432/db",
            ),
            ("postgres://u:p?a:s@h/db?x=1", "postgres://u:***@h/db?x=1"),
            ("postgres://u:p@ss@h/db", "postgres://u:***@h/db"),
            (
                "postgres://u:p@h?sslmode=require",
                "postgres://u:***@h?sslmode=require",
            ),
            ("host=h password=p", "<unparsed connection string>"),
        ] {
            let url = DatabaseUrl::new(raw);
            assert_eq!(url.to_string(), shown);
            assert!(!format!("{url:?}").contains(":p"));
        }
    }

    #[test]
    fn database_swaps_keep_credentials_and_query() {
        let url = DatabaseUrl::new("postgres://u:p?w@h:5432/app?sslmode=require");
        assert_eq!(url.database().as_deref(), Some("app"));
        let admin = url.with_database("postgres").expect("valid url");
        assert_eq!(
            admin.expose(),
            "postgres://u:p?w@h:5432/postgres?sslmode=require"
        );
        assert_eq!(DatabaseUrl::new("postgres://h").database(), None);
        assert_eq!(
            DatabaseUrl::new("postgres://h?sslmode=require").database(),
            None
        );
        assert_eq!(
            DatabaseUrl::new("postgres://h/my%20db")
                .database()
                .as_deref(),
            Some("my db")
        );
        assert_eq!(DatabaseUrl::new("postgres://h/bad%zz").database(), None);
    }

    #[test]
    fn scrub_removes_raw_and_decoded_passwords() {
        let url = DatabaseUrl::new("postgres://u:pa%3Fss%zz@h/db?password=other");
        let message = r#"invalid token: "pa%3Fss%zz"; decoded pa?ss; other"#;
        let scrubbed = url.scrub(message);
        assert_eq!(scrubbed, r#"invalid token: "***"; decoded pa?ss; ***"#);
        let url = DatabaseUrl::new("postgres://u:p%20w@h/db");
        assert_eq!(url.scrub("bad p w and p%20w"), "bad *** and ***");
    }

    #[test]
    fn default_params_go_into_the_query_not_the_password() {
        let url = DatabaseUrl::new("postgres://u:p?w@h/db");
        assert_eq!(
            url.with_default_param("connect_timeout", "3").expose(),
            "postgres://u:p?w@h/db?connect_timeout=3"
        );
    }
}
