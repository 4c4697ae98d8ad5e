//! A small HTTP file server so the cluster's nodes can fetch the shards.
//!
//! Only the shard files named to [`ShardServer::run`] are returned, and only while they
//! are regular files inside the served directory; everything else (`import.sql`, other
//! files, `..`, `%2e%2e`, absolute paths, symlinks, directories) is a 404. Log lines name
//! the client and the path without its query string, which may carry credentials. GET
//! and HEAD are supported, with single byte ranges, since CockroachDB resumes an
//! interrupted HTTP read with a `Range` request. Each request is served on its own thread
//! so all nodes download at once; the log callback runs on the caller's thread.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use percent_encoding::percent_decode_str;
use tiny_http::{Header, Method, Request, Response, StatusCode};

use crate::{Error, Result};

/// A bound server over one directory.
pub struct ShardServer {
    server: tiny_http::Server,
    root: PathBuf,
    addr: SocketAddr,
}

/// One finished request, reported from a handler thread.
struct Served {
    line: String,
    /// For a GET of a file: name, file length, and the byte range actually written.
    coverage: Option<(String, u64, u64, u64)>,
}

/// The regular `*.csv` / `*.csv.gz` files of a directory: what `--serve-once` waits for.
pub fn shard_files(dir: &Path) -> Result<Vec<String>> {
    let name = dir.display().to_string();
    let mut v = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(name.clone(), e))? {
        let entry = entry.map_err(|e| Error::io(name.clone(), e))?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
        if is_file
            && !file_name.starts_with('.')
            && (file_name.ends_with(".csv") || file_name.ends_with(".csv.gz"))
        {
            v.push(file_name);
        }
    }
    v.sort();
    Ok(v)
}

/// Serves the shard files of `dir` (see [`shard_files`]) on `addr` (e.g. `127.0.0.1:8080`)
/// until the process is interrupted or, with `once`, until every one of them has been
/// downloaded completely at least once.
/// `log` receives one line per request and the start and stop messages.
pub fn serve(dir: &Path, addr: &str, once: bool, mut log: impl FnMut(&str)) -> Result<()> {
    let server = ShardServer::bind(dir, addr)?;
    let files = shard_files(&server.root)?;
    if once && files.is_empty() {
        return Err(Error::usage(format!(
            "--serve-once: no .csv or .csv.gz files in {}",
            dir.display()
        )));
    }
    log(&format!(
        "serving {} on http://{}/{}",
        server.root.display(),
        server.local_addr(),
        if once {
            " until every shard was fetched once"
        } else {
            " (Ctrl-C to stop)"
        }
    ));
    server.run(&files, once, &AtomicBool::new(false), log)
}

