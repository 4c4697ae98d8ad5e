//! A throwaway local PostgreSQL server: the embedded default of `chunkload demo` and the
//! server every test talks to.
//!
//! The server runs from the installed binaries, in a temp dir, on 127.0.0.1 at a free port
//! (plus a unix socket in the temp dir), as user `postgres` when we are root (postgres
//! refuses to run as root). A watchdog shell holds the read end of a pipe whose write end
//! lives in this process: when the [`LocalCluster`] is dropped, or the process dies in any
//! way (panic, Ctrl-C, SIGKILL), the pipe closes and the watchdog stops the server (fast
//! shutdown) and removes the directory, so no orphan server outlives us.

use crate::{Error, ErrorKind, Result};
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// How to start the server.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Keep `fsync` on (benchmarks); off makes tests faster and is safe for a throwaway
    /// server because the OS does not crash under it.
    pub durable: bool,
    /// Serve TLS with this certificate and key (PEM): `ssl=on`.
    pub tls: Option<TlsFiles>,
    /// Extra `-c name=value` server settings.
    pub settings: Vec<(String, String)>,
    /// How long to wait for the server to accept connections.
    pub start_timeout: Duration,
}

/// PEM certificate chain and private key for a TLS-serving cluster.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Server certificate chain, PEM.
    pub cert_pem: String,
    /// Server private key, PEM.
    pub key_pem: String,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            durable: true,
            tls: None,
            settings: Vec::new(),
            start_timeout: Duration::from_secs(60),
        }
    }
}

/// The `version()` of the CockroachDB stand-in ([`LocalCluster::create_cockroach_database`]),
/// a real one.
pub const COCKROACH_VERSION: &str = "CockroachDB CCL v23.2.4 (x86_64-pc-linux-gnu, built 2024/04/05 17:36:42, go1.21.9 X:nocoverageredesign)";

/// The `version()` texts the CockroachDB suite runs under, one per release line it
/// supports, each with the savepoint-rollback and DDL behaviours of its line
/// ([`crate::standin::rules`]).
pub const COCKROACH_VERSIONS: &[&str] = &[
    COCKROACH_VERSION,
    "CockroachDB CCL v24.3.1 (aarch64-unknown-linux-gnu, built 2024/12/09 15:34:39, go1.22.8 X:nocoverageredesign)",
    "CockroachDB CCL v25.2.0 (x86_64-pc-linux-gnu, built 2025/05/12 16:10:02, go1.23.7 X:nocoverageredesign)",
    "CockroachDB CCL v25.4.0 (x86_64-pc-linux-gnu, built 2025/11/03 14:02:11, go1.23.12 X:nocoverageredesign)",
    "CockroachDB CCL v26.1.0 (x86_64-pc-linux-gnu, built 2026/02/09 18:21:45, go1.25.5 X:nocoverageredesign)",
];

/// A running throwaway server. Dropping it stops the server and removes its files.
pub struct LocalCluster {
    dir: PathBuf,
    bindir: PathBuf,
    port: u16,
    run_as: Option<User>,
    watchdog: Option<(Child, ChildStdin)>,
}

#[derive(Debug, Clone)]
struct User {
    name: String,
    uid: u32,
    gid: u32,
}

/// Finds the server binaries: `pg_config --bindir` when it holds `initdb`, else the newest
/// `/usr/lib/postgresql/*/bin`.
pub fn find_bindir() -> Result<PathBuf> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        if out.status.success() {
            let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if p.join("initdb").is_file() && p.join("postgres").is_file() {
                return Ok(p);
            }
        }
    }
    let mut best: Option<(u32, PathBuf)> = None;
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        for e in entries.flatten() {
            let bin = e.path().join("bin");
            let ver = e.file_name().to_string_lossy().parse::<u32>().unwrap_or(0);
            if bin.join("initdb").is_file() && best.as_ref().is_none_or(|(v, _)| ver > *v) {
                best = Some((ver, bin));
            }
        }
    }
    best.map(|(_, p)| p).ok_or_else(|| {
        ErrorKind::Cluster(
            "PostgreSQL server binaries not found (no initdb in `pg_config --bindir` or \
             /usr/lib/postgresql/*/bin): install the `postgresql` package or pass --url"
                .into(),
        )
        .into()
    })
}

fn cluster_err(msg: impl Into<String>) -> Error {
    ErrorKind::Cluster(msg.into()).into()
}

