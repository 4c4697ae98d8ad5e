//! A real HTTP server for the remote-input tests: nginx (Debian's package, installed by
//! `.ci/run`) serving a directory of the test's temp dir on 127.0.0.1 at a free port,
//! as one child process (`daemon off`, `master_process off`: no workers to orphan),
//! stopped when the test drops it. It honours `Range` and `If-Range` as a production
//! server does, and its access log tells the tests which ranges were asked for and how
//! many bytes went out.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running nginx; dropping it kills it.
pub struct Nginx {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

/// One line of the access log.
#[derive(Debug, Clone)]
pub struct Logged {
    /// GET or HEAD.
    pub method: String,
    /// The path asked for.
    pub path: String,
    /// The response status.
    pub status: u16,
    /// Body bytes sent.
    pub sent: u64,
    /// The `Range` header, `-` when none.
    pub range: String,
}

fn binary() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/sbin")])
        .map(|d| d.join("nginx"))
        .find(|p| p.is_file())
        .expect("nginx is not installed: `apt-get install nginx` (as .ci/run does)")
}

impl Logged {
    /// Where a GET that resumed or seeked started: N of `Range: bytes=N-`, N > 0 (not
    /// the one-byte GETs that read an object's identity).
    pub fn resumed_at(&self) -> Option<u64> {
        let start = self.range.strip_prefix("bytes=")?.strip_suffix('-')?;
        start.parse().ok().filter(|&n| n > 0)
    }
}

impl Nginx {
    /// Starts nginx serving an empty directory ([`Nginx::root`]).
    pub fn start() -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("www")).unwrap();
        std::fs::create_dir(d.join("tmp")).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // As root, the workers need a user that exists; otherwise the directive is moot.
        let user = match unsafe { libc::geteuid() } {
            0 => "user root;",
            _ => "",
        };
        let p = d.display();
        let conf = format!(
            "{user}
daemon off;
master_process off;
pid {p}/nginx.pid;
error_log {p}/error.log;
events {{ worker_connections 64; }}
http {{
    log_format ranges '$request_method $uri $status $body_bytes_sent \"$http_range\"';
    access_log {p}/access.log ranges;
    client_body_temp_path {p}/tmp/body;
    proxy_temp_path {p}/tmp/proxy;
    fastcgi_temp_path {p}/tmp/fastcgi;
    uwsgi_temp_path {p}/tmp/uwsgi;
    scgi_temp_path {p}/tmp/scgi;
    default_type application/octet-stream;
    sendfile on;
    server {{
        listen 127.0.0.1:{port};
        root {p}/www;
    }}
}}
"
        );
        let conf_path = d.join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new(binary())
            .arg("-p")
            .arg(d)
            .arg("-e")
            .arg(d.join("error.log"))
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let mut n = Nginx { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = n.child.try_wait().unwrap() {
                let log = std::fs::read_to_string(n.dir.path().join("error.log"));
                panic!("nginx exited ({status}): {}", log.unwrap_or_default());
            }
            assert!(Instant::now() < deadline, "nginx did not listen in 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        n
    }

    /// The directory served at `/`.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("www")
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Copies `file` into the served directory as `name`; returns its URL.
    pub fn serve(&self, file: &Path, name: &str) -> String {
        std::fs::copy(file, self.root().join(name)).unwrap();
        self.url(name)
    }

    /// The URL of `name` here.
    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }

    /// The access log so far (nginx writes each line when the response is done).
    pub fn log(&self) -> Vec<Logged> {
        let text = std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default();
        text.lines()
            .map(|l| {
                let mut w = l.splitn(5, ' ');
                let mut next = || w.next().unwrap_or("").to_string();
                let (method, path, status, sent, range) = (next(), next(), next(), next(), next());
                Logged {
                    method,
                    path,
                    status: status.parse().unwrap_or(0),
                    sent: sent.parse().unwrap_or(0),
                    range: range.trim_matches('"').to_string(),
                }
            })
            .collect()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM (fast shutdown), then SIGKILL if it lingers past a second.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        for _ in 0..50 {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
