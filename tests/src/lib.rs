//! The test-database harness shared by the workspace's integration tests.
//!
//! Each [`TestDb`] is a fresh PostgreSQL database cloned from a migrated
//! template (`CREATE DATABASE … TEMPLATE …`, about 0.1 s) and dropped when the
//! value is dropped, so tests are isolated, run in parallel under a plain
//! `cargo test`, and leave nothing behind. The server is the one `DATABASE_URL`
//! names (environment, or a `.env` file), by default the local one.
//!
//! The template, `todo_store_tpl_<hash of migrations/>`, is built once and kept
//! as a cache between runs; a template for other migrations, and databases
//! left by crashed runs (older than three hours), are swept away when a run
//! starts.
//!
//! ```no_run
//! use todo_store::{NewUser, UserRepo};
//! use todo_store_tests::TestDb;
//!
//! let db = TestDb::new();
//! let mut conn = db.conn();
//! conn.create_user(NewUser::new("ada@example.com")).unwrap();
//! // `db` is dropped here, and its database with it.
//! ```

#![warn(missing_docs)]
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)] // a test harness fails loudly

pub mod blocking_async;
pub mod cluster;
pub mod flights;
mod local_url;
pub mod pgbouncer;
pub mod proxy;

use std::{
    collections::hash_map::DefaultHasher,
    fs,
    hash::{Hash, Hasher},
    path::Path,
    sync::{
        OnceLock,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use diesel::{
    Connection, PgConnection, QueryableByName, RunQueryDsl,
    connection::SimpleConnection,
    sql_query,
    sql_types::{BigInt, Text},
};
use todo_store::{
    DatabaseUrl, NewUser, OperatorRepo, Owner, Store, StoreConfig, UserRepo, run_migrations,
};

/// The server used when `DATABASE_URL` is not set.
pub const DEFAULT_DATABASE_URL: &str = "postgres://localhost/todo_store";

const TEST_DB_PREFIX: &str = "todo_store_t_";
const TEMPLATE_PREFIX: &str = "todo_store_tpl_";
const APP_ROLE_PREFIX: &str = "todo_store_app_";
/// Serialises template builds and sweeps across concurrent test processes.
const HARNESS_LOCK: i64 = 0x746f_646f_7374;
/// Databases of crashed runs older than this are dropped.
const STALE_AFTER: Duration = Duration::from_secs(3 * 3600);

/// `DATABASE_URL` from the environment or a `.env` file, else the local server.
pub fn database_url() -> DatabaseUrl {
    let _ = dotenvy::dotenv();
    DatabaseUrl::new(std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.into()))
}

/// A database of one's own for one test; dropped with the value.
#[derive(Debug)]
pub struct TestDb {
    name: String,
    url: DatabaseUrl,
}

impl TestDb {
    /// A database with every migration applied and no rows.
    pub fn new() -> Self {
        let template = template();
        Self::create(&format!("TEMPLATE \"{template}\""))
    }

    /// An empty database (no migrations), e.g. to test the migrations.
    pub fn empty() -> Self {
        Self::create("TEMPLATE template0")
    }

    fn create(clause: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "{TEST_DB_PREFIX}{}_{}_{}",
            unix_secs(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        admin_conn()
            .batch_execute(&format!("CREATE DATABASE \"{name}\" {clause}"))
            .unwrap_or_else(|err| panic!("cannot create test database {name}: {err}"));
        let url = database_url().with_database(&name).unwrap();
        Self { name, url }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A URL for this database.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// A new connection to this database.
    pub fn conn(&self) -> PgConnection {
        connect(&self.url)
    }

    /// A new account with this email on this database, and its owner (by
    /// the operator path: tests need no password round).
    pub fn owner(&self, email: &str) -> Owner {
        let mut store = self.store();
        store.create_user(NewUser::new(email)).unwrap();
        store.operator_owner(email).unwrap()
    }

    /// A small pool-backed store on this database.
    pub fn store(&self) -> Store {
        Store::connect(&self.config()).unwrap()
    }

    /// The configuration [`store`](Self::store) uses: a small pool.
    pub fn config(&self) -> StoreConfig {
        small_pool(&self.url)
    }
}

impl TestDb {
    /// A role of its own that row-level security applies to, set up on this
    /// database as `todo-store setup --app-role` does; dropped with the
    /// value. Drop it before the database (declare it after).
    pub fn app_role(&self) -> AppRoleLogin {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "{APP_ROLE_PREFIX}{}_{}_{n}",
            unix_secs(),
            std::process::id()
        );
        let mut owner = self.conn();
        todo_store::setup_app_role(&mut owner, &name).unwrap();
        // A password of its own, so that the role can log in on servers
        // that ask for one (trust authentication ignores it).
        let password = format!("pw{}{}", uuid_like().replace('-', ""), n);
        owner
            .batch_execute(&format!("ALTER ROLE {name} PASSWORD '{password}'"))
            .unwrap();
        let url = self.url.with_user(&name, Some(&password)).unwrap();
        AppRoleLogin {
            name,
            url,
            owner_url: self.url.clone(),
        }
    }
}

/// A login role subject to row-level security, on one [`TestDb`]; see
/// [`TestDb::app_role`].
#[derive(Debug)]
pub struct AppRoleLogin {
    name: String,
    url: DatabaseUrl,
    owner_url: DatabaseUrl,
}

impl AppRoleLogin {
    /// The role's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The test database's URL, as this role.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// A new connection as this role.
    pub fn conn(&self) -> PgConnection {
        connect(&self.url)
    }

    /// A small pool as this role (same settings as [`TestDb::config`]).
    pub fn config(&self) -> StoreConfig {
        small_pool(&self.url)
    }
}

impl Drop for AppRoleLogin {
    fn drop(&mut self) {
        // Its grants first (in the test database), then the role itself.
        let revoked = PgConnection::establish(self.owner_url.expose()).and_then(|mut conn| {
            conn.batch_execute(&format!("DROP OWNED BY {}", self.name))
                .map_err(|err| diesel::ConnectionError::BadConnection(err.to_string()))
        });
        let dropped = admin_conn().batch_execute(&format!("DROP ROLE IF EXISTS {}", self.name));
        if let (Err(err), _) | (_, Err(err)) = (
            revoked.map_err(|e| e.to_string()),
            dropped.map_err(|e| e.to_string()),
        ) {
            eprintln!("warning: could not drop test role {}: {err}", self.name);
        }
    }
}

impl Default for TestDb {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // FORCE ends connections a test may still hold (e.g. a pool in a clone).
        let dropped = admin_conn().batch_execute(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ));
        if let Err(err) = dropped {
            eprintln!("warning: could not drop test database {}: {err}", self.name);
        }
    }
}

