//! PgBouncer in transaction mode in front of the test server, for the
//! pooler tests: one server connection serves many clients, one transaction
//! at a time, as behind Neon's `-pooler` endpoint or a self-hosted PgBouncer.
//!
//! It is Debian's `pgbouncer` (1.18 on Debian 12: no prepared-statement
//! support), started on a free local port with a configuration of its own in
//! a temporary directory, and stopped (and the directory removed) on drop.
//! PgBouncer refuses to run as root, so as root it runs as the `postgres` OS
//! user, as [`Cluster`](crate::cluster::Cluster)'s server does.
//!
//! ```no_run
//! use todo_store_tests::{TestDb, pgbouncer::PgBouncer};
//! let db = TestDb::new();
//! let bouncer = PgBouncer::start();
//! let url = bouncer.url_for(db.url()); // the same database, through the pooler
//! let mut conn = bouncer.conn(&url);   // a plain client (no statement cache)
//! // declared after `db`, the bouncer is stopped before the database is dropped
//! ```
//!
//! The settings, and why:
//! - `pool_mode = transaction`, `default_pool_size = 2`: every pair of
//!   database and role gets at most two server connections, so a test's
//!   clients take turns on them and whatever one leaves on a server
//!   connection, the next one finds.
//! - `* = host=… port=…`: any database name is forwarded, so each test's own
//!   [`TestDb`](crate::TestDb) is reachable without a reload.
//! - `auth_type = trust` with an `auth_file` listing the superusers, plus
//!   `auth_user`: trust alone admits only the users in the file, and the
//!   application roles the harness makes come and go during the run; with
//!   `auth_user` set, PgBouncer looks a user missing from the file up in
//!   `pg_shadow` (its default `auth_query`, as that superuser) and then
//!   trusts it too. The server behind it must trust local logins, as the
//!   local one does; the client's password is not checked here.
//! - No `max_prepared_statements`: 1.18 has none, so named prepared
//!   statements (Diesel's statement cache) do not follow a client from one
//!   server connection to the next.
//! - No `ignore_startup_parameters`: libpq, as Diesel uses it, sends only
//!   `user` and `database` at start-up (plus `application_name`,
//!   `client_encoding` or `options` if the environment sets `PGAPPNAME`,
//!   `PGCLIENTENCODING` or `PGOPTIONS`; 1.18 refuses `options`). Diesel's
//!   session-level `SET TIME ZONE 'UTC'` and `SET CLIENT_ENCODING` after
//!   connecting are parameters PgBouncer tracks and restores per client.

use std::{
    fs,
    net::TcpStream,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

use diesel::{
    Connection, PgConnection,
    connection::{CacheSize, SimpleConnection},
};
use todo_store::DatabaseUrl;

use crate::cluster::{free_port, is_root, postgres_id};

/// Where Debian installs the program (often not on a root `PATH` without `sbin`).
const DEBIAN_BINARY: &str = "/usr/sbin/pgbouncer";
const DIR_PREFIX: &str = "todo-store-pgbouncer-";
/// Longest wait for PgBouncer to accept connections after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running PgBouncer; stopped, and its directory removed, on drop.
#[derive(Debug)]
pub struct PgBouncer {
    dir: PathBuf,
    port: u16,
    child: Child,
}

impl PgBouncer {
    /// Starts PgBouncer in front of the server of
    /// [`database_url`](crate::database_url) and waits until it accepts
    /// connections.
    ///
    /// # Panics
    /// If the `pgbouncer` program is not installed (Debian's package
    /// `pgbouncer`), or it does not come up.
    pub fn start() -> Self {
        let binary = binary();
        sweep();
        let server = Server::of(&crate::database_url());
        // The free port may be taken between the check and PgBouncer's bind.
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Self::try_start(&binary, &server) {
                Ok(bouncer) => return bouncer,
                Err(log) => failures.push(log),
            }
        }
        panic!("PgBouncer did not start:\n{}", failures.join("\n---\n"));
    }

    fn try_start(binary: &Path, server: &Server) -> Result<Self, String> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "{DIR_PREFIX}{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        // Files made by root here are world-readable (umask 022), which is
        // all that the `postgres` user needs of them.
        let users: String = server
            .superusers
            .iter()
            .map(|user| format!("\"{user}\" \"\"\n"))
            .collect();
        fs::write(dir.join("users.txt"), users).unwrap();
        fs::write(
            dir.join("pgbouncer.ini"),
            format!(
                "[databases]\n\
                 * = host={host} port={server_port}\n\
                 \n\
                 [pgbouncer]\n\
                 listen_addr = 127.0.0.1\n\
                 listen_port = {port}\n\
                 unix_socket_dir =\n\
                 pool_mode = transaction\n\
                 default_pool_size = 2\n\
                 max_client_conn = 400\n\
                 auth_type = trust\n\
                 auth_file = {users}\n\
                 auth_user = {auth_user}\n\
                 {prepared}",
                prepared = prepared_statements_off(binary),
                host = server.host,
                server_port = server.port,
                users = dir.join("users.txt").display(),
                auth_user = server.superusers[0],
            ),
        )
        .unwrap();
        let log = fs::File::create(dir.join("pgbouncer.log")).unwrap();
        let mut command = Command::new(binary);
        command
            .arg(dir.join("pgbouncer.ini"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        if is_root() {
            command
                .uid(postgres_id("-u").parse().unwrap())
                .gid(postgres_id("-g").parse().unwrap());
        }
        let child = command
            .spawn()
            .unwrap_or_else(|err| panic!("cannot run {}: {err}", binary.display()));
        // For the sweep, should this process die without dropping it.
        fs::write(dir.join("pgbouncer.pid"), child.id().to_string()).unwrap();
        let mut bouncer = Self { dir, port, child };
        bouncer.wait_ready()?;
        Ok(bouncer)
    }

    /// Waits until PgBouncer accepts a connection; its log if it exits first
    /// or never does.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("PgBouncer exited ({status}):\n{}", self.log()));
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "PgBouncer did not accept within {START_TIMEOUT:?}:\n{}",
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// PgBouncer's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default()
    }

    /// The port it listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `url` (a URL of the test server, e.g. [`TestDb::url`](crate::TestDb::url)
    /// or an application role's), with the same role, password, database and
    /// parameters, through this PgBouncer.
    ///
    /// # Panics
    /// If `url` is not a `postgres://` URL, or sets `host`, `hostaddr` or
    /// `port` as query parameters (they would override the address).
    pub fn url_for(&self, url: &DatabaseUrl) -> DatabaseUrl {
        crate::local_url::via_local_port(url, self.port)
    }

    /// A plain client connection to `url` (a URL from
    /// [`url_for`](Self::url_for)), with Diesel's prepared-statement cache
    /// off: a named statement prepared on one server connection is missing
    /// on the next behind PgBouncer 1.18, so a well-behaved client of it
    /// sends each statement unnamed, as `StatementCache::Disabled` does for a
    /// store.
    pub fn conn(&self, url: &DatabaseUrl) -> PgConnection {
        let mut conn = PgConnection::establish(url.expose())
            .unwrap_or_else(|err| panic!("cannot connect through PgBouncer to {url}: {err}"));
        conn.set_prepared_statement_cache_size(CacheSize::Disabled);
        conn
    }
}