impl ShardServer {
    /// Binds `addr`; port 0 picks a free port (see [`ShardServer::local_addr`]).
    pub fn bind(dir: &Path, addr: &str) -> Result<ShardServer> {
        let root = dir
            .canonicalize()
            .map_err(|e| Error::io(dir.display().to_string(), e))?;
        if !root.is_dir() {
            return Err(Error::usage(format!(
                "{} is not a directory",
                dir.display()
            )));
        }
        let server = tiny_http::Server::http(addr)
            .map_err(|e| Error::usage(format!("cannot listen on {addr}: {e}")))?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| Error::other("server is not listening on an IP address"))?;
        Ok(ShardServer { server, root, addr })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The canonical directory served.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Serves the files named in `files` (plain names inside the root; nothing else is
    /// served) until `stop` is set or, with `once`, until each of them has had all its
    /// bytes written to clients (ranges add up).
    pub fn run(
        &self,
        files: &[String],
        once: bool,
        stop: &AtomicBool,
        mut log: impl FnMut(&str),
    ) -> Result<()> {
        let allowed: Arc<BTreeSet<String>> = Arc::new(files.iter().cloned().collect());
        let mut pending: BTreeMap<String, Vec<(u64, u64)>> = if once {
            files.iter().map(|f| (f.clone(), Vec::new())).collect()
        } else {
            BTreeMap::new()
        };
        let mut done: HashMap<String, bool> = HashMap::new();
        let (tx, rx) = mpsc::channel::<Served>();
        loop {
            while let Ok(s) = rx.try_recv() {
                log(&s.line);
                if let Some((name, len, start, end)) = s.coverage {
                    if let Some(ranges) = pending.get_mut(&name) {
                        if add_range(ranges, start, end) >= len {
                            pending.remove(&name);
                            done.insert(name, true);
                        }
                    }
                }
            }
            if once && pending.is_empty() {
                log(&format!("all {} shards served; stopping", done.len()));
                return Ok(());
            }
            if stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            let req = match self.server.recv_timeout(Duration::from_millis(50)) {
                Ok(Some(r)) => r,
                Ok(None) => continue,
                Err(e) => return Err(Error::io(format!("http://{}", self.addr), e)),
            };
            let root = self.root.clone();
            let allowed = Arc::clone(&allowed);
            let tx = tx.clone();
            std::thread::spawn(move || {
                let served = handle(&root, &allowed, req);
                let _ = tx.send(served);
            });
        }
    }
}

/// Merges `[start, end)` into sorted disjoint ranges; returns the bytes covered.
fn add_range(ranges: &mut Vec<(u64, u64)>, start: u64, end: u64) -> u64 {
    if end > start {
        ranges.push((start, end));
    } else if ranges.is_empty() {
        ranges.push((0, 0));
    }
    ranges.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for &(s, e) in ranges.iter() {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    *ranges = merged;
    ranges.iter().map(|(s, e)| e - s).sum()
}

/// Maps a request target to one of the `allowed` file names, when that is a regular file
/// (not a symlink) directly inside `root`; `None` means 404.
fn resolve_allowed(
    root: &Path,
    allowed: &BTreeSet<String>,
    target: &str,
) -> Option<(PathBuf, String)> {
    let (canon, rel) = resolve(root, target)?;
    if !allowed.contains(&rel) || rel.contains('/') {
        return None;
    }
    let link = root.join(&rel).symlink_metadata().ok()?;
    if !link.file_type().is_file() {
        return None;
    }
    Some((canon, rel))
}

/// The request path without query string or fragment, for log lines.
fn log_path(target: &str) -> &str {
    target.split(['?', '#']).next().unwrap_or("")
}

/// Maps a request target to a regular file inside `root`, or `None` (404).
pub(crate) fn resolve(root: &Path, target: &str) -> Option<(PathBuf, String)> {
    let raw = target.split(['?', '#']).next().unwrap_or("");
    let decoded = percent_decode_str(raw).decode_utf8().ok()?;
    let rel = decoded.strip_prefix('/')?;
    if rel.is_empty() || rel.starts_with('/') || rel.contains(['\\', '\0']) {
        return None;
    }
    if rel
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return None;
    }
    let canon = root.join(rel).canonicalize().ok()?;
    if !canon.starts_with(root) || !canon.metadata().ok()?.is_file() {
        return None;
    }
    Some((canon, rel.to_string()))
}

/// Parses a single `bytes=` range against a file length: `Ok(None)` means no (usable)
/// range header, `Err(())` an unsatisfiable one.
fn parse_range(header: Option<&str>, len: u64) -> std::result::Result<Option<(u64, u64)>, ()> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (a, b) = (a.trim(), b.trim());
    let (start, end) = if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| ())?;
        if n == 0 {
            return Err(());
        }
        (len.saturating_sub(n), len)
    } else {
        let s: u64 = a.parse().map_err(|_| ())?;
        let e = if b.is_empty() {
            len
        } else {
            let e: u64 = b.parse().map_err(|_| ())?;
            if e < s {
                return Err(());
            }
            (e + 1).min(len)
        };
        (s, e)
    };
    if start >= len {
        return Err(());
    }
    Ok(Some((start, end)))
}

/// A reader that counts the bytes confirmed written: bytes returned by one `read` count
/// only once the next `read` is asked for, i.e. after the writer accepted them.
struct Tracked<R> {
    inner: R,
    returned: u64,
    confirmed: Rc<Cell<u64>>,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.confirmed.set(self.returned);
        let n = self.inner.read(buf)?;
        self.returned += n as u64;
        Ok(n)
    }
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
}

fn simple(req: Request, code: u16, body: &str, extra: Vec<Header>, peer: &str) -> Served {
    let method = req.method().to_string();
    let url = log_path(req.url()).to_string();
    let mut resp = Response::from_string(body).with_status_code(StatusCode(code));
    for h in extra {
        resp.add_header(h);
    }
    let _ = req.respond(resp);
    Served {
        line: format!("{peer} {method} {url} {code}"),
        coverage: None,
    }
}

