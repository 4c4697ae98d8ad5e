//! A loopback TCP proxy that stands between the loader and the server and cuts
//! connections: at random moments (seeded, bounded in number), right after forwarding a
//! COMMIT (the server commits, the client never hears: an ambiguous commit), or all at once
//! when a test stops it (a node going away).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The simple-query message rust-postgres sends to commit: 'Q', length 11, "COMMIT\0".
const COMMIT_MSG: &[u8] = b"Q\0\0\0\x0bCOMMIT\0";

/// How the proxy misbehaves.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Cut every live connection at random intervals in this range (ms), at most
    /// `max_random_cuts` times.
    pub random_every_ms: Option<(u64, u64)>,
    /// Upper bound of random cuts.
    pub max_random_cuts: u64,
    /// After forwarding every Nth COMMIT, cut that connection before the reply returns.
    pub cut_after_commit_every: Option<u64>,
    /// Count only the COMMITs of transactions that sent a COPY (a chunk's), not those of
    /// the load's bookkeeping.
    pub only_after_copy: bool,
    /// Seed of the random moments.
    pub seed: u64,
    /// Cut a connection once it has carried this many bytes server to client, at most
    /// this many times in all: a download cut mid-body, whatever the machine's speed.
    pub cut_down_after_bytes: Option<(u64, u64)>,
}

/// The sockets of each live connection (client side, server side), by connection number:
/// [`cut_all`] shuts them down, and [`Pumps`] drops them once the connection's pumps end.
type Conns = Arc<Mutex<Vec<(u64, TcpStream, TcpStream)>>>;

/// A running proxy; dropping it stops it.
pub struct Proxy {
    addr: SocketAddr,
    stopped: Arc<AtomicBool>,
    conns: Conns,
    /// Connections accepted so far.
    pub accepted: Arc<AtomicU64>,
    /// Cuts made so far (random, after COMMIT, or by stop).
    pub cuts: Arc<AtomicU64>,
    /// Bytes carried client to server.
    pub bytes_up: Arc<AtomicU64>,
    /// Client messages seen, by what they start with: `ROLLBACK TO SAVEPOINT` and `COPY `
    /// (counted per read, which holds a whole short message).
    pub seen: Arc<Seen>,
}

/// What the client sent, counted (see [`Proxy::seen`]).
#[derive(Debug, Default)]
pub struct Seen {
    /// `ROLLBACK TO SAVEPOINT` statements.
    pub savepoint_rollbacks: AtomicU64,
    /// `COPY ` statements.
    pub copies: AtomicU64,
}

impl Seen {
    fn count(&self, bytes: &[u8]) {
        let n = |needle: &[u8]| bytes.windows(needle.len()).filter(|w| *w == needle).count();
        self.savepoint_rollbacks
            .fetch_add(n(b"ROLLBACK TO SAVEPOINT") as u64, SeqCst);
        self.copies.fetch_add(n(b"COPY ") as u64, SeqCst);
    }
}