impl PgBouncer {
    /// `look` run once on each of the pooler's two server connections for
    /// `url`: two clients, each in a transaction of its own at the same
    /// time, are on different ones.
    pub fn on_both_server_connections<T>(
        &self,
        url: &DatabaseUrl,
        look: impl Fn(&mut PgConnection) -> T,
    ) -> [T; 2] {
        let mut first = self.conn(url);
        let mut second = self.conn(url);
        first.batch_execute("BEGIN").unwrap();
        second.batch_execute("BEGIN").unwrap();
        let seen = [look(&mut first), look(&mut second)];
        first.batch_execute("COMMIT").unwrap();
        second.batch_execute("COMMIT").unwrap();
        seen
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        // SIGKILL: immediate, and its server connections close with it.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The server behind the pooler: its address, and the roles that PgBouncer
/// admits from its user list (the first also runs its `auth_query`).
#[derive(Debug)]
struct Server {
    host: String,
    port: u16,
    superusers: Vec<String>,
}

impl Server {
    fn of(url: &DatabaseUrl) -> Self {
        let (host, port) = crate::local_url::server_address(url);
        // libpq's default role is the OS user's name.
        let url_user = crate::local_url::user(url).unwrap_or_else(os_user);
        let mut superusers = vec![url_user];
        for user in ["root", "postgres"] {
            if !superusers.iter().any(|known| known == user) {
                superusers.push(user.to_owned());
            }
        }
        Self {
            host,
            port,
            superusers,
        }
    }
}

fn os_user() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The `pgbouncer` program: on the `PATH`, or where Debian installs it.
fn binary() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("pgbouncer"))
        .find(|candidate| candidate.is_file());
    on_path
        .or_else(|| Some(PathBuf::from(DEBIAN_BINARY)).filter(|path| path.is_file()))
        .unwrap_or_else(|| {
            panic!(
                "PgBouncer is not installed: the pooler tests need the `pgbouncer` program \
                 (Debian package `pgbouncer`: apt-get install pgbouncer; .ci/run installs it)"
            )
        })
}

/// Stops the PgBouncers of test processes that died without dropping theirs,
/// and removes their directories.
fn sweep() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(owner) = name
            .strip_prefix(DIR_PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if Path::new(&format!("/proc/{owner}")).exists() {
            continue; // its test process still runs (or the id was reused)
        }
        let dir = entry.path();
        if let Some(pid) = fs::read_to_string(dir.join("pgbouncer.pid"))
            .ok()
            .and_then(|pid| pid.trim().parse::<u32>().ok())
        {
            let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "pgbouncer" {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).output();
            }
        }
        let _ = fs::remove_dir_all(&dir);
    }
}

/// The setting that keeps a PgBouncer of 1.21 or later (which can track
/// prepared statements, and does by default from 1.24 on) as blind to them
/// as 1.18, which these tests are written against; nothing for older ones,
/// which do not know the setting.
fn prepared_statements_off(binary: &Path) -> &'static str {
    let output = Command::new(binary).arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&output.stdout);
    let tracks = version
        .split_whitespace()
        .nth(1)
        .and_then(|number| {
            let mut parts = number.split('.').map(|part| part.parse::<u32>().ok());
            Some((parts.next()??, parts.next()??))
        })
        .is_some_and(|minor| minor >= (1, 21));
    if tracks {
        "max_prepared_statements = 0\n"
    } else {
        ""
    }
}
