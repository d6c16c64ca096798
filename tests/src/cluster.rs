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
    /// The address it listens on.
    host: String,
    /// The network link in front of it, if it runs in a namespace of its own.
    link: Option<Link>,
}

impl Cluster {
    /// Initialises and starts a cluster (trust authentication, TCP on
    /// 127.0.0.1 only, default durability settings).
    pub fn start() -> Self {
        Self::start_on(None)
    }

    /// A cluster in a network namespace of its own, reached over a veth
    /// link that [`black_hole`](Self::black_hole) can cut silently. Needs
    /// root (`ip netns`).
    pub fn start_behind_link() -> Self {
        Self::start_on(Some(Link::new(next_number())))
    }

    fn start_on(link: Option<Link>) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "todo-store-cluster-{}-{}",
            std::process::id(),
            next_number()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let cluster = Self {
            bin: bin_dir(),
            port: free_port(),
            host: link
                .as_ref()
                .map_or_else(|| "127.0.0.1".to_owned(), |link| link.server_ip.clone()),
            link,
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
            "listen_addresses = '{}'\nport = {}\nunix_socket_directories = '{}'\n\
             max_connections = 30\nshared_buffers = 16MB",
            cluster.host,
            cluster.port,
            cluster.dir.display()
        )
        .unwrap();
        if cluster.link.is_some() {
            // initdb trusts only local addresses; the client is on the link.
            let mut hba = fs::OpenOptions::new()
                .append(true)
                .open(Path::new(&cluster.data()).join("pg_hba.conf"))
                .unwrap();
            writeln!(hba, "host all all 10.201.0.0/16 trust").unwrap();
        }
        cluster.start_again();
        cluster
    }

    /// A URL for `database`, created (and migrated) on first use.
    pub fn url(&self, database: &str) -> String {
        let url = format!(
            "postgres://postgres@{}:{}/{database}?connect_timeout=5",
            self.host, self.port
        );
        let admin = format!("postgres://postgres@{}:{}/postgres", self.host, self.port);
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

    /// Makes TCP logins of `role` (created here, with password `password`)
    /// need that password (`scram-sha-256`); everyone else stays trusted.
    pub fn require_password(&self, role: &str, password: &str) {
        let admin = format!("postgres://postgres@{}:{}/postgres", self.host, self.port);
        PgConnection::establish(&admin)
            .unwrap()
            .batch_execute(&format!(
                "CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'; \
                 GRANT ALL ON DATABASE postgres TO \"{role}\""
            ))
            .unwrap();
        let hba = Path::new(&self.data()).join("pg_hba.conf");
        let rules = fs::read_to_string(&hba).unwrap();
        // pg_hba.conf is read top down: the first matching line decides.
        fs::write(
            &hba,
            format!("host all \"{role}\" all scram-sha-256\n{rules}"),
        )
        .unwrap();
        self.pg("pg_ctl", &["-D", &self.data(), "reload"]);
        // A reload is asynchronous: wait until the new rule is in force.
        let deadline = Instant::now() + Duration::from_secs(10);
        let url = format!("postgres://{role}@{}:{}/postgres", self.host, self.port);
        while PgConnection::establish(&url).is_ok() {
            assert!(Instant::now() < deadline, "pg_hba.conf was not reloaded");
            std::thread::sleep(Duration::from_millis(50));
        }
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

    /// A tablespace `name` on a filesystem of its own of `kib` KiB (a tmpfs
    /// mounted in the cluster's directory), for filling a disk without
    /// touching the machine's: a table moved there fails to grow with
    /// PostgreSQL's real `53100` "could not extend file" once it is full,
    /// while the write-ahead log stays on the roomy disk. Needs root
    /// (`mount`). Unmounted when the returned value is dropped.
    pub fn tiny_tablespace(&self, name: &str, kib: u32) -> TinyDisk {
        assert!(is_root(), "a tiny tablespace needs root, to mount a tmpfs");
        let path = self.dir.join(format!("disk-{name}"));
        fs::create_dir_all(&path).unwrap();
        run(Command::new("mount").args([
            "-t",
            "tmpfs",
            "-o",
            &format!(
                "size={kib}k,mode=0700,uid={},gid={}",
                postgres_id("-u"),
                postgres_id("-g")
            ),
            "tmpfs",
            &path.display().to_string(),
        ]));
        let admin = format!("postgres://postgres@{}:{}/postgres", self.host, self.port);
        PgConnection::establish(&admin)
            .unwrap()
            .batch_execute(&format!(
                "CREATE TABLESPACE \"{name}\" LOCATION '{}'",
                path.display()
            ))
            .unwrap();
        TinyDisk { path }
    }

    /// Turns TLS on with a certificate for `localhost` and `127.0.0.1`,
    /// signed by a certificate authority made for this cluster, and returns
    /// the files a client needs (plus another authority's certificate, to
    /// fail verification with). Made with the `openssl` command.
    pub fn enable_tls(&self) -> TlsFiles {
        let dir = self.dir.join("tls");
        fs::create_dir_all(&dir).unwrap();
        let path = |name: &str| dir.join(name).display().to_string();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        for (key, cert, subject) in [
            ("ca.key", "ca.crt", "/CN=todo-store test CA"),
            ("wrong.key", "wrong_ca.crt", "/CN=someone else's CA"),
        ] {
            run(Command::new("openssl")
                .args(["req", "-x509", "-days", "2", "-subj", subject])
                .args(ec)
                .args(["-keyout", &path(key), "-out", &path(cert)]));
        }
        run(Command::new("openssl")
            .args(["req", "-subj", "/CN=localhost"])
            .args(ec)
            .args(["-keyout", &path("server.key"), "-out", &path("server.csr")]));
        fs::write(
            dir.join("san.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        run(Command::new("openssl").args([
            "x509",
            "-req",
            "-days",
            "2",
            "-in",
            &path("server.csr"),
            "-CA",
            &path("ca.crt"),
            "-CAkey",
            &path("ca.key"),
            "-CAcreateserial",
            "-extfile",
            &path("san.ext"),
            "-out",
            &path("server.crt"),
        ]));
        // The server reads its key only if its owner alone can.
        run(Command::new("chmod").args(["600", &path("server.key")]));
        if is_root() {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir));
        }
        let mut conf = fs::OpenOptions::new()
            .append(true)
            .open(Path::new(&self.data()).join("postgresql.conf"))
            .unwrap();
        writeln!(
            conf,
            "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'",
            path("server.crt"),
            path("server.key")
        )
        .unwrap();
        self.pg("pg_ctl", &["-D", &self.data(), "reload"]);
        // Reloading is asynchronous: wait until a TLS connection works.
        let admin = format!(
            "postgres://postgres@{}:{}/postgres?sslmode=require",
            self.host, self.port
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while PgConnection::establish(&admin).is_err() {
            assert!(Instant::now() < deadline, "TLS did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        TlsFiles {
            ca: dir.join("ca.crt"),
            wrong_ca: dir.join("wrong_ca.crt"),
        }
    }

    fn wait_ready(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let admin = format!("postgres://postgres@{}:{}/postgres", self.host, self.port);
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

    /// Cuts the link: from now on every packet either way is dropped, with
    /// no error to either side (a black hole, as a dead NAT or router makes).
    pub fn black_hole(&self) {
        self.link
            .as_ref()
            .expect("a cluster behind a link")
            .set(false);
    }

    /// Mends the link cut by [`black_hole`](Self::black_hole).
    pub fn restore_link(&self) {
        self.link
            .as_ref()
            .expect("a cluster behind a link")
            .set(true);
    }

    /// A PostgreSQL program, to run as the cluster's owner (in its network
    /// namespace, if it has one).
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut command = match &self.link {
            Some(link) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", &link.namespace]);
                c
            }
            None if is_root() => Command::new("runuser"),
            None => return Command::new(path),
        };
        if self.link.is_some() {
            command.args(["runuser", "-u", "postgres", "--"]);
        } else {
            command.args(["-u", "postgres", "--"]);
        }
        command.arg(path);
        command
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

/// Certificates a client of a TLS [`Cluster`] needs; see
/// [`Cluster::enable_tls`].
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate of the authority that signed the server's.
    pub ca: PathBuf,
    /// Another authority's certificate, which does not vouch for the server.
    pub wrong_ca: PathBuf,
}

