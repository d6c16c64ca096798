//! A TCP proxy in front of the test server that counts flights: each time
//! the client sends after the server has answered, a new round trip has
//! begun. A call that sends all its messages before waiting is one flight,
//! however many messages and TCP segments it takes.
//!
//! ```no_run
//! use todo_store_tests::{TestDb, flights::FlightCounter};
//! let db = TestDb::new();
//! let counter = FlightCounter::start();
//! let url = counter.url_for(db.url()); // the same database, through the proxy
//! let before = counter.flights();
//! // … one call on `url` …
//! let flights = counter.flights() - before;
//! ```

use std::{
    io::{Read, Write},
    net::{Shutdown, TcpListener, TcpStream},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    thread::{self, JoinHandle},
    time::Duration,
};

use todo_store::DatabaseUrl;

/// A running counter; its threads stop, and its connections close, on drop.
#[derive(Debug)]
pub struct FlightCounter {
    port: u16,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Shared {
    stop: AtomicBool,
    flights: AtomicUsize,
    streams: Mutex<Vec<TcpStream>>,
    pipes: Mutex<Vec<JoinHandle<()>>>,
}

impl FlightCounter {
    /// Starts forwarding a free local port to the test server.
    pub fn start() -> Self {
        let server = crate::local_url::server_address(&crate::database_url());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || accept_loop(&listener, &server, &shared))
        };
        Self {
            port,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// `url` (a URL of the test server), through this proxy.
    pub fn url_for(&self, url: &DatabaseUrl) -> DatabaseUrl {
        crate::local_url::via_local_port(url, self.port)
    }

    /// Flights sent so far, over every connection.
    pub fn flights(&self) -> usize {
        self.shared.flights.load(Ordering::SeqCst)
    }
}

impl Drop for FlightCounter {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        for stream in lock(&self.shared.streams).drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
        for pipe in lock(&self.shared.pipes).drain(..) {
            let _ = pipe.join();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn accept_loop(listener: &TcpListener, server: &(String, u16), shared: &Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        let Ok((client, _)) = listener.accept() else {
            thread::sleep(Duration::from_millis(5));
            continue;
        };
        let Ok(upstream) = TcpStream::connect((server.0.as_str(), server.1)) else {
            continue;
        };
        client.set_nonblocking(false).unwrap();
        let _ = client.set_nodelay(true);
        let _ = upstream.set_nodelay(true);
        lock(&shared.streams).extend([&client, &upstream].map(|s| s.try_clone().unwrap()));
        // Who sent last on this connection: the client (true) or the server.
        let client_sent_last = Arc::new(AtomicBool::new(false));
        let pipes = [
            pipe(
                client.try_clone().unwrap(),
                upstream.try_clone().unwrap(),
                Arc::clone(shared),
                Arc::clone(&client_sent_last),
                true,
            ),
            pipe(
                upstream,
                client,
                Arc::clone(shared),
                client_sent_last,
                false,
            ),
        ];
        lock(&shared.pipes).extend(pipes);
    }
}

/// Copies `from` to `to` until either closes, noting who sent last.
fn pipe(
    mut from: TcpStream,
    mut to: TcpStream,
    shared: Arc<Shared>,
    client_sent_last: Arc<AtomicBool>,
    from_client: bool,
) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let was_client = client_sent_last.swap(from_client, Ordering::SeqCst);
                    if from_client && !was_client {
                        shared.flights.fetch_add(1, Ordering::SeqCst);
                    }
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    })
}

/// The flights of `call`'s second run through `counter` (the first run
/// prepares its statements on the connection).
pub async fn flights_of<F: std::future::Future<Output = ()>>(
    counter: &FlightCounter,
    call: impl Fn() -> F,
) -> usize {
    call().await;
    let before = counter.flights();
    call().await;
    counter.flights() - before
}