impl Proxy {
    /// Starts a proxy on 127.0.0.1 at a free port, forwarding to `upstream`.
    pub fn start(upstream: SocketAddr, faults: Faults) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let p = Proxy {
            addr,
            stopped: Arc::new(AtomicBool::new(false)),
            conns: Arc::new(Mutex::new(Vec::new())),
            accepted: Arc::new(AtomicU64::new(0)),
            cuts: Arc::new(AtomicU64::new(0)),
            bytes_up: Arc::new(AtomicU64::new(0)),
            seen: Arc::new(Seen::default()),
        };
        let commits = Arc::new(AtomicU64::new(0));
        {
            let (stopped, conns, accepted, cuts, up) = (
                p.stopped.clone(),
                p.conns.clone(),
                p.accepted.clone(),
                p.cuts.clone(),
                p.bytes_up.clone(),
            );
            let seen = p.seen.clone();
            let faults = faults.clone();
            std::thread::spawn(move || {
                for client in listener.incoming() {
                    if stopped.load(SeqCst) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    let Ok(server) = TcpStream::connect(upstream) else {
                        let _ = client.shutdown(Shutdown::Both);
                        continue;
                    };
                    let id = accepted.fetch_add(1, SeqCst);
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (c1, s1) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                    conns.lock().unwrap().push((id, c1, s1));
                    let (pumps_up, pumps_down) =
                        (Pumps(id, conns.clone()), Pumps(id, conns.clone()));
                    let every = faults
                        .cut_after_commit_every
                        .map(|n| (n, faults.only_after_copy));
                    let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                    let (commits, cuts, up) = (commits.clone(), cuts.clone(), up.clone());
                    let cuts2 = cuts.clone();
                    let seen = seen.clone();
                    let mute = Arc::new(Mute::default());
                    let mute2 = mute.clone();
                    std::thread::spawn(move || {
                        let counters = (&*commits, &*cuts, &*up, &*seen);
                        pump_up(client, server, every, counters, &mute);
                        drop(pumps_up);
                    });
                    let down_cut = faults
                        .cut_down_after_bytes
                        .map(|(b, max)| (b, max, cuts2.clone()));
                    std::thread::spawn(move || {
                        pump(s2, c2, &mute2, down_cut);
                        drop(pumps_down);
                    });
                }
            });
        }
        if let Some((lo, hi)) = faults.random_every_ms {
            let (stopped, conns, cuts) = (p.stopped.clone(), p.conns.clone(), p.cuts.clone());
            let accepted = p.accepted.clone();
            let max = faults.max_random_cuts;
            let seed = faults.seed;
            std::thread::spawn(move || {
                // The clock starts once a second connection came: the client's first one
                // (tried once, as libpq's, and never retried) is set up by then, however
                // slowly a busy machine started the client.
                for _ in 0..12_000 {
                    if accepted.load(SeqCst) >= 2 || stopped.load(SeqCst) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                let mut rng = StdRng::seed_from_u64(seed);
                for _ in 0..max {
                    std::thread::sleep(Duration::from_millis(rng.gen_range(lo..=hi)));
                    if stopped.load(SeqCst) {
                        return;
                    }
                    cut_all(&conns);
                    cuts.fetch_add(1, SeqCst);
                }
            });
        }
        p
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and cuts every live connection: the node is gone.
    pub fn stop(&self) {
        self.stopped.store(true, SeqCst);
        cut_all(&self.conns);
        self.cuts.fetch_add(1, SeqCst);
        // Wake the accept loop so it sees the flag and closes the listener.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(100));
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}

fn cut_all(conns: &Conns) {
    for (_, c, s) in conns.lock().unwrap().drain(..) {
        let _ = c.shutdown(Shutdown::Both);
        let _ = s.shutdown(Shutdown::Both);
    }
}

/// Held by each of a connection's two pump threads; the first to end takes the
/// connection's sockets out of [`Conns`], so they close when the other ends too.
/// A shutdown alone does not close: Linux keeps taking (and never delivering) a server's
/// bytes after `SHUT_RD`, so a server writing the rest of a body would wait on a zero
/// window for good, and a single-threaded one (gcp-storage-emulator) would never accept
/// the client's next connection. Closed with those bytes unread, the socket sends a
/// reset and the server's write fails at once, as through a real cut.
struct Pumps(u64, Conns);

impl Drop for Pumps {
    fn drop(&mut self) {
        self.1.lock().unwrap().retain(|(id, _, _)| *id != self.0);
    }
}

/// Server-to-client silence after a COMMIT the proxy will cut: `on` stops forwarding,
/// `answered` records that the server replied (so it did commit) before the cut.
#[derive(Default)]
struct Mute {
    on: AtomicBool,
    answered: AtomicBool,
}

/// Down-stream cuts: after how many bytes, at most how many in all, and the count so far.
type DownCut = (u64, u64, Arc<AtomicU64>);

fn pump(mut from: TcpStream, mut to: TcpStream, mute: &Mute, down_cut: Option<DownCut>) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut carried = 0u64;
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                carried += n as u64;
                if let Some((after, max, cuts)) = &down_cut {
                    if carried > *after && cuts.load(SeqCst) < *max {
                        cuts.fetch_add(1, SeqCst);
                        break;
                    }
                }
                if mute.on.load(SeqCst) {
                    mute.answered.store(true, SeqCst);
                    continue;
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

fn pump_up(
    mut from: TcpStream,
    mut to: TcpStream,
    every: Option<(u64, bool)>,
    (commits, cuts, up, seen): (&AtomicU64, &AtomicU64, &AtomicU64, &Seen),
    mute: &Mute,
) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut copied = false;
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                up.fetch_add(n as u64, SeqCst);
                seen.count(&buf[..n]);
                copied |= buf[..n].windows(5).any(|w| w == b"COPY ");
                let has_commit =
                    every.is_some() && buf[..n].windows(COMMIT_MSG.len()).any(|w| w == COMMIT_MSG);
                let counted = has_commit && every.is_some_and(|(_, only)| copied || !only);
                copied &= !has_commit;
                let cut = counted
                    && every
                        .is_some_and(|(every, _)| (commits.fetch_add(1, SeqCst) + 1) % every == 0);
                if cut {
                    // The server gets the COMMIT and commits; its answer never reaches
                    // the client: an ambiguous commit.
                    mute.on.store(true, SeqCst);
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
                if cut {
                    // Cut once the server has answered the COMMIT (bounded wait).
                    for _ in 0..500 {
                        if mute.answered.load(SeqCst) {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    cuts.fetch_add(1, SeqCst);
                    break;
                }
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