fn handle(root: &Path, allowed: &BTreeSet<String>, req: Request) -> Served {
    let peer = req
        .remote_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|| "-".into());
    let method = req.method().clone();
    if method != Method::Get && method != Method::Head {
        return simple(
            req,
            405,
            "method not allowed\n",
            vec![header("Allow", "GET, HEAD")],
            &peer,
        );
    }
    let url = req.url().to_string();
    let Some((path, rel)) = resolve_allowed(root, allowed, &url) else {
        return simple(req, 404, "not found\n", Vec::new(), &peer);
    };
    let opened = File::open(&path).and_then(|f| {
        let len = f.metadata()?.len();
        Ok((f, len))
    });
    let Ok((mut file, len)) = opened else {
        return simple(req, 404, "not found\n", Vec::new(), &peer);
    };
    let range_header = req
        .headers()
        .iter()
        .find(|h| h.field.equiv("Range"))
        .map(|h| h.value.as_str().to_string());
    let range = match parse_range(range_header.as_deref(), len) {
        Ok(r) => r,
        Err(()) => {
            return simple(
                req,
                416,
                "range not satisfiable\n",
                vec![header("Content-Range", &format!("bytes */{len}"))],
                &peer,
            )
        }
    };
    let (code, start, end) = match range {
        Some((s, e)) => (206, s, e),
        None => (200, 0, len),
    };
    if start > 0 && file.seek(SeekFrom::Start(start)).is_err() {
        return simple(req, 500, "seek failed\n", Vec::new(), &peer);
    }
    let content_type = if rel.ends_with(".gz") {
        "application/gzip"
    } else if rel.ends_with(".csv") {
        "text/csv"
    } else {
        "application/octet-stream"
    };
    let mut headers = vec![
        header("Content-Type", content_type),
        header("Accept-Ranges", "bytes"),
    ];
    if code == 206 {
        headers.push(header(
            "Content-Range",
            &format!("bytes {start}-{}/{len}", end.saturating_sub(1)),
        ));
    }
    let confirmed = Rc::new(Cell::new(0));
    let body = Tracked {
        inner: file.take(end - start),
        returned: 0,
        confirmed: Rc::clone(&confirmed),
    };
    let resp = Response::new(
        StatusCode(code),
        headers,
        body,
        Some((end - start) as usize),
        None,
    )
    // Always send Content-Length (tiny_http would switch to chunked above 32 KiB), so
    // clients can check they got the whole shard.
    .with_chunked_threshold(usize::MAX);
    let is_get = method == Method::Get;
    let result = req.respond(resp);
    let written = if result.is_ok() && is_get {
        confirmed.get()
    } else {
        0
    };
    let complete = is_get && result.is_ok() && written == end - start;
    let line = if !is_get {
        format!("{peer} {method} /{rel} {code} ({} bytes)", end - start)
    } else {
        format!(
            "{peer} {method} /{rel} {code} {written}/{} bytes{}",
            end - start,
            if complete { "" } else { " (incomplete)" }
        )
    };
    Served {
        line,
        coverage: if is_get && result.is_ok() {
            Some((rel, len, start, start + written))
        } else {
            None
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_and_sum() {
        let mut r = Vec::new();
        assert_eq!(add_range(&mut r, 0, 10), 10);
        assert_eq!(add_range(&mut r, 20, 30), 20);
        assert_eq!(add_range(&mut r, 5, 25), 30);
        assert_eq!(r, vec![(0, 30)]);
        let mut empty = Vec::new();
        assert_eq!(add_range(&mut empty, 0, 0), 0);
        assert_eq!(empty, vec![(0, 0)]);
    }

    #[test]
    fn range_header_parsing() {
        assert_eq!(parse_range(None, 10), Ok(None));
        assert_eq!(parse_range(Some("bytes=2-"), 10), Ok(Some((2, 10))));
        assert_eq!(parse_range(Some("bytes=2-4"), 10), Ok(Some((2, 5))));
        assert_eq!(parse_range(Some("bytes=-3"), 10), Ok(Some((7, 10))));
        assert_eq!(parse_range(Some("bytes=0-99"), 10), Ok(Some((0, 10))));
        assert_eq!(parse_range(Some("bytes=10-"), 10), Err(()));
        assert_eq!(parse_range(Some("bytes=5-2"), 10), Err(()));
        assert_eq!(parse_range(Some("bytes=0-1,4-5"), 10), Ok(None));
        assert_eq!(parse_range(Some("items=0-1"), 10), Ok(None));
    }

    #[test]
    fn only_named_regular_files_are_served() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        for f in ["t.1.csv", "import.sql", "u.1.csv"] {
            std::fs::write(root.join(f), b"x").unwrap();
        }
        std::os::unix::fs::symlink(root.join("u.1.csv"), root.join("t.2.csv")).unwrap();
        let allowed: BTreeSet<String> = ["t.1.csv", "t.2.csv"].map(String::from).into();
        assert!(resolve_allowed(&root, &allowed, "/t.1.csv?k=v").is_some());
        for bad in ["/import.sql", "/u.1.csv", "/t.2.csv", "/", "/../t.1.csv"] {
            assert!(resolve_allowed(&root, &allowed, bad).is_none(), "{bad}");
        }
        assert_eq!(log_path("/t.1.csv?SECRET=1#f"), "/t.1.csv");
    }

    #[test]
    fn resolve_rejects_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::write(root.join("a.csv"), b"x").unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        assert!(resolve(&root, "/a.csv").is_some());
        assert!(resolve(&root, "/a.csv?x=1").is_some());
        assert!(resolve(&root, "/%61.csv").is_some());
        for bad in [
            "/",
            "/sub",
            "/../a.csv",
            "/%2e%2e/etc/passwd",
            "/%2E%2E%2Fetc",
            "//etc/passwd",
            "/%2fetc/passwd",
            "a.csv",
            "/./a.csv",
            "/sub/../a.csv",
            "/nope.csv",
            "/a.csv%00",
        ] {
            assert!(resolve(&root, bad).is_none(), "{bad}");
        }
    }
}
