//! The strict CockroachDB stand-in: a pgwire proxy on loopback in front of a database of
//! the throwaway PostgreSQL ([`crate::cluster::LocalCluster::create_cockroach_database`]),
//! that refuses, with CockroachDB's SQLSTATE and message, what CockroachDB refuses and
//! PostgreSQL accepts, by the version the database's `version()` claims ([`rules`]).
//!
//! PostgreSQL alone accepts everything PostgreSQL accepts, so a stand-in that only answers
//! `version()` like CockroachDB could never show a CockroachDB-only failure. The proxy reads
//! each Query and Parse message, judges every statement, and:
//! - forwards it (the catalog references CockroachDB answers differently rewritten to the
//!   `crdb_compat` schema of the database);
//! - refuses it: the statement is replaced by a marker PostgreSQL rejects at parse time,
//!   and that error, on its way back, is replaced by CockroachDB's (so the transaction and
//!   the extended protocol's error recovery stay PostgreSQL's own, in step);
//! - commits first (a schema change in a transaction on v25.1+);
//! - translates what PostgreSQL lacks: `UPSERT`, `SHOW CLUSTER SETTING`, `IMPORT INTO`,
//!   `SHOW CREATE TABLE` and CockroachDB's index DDL (`indexes`).
//!
//! With [`Options::reviewed_only`], a statement whose shape is not on [`reviewed::SHAPES`]
//! is refused too: the tests run every CockroachDB load through it, so the flavour cannot
//! start sending SQL nobody checked against CockroachDB.

mod indexes;
pub mod lex;
pub mod reviewed;
pub mod rules;
mod translate;
pub mod wire;

use crate::{Error, Result};
use rules::{Protocol, Session, Verdict};
use std::collections::{HashMap, VecDeque};
use std::io::{BufReader, BufWriter, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use wire::Msg;

/// How the stand-in behaves.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Refuse statements whose shape is not on the reviewed list (the tests' setting).
    pub reviewed_only: bool,
}

/// A running stand-in; dropping it stops accepting (live sessions end with their client).
pub struct StandIn {
    addr: SocketAddr,
    stopped: Arc<AtomicBool>,
}

impl StandIn {
    /// Listens on 127.0.0.1 at a free port, forwarding to the PostgreSQL at `upstream`.
    pub fn start(upstream: SocketAddr, options: Options) -> Result<StandIn> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| Error::io("stand-in listener".to_string(), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("stand-in listener".to_string(), e))?;
        let stopped = Arc::new(AtomicBool::new(false));
        let stop = stopped.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop.load(SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let shared = Shared {
                    upstream,
                    options: options.clone(),
                };
                std::thread::spawn(move || {
                    let _ = serve(client, &shared);
                });
            }
        });
        Ok(StandIn { addr, stopped })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL of database `db` through the stand-in, as user `postgres`.
    pub fn url_for(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.addr.port())
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stopped.store(true, SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
    }
}

struct Shared {
    upstream: SocketAddr,
    options: Options,
}

/// What to do with the answers up to the next ReadyForQuery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answers {
    /// The client's own: pass them on.
    Pass,
    /// A statement the stand-in slipped in (the COMMIT before a schema change): drop them.
    Swallow,
}

/// State both directions of one session share.
#[derive(Default)]
struct State {
    session: Session,
    /// One entry per Query or Sync sent upstream, in order.
    answers: VecDeque<Answers>,
    /// Refusals by marker number, to replace PostgreSQL's parse error on the way back.
    refusals: HashMap<u64, rules::Refusal>,
    next_marker: u64,
}

const MARKER: &str = "standin_refusal_";

fn serve(mut client: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let _ = client.set_nodelay(true);
    let (packet, params) = loop {
        let (packet, code) = wire::read_startup(&mut client)?;
        match code {
            wire::SSL_REQUEST | wire::GSSENC_REQUEST => client.write_all(b"N")?,
            wire::CANCEL_REQUEST => {
                let mut up = TcpStream::connect(shared.upstream)?;
                return up.write_all(&packet);
            }
            _ => break (packet.clone(), wire::startup_params(&packet)),
        }
    };
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let user = param("user").unwrap_or_else(|| "postgres".into());
    let db = param("database").unwrap_or_else(|| user.clone());
    let mut side = translate::Side::new(shared.upstream, &user, &db);
    let version = side.version();

    let mut server = TcpStream::connect(shared.upstream)?;
    let _ = server.set_nodelay(true);
    server.write_all(&packet)?;
    let state = Arc::new(Mutex::new(State::default()));
    let down = {
        let (server, client, state) = (server.try_clone()?, client.try_clone()?, state.clone());
        std::thread::spawn(move || downstream(server, client, &state))
    };
    // A panic must still end the session: the downstream thread holds the client's socket.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        upstream(&mut client, &mut server, shared, &state, &mut side, version)
    }))
    .unwrap_or_else(|_| Err(std::io::Error::other("stand-in session panicked")));
    let _ = server.shutdown(Shutdown::Both);
    let _ = client.shutdown(Shutdown::Both);
    let _ = down.join();
    result
}

