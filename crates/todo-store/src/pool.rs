//! [`Store`]: the r2d2 connection pool that backs the repositories.

use std::{
    fmt,
    sync::{Arc, Condvar, Mutex, PoisonError},
    time::{Duration, Instant},
};

use diesel::{
    Connection, PgConnection,
    connection::{Instrumentation, InstrumentationEvent, get_default_instrumentation},
    r2d2::{ConnectionManager, ManageConnection, Pool, PooledConnection},
    result::{DatabaseErrorKind, Error as DieselError},
};

use crate::{
    DatabaseUrl, Error, Result, RetryPolicy, StatementCache, StoreConfig, session::CallSettings,
};

/// Initialises OpenSSL, which libpq uses for TLS, before libpq does, and
/// without the clean-up OpenSSL otherwise registers to run at process exit.
///
/// The pool opens connections on r2d2's worker threads, in the background.
/// When a program returns from `main` while one of them is in a TLS
/// handshake, OpenSSL's exit-time clean-up frees the state that handshake
/// is using, and the process dies with SIGSEGV on its way out (OpenSSL issue
/// 3505). Whoever initialises OpenSSL first decides whether that clean-up is
/// registered; `openssl_sys::init` asks for none (the operating system
/// reclaims the memory anyway). Both link the same system `libssl`.
pub(crate) fn prepare_tls_library() {
    openssl_sys::init();
}

/// A connection checked out of a [`Store`]; it goes back to the pool on drop.
pub type PooledConn = PooledConnection<StoreManager>;

/// The pool-backed entry point: implements [`TaskRepo`](crate::TaskRepo) and
/// [`UserRepo`](crate::UserRepo). Cheap to clone; clones share the pool, so
/// a web server keeps one and hands each request its own clone (as axum's
/// `State` extractor does), which the `&mut self` repository methods need.
///
/// Dropping the last clone waits, at most the connect timeout, until the
/// pool opens no connection in the background any more (usually a few
/// milliseconds), so that a program may return from `main` right after
/// using a store.
#[derive(Clone)]
pub struct Store {
    pool: Pool<StoreManager>,
    /// Kept to scrub its password from connection errors.
    url: DatabaseUrl,
    /// Applied to every repository call (see `repo/backend.rs`).
    pub(crate) retry: RetryPolicy,
    /// How owner-scoped calls are scoped and timed out.
    pub(crate) calls: CallSettings,
    /// The last clone dropped waits for connections still being opened.
    _closing: Arc<Closing>,
}

impl Store {
    /// Opens a pool after checking, with one direct connection, that the
    /// database answers.
    ///
    /// # Errors
    /// [`Error::Validation`](crate::Error::Validation) for an invalid
    /// configuration; [`Error::Unavailable`](crate::Error::Unavailable) if no
    /// connection could be opened within `connect_timeout`.
    pub fn connect(config: &StoreConfig) -> Result<Self> {
        // One direct connection first: a refused or misconfigured server is
        // reported at once with libpq's own message, instead of after r2d2 has
        // retried for the whole checkout timeout.
        drop(config.establish()?);
        let url = config.driver_url();
        let opening = Arc::new(Opening::default());
        let manager = StoreManager {
            inner: ConnectionManager::new(url.expose()),
            opening: Arc::clone(&opening),
            statement_cache: config.statement_cache,
            check_idle_after: config.check_idle_after,
            last_loss: Mutex::new(None),
        };
        let pool = Pool::builder()
            .max_size(config.max_connections)
            .min_idle(Some(config.min_idle))
            .connection_timeout(config.connect_timeout)
            .test_on_check_out(true)
            .build_unchecked(manager);
        Ok(Self {
            pool,
            url,
            retry: config.retry,
            calls: config.call_settings(),
            _closing: Arc::new(Closing {
                opening,
                limit: config.connect_timeout,
            }),
        })
    }

    /// Checks out a connection, e.g. to run several repository calls in one
    /// transaction (`conn.transaction(|conn| conn.create_task(..))`).
    ///
    /// # Errors
    /// [`Error::Unavailable`](crate::Error::Unavailable) if none is free or can
    /// be opened within `connect_timeout`.
    pub fn conn(&self) -> Result<PooledConn> {
        self.pool
            .get()
            .map_err(|err| Error::from_checkout(&self.url, err))
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.pool.state();
        f.debug_struct("Store")
            .field("connections", &state.connections)
            .field("idle_connections", &state.idle_connections)
            .finish_non_exhaustive()
    }
}

/// How many connections r2d2's worker threads are opening right now.
#[derive(Debug, Default)]
struct Opening {
    count: Mutex<usize>,
    none: Condvar,
}

