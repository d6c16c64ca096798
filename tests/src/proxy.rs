//! A TCP proxy in front of the test server that, like a Neon compute waking
//! from suspension, accepts nothing for a while and then forwards bytes both
//! ways. The kernel still completes the TCP handshake of a client that
//! connects meanwhile (the connection waits in the listen backlog), so the
//! client sees a connection that does not answer yet, as a cold endpoint
//! looks.
//!
//! ```no_run
//! use std::time::Duration;
//! use todo_store_tests::{TestDb, proxy::WakingProxy};
//! let db = TestDb::new();
//! let proxy = WakingProxy::start(Duration::from_secs(3));
//! let url = proxy.url_for(db.url()); // the same database, through the proxy
//! // the proxy and its threads stop on drop
//! ```

use std::{
    io,
    net::{Shutdown, TcpListener, TcpStream},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use todo_store::DatabaseUrl;

/// How often the acceptor looks for a connection or a stop.
const POLL: Duration = Duration::from_millis(10);

/// A running proxy; its threads stop, and its connections close, on drop.
#[derive(Debug)]
pub struct WakingProxy {
    port: u16,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<Vec<JoinHandle<()>>>>,
}

#[derive(Debug, Default)]
struct Shared {
    stop: AtomicBool,
    accepted: AtomicUsize,
    /// Both ends of every forwarded connection, to close them on drop.
    streams: Mutex<Vec<TcpStream>>,
}

impl WakingProxy {
    /// Listens on a free local port at once, accepts connections only
    /// after `asleep_for`, and forwards each to the server of
    /// [`database_url`](crate::database_url).
    pub fn start(asleep_for: Duration) -> Self {
        let (host, port) = crate::local_url::server_address(&crate::database_url());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let local_port = listener.local_addr().unwrap().port();
        let awake_at = Instant::now() + asleep_for;
        let shared = Arc::new(Shared::default());
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || accept_loop(&listener, awake_at, (&host, port), &shared))
        };
        Self {
            port: local_port,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// `url` (a URL of the test server), through this proxy.
    pub fn url_for(&self, url: &DatabaseUrl) -> DatabaseUrl {
        crate::local_url::via_local_port(url, self.port)
    }

    /// How many connections it has accepted and forwarded so far.
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for WakingProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // The acceptor sees the stop within one poll and hands back its pipes.
        let pipes = self
            .acceptor
            .take()
            .and_then(|acceptor| acceptor.join().ok())
            .unwrap_or_default();
        // Closing both ends ends both pipes of every connection.
        for stream in self
            .shared
            .streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            let _ = stream.shutdown(Shutdown::Both);
        }
        for pipe in pipes {
            let _ = pipe.join();
        }
    }
}

fn accept_loop(
    listener: &TcpListener,
    awake_at: Instant,
    server: (&str, u16),
    shared: &Shared,
) -> Vec<JoinHandle<()>> {
    let mut pipes = Vec::new();
    while !shared.stop.load(Ordering::SeqCst) {
        if Instant::now() < awake_at {
            thread::sleep(POLL);
            continue;
        }
        match listener.accept() {
            Ok((client, _)) => {
                // The client may have given up meanwhile; then so does this.
                let Ok(upstream) = TcpStream::connect(server) else {
                    continue;
                };
                if client.set_nonblocking(false).is_err() {
                    continue;
                }
                shared.accepted.fetch_add(1, Ordering::SeqCst);
                let streams = [&client, &upstream].map(|s| s.try_clone().unwrap());
                shared
                    .streams
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend(streams);
                pipes.push(pipe(
                    client.try_clone().unwrap(),
                    upstream.try_clone().unwrap(),
                ));
                pipes.push(pipe(upstream, client));
            }
            // Nothing waiting (or a client that left): look again shortly.
            Err(_) => thread::sleep(POLL),
        }
    }
    pipes
}

/// Copies `from` to `to` until either closes, then passes the end on.
fn pipe(mut from: TcpStream, mut to: TcpStream) -> JoinHandle<()> {
    thread::spawn(move || {
        let _ = io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Write);
    })
}
