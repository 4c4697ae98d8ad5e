//! Remote byte sources: `http://` and `https://` objects, and `s3://`, `az://` and
//! `gs://` ones through GETs authorised per request ([`super::store`]), read below decompression and CSV parsing
//! exactly as a local file is, so every compression and the dialect and type detection
//! work the same on them.
//!
//! Exactly once needs three things of a remote object, and HTTP has them:
//! - an identity: the server's `ETag`, size and `Last-Modified`, which the ledger keeps
//!   as the object's fingerprint, so a changed object is refused as a changed file is.
//!   It is read from the headers of the body GETs themselves (sent with `Range: bytes=N-`
//!   even at 0, so a 206's `Content-Range` total gives the size as before); within a
//!   load the first one seen is kept, every later GET of the object must match it, and
//!   the fingerprint reuses it instead of asking again. A one-byte GET is left only where
//!   nothing was read yet; `gs://` objects use their metadata, with its generation;
//! - a seek: a rerun starts with `Range: bytes=N-` at the first uncommitted byte;
//! - a resume: a connection cut mid-object is reopened at the last byte received (as a
//!   rerun's seek is opened) with `If-Range` (`If-Match` for Azure: the object must still
//!   be the one begun) and backoff, within the reconnect budget ([`set_reconnect_timeout`], `--reconnect-timeout`).
//!
//! A server that ignores `Range` (200 instead of 206) still works: the bytes before the
//! offset are read and dropped. 401/403/404/410 fail at once; 408/429/5xx and transport
//! errors are retried. Messages show the URL without its query string, which may hold a
//! signature.

pub use super::object::ObjectInfo;
use super::object::Signed;
use super::{gcs, store};
use crate::backoff::RetryPolicy;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long one read may wait for bytes before the connection counts as cut.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The reconnect budget in milliseconds, process-wide: the openers below are called from
/// many places (load, schema, import) that do not carry the load's configuration.
static BUDGET_MS: AtomicU64 = AtomicU64::new(120_000);

/// Sets how long a remote read keeps retrying a failing server or a cut connection
/// (the loader sets it from `--reconnect-timeout`; 120 s otherwise).
pub fn set_reconnect_timeout(budget: Duration) {
    BUDGET_MS.store(budget.as_millis().min(u64::MAX as u128) as u64, Relaxed);
}

fn budget() -> Duration {
    Duration::from_millis(BUDGET_MS.load(Relaxed))
}

/// Whether `path` names a remote object rather than a local file.
pub fn is_remote(path: &str) -> bool {
    let p = path.get(..8).unwrap_or(path).to_ascii_lowercase();
    p.starts_with("http://") || p.starts_with("https://") || store::is_store(path)
}

/// `req` with its headers: the authorised GET of a store's object, or a plain one.
fn request(req: &Signed) -> ureq::Request {
    let mut r = agent().get(&req.to).set("Accept-Encoding", "identity");
    for (k, v) in &req.headers {
        r = r.set(k, v);
    }
    r
}

/// A store's answer that is not what its API documents.
pub(crate) fn invalid(url: &str, why: String) -> Error {
    Error::io(shown(url), io::Error::new(io::ErrorKind::InvalidData, why))
}

/// The URL as messages show it: without a query string (a presigned URL's signature)
/// and without a password in the user part.
pub fn shown(url: &str) -> String {
    let base = match url.split_once('?') {
        Some((base, _)) => format!("{base}?***"),
        None => url.to_string(),
    };
    let Some((scheme, rest)) = base.split_once("://") else {
        return base;
    };
    let host_end = rest.find('/').unwrap_or(rest.len());
    match rest[..host_end].rsplit_once('@') {
        Some((user, host)) => {
            let user = user.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{}", &rest[host_end..])
        }
        None => base,
    }
}

/// The object's name (the URL path's last part), for files named after the input.
pub fn file_name(url: &str) -> &str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let path = path.split_once("://").map_or(path, |(_, rest)| rest);
    match path.split_once('/') {
        Some((_, p)) => p.rsplit('/').find(|s| !s.is_empty()).unwrap_or("remote"),
        None => "remote",
    }
}