impl Opening {
    /// Counts one connection being opened until the guard is dropped.
    fn begin(self: &Arc<Self>) -> OpeningGuard {
        *self.count.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        OpeningGuard(Arc::clone(self))
    }
}

/// One connection being opened (see [`Opening::begin`]).
struct OpeningGuard(Arc<Opening>);

impl Drop for OpeningGuard {
    fn drop(&mut self) {
        let mut count = self.0.count.lock().unwrap_or_else(PoisonError::into_inner);
        *count -= 1;
        if *count == 0 {
            self.0.none.notify_all();
        }
    }
}

/// Shared by every clone of a [`Store`]. When the last one is dropped, it
/// waits (at most the connect timeout) until no connection is being opened
/// in the background any more: a program that returns from `main` right
/// after using a store then never exits while a worker thread is inside
/// libpq's TLS or GSSAPI handshake, whose libraries' exit-time clean-up
/// would pull state from under it (see [`prepare_tls_library`]; this is the
/// second wall, for a program whose first connection was not the
/// library's).
#[derive(Debug)]
struct Closing {
    opening: Arc<Opening>,
    limit: Duration,
}

impl Drop for Closing {
    fn drop(&mut self) {
        let count = self
            .opening
            .count
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let _ = self
            .opening
            .none
            .wait_timeout_while(count, self.limit, |count| *count > 0);
    }
}

/// The r2d2 connection manager of a [`Store`]'s pool. It is public only
/// because [`PooledConn`] names it; nothing else of the pool is exposed, so
/// that its tuning stays the library's ([`StoreConfig`]).
///
/// It is Diesel's manager, except that a connection handed
/// back less than [`StoreConfig::check_idle_after`] ago is handed out again
/// without the `SELECT 1` round trip of r2d2's checkout test (the approach
/// of HikariCP's "alive bypass window"), and that a connection on which a
/// statement failed because the connection itself was lost is dropped when
/// it comes back, rather than trusted again. Such a loss (the server may have
/// restarted) also ends the trust in every connection handed back before
/// it: each is checked at its next checkout.
///
/// Both facts are kept in the connection's Diesel instrumentation (the one
/// per-connection slot Diesel offers), which passes every event on to a
/// fresh instance of the application's default instrumentation, if one is
/// set (so that instance sees the queries, but not the connection's opening,
/// which went to the instance Diesel made first). An application that
/// replaces a pooled connection's instrumentation turns the bypass off for
/// that connection: it is then checked on every checkout.
#[derive(Debug)]
pub struct StoreManager {
    inner: ConnectionManager<PgConnection>,
    opening: Arc<Opening>,
    statement_cache: StatementCache,
    check_idle_after: Duration,
    /// When a connection was last found lost: the server may have restarted,
    /// so every connection handed back before then is checked before use.
    last_loss: Mutex<Option<Instant>>,
}

impl ManageConnection for StoreManager {
    type Connection = PgConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PgConnection, Self::Error> {
        let _opening = self.opening.begin();
        prepare_tls_library();
        let mut conn = self.inner.connect()?;
        self.statement_cache.apply(&mut conn);
        conn.set_instrumentation(Tracker {
            returned_at: Instant::now(),
            lost: false,
            // Keep whatever instrumentation the application installed.
            next: get_default_instrumentation(),
        });
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut PgConnection) -> Result<(), Self::Error> {
        let last_loss = *self
            .last_loss
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let recent = tracker(conn).is_some_and(|tracker| {
            tracker.returned_at.elapsed() < self.check_idle_after
                && last_loss.is_none_or(|loss| tracker.returned_at > loss)
        });
        if recent {
            return Ok(());
        }
        self.inner.is_valid(conn)
    }

    /// r2d2 asks this when a connection comes back: the moment to note.
    fn has_broken(&self, conn: &mut PgConnection) -> bool {
        let lost = match tracker(conn) {
            Some(tracker) => {
                tracker.returned_at = Instant::now();
                tracker.lost
            }
            None => false,
        };
        if lost {
            *self
                .last_loss
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        }
        lost || self.inner.has_broken(conn)
    }
}

fn tracker(conn: &mut PgConnection) -> Option<&mut Tracker> {
    conn.instrumentation().downcast_mut::<Tracker>()
}

/// When a pooled connection was last handed back, and whether a statement
/// failed on it because the connection was gone. (Diesel's own `is_broken`
/// only looks at the transaction state, so a dead idle connection passes it.)
struct Tracker {
    returned_at: Instant,
    lost: bool,
    next: Option<Box<dyn Instrumentation>>,
}

impl Instrumentation for Tracker {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::FinishQuery {
            error:
                Some(DieselError::DatabaseError(
                    DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                    _,
                )),
            ..
        } = &event
        {
            self.lost = true;
        }
        if let Some(next) = &mut self.next {
            next.on_connection_event(event);
        }
    }
}