/// A new connection to `url`; panics with the (redacted) URL if it fails.
fn connect(url: &DatabaseUrl) -> PgConnection {
    PgConnection::establish(url.expose())
        .unwrap_or_else(|err| panic!("cannot connect to {url}: {err}"))
}

/// The tests' pool settings: small, no idle connections kept, and the
/// settings the environment gives (`TODO_STORE_STATEMENT_CACHE`).
fn small_pool(url: &DatabaseUrl) -> StoreConfig {
    StoreConfig::new(url.expose())
        .settings_from_env()
        .unwrap()
        .max_connections(4)
        .min_idle(0)
}

/// A connection to the server's maintenance database: the one `DATABASE_URL`
/// names if it exists, else `postgres`.
fn admin_conn() -> PgConnection {
    let url = database_url();
    PgConnection::establish(url.expose())
        .or_else(|_| PgConnection::establish(url.with_database("postgres").unwrap().expose()))
        .unwrap_or_else(|err| {
            panic!(
                "cannot reach PostgreSQL at {url}: {err}\n\
                 Start it (pg_ctlcluster --skip-systemctl-redirect 15 main start) or set DATABASE_URL."
            )
        })
}

/// The name of the migrated template, built on first use in this process.
fn template() -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let name = format!("{TEMPLATE_PREFIX}{:016x}", migrations_hash());
        let mut admin = admin_conn();
        admin
            .batch_execute(&format!("SELECT pg_advisory_lock({HARNESS_LOCK})"))
            .unwrap();
        sweep(&mut admin, &name);
        if !database_exists(&mut admin, &name) {
            build_template(&mut admin, &name);
        }
        // When it was last used: another checkout's runs (other migrations)
        // sweep it only once it has not been used for a while.
        admin
            .batch_execute(&format!(
                "COMMENT ON DATABASE \"{name}\" IS '{}'",
                unix_secs()
            ))
            .unwrap();
        admin
            .batch_execute(&format!("SELECT pg_advisory_unlock({HARNESS_LOCK})"))
            .unwrap();
        name
    })
}