pub(crate) fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::AgentBuilder::new()
            .timeout_connect(CONNECT_TIMEOUT)
            .timeout_read(READ_TIMEOUT)
            .user_agent(concat!("chunkload/", env!("CARGO_PKG_VERSION")))
            .build()
    })
}

/// One failed attempt: final (the request is wrong) or worth retrying.
pub(crate) enum Failure {
    /// The request cannot be made (a bad URL or setting): reported as it is.
    Settings(Error),
    Final(io::Error),
    Again(String, Option<Duration>),
}

fn status_error(url: &str, code: u16, text: &str, ms_code: Option<&str>, body: &str) -> io::Error {
    let store = store::is_store(url);
    let kind = match code {
        404 | 410 => io::ErrorKind::NotFound,
        401 | 403 | 407 => io::ErrorKind::PermissionDenied,
        // Stores answer a wrong region or malformed credentials so: settings, not data.
        301 | 400 if store => io::ErrorKind::PermissionDenied,
        _ => io::ErrorKind::Other,
    };
    let msg = format!(
        "HTTP {code} {text}{}",
        store::explain(url, code, ms_code, body)
    );
    io::Error::new(kind, msg)
}

/// A transport error's words without its URL, which may be a presigned one.
fn transport_text(t: &ureq::Transport) -> String {
    let mut msg = t.kind().to_string();
    if let Some(m) = t.message() {
        msg.push_str(&format!(": {m}"));
    }
    if let Some(src) = std::error::Error::source(t) {
        msg.push_str(&format!(": {src}"));
    }
    msg
}

pub(crate) fn classify(url: &str, e: ureq::Error) -> Failure {
    match e {
        ureq::Error::Status(code, resp) => {
            let text = resp.status_text().to_string();
            if matches!(code, 408 | 429) || code >= 500 {
                let after = resp
                    .header("Retry-After")
                    .and_then(|s| s.trim().parse().ok())
                    .map(Duration::from_secs);
                Failure::Again(format!("HTTP {code} {text}"), after)
            } else {
                // A store's error body is small; only its code is kept.
                let ms_code = resp.header("x-ms-error-code").map(str::to_string);
                let mut body = String::new();
                let _ = resp.into_reader().take(64 << 10).read_to_string(&mut body);
                Failure::Final(status_error(url, code, &text, ms_code.as_deref(), &body))
            }
        }
        ureq::Error::Transport(t) => Failure::Again(transport_text(&t), None),
    }
}

/// A `verb` request with `body` to an object store, authorised by `sign` for each
/// attempt (a date or an expiry is part of the signature) and retried as every remote
/// request is; the statuses of `ok` (a delete's 404, say) answer `Ok(None)`.
pub(crate) fn send(
    url: &str,
    verb: &str,
    body: &[u8],
    ok: &[u16],
    sign: impl Fn() -> Result<Signed>,
) -> Result<Option<ureq::Response>> {
    retrying(url, Instant::now(), || {
        let Signed { to, headers } = sign().map_err(Failure::Settings)?;
        let mut req = agent().request(verb, &to);
        for (k, v) in &headers {
            req = req.set(k, v);
        }
        match req.send_bytes(body) {
            Ok(r) => Ok(Some(r)),
            Err(ureq::Error::Status(code, _)) if ok.contains(&code) => Ok(None),
            Err(e) => Err(classify(url, e)),
        }
    })
}

/// Runs `attempt` until it succeeds, fails for good, or the reconnect budget (counted
/// from `since`) is spent; waits as the crate's backoff policy says between attempts.
pub(crate) fn retrying<T>(
    url: &str,
    since: Instant,
    mut attempt: impl FnMut() -> std::result::Result<T, Failure>,
) -> Result<T> {
    let policy = RetryPolicy {
        max_attempts: u32::MAX,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(5),
    };
    let mut rng = rand::thread_rng();
    for retry in 0u32.. {
        let (why, after) = match attempt() {
            Ok(v) => return Ok(v),
            Err(Failure::Final(e)) => return Err(Error::io(shown(url), e)),
            Err(Failure::Settings(e)) => return Err(e),
            Err(Failure::Again(why, after)) => (why, after),
        };
        let left = budget().saturating_sub(since.elapsed());
        let wait = after.unwrap_or_else(|| policy.backoff(retry, &mut rng));
        if left.is_zero() || wait > left {
            let msg = format!("{why} (gave up after {:.0?})", since.elapsed());
            return Err(Error::io(
                shown(url),
                io::Error::new(io::ErrorKind::TimedOut, msg),
            ));
        }
        std::thread::sleep(wait);
    }
    unreachable!("the retry counter is unbounded but each round returns or sleeps")
}