fn lookup_user(name: &str) -> Option<User> {
    let cname = std::ffi::CString::new(name).ok()?;
    // SAFETY: getpwnam returns a pointer to static storage or null; we copy out at once.
    unsafe {
        let pw = libc::getpwnam(cname.as_ptr());
        if pw.is_null() {
            return None;
        }
        Some(User {
            name: name.to_string(),
            uid: (*pw).pw_uid,
            gid: (*pw).pw_gid,
        })
    }
}

/// Roles in this group log in with a SCRAM password (TCP and socket); all others are trusted.
pub const PASSWORD_ROLE: &str = "password_auth";

/// A port on 127.0.0.1 that nobody listens on right now.
pub fn free_port() -> Result<u16> {
    let l =
        TcpListener::bind("127.0.0.1:0").map_err(|e| cluster_err(format!("no free port: {e}")))?;
    Ok(l.local_addr()
        .map_err(|e| cluster_err(e.to_string()))?
        .port())
}

impl LocalCluster {
    /// Starts a server with default options (durable).
    pub fn start() -> Result<LocalCluster> {
        LocalCluster::start_with(&ClusterOptions::default())
    }

    /// Starts a server: initdb, configure, start, wait until it accepts connections.
    pub fn start_with(opts: &ClusterOptions) -> Result<LocalCluster> {
        let bindir = find_bindir()?;
        // SAFETY: geteuid has no preconditions.
        let run_as = if unsafe { libc::geteuid() } == 0 {
            Some(lookup_user("postgres").ok_or_else(|| {
                cluster_err("running as root but there is no `postgres` user to run the server as")
            })?)
        } else {
            None
        };
        let dir = tempfile::Builder::new()
            .prefix("chunkload-pg-")
            .tempdir()
            .map_err(|e| cluster_err(format!("cannot create a temp dir: {e}")))?
            .keep();
        let mut cluster = LocalCluster {
            dir,
            bindir,
            port: 0,
            run_as,
            watchdog: None,
        };
        // The watchdog comes first so that even a failed start leaves nothing behind.
        cluster.spawn_watchdog()?;
        cluster.chown(&cluster.dir.clone())?;
        cluster.initdb()?;
        if let Some(tls) = &opts.tls {
            cluster.write_private("server.crt", &tls.cert_pem)?;
            cluster.write_private("server.key", &tls.key_pem)?;
        }
        cluster.write_conf(opts)?;
        cluster.port = free_port()?;
        cluster.pg_ctl_start(opts.start_timeout)?;
        Ok(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn command(&self, program: &str) -> Command {
        let exe = self.bindir.join(program);
        let mut c = match &self.run_as {
            Some(u) => {
                let mut c = Command::new("runuser");
                c.arg("-u").arg(&u.name).arg("--").arg(exe);
                c
            }
            None => Command::new(exe),
        };
        // Own process group: a terminal's Ctrl-C must reach us, not the server directly,
        // so that stopping and cleaning up happen in one place.
        c.process_group(0);
        c.stdin(Stdio::null());
        c
    }

    fn run(&self, mut cmd: Command, what: &str) -> Result<()> {
        let out = cmd
            .output()
            .map_err(|e| cluster_err(format!("cannot run {what}: {e}")))?;
        if !out.status.success() {
            return Err(cluster_err(format!(
                "{what} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim(),
                self.log_tail()
            )));
        }
        Ok(())
    }

    fn chown(&self, path: &Path) -> Result<()> {
        if let Some(u) = &self.run_as {
            std::os::unix::fs::chown(path, Some(u.uid), Some(u.gid))
                .map_err(|e| cluster_err(format!("chown {}: {e}", path.display())))?;
        }
        Ok(())
    }

    fn write_private(&self, name: &str, content: &str) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let p = self.data().join(name);
        std::fs::write(&p, content).map_err(|e| Error::io(p.display().to_string(), e))?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io(p.display().to_string(), e))?;
        self.chown(&p)
    }