/// Migrates a scratch database, then renames it: a run that dies halfway
/// leaves a scratch database for the sweep, never a half-built template.
fn build_template(admin: &mut PgConnection, name: &str) {
    let scratch = format!("{TEST_DB_PREFIX}{}_tpl_{}", unix_secs(), std::process::id());
    admin
        .batch_execute(&format!("CREATE DATABASE \"{scratch}\" TEMPLATE template0"))
        .unwrap();
    {
        let url = database_url().with_database(&scratch).unwrap();
        let mut conn = PgConnection::establish(url.expose()).unwrap();
        run_migrations(&mut conn).unwrap();
    }
    admin
        .batch_execute(&format!(
            "ALTER DATABASE \"{scratch}\" RENAME TO \"{name}\""
        ))
        .unwrap();
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

fn database_names(admin: &mut PgConnection) -> Vec<String> {
    sql_query("SELECT datname AS name FROM pg_database")
        .load::<Name>(admin)
        .unwrap()
        .into_iter()
        .map(|row| row.name)
        .collect()
}

#[derive(QueryableByName)]
struct Described {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    description: String,
}

/// Each template's last use, from its comment (Unix seconds).
fn template_use_times(admin: &mut PgConnection) -> std::collections::HashMap<String, u64> {
    sql_query(format!(
        "SELECT datname AS name, shobj_description(oid, 'pg_database') AS description
           FROM pg_database
          WHERE datname LIKE '{TEMPLATE_PREFIX}%'
            AND shobj_description(oid, 'pg_database') IS NOT NULL"
    ))
    .load::<Described>(admin)
    .unwrap()
    .into_iter()
    .filter_map(|row| Some((row.name, row.description.parse().ok()?)))
    .collect()
}

fn database_exists(admin: &mut PgConnection, name: &str) -> bool {
    database_names(admin).iter().any(|n| n == name)
}

/// Drops templates of other migrations that no run has used for a while
/// (another checkout may be testing other migrations at the same time),
/// and test databases of crashed runs.
fn sweep(admin: &mut PgConnection, current_template: &str) {
    let now = unix_secs();
    let last_used = template_use_times(admin);
    for name in database_names(admin) {
        let stale = if let Some(rest) = name.strip_prefix(TEST_DB_PREFIX) {
            let created: u64 = rest
                .split('_')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            now.saturating_sub(created) > STALE_AFTER.as_secs()
        } else {
            let used = last_used.get(&name).copied().unwrap_or(0);
            name.starts_with(TEMPLATE_PREFIX)
                && name != current_template
                && now.saturating_sub(used) > STALE_AFTER.as_secs()
        };
        if stale {
            // Best effort: a database still in use is left for a later sweep.
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\""));
        }
    }
    // Application roles of crashed runs: server-wide, so swept here too
    // (after their databases, which held their grants).
    for role in sql_query("SELECT rolname AS name FROM pg_roles")
        .load::<Name>(admin)
        .unwrap()
        .into_iter()
        .map(|row| row.name)
    {
        let created: u64 = role
            .strip_prefix(APP_ROLE_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or(u64::MAX);
        if created != u64::MAX && now.saturating_sub(created) > STALE_AFTER.as_secs() {
            let _ = admin.batch_execute(&format!("DROP ROLE IF EXISTS \"{role}\""));
        }
    }
}

fn migrations_hash() -> u64 {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut files: Vec<_> = walk(&dir);
    files.sort();
    let mut hasher = DefaultHasher::new();
    for file in files {
        file.strip_prefix(&dir).unwrap().hash(&mut hasher);
        fs::read(&file).unwrap().hash(&mut hasher);
    }
    hasher.finish()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// `SELECT count(*) FROM {sql_from}` (e.g. `tasks WHERE completed`) on
/// `conn`: deliberately plain, test-only SQL, scoped only if the caller's
/// transaction is, as a careless downstream query would be.
pub fn count(conn: &mut PgConnection, sql_from: &str) -> i64 {
    sql_query(format!("SELECT count(*) AS n FROM {sql_from}"))
        .get_result::<Count>(conn)
        .unwrap_or_else(|err| panic!("SELECT count(*) FROM {sql_from}: {err}"))
        .n
}

/// Every task `query` lists for `owner`, following its cursor to the last
/// page.
pub fn walk_tasks(
    repo: &mut impl todo_store::TaskRepo,
    owner: &Owner,
    query: todo_store::TaskQuery,
) -> Vec<todo_store::Task> {
    let mut query = query;
    let mut tasks = Vec::new();
    loop {
        let page = repo.list_tasks(owner, &query).unwrap();
        tasks.extend(page.items);
        match page.next_cursor {
            Some(cursor) => query = query.after(cursor),
            None => return tasks,
        }
    }
}

/// A small deterministic random generator (xorshift): `next(n)` is in
/// `0..n`. The same seed gives the same sequence, so a failing random test
/// can be replayed.
pub fn rng(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move |n| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    }
}

/// A unique email address for a test user, e.g. `ada-0193…@example.com`.
pub fn unique_email(name: &str) -> String {
    format!("{name}-{}@example.com", uuid_like())
}

fn uuid_like() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}-{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos()),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Compiles the Rust examples of the workspace README as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct WorkspaceReadme;