/// Identities seen during the loads now running, by URL: the first one seen of an
/// object is the one every later GET of it must match.
struct Seen {
    /// How many [`Remembering`] guards are alive; nothing is kept when none is.
    holders: usize,
    infos: BTreeMap<String, ObjectInfo>,
    /// Each object's first bytes as read from its start: a later read from the start
    /// (the header's after the sniffer's, the load's after the header's) begins with
    /// them instead of a GET of its own.
    heads: BTreeMap<String, Vec<u8>>,
    /// The last object's open GET, stopped where its kept start ends: the next read
    /// from the start goes on with it, so a load of one object makes one GET.
    parked: Option<(String, HttpReader)>,
}

/// How much of an object's start is kept: the dialect sniffer's whole sample, and what
/// the buffered readers above fetch past it (up to 256 KiB).
const HEAD_BYTES: usize = super::sniff::SNIFF_BYTES + (256 << 10);
/// Objects whose start is kept, so a load of many objects holds 15 MiB at most.
const HEADS_KEPT: usize = 12;

fn seen() -> std::sync::MutexGuard<'static, Seen> {
    static SEEN: Mutex<Seen> = Mutex::new(Seen {
        holders: 0,
        infos: BTreeMap::new(),
        heads: BTreeMap::new(),
        parked: None,
    });
    SEEN.lock().unwrap_or_else(|p| p.into_inner())
}

/// While alive, the identity of each object read is kept (see [`remember_identities`]).
#[must_use]
pub struct Remembering(());

impl Drop for Remembering {
    fn drop(&mut self) {
        let mut s = seen();
        s.holders -= 1;
        if s.holders == 0 {
            s.infos.clear();
            s.heads.clear();
            s.parked = None;
        }
    }
}

/// Keeps each object's identity, from the first GET of it, until the guard drops: the
/// fingerprint reuses it without a request of its own, and every later GET (the read,
/// a rerun's seek with `If-Range`/`If-Match`) is refused if the object changed since.
/// A load holds it for its length; a process that outlives it forgets what it saw, so
/// a later load sees a changed object as changed between runs. A caller that sniffs or
/// infers before the load holds it across all of them: one version of each object is
/// read throughout, and its first bytes are fetched once (the sniffer's GET serves the
/// header's read and the start of the load's).
pub fn remember_identities() -> Remembering {
    seen().holders += 1;
    Remembering(())
}

/// The identity kept of `url`, if a load is running and read it.
fn remembered(url: &str) -> Option<ObjectInfo> {
    if !store::identity_in_headers(url) {
        return None;
    }
    let s = seen();
    (s.holders > 0).then(|| s.infos.get(url).cloned()).flatten()
}

/// Keeps `info` as `url`'s identity unless one is kept already.
fn remember(url: &str, info: &ObjectInfo) {
    let mut s = seen();
    if s.holders > 0 && store::identity_in_headers(url) {
        s.infos
            .entry(url.to_string())
            .or_insert_with(|| info.clone());
    }
}