    fn spawn_watchdog(&mut self) -> Result<()> {
        let stop = self.bindir.join("pg_ctl");
        let user = self
            .run_as
            .as_ref()
            .map(|u| u.name.clone())
            .unwrap_or_default();
        // Blocks until our end of stdin closes (drop, exit or death), then cleans up.
        let script = r#"cat >/dev/null
if [ -f "$1/data/postmaster.pid" ]; then
  if [ -n "$3" ]; then runuser -u "$3" -- "$2" stop -D "$1/data" -m fast -w -t 30 >/dev/null 2>&1
  else "$2" stop -D "$1/data" -m fast -w -t 30 >/dev/null 2>&1; fi
fi
rm -rf "$1""#;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("chunkload-watchdog")
            .arg(&self.dir)
            .arg(&stop)
            .arg(&user)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| cluster_err(format!("cannot start the cleanup watchdog: {e}")))?;
        let stdin = child.stdin.take().expect("piped stdin");
        self.watchdog = Some((child, stdin));
        Ok(())
    }

    fn initdb(&self) -> Result<()> {
        let mut c = self.command("initdb");
        c.arg("-D").arg(self.data()).args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        self.run(c, "initdb")
    }

    fn write_conf(&self, opts: &ClusterOptions) -> Result<()> {
        let mut conf = String::from("\n# chunkload throwaway cluster\n");
        conf.push_str("listen_addresses = '127.0.0.1'\n");
        conf.push_str(&format!(
            "unix_socket_directories = '{}'\n",
            self.dir.display()
        ));
        conf.push_str("max_connections = 100\nshared_buffers = 128MB\n");
        conf.push_str("max_wal_size = 2GB\nlog_min_messages = warning\n");
        if !opts.durable {
            conf.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
        }
        if opts.tls.is_some() {
            conf.push_str("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        }
        for (k, v) in &opts.settings {
            conf.push_str(&format!("{k} = '{}'\n", v.replace('\'', "''")));
        }
        let p = self.data().join("postgresql.conf");
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .map_err(|e| Error::io(p.display().to_string(), e))?;
        f.write_all(conf.as_bytes())
            .map_err(|e| Error::io(p.display().to_string(), e))?;
        // Only loopback TCP, no password: it is a throwaway server. Members of the role
        // `password_auth` (see [`PASSWORD_ROLE`]) must give a password over TCP and the
        // socket, so tests can exercise password sources and wrong passwords.
        let hba = format!(
            "local all +{PASSWORD_ROLE} scram-sha-256\nlocal all all trust\n\
             host all +{PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n\
             host all all 127.0.0.1/32 trust\nhostssl all all 127.0.0.1/32 trust\n"
        );
        let p = self.data().join("pg_hba.conf");
        std::fs::write(&p, hba).map_err(|e| Error::io(p.display().to_string(), e))?;
        Ok(())
    }

    fn pg_ctl_start(&self, timeout: Duration) -> Result<()> {
        let log = self.dir.join("server.log");
        let mut c = self.command("pg_ctl");
        c.arg("start")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(&log)
            .arg("-w")
            .arg("-t")
            .arg(timeout.as_secs().max(1).to_string())
            .arg("-o")
            .arg(format!("-p {}", self.port));
        self.run(c, "pg_ctl start")?;
        self.wait_ready(timeout)
    }

    fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let addr: SocketAddr = ([127, 0, 0, 1], self.port).into();
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                if let Ok(mut c) = postgres::Client::connect(&self.url(), postgres::NoTls) {
                    if c.simple_query("SELECT 1").is_ok() {
                        return Ok(());
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(cluster_err(format!(
                    "server did not accept connections within {timeout:?}{}",
                    self.log_tail()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_tail(&self) -> String {
        match std::fs::read_to_string(self.dir.join("server.log")) {
            Ok(s) if !s.trim().is_empty() => {
                let lines: Vec<&str> = s.lines().collect();
                let tail = lines[lines.len().saturating_sub(5)..].join("\n  ");
                format!("\n  server log: {tail}")
            }
            _ => String::new(),
        }
    }

    /// TCP port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding the data dir, socket and log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// URL of the `postgres` database as superuser `postgres`, over TCP.
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    /// URL of database `db` on this server.
    pub fn url_for(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates database `name` (dropping an old one) and returns its URL.
    pub fn create_database(&self, name: &str) -> Result<String> {
        let mut c = postgres::Client::connect(&self.url(), postgres::NoTls)?;
        let q = crate::sql::quote_ident(name);
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {q}"))?;
        c.batch_execute(&format!("CREATE DATABASE {q}"))?;
        Ok(self.url_for(name))
    }

    /// Creates database `name` as a stand-in for CockroachDB at [`COCKROACH_VERSION`];
    /// see [`LocalCluster::create_cockroach_database_as`].
    pub fn create_cockroach_database(&self, name: &str) -> Result<String> {
        self.create_cockroach_database_as(name, COCKROACH_VERSION)
    }

    /// Creates database `name` as a stand-in for the CockroachDB whose `version()` is
    /// `version`, and returns its URL (direct, not through [`crate::standin::StandIn`]).
    /// Its schema `crdb_compat` holds what the strict stand-in needs to answer as
    /// CockroachDB does: `version()`, found first by the database's `search_path` (which
    /// puts `crdb_compat` before an explicit `pg_catalog`); `has_table_privilege`, NULL
    /// for an index as CockroachDB answers (logic test `privilege_builtins`); the
    /// `information_schema.columns` view with CockroachDB's `is_hidden`; `unique_rowid()`
    /// for the hidden `rowid` key; and the cluster settings `SHOW CLUSTER SETTING` reads,
    /// at their documented defaults. `public` stays first, so tables are created there.
    pub fn create_cockroach_database_as(&self, name: &str, version: &str) -> Result<String> {
        let url = self.create_database(name)?;
        let mut c = postgres::Client::connect(&url, postgres::NoTls)?;
        let q = crate::sql::quote_ident(name);
        let v = crate::sql::quote_literal(version);
        c.batch_execute(&format!(
            "CREATE SCHEMA crdb_compat;
             GRANT USAGE ON SCHEMA crdb_compat TO PUBLIC;
             CREATE FUNCTION crdb_compat.version() RETURNS text
               LANGUAGE sql IMMUTABLE AS $$ SELECT {v}::text $$;
             CREATE FUNCTION crdb_compat.has_table_privilege(oid, text) RETURNS boolean
               LANGUAGE sql STABLE AS $$
                 SELECT CASE WHEN (SELECT relkind FROM pg_catalog.pg_class WHERE oid = $1)
                                  IN ('i', 'I') THEN NULL
                             ELSE pg_catalog.has_table_privilege($1, $2) END $$;
             CREATE FUNCTION crdb_compat.has_table_privilege(text, text) RETURNS boolean
               LANGUAGE sql STABLE AS $$ SELECT pg_catalog.has_table_privilege($1, $2) $$;
             CREATE SEQUENCE crdb_compat.rowids;
             GRANT USAGE ON SEQUENCE crdb_compat.rowids TO PUBLIC;
             CREATE FUNCTION crdb_compat.unique_rowid() RETURNS int8
               LANGUAGE sql AS $$ SELECT nextval('crdb_compat.rowids') $$;
             CREATE VIEW crdb_compat.columns AS
               SELECT c.*, CASE WHEN c.column_name = 'rowid'
                                 AND c.column_default LIKE '%unique_rowid()%'
                                THEN 'YES' ELSE 'NO' END::text AS is_hidden
                 FROM information_schema.columns c;
             GRANT SELECT ON crdb_compat.columns TO PUBLIC;
             CREATE TABLE crdb_compat.cluster_settings (name text PRIMARY KEY, value text NOT NULL);
             INSERT INTO crdb_compat.cluster_settings VALUES
               ('kv.transaction.max_intents_bytes', '4.0 MiB'),
               ('kv.raft.command.max_size', '64 MiB');
             GRANT SELECT ON crdb_compat.cluster_settings TO PUBLIC;
             ALTER DATABASE {q} SET search_path = \"$user\", public, crdb_compat, pg_catalog;"
        ))?;
        Ok(url)
    }

    /// Restarts the server (`pg_ctl restart -m fast`) on the same port: every open
    /// connection is cut, as when a node restarts.
    pub fn restart(&self) -> Result<()> {
        let mut c = self.command("pg_ctl");
        c.arg("restart")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "fast", "-w", "-t", "60"])
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .arg("-o")
            .arg(format!("-p {}", self.port));
        self.run(c, "pg_ctl restart")?;
        self.wait_ready(Duration::from_secs(60))
    }

    /// Stops the server the way a crash does (`pg_ctl stop -m immediate`): no checkpoint,
    /// and WAL still in its buffers is lost; [`LocalCluster::start_again`] recovers.
    pub fn crash(&self) -> Result<()> {
        let mut c = self.command("pg_ctl");
        c.arg("stop")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "-t", "60"]);
        self.run(c, "pg_ctl stop -m immediate")
    }

    /// Starts the server again on its data directory and port, after [`LocalCluster::crash`]
    /// (crash recovery replays the WAL that reached the disk).
    pub fn start_again(&self) -> Result<()> {
        self.pg_ctl_start(Duration::from_secs(60))
    }

    /// Stops the server and removes its files; also what `Drop` does.
    pub fn stop(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        if let Some((mut child, stdin)) = self.watchdog.take() {
            drop(stdin);
            let status = child
                .wait()
                .map_err(|e| cluster_err(format!("waiting for shutdown: {e}")))?;
            if !status.success() {
                return Err(cluster_err(format!(
                    "shutdown watchdog exited with {status}"
                )));
            }
        }
        Ok(())
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