/// A small filesystem under a [`Cluster`]'s tablespace; see
/// [`Cluster::tiny_tablespace`].
#[derive(Debug)]
pub struct TinyDisk {
    path: PathBuf,
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        // Lazy: the server may still hold files there until it stops.
        let _ = Command::new("umount").arg("-l").arg(&self.path).output();
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

/// The `postgres` OS user's numeric user (`-u`) or group (`-g`) id.
pub(crate) fn postgres_id(which: &str) -> String {
    let out = Command::new("id")
        .args([which, "postgres"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

pub(crate) fn is_root() -> bool {
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

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn next_number() -> u32 {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// A network namespace joined to this one by a veth pair: 10.201.N.1 here,
/// 10.201.N.2 there.
#[derive(Debug)]
struct Link {
    namespace: String,
    peer: String,
    server_ip: String,
}

impl Link {
    fn new(number: u32) -> Self {
        // Names unique per process and cluster; interface names have at most
        // 15 characters.
        let tag = format!("{}x{number}", std::process::id() % 100_000);
        let subnet = (std::process::id() + number * 7) % 250;
        let link = Self {
            namespace: format!("todo_store_{tag}"),
            peer: format!("tsp{tag}"),
            server_ip: format!("10.201.{subnet}.2"),
        };
        let host = format!("tsh{tag}");
        let ns = link.namespace.as_str();
        for args in [
            vec!["netns", "add", ns],
            vec![
                "link", "add", &host, "type", "veth", "peer", "name", &link.peer,
            ],
            vec!["link", "set", &link.peer, "netns", ns],
            vec![
                "addr",
                "add",
                &format!("10.201.{subnet}.1/30"),
                "dev",
                &host,
            ],
            vec!["link", "set", &host, "up"],
            vec![
                "netns",
                "exec",
                ns,
                "ip",
                "addr",
                "add",
                &format!("{}/30", link.server_ip),
                "dev",
                &link.peer,
            ],
            vec!["netns", "exec", ns, "ip", "link", "set", &link.peer, "up"],
            vec!["netns", "exec", ns, "ip", "link", "set", "lo", "up"],
        ] {
            run(Command::new("ip").args(&args));
        }
        link
    }

    /// Takes the far end of the link down (dropping every packet) or up.
    fn set(&self, up: bool) {
        let state = if up { "up" } else { "down" };
        run(Command::new("ip").args([
            "netns",
            "exec",
            &self.namespace,
            "ip",
            "link",
            "set",
            &self.peer,
            state,
        ]));
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // Deleting the namespace deletes the veth pair with it.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.namespace])
            .output();
    }
}