/// The object's identity: a `gs://` object's metadata; for the others, the one kept
/// from a GET of it in this load, else a GET of its first byte (not HEAD, which a
/// presigned URL, signed for GET, refuses). That GET is left for objects nothing read
/// yet: a headerless input's, or one outside a load (`check` of a load not begun).
pub fn stat(url: &str) -> Result<ObjectInfo> {
    // gs://: a media GET's headers need not carry the generation; the metadata does.
    if gcs::is_gs(url) {
        let req = gcs::metadata(url)?;
        let json = get_text(url, &req)?;
        return gcs::parse_metadata(&json).map_err(|e| invalid(url, e));
    }
    if let Some(info) = remembered(url) {
        return Ok(info);
    }
    let info = retrying(url, Instant::now(), || {
        let req = store::get(url, Some("bytes=0-0".into()), None).map_err(Failure::Settings)?;
        let got = request(&req).call();
        match got {
            // An empty object has no first byte.
            Err(ureq::Error::Status(416, resp)) => Ok(ObjectInfo {
                size: Some(0),
                ..ObjectInfo::of(&resp)
            }),
            r => r.map(|r| ObjectInfo::of(&r)).map_err(|e| classify(url, e)),
        }
    })?;
    remember(url, &info);
    Ok(info)
}

/// The body of a small GET (a listing, metadata) for `url`, retried as the others.
pub(crate) fn get_text(url: &str, req: &Signed) -> Result<String> {
    retrying(url, Instant::now(), || {
        let resp = request(req).call().map_err(|e| classify(url, e))?;
        let mut text = String::new();
        resp.into_reader()
            .take(64 << 20)
            .read_to_string(&mut text)
            .map_err(|e| Failure::Again(e.to_string(), None))?;
        Ok(text)
    })
}

/// The size of the object at `url`, for progress; None when unknown (local files:
/// [`super::input_size`]).
pub fn size_of(url: &str) -> Option<u64> {
    stat(url).ok()?.size
}

/// The fingerprint of the object at `url` for the ledger.
pub fn fingerprint(url: &str) -> Result<String> {
    Ok(stat(url)?.fingerprint())
}

/// The start of `url` kept by this load, with the identity it was read as.
fn kept_head(url: &str) -> Option<(Vec<u8>, ObjectInfo)> {
    let info = remembered(url)?;
    let head = seen().heads.get(url).cloned()?;
    Some((head, info))
}

/// Keeps `head` as the start of `url` unless a longer one is kept.
fn keep_head(url: &str, head: Vec<u8>) {
    let mut s = seen();
    if s.holders == 0 || !store::identity_in_headers(url) {
        return;
    }
    let longer = s.heads.get(url).is_none_or(|h| h.len() < head.len());
    if longer && (s.heads.len() < HEADS_KEPT || s.heads.contains_key(url)) {
        s.heads.insert(url.to_string(), head);
    }
}

/// Opens `url` at byte `offset`: its bytes from there on, and its size.
pub fn open_at(url: &str, offset: u64) -> Result<(Box<dyn Read + Send>, Option<u64>)> {
    let fresh = |pos: u64| -> Result<HttpReader> {
        let mut r = HttpReader {
            url: url.to_string(),
            pos,
            body: None,
            info: remembered(url),
        };
        r.connect(Instant::now())?;
        Ok(r)
    };
    if offset > 0 {
        let r = fresh(offset)?;
        let size = r.info.as_ref().and_then(|i| i.size);
        return Ok((Box::new(r), size));
    }
    let read = match kept_head(url) {
        // The rest is asked for only when a reader goes past the kept start, and then
        // from the GET that read it if that one is still open.
        Some((head, info)) => StartRead {
            url: url.to_string(),
            size: info.size,
            rest: unpark(url, head.len() as u64),
            info: Some(info),
            head,
            at: 0,
            recording: false,
        },
        None => {
            let r = fresh(0)?;
            StartRead {
                url: url.to_string(),
                size: r.info.as_ref().and_then(|i| i.size),
                info: r.info.clone(),
                rest: Some(r),
                head: Vec::new(),
                at: 0,
                recording: true,
            }
        }
    };
    let size = read.size;
    Ok((Box::new(read), size))
}

/// The parked GET of `url` if it stands at `pos`.
fn unpark(url: &str, pos: u64) -> Option<HttpReader> {
    let mut s = seen();
    match s.parked.take() {
        Some((u, r)) if u == url && r.pos == pos && r.body.is_some() => Some(r),
        other => {
            s.parked = other;
            None
        }
    }
}

/// An object read from its start: its kept first bytes, then the GET of the rest.
struct StartRead {
    url: String,
    size: Option<u64>,
    info: Option<ObjectInfo>,
    head: Vec<u8>,
    /// The next byte to return.
    at: u64,
    /// The head is being read for the first time, and kept as it comes.
    recording: bool,
    rest: Option<HttpReader>,
}