/// Client → server: judge and rewrite Query and Parse messages.
fn upstream(
    client: &mut TcpStream,
    server: &mut TcpStream,
    shared: &Shared,
    state: &Mutex<State>,
    side: &mut translate::Side,
    version: rules::Version,
) -> std::io::Result<()> {
    let mut r = BufReader::new(client.try_clone()?);
    let mut w = BufWriter::new(server.try_clone()?);
    while let Some(msg) = wire::read_msg(&mut r)? {
        match msg.tag {
            b'Q' => {
                let sql = wire::query_text(&msg.body).unwrap_or("").to_string();
                let mut parts = Vec::new();
                for stmt in lex::statements(&sql) {
                    parts.push(one(stmt, Protocol::Simple, shared, state, side, version));
                }
                let text = match parts.is_empty() {
                    true => sql, // an empty query is answered by EmptyQueryResponse
                    false => parts.join(";\n"),
                };
                state.lock().unwrap().answers.push_back(Answers::Pass);
                wire::query(&text).write_to(&mut w)?;
            }
            b'P' => {
                let Some((name, sql, rest)) = wire::parse_parts(&msg.body) else {
                    msg.write_to(&mut w)?;
                    continue;
                };
                let stmts = lex::statements(sql);
                let text = match stmts.as_slice() {
                    [stmt] => {
                        let t = one(stmt, Protocol::Extended, shared, state, side, version);
                        if let Some(stripped) = t.strip_prefix("COMMIT;\n") {
                            // The schema change's autocommit, before the Parse.
                            state.lock().unwrap().answers.push_back(Answers::Swallow);
                            wire::query("COMMIT").write_to(&mut w)?;
                            stripped.to_string()
                        } else {
                            t
                        }
                    }
                    _ => sql.to_string(),
                };
                wire::parse(name, &text, rest).write_to(&mut w)?;
            }
            b'S' => {
                state.lock().unwrap().answers.push_back(Answers::Pass);
                msg.write_to(&mut w)?;
            }
            b'X' => {
                msg.write_to(&mut w)?;
                w.flush()?;
                return Ok(());
            }
            _ => msg.write_to(&mut w)?,
        }
        // Flush whenever the client has nothing more queued (it waits for an answer).
        if r.buffer().is_empty() {
            w.flush()?;
        }
    }
    w.flush()
}

/// One statement's text as forwarded: itself, rewritten, translated, or a refusal marker.
fn one(
    stmt: &str,
    protocol: Protocol,
    shared: &Shared,
    state: &Mutex<State>,
    side: &mut translate::Side,
    version: rules::Version,
) -> String {
    let session = state.lock().unwrap().session;
    let refusal = |r: rules::Refusal| -> String {
        let mut st = state.lock().unwrap();
        st.next_marker += 1;
        let n = st.next_marker;
        st.refusals.insert(n, r);
        format!("{MARKER}{n}")
    };
    if shared.options.reviewed_only {
        if let Err(r) = reviewed::check(stmt) {
            return refusal(r);
        }
    }
    let verdict = rules::judge(stmt, protocol, session, version, &mut |f| {
        side.is_pg_function(f)
    });
    let text = match verdict {
        Verdict::Run => match side.forwarded(stmt) {
            Ok(sql) => sql,
            Err(r) => return refusal(r),
        },
        Verdict::Refuse(r) => return refusal(r),
        Verdict::CommitFirst => {
            let mut st = state.lock().unwrap();
            st.session = Session::default();
            drop(st);
            return match side.forwarded(stmt) {
                Ok(t) => format!("COMMIT;\n{t}"),
                Err(r) => format!("COMMIT;\n{}", refusal(r)),
            };
        }
        Verdict::ShowClusterSetting(name) => match side.show_cluster_setting(&name) {
            Ok(sql) => sql,
            Err(r) => return refusal(r),
        },
        Verdict::Upsert => match side.upsert(stmt) {
            Ok(sql) => sql,
            Err(r) => return refusal(r),
        },
        Verdict::Import => match side.import(stmt) {
            Ok(sql) => sql,
            Err(r) => return refusal(r),
        },
        Verdict::ShowCreate(name) => match side.show_create(&name) {
            Ok(sql) => sql,
            Err(r) => return refusal(r),
        },
    };
    let mut st = state.lock().unwrap();
    st.session = rules::after(stmt, st.session);
    text
}

/// Server → client: CockroachDB's errors in place of the markers' parse errors; the
/// answers of slipped-in statements dropped; the session's transaction state kept.
fn downstream(server: TcpStream, client: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    let mut r = BufReader::new(server);
    let mut w = BufWriter::new(client);
    while let Some(mut msg) = wire::read_msg(&mut r)? {
        let mut pass = true;
        {
            let mut st = state.lock().unwrap();
            if st.answers.front() == Some(&Answers::Swallow) {
                pass = false;
            }
            match msg.tag {
                b'E' => {
                    if let Some(r) = marker_of(&msg).and_then(|n| st.refusals.remove(&n)) {
                        msg = wire::error(
                            &r.code,
                            &r.message,
                            Some(&format!("stand-in rule: {}", r.source)),
                        );
                    }
                }
                b'Z' => {
                    st.answers.pop_front();
                    if st.answers.is_empty() {
                        let status = msg.body.first().copied().unwrap_or(b'I');
                        if status == b'I' {
                            st.session = Session::default();
                        } else {
                            st.session.in_txn = true;
                        }
                    }
                }
                _ => {}
            }
        }
        if pass {
            msg.write_to(&mut w)?;
        }
        if r.buffer().is_empty() {
            w.flush()?;
        }
    }
    w.flush()
}

/// The marker number in PostgreSQL's `syntax error at or near "standin_refusal_N"`.
fn marker_of(msg: &Msg) -> Option<u64> {
    let fields = wire::error_fields(&msg.body);
    let m = &fields.iter().find(|(k, _)| *k == b'M')?.1;
    let at = m.find(MARKER)? + MARKER.len();
    let digits: String = m[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}
