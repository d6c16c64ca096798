//! `--link-delay-us`: a TCP proxy in front of the server that holds every
//! chunk of bytes, each way, for a fixed delay before passing it on, as a
//! network link would (a Neon compute is a hop away). Chunks keep flowing
//! while earlier ones wait, so a client that pipelines still pays one
//! round trip, not one per message.

use std::{
    io::{self, Read, Write},
    net::{Shutdown, TcpListener, TcpStream},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    thread,
    time::{Duration, Instant},
};

use todo_store::{DatabaseUrl, Error};

/// A running proxy; its threads stop and its connections close on drop.
#[derive(Debug)]
pub struct DelayProxy {
    port: u16,
    stop: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
}

impl DelayProxy {
    /// Forwards a free local port to `host:port`, each way after `delay`.
    ///
    /// # Errors
    /// The operating system's, if no local port can be bound.
    pub fn start(host: String, port: u16, delay: Duration) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let streams = Arc::new(Mutex::new(Vec::new()));
        {
            let (stop, streams) = (Arc::clone(&stop), Arc::clone(&streams));
            thread::spawn(move || accept(&listener, &(host, port), delay, &stop, &streams));
        }
        Ok(Self {
            port: local,
            stop,
            streams,
        })
    }

    /// `url` with its host and port replaced by this proxy's.
    ///
    /// # Errors
    /// [`Error::Validation`] unless `url` is a `postgres://` URL.
    pub fn url_for(&self, url: &DatabaseUrl) -> Result<DatabaseUrl, Error> {
        let (_, _, rebuild) = split(url)?;
        Ok(DatabaseUrl::new(rebuild(&format!(
            "127.0.0.1:{}",
            self.port
        ))))
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for stream in self
            .streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// The host and port of a `postgres://` URL (port 5432 if none), and a
/// function that writes the URL with another `host:port`.
///
/// # Errors
/// [`Error::Validation`] on `database_url` for anything else.
pub fn split(url: &DatabaseUrl) -> Result<(String, u16, impl Fn(&str) -> String + use<>), Error> {
    let invalid = || {
        Error::validation(
            "database_url",
            "--link-delay-us needs a postgres:// URL naming one host",
        )
    };
    let text = url.expose().to_owned();
    let scheme_end = text.find("://").ok_or_else(invalid)? + 3;
    let rest = &text[scheme_end..];
    let authority_len = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    let host_start = authority.rfind('@').map_or(0, |at| at + 1);
    let host_port = &authority[host_start..];
    if host_port.is_empty() || host_port.contains(',') || host_port.starts_with('[') {
        return Err(invalid());
    }
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().map_err(|_| invalid())?),
        None => (host_port, 5432),
    };
    let (before, after) = (
        text[..scheme_end + host_start].to_owned(),
        text[scheme_end + authority_len..].to_owned(),
    );
    Ok((host.to_owned(), port, move |new: &str| {
        format!("{before}{new}{after}")
    }))
}

fn accept(
    listener: &TcpListener,
    server: &(String, u16),
    delay: Duration,
    stop: &AtomicBool,
    streams: &Mutex<Vec<TcpStream>>,
) {
    while !stop.load(Ordering::SeqCst) {
        let Ok((client, _)) = listener.accept() else {
            thread::sleep(Duration::from_millis(5));
            continue;
        };
        let Ok(upstream) = TcpStream::connect((server.0.as_str(), server.1)) else {
            continue;
        };
        let copies = [&client, &upstream, &client, &upstream].map(TcpStream::try_clone);
        let [
            Ok(client_out),
            Ok(upstream_out),
            Ok(client_keep),
            Ok(upstream_keep),
        ] = copies
        else {
            continue;
        };
        if client.set_nonblocking(false).is_err() {
            continue;
        }
        let _ = client.set_nodelay(true);
        let _ = upstream.set_nodelay(true);
        streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend([client_keep, upstream_keep]);
        pipe(client, upstream_out, delay);
        pipe(upstream, client_out, delay);
    }
}
/// Copies `from` to `to`, each chunk `delay` after it was read.
fn pipe(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let (send, receive) = mpsc::channel::<(Instant, Vec<u8>)>();
    thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = from.read(&mut buf) {
            if send
                .send((Instant::now() + delay, buf[..n].to_vec()))
                .is_err()
            {
                break;
            }
        }
    });
    thread::spawn(move || {
        for (due, bytes) in receive {
            thread::sleep(due.saturating_duration_since(Instant::now()));
            if to.write_all(&bytes).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_split_at_its_host_and_port() {
        let url = DatabaseUrl::new("postgres://u:p@db.example:6543/app?sslmode=disable");
        let (host, port, rebuild) = split(&url).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!((host.as_str(), port), ("db.example", 6543));
        assert_eq!(
            rebuild("127.0.0.1:1"),
            "postgres://u:p@127.0.0.1:1/app?sslmode=disable"
        );
        let (host, port, rebuild) = split(&DatabaseUrl::new("postgres://localhost/x"))
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            (host.as_str(), port, rebuild("h:2")),
            ("localhost", 5432, "postgres://h:2/x".to_owned())
        );
        assert!(split(&DatabaseUrl::new("host=localhost dbname=x")).is_err());
    }
}