impl Read for StartRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let kept = self.head.len() as u64;
        if self.at < kept {
            let from = &self.head[self.at as usize..];
            let n = from.len().min(buf.len());
            buf[..n].copy_from_slice(&from[..n]);
            self.at += n as u64;
            return Ok(n);
        }
        if self.size.is_some_and(|s| self.at >= s) {
            return Ok(0);
        }
        let rest = match self.rest.as_mut() {
            Some(r) => r,
            None => self.rest.insert(HttpReader {
                url: self.url.clone(),
                pos: self.at,
                body: None,
                info: self.info.clone(),
            }),
        };
        let n = rest.read(buf)?;
        if self.recording && self.at == kept && self.head.len() < HEAD_BYTES {
            let room = (HEAD_BYTES - self.head.len()).min(n);
            self.head.extend_from_slice(&buf[..room]);
            // Past the cap the head is complete: it stops growing and `at` passes it.
        }
        self.at += n as u64;
        Ok(n)
    }
}

impl Drop for StartRead {
    fn drop(&mut self) {
        let head = std::mem::take(&mut self.head);
        let end = head.len() as u64;
        if self.recording && !head.is_empty() {
            keep_head(&self.url, head);
        }
        // Stopped where the kept start ends (a sample, a header): the open GET waits
        // for the next read from the start.
        let kept = seen().heads.get(&self.url).map(|h| h.len() as u64);
        if let Some(rest) = self.rest.take() {
            if kept == Some(end) && rest.pos == end && rest.body.is_some() {
                seen().parked = Some((self.url.clone(), rest));
            }
        }
    }
}

/// The bytes of one object from a position on, reconnecting where a cut left off.
struct HttpReader {
    url: String,
    /// The next byte to return.
    pos: u64,
    body: Option<Box<dyn Read + Send>>,
    /// The version the first response was of; every later one must be the same.
    info: Option<ObjectInfo>,
}

impl HttpReader {
    /// (Re)opens the body at `pos`, retrying within the budget counted from `since`.
    fn connect(&mut self, since: Instant) -> Result<()> {
        let (url, pos) = (self.url.clone(), self.pos);
        let known = self.info.clone();
        let (info, body) = retrying(&url, since, || {
            // Authorised per attempt: a signature or date may not outlive a long wait.
            // Only the version begun: a changed object comes back whole (200) or not.
            let tag = known.as_ref().and_then(|i| i.etag.as_deref());
            // A range even from 0: the 206's `Content-Range` total is the size as the
            // one-byte GET of earlier versions read it, so fingerprints stay the same.
            let range = Some(format!("bytes={pos}-"));
            let req =
                store::get(&url, range, tag.filter(|_| pos > 0)).map_err(Failure::Settings)?;
            let resp = match request(&req).call() {
                // Nothing left past `pos`: the object's end (at 0: an empty object).
                Err(ureq::Error::Status(416, resp)) => {
                    let info = match known.clone() {
                        Some(k) if k.size == Some(pos) => k,
                        Some(_) => {
                            let msg = "the object changed while it was being read";
                            return Err(Failure::Final(io::Error::other(msg)));
                        }
                        None => ObjectInfo {
                            size: Some(pos),
                            ..ObjectInfo::of(&resp)
                        },
                    };
                    if pos == 0 {
                        remember(&url, &info);
                    }
                    return Ok((info, Box::new(io::empty()) as Box<dyn Read + Send>));
                }
                r => r.map_err(|e| classify(&url, e))?,
            };
            let info = ObjectInfo::of(&resp);
            let expected = known.clone().or_else(|| remembered(&url));
            if expected.is_some_and(|k| k != info) {
                let msg = "the object changed while it was being read";
                return Err(Failure::Final(io::Error::other(msg)));
            }
            remember(&url, &info);
            let ranged = resp.status() == 206;
            let mut body: Box<dyn Read + Send> = Box::new(resp.into_reader());
            if pos > 0 && !ranged {
                // The server sent the whole object: drop what comes before `pos`.
                let skipped = io::copy(&mut (&mut body).take(pos), &mut io::sink())
                    .map_err(|e| Failure::Again(e.to_string(), None))?;
                if skipped < pos {
                    let msg = format!("the object is shorter ({skipped} bytes) than {pos}");
                    return Err(Failure::Final(io::Error::other(msg)));
                }
            }
            Ok((info, body))
        })?;
        self.info = Some(info);
        self.body = Some(body);
        Ok(())
    }
}

