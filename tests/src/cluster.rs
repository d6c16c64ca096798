//! A private PostgreSQL cluster for fault tests: started by the test in a
//! temporary directory on a free port, so that it can be stopped, restarted
//! and killed without touching the shared server. `initdb` refuses to run as
//! root, so as root the cluster runs as the `postgres` OS user.
//!
//! ```no_run
//! use todo_store_tests::cluster::Cluster;
//! let cluster = Cluster::start();
//! let url = cluster.url("todo");   // the database is created and migrated
//! cluster.restart_immediate();     // a crash-like restart
//! // the cluster is stopped and its directory removed on drop
//! ```

use std::{
    fs,
    io::Write,
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

use diesel::{Connection, PgConnection, connection::SimpleConnection};

/// A running private cluster.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
}

impl Cluster {
    /// Initialises and starts a cluster (trust authentication, TCP on
    /// 127.0.0.1 only, default durability settings).
    pub fn start() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "todo-store-cluster-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let cluster = Self {
            bin: bin_dir(),
            port: free_port(),
            dir,
        };
        if is_root() {
            run(Command::new("chown")
                .arg("postgres:postgres")
                .arg(&cluster.dir));
        }
        cluster.pg(
            "initdb",
            &[
                "-D",
                &cluster.data(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        // Root may write the postgres user's file; the file keeps its owner.
        let mut conf = fs::OpenOptions::new()
            .append(true)
            .open(Path::new(&cluster.data()).join("postgresql.conf"))
            .unwrap();
        writeln!(
            conf,
            "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
             max_connections = 30\nshared_buffers = 16MB",
            cluster.port,
            cluster.dir.display()
        )
        .unwrap();
        cluster.start_again();
        cluster
    }

    /// A URL for `database`, created (and migrated) on first use.
    pub fn url(&self, database: &str) -> String {
        let url = format!(
            "postgres://postgres@127.0.0.1:{}/{database}?connect_timeout=5",
            self.port
        );
        let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        let mut conn = PgConnection::establish(&admin).unwrap();
        let exists = conn
            .batch_execute(&format!("CREATE DATABASE \"{database}\""))
            .is_err();
        if !exists {
            let mut conn = PgConnection::establish(&url).unwrap();
            todo_store::run_migrations(&mut conn).unwrap();
        }
        url
    }

    /// Starts the (stopped) cluster and waits until it accepts connections.
    pub fn start_again(&self) {
        let log = format!("{}/server.log", self.dir.display());
        self.pg(
            "pg_ctl",
            &["-D", &self.data(), "-l", &log, "-w", "-t", "60", "start"],
        );
        self.wait_ready(Duration::from_secs(60));
    }

    /// Stops the cluster at once, without a checkpoint (as a crash would).
    pub fn stop_immediate(&self) {
        self.pg(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }

    /// `pg_ctl -m immediate restart`.
    pub fn restart_immediate(&self) {
        self.stop_immediate();
        self.start_again();
    }

    /// `kill -9` of the postmaster; its backends exit as the postmaster dies.
    /// Start it again with [`start_again`](Self::start_again).
    pub fn kill9(&self) {
        let pid_file = fs::read_to_string(Path::new(&self.data()).join("postmaster.pid")).unwrap();
        let pid = pid_file.lines().next().unwrap().trim().to_owned();
        run(Command::new("kill").args(["-9", &pid]));
        // Wait until its backends are gone, so the next start can begin.
        let deadline = Instant::now() + Duration::from_secs(30);
        while backends_alive(&self.data()) {
            assert!(
                Instant::now() < deadline,
                "backends outlived the postmaster"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // Where nothing reaps orphans (some containers' PID 1), the killed
        // postmaster stays a zombie, which the next start would take for a
        // live server holding the lock files. Its backends are gone, so the
        // locks guard nothing any more.
        let _ = fs::remove_file(Path::new(&self.data()).join("postmaster.pid"));
        let _ = fs::remove_file(self.dir.join(format!(".s.PGSQL.{}.lock", self.port)));
    }

    fn wait_ready(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        while PgConnection::establish(&admin).is_err() {
            assert!(
                Instant::now() < deadline,
                "the private cluster did not come up"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn data(&self) -> String {
        format!("{}/data", self.dir.display())
    }

    /// A PostgreSQL program, to run as the cluster's owner.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    /// Runs a PostgreSQL program as the cluster's owner; it must succeed.
    fn pg(&self, program: &str, args: &[&str]) {
        run(self.command(program).args(args));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args(["-D", &self.data(), "-m", "immediate", "-w", "stop"])
            .output();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Whether any process still has the data directory as its working directory
/// (PostgreSQL backends do).
fn backends_alive(data: &str) -> bool {
    let Ok(entries) = fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        fs::read_link(entry.path().join("cwd")).is_ok_and(|cwd| cwd == Path::new(data))
    })
}

fn run(command: &mut Command) {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0\n"))
}

/// The newest installed PostgreSQL's programs (`pg_config --bindir`).
fn bin_dir() -> PathBuf {
    let out = Command::new("pg_config").arg("--bindir").output().unwrap();
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