impl Read for HttpReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut cut: Option<Instant> = None;
        loop {
            if cut.is_some_and(|t| t.elapsed() > budget()) {
                let msg = "the connection kept ending before the object's end";
                return Err(io::Error::new(io::ErrorKind::TimedOut, msg));
            }
            if self.body.is_none() {
                let since = *cut.get_or_insert_with(Instant::now);
                self.connect(since).map_err(io::Error::other)?;
            }
            let body = self.body.as_mut().expect("connected above");
            let size = self.info.as_ref().and_then(|i| i.size);
            match body.read(buf) {
                // An early end is a cut connection, not the object's end.
                Ok(0) if size.is_some_and(|s| self.pos < s) => self.body = None,
                Ok(n) => {
                    self.pos += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    cut.get_or_insert_with(Instant::now);
                    self.body = None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_paths_and_how_they_are_shown() {
        assert!(is_remote("https://example.com/a.csv"));
        assert!(is_remote("HTTP://example.com/a.csv"));
        assert!(!is_remote("http.csv"));
        assert!(!is_remote("-"));
        assert!(!is_remote("data/https/a.csv"));
        assert_eq!(
            shown("https://h/a.csv?X-Amz-Signature=abc"),
            "https://h/a.csv?***"
        );
        assert_eq!(shown("https://me:secret@h/a.csv"), "https://me:***@h/a.csv");
        assert_eq!(shown("http://h:8080/a.csv"), "http://h:8080/a.csv");
        assert_eq!(file_name("https://h/d/a.csv.gz?sig=1"), "a.csv.gz");
        assert_eq!(file_name("https://h/d/"), "d");
        assert_eq!(file_name("https://h"), "remote");
    }

    /// Serves one response per connection on loopback, the ETag of the `n`th being
    /// `etags[n]`; returns the URL.
    fn serve(etags: &'static [&'static str]) -> String {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/a.csv", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for etag in etags {
                let Ok((mut s, _)) = listener.accept() else {
                    return;
                };
                let mut req = [0u8; 4096];
                let _ = s.read(&mut req);
                let _ = write!(
                    s,
                    "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-3/4\r\n\
                     Content-Length: 4\r\nETag: {etag}\r\nConnection: close\r\n\r\nid\n1"
                );
            }
        });
        url
    }

    #[test]
    fn within_a_load_the_first_identity_seen_is_held_to() {
        let url = serve(&["\"a\"", "\"a\"", "\"b\""]);
        let _kept = remember_identities();
        let (mut body, size) = open_at(&url, 0).unwrap();
        assert_eq!(size, Some(4));
        let mut text = String::new();
        body.read_to_string(&mut text).unwrap();
        assert_eq!(text, "id\n1");
        // The fingerprint is the first GET's, without a request of its own.
        assert_eq!(fingerprint(&url).unwrap(), "http:4:\"a\":");
        assert!(open_at(&url, 0).is_ok());
        // The object changed since: refused before any of its bytes are read.
        let e = open_at(&url, 0).err().unwrap().to_string();
        assert!(e.contains("changed"), "{e}");
    }

    #[test]
    fn fingerprints_differ_when_any_part_does() {
        let a = ObjectInfo {
            size: Some(10),
            etag: Some("\"x\"".into()),
            last_modified: None,
            version: None,
        };
        let mut b = a.clone();
        b.etag = Some("\"y\"".into());
        assert_ne!(a.fingerprint(), b.fingerprint());
        let mut c = a.clone();
        c.size = Some(11);
        assert_ne!(a.fingerprint(), c.fingerprint());
        assert_eq!(a.fingerprint(), a.clone().fingerprint());
    }
}
