//! The `--check` sink: every chunk runs against the real table as in a real load, bad rows
//! are isolated into the reject file, and nothing commits.
//!
//! Where a chunk's rows live until the end decides which duplicates a check finds:
//! - **PostgreSQL**: the check is one transaction on one connection, chunks in file order
//!   ([`InOrder`]). Each chunk runs in a savepoint that is released when it succeeds, so
//!   later chunks see its rows and a key repeated anywhere in the file is found, as a real
//!   load finds it; the transaction is rolled back at the end (`SET CONSTRAINTS ALL
//!   IMMEDIATE` first, so deferred constraints are checked too).
//! - **CockroachDB**: one transaction per chunk, rolled back (one for the whole file would
//!   exceed `kv.transaction.max_intents_bytes`): a key repeated in two chunks is not found.
//!
//! Inside a chunk, a piece that fails for a data error is rolled back to its own savepoint
//! and halved, as a real load halves its transaction: the bad rows end up alone and the
//! good ones stay visible to the rest of the chunk. A 40001 rolls the chunk back to its
//! savepoint (CockroachDB's `cockroach_restart`) and runs it again; the chunk's rejects are
//! only counted once it went through.
//!
//! On CockroachDB versions whose savepoint rollback is broken ([`RetryPath::Restart`]: a
//! prepared statement or a `ROLLBACK` after `ROLLBACK TO SAVEPOINT` fails there), no
//! savepoint is rolled back to: a failed piece rolls back the chunk's whole transaction,
//! which begins again and replays the chunk's pieces that went through before it (they
//! went through on the same data, so they do again), then the halves; a 40001 rolls back
//! and runs the chunk again from its start.
//!
//! A COPY the server refuses before it reads any data (a statement trigger, a missing
//! privilege) leaves the connection out of step ([`super::database`]): it is dropped, and
//! the transaction with it. On CockroachDB that is the chunk's only, and a 40001 runs the
//! chunk again on a new connection; on PostgreSQL it held every chunk before, so the
//! check stops and says why.

use super::control::{PipelineControl, Rejects};
use super::database::{
    describe_piece_error, hid_the_refusal, reject, send_rows, worth_resending, Conn, Unsent,
};
use super::load_sql::Statements;
use super::pieces::{Pieces, RowRange};
use super::sink::{encoded_range, ChunkSink};
use crate::connect::{connect_with_backoff, Connector};
use crate::encode::EncodedChunk;
use crate::flavour::Flavour;
use crate::report::Counters;
use crate::retry::{
    classify_error, fault, retry_loop, Budget, Fault, Retry, RetryPath, RetryPolicy, Savepoint,
};
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// What checking a load's chunks needs; the same for every writer.
pub(crate) struct CheckTarget {
    pub(crate) statements: Statements,
    /// Input file names, for error positions.
    pub(crate) files: Vec<String>,
    pub(crate) retry: RetryPolicy,
    /// How the server's transactions are retried: on CockroachDB [`RetryPath::Restart`]
    /// means no savepoint may be rolled back to (see the module's documentation).
    pub(crate) retry_path: RetryPath,
    pub(crate) connector: Connector,
    /// Total time to keep trying to connect.
    pub(crate) reconnect_timeout: Duration,
}

/// The savepoint a piece smaller than its chunk runs in.
const PIECE: Savepoint = Savepoint::named("chunkload_piece");

/// One writer of a check: its connection and what the writers share.
pub(crate) struct CheckSink<'a> {
    pub(crate) target: &'a CheckTarget,
    pub(crate) control: &'a PipelineControl,
    pub(crate) counters: &'a Counters,
    pub(crate) rejects: &'a Rejects,
    pub(crate) worker: usize,
    conn: Option<Conn>,
}

impl<'a> CheckSink<'a> {
    /// A sink for writer `worker`; it connects (and on PostgreSQL opens the check's
    /// transaction) on its first chunk.
    pub(crate) fn new(
        target: &'a CheckTarget,
        control: &'a PipelineControl,
        counters: &'a Counters,
        rejects: &'a Rejects,
        worker: usize,
    ) -> CheckSink<'a> {
        CheckSink {
            target,
            control,
            counters,
            rejects,
            worker,
            conn: None,
        }
    }

    fn flavour(&self) -> Flavour {
        self.target.statements.flavour
    }

    fn connection(&mut self) -> Result<&mut Conn> {
        if self.conn.is_none() {
            let t = self.target;
            let mut client = connect_with_backoff(&t.connector, self.worker, t.reconnect_timeout)?;
            if self.flavour() == Flavour::Postgres {
                client.batch_execute("BEGIN; SET CONSTRAINTS ALL IMMEDIATE")?;
            }
            self.conn = Some(Conn::new(client));
        }
        Ok(self.conn.as_mut().expect("connected above"))
    }
}

impl Drop for CheckSink<'_> {
    /// Nothing a check did stays: its transaction is rolled back (closing the connection
    /// would too).
    fn drop(&mut self) {
        if let Some(c) = self.conn.as_mut() {
            let _ = c.client.batch_execute("ROLLBACK");
        }
    }
}

impl ChunkSink for CheckSink<'_> {
    fn commit(&mut self, mut work: EncodedChunk, truncate: bool) -> Result<()> {
        if work.fallback {
            self.counters.fallback_chunks.fetch_add(1, Relaxed);
        }
        let mut bad: Vec<(u32, Error)> = Vec::new();
        for (row, err) in std::mem::take(&mut work.bad) {
            if !self.rejects.tolerates_any() {
                return Err(err);
            }
            bad.push((row, err));
        }
        let flavour = self.flavour();
        let t = self.target;
        let tolerate = self.rejects.tolerates_any();
        let control = self.control;
        // PostgreSQL, and CockroachDB where it is safe, isolate bad rows with savepoints;
        // elsewhere a failed piece restarts the chunk's transaction.
        let savepoints = flavour == Flavour::Postgres || t.retry_path == RetryPath::Savepoint;
        let chunk_sp = match flavour {
            Flavour::Postgres => Savepoint::named("chunkload_chunk"),
            Flavour::Cockroach => Savepoint::COCKROACH_RESTART,
        };
        let table = t.statements.table.sql_name();
        let begin = chunk_begin(
            flavour,
            truncate.then_some(table.as_str()),
            chunk_sp,
            savepoints,
        )?;
        let isolation = match savepoints {
            true => Isolation::Savepoints { chunk_sp },
            false => Isolation::Restarts { begin: &begin },
        };
        // Whether the chunk's savepoint (or, restarting, its transaction) is open on the
        // connection: a retry rolls back to it.
        let mut open = false;
        let outcome = retry_loop(
            Budget::Attempts(t.retry.max_attempts),
            &t.retry,
            &mut rand::thread_rng(),
            std::thread::sleep,
            |_| {
                let conn = self.connection().map_err(|e| (e, Retry::Fail))?;
                match (open, isolation) {
                    (true, Isolation::Savepoints { chunk_sp }) => {
                        exec(conn, &chunk_sp.rollback_to())?
                    }
                    (true, Isolation::Restarts { begin }) => {
                        exec(conn, "ROLLBACK")?;
                        exec(conn, begin)?;
                    }
                    (false, _) => {
                        let begun = conn.client.batch_execute(&begin);
                        begun.map_err(|e| (Error::from(e), Retry::Fail))?;
                        open = true;
                    }
                }
                match pieces(conn, t, &work, isolation, tolerate, control) {
                    Ok(bad) => Ok(bad),
                    Err(Stopped::InStep(e, retry)) => Err((e, retry)),
                    Err(Stopped::OutOfStep { error, lo, n }) => {
                        // Nothing more is sent on it; its transaction goes with it.
                        self.conn = None;
                        open = false;
                        // One transaction per chunk: nothing else was lost.
                        if flavour == Flavour::Cockroach && worth_resending(&error) {
                            return Err((error, Retry::Again));
                        }
                        Err((refused_at_start(t, &work, lo, n, error), Retry::Fail))
                    }
                }
            },
        );
        let (server_bad, attempts) = match outcome {
            Ok(v) => v,
            Err(g) => {
                // The check stops here: its transaction goes with the connection.
                self.conn = None;
                return Err(g.into_error());
            }
        };
        let conn = self.conn.as_mut().expect("the chunk went through on it");
        let end = match flavour {
            Flavour::Postgres => chunk_sp.release(),
            Flavour::Cockroach => "ROLLBACK".to_string(),
        };
        if let Err(e) = conn.client.batch_execute(&end) {
            self.conn = None;
            return Err(e.into());
        }
        let c = self.counters;
        c.retries.fetch_add((attempts - 1) as u64, Relaxed);
        c.rows
            .fetch_add((work.rows.len() - server_bad.len()) as u64, Relaxed);
        bad.extend(server_bad);
        bad.sort_by_key(|(row, _)| *row);
        for (row, msg) in &bad {
            reject(self.rejects, &work.chunk, *row, msg)?;
        }
        c.chunks.fetch_add(1, Relaxed);
        Ok(())
    }
}

/// Why `--check --truncate` is refused on CockroachDB (before anything runs).
pub(crate) const CHECK_TRUNCATE_COCKROACH: &str = "--check --truncate cannot run on \
     CockroachDB: TRUNCATE is not transactional there (from v25.1 a TRUNCATE inside a \
     transaction first commits it and runs on its own), so a check could not roll it back; \
     check without --truncate";

/// What opens a chunk of a check: on CockroachDB its own transaction and the
/// `cockroach_restart` savepoint; on PostgreSQL (inside the check's one transaction) the
/// chunk's savepoint, after chunk 0's `TRUNCATE` of `truncate` (before the savepoint, so
/// halving chunk 0 does not undo it; the check's rollback does). On CockroachDB no DDL
/// goes inside a transaction: a truncate there is refused.
fn chunk_begin(
    flavour: Flavour,
    truncate: Option<&str>,
    chunk_sp: Savepoint,
    savepoint: bool,
) -> Result<String> {
    let mut begin = String::new();
    match (flavour, truncate) {
        (Flavour::Cockroach, Some(_)) => return Err(Error::usage(CHECK_TRUNCATE_COCKROACH)),
        (Flavour::Cockroach, None) => begin.push_str("BEGIN; "),
        (Flavour::Postgres, Some(table)) => begin.push_str(&format!("TRUNCATE {table}; ")),
        (Flavour::Postgres, None) => {}
    }
    if savepoint {
        begin.push_str(&chunk_sp.set());
    }
    Ok(begin.trim_end_matches("; ").to_string())
}

/// Why an attempt at a chunk stopped short.
enum Stopped {
    /// An error and what it calls for; the connection still answers in step.
    InStep(Error, Retry),
    /// The COPY of rows `lo .. lo + n` was refused before the server read any data, and
    /// the connection is out of step (see [`Unsent`]): it must be dropped.
    OutOfStep { error: Error, lo: u32, n: u32 },
}

impl From<(Error, Retry)> for Stopped {
    fn from((e, retry): (Error, Retry)) -> Stopped {
        Stopped::InStep(e, retry)
    }
}

/// How an attempt at a chunk isolates the bad rows of a failed piece.
#[derive(Clone, Copy)]
enum Isolation<'a> {
    /// Each piece in a savepoint, rolled back to when it fails; the whole chunk in
    /// `chunk_sp`.
    Savepoints { chunk_sp: Savepoint },
    /// No savepoint is rolled back to: a failed piece rolls back the transaction, which
    /// `begin` opens again, and the pieces that went through are sent again.
    Restarts { begin: &'a str },
}

/// One attempt at a chunk, inside its savepoint (or its transaction): the rows the server
/// refused, each with its message. A 40001 comes back as [`Retry::Again`] for the chunk to
/// run again.
fn pieces(
    conn: &mut Conn,
    t: &CheckTarget,
    work: &EncodedChunk,
    isolation: Isolation<'_>,
    tolerate: bool,
    control: &PipelineControl,
) -> std::result::Result<Vec<(u32, Error)>, Stopped> {
    let rows = work.chunk.rows() as u32;
    let mut bad = Vec::new();
    // The pieces that went through, in order: what a restarted transaction sends again.
    let mut sent: Vec<(u32, u32)> = Vec::new();
    let mut pieces = Pieces::whole(rows);
    while let Some(piece) = pieces.next(0) {
        let RowRange { lo, n } = piece;
        if control.aborted() {
            return Ok(bad);
        }
        // The whole chunk runs in the chunk's savepoint; smaller pieces nest their own.
        let whole = n == rows;
        let nested = !whole && matches!(isolation, Isolation::Savepoints { .. });
        if nested {
            exec(conn, &PIECE.set())?;
        }
        let e = match send(conn, &t.statements, work, lo, n) {
            Ok(()) => {
                if nested {
                    exec(conn, &PIECE.release())?;
                }
                sent.push((lo, n));
                continue;
            }
            Err(Unsent {
                error,
                out_of_step: true,
            }) => return Err(Stopped::OutOfStep { error, lo, n }),
            Err(Unsent { error, .. }) => error,
        };
        // After a 40001 CockroachDB only lets the restart savepoint roll back.
        if classify_error(&e, false) == Retry::Again {
            return Err(Stopped::InStep(e, Retry::Again));
        }
        match isolation {
            Isolation::Savepoints { chunk_sp } => {
                let sp = if whole { chunk_sp } else { PIECE };
                exec(conn, &sp.rollback_to())?;
                if nested {
                    exec(conn, &PIECE.release())?;
                }
            }
            Isolation::Restarts { begin } => restart(conn, t, work, begin, &sent)?,
        }
        match fault(&e) {
            Fault::Data if !tolerate => {
                let e = describe_piece_error(&t.files, work, lo, n, e);
                return Err(Stopped::InStep(e, Retry::Fail));
            }
            Fault::Data if n == 1 => {
                let e = describe_piece_error(&t.files, work, lo, n, e);
                bad.push((lo, e));
            }
            Fault::Data | Fault::TooLarge if pieces.halve(piece) => {}
            // A lost connection took the check's transaction with it: the check ends.
            Fault::Data | Fault::TooLarge | Fault::Lost | Fault::Fatal => {
                return Err(Stopped::InStep(e, Retry::Fail))
            }
        }
    }
    Ok(bad)
}

/// Rolls the chunk's transaction back, opens it again with `begin` and sends the pieces
/// that went through before (`sent`): where the chunk stood before the failed piece, with
/// no `ROLLBACK TO SAVEPOINT`. A failure on the way is classified like any other (a 40001
/// runs the chunk again).
fn restart(
    conn: &mut Conn,
    t: &CheckTarget,
    work: &EncodedChunk,
    begin: &str,
    sent: &[(u32, u32)],
) -> std::result::Result<(), Stopped> {
    exec(conn, "ROLLBACK")?;
    exec(conn, begin)?;
    for &(lo, n) in sent {
        match send(conn, &t.statements, work, lo, n) {
            Ok(()) => {}
            Err(Unsent {
                error,
                out_of_step: true,
            }) => return Err(Stopped::OutOfStep { error, lo, n }),
            Err(Unsent { error, .. }) => {
                let retry = classify_error(&error, false);
                return Err(Stopped::InStep(error, retry));
            }
        }
    }
    Ok(())
}

/// Why a check stops on a COPY refused out of step, which took the check's transaction
/// (on CockroachDB, the chunk's) with its connection. An error that stops a real load
/// too (a lost connection, a missing privilege) stands as the server gave it; for the
/// others a real load would send the rows again on a new connection (to retry a 40001 or
/// isolate a bad row), which a check cannot do without the chunks before: say so.
fn refused_at_start(t: &CheckTarget, work: &EncodedChunk, lo: u32, n: u32, e: Error) -> Error {
    if matches!(fault(&e), Fault::Lost | Fault::Fatal) && !worth_resending(&e) {
        return e;
    }
    let chunk = &work.chunk;
    let first = chunk.batch.record(lo as usize).position().line;
    let last = chunk.batch.record((lo + n - 1) as usize).position().line;
    let why = match hid_the_refusal(&e) {
        true => format!(" (the client library saw only its extra answer: {e})"),
        false => format!(": {e}"),
    };
    Error::other(format!(
        "{}: lines {first}–{last} (chunk {}): the server refused the COPY before it read any \
         data{why}; that leaves the connection out of step, and the check's transaction went \
         with it: the check stops here (a real load sends such rows again on a new connection)",
        t.files[chunk.file_index], chunk.seq
    ))
}

/// Sends rows `lo .. lo + n` of a chunk (nothing when all of them were rejected
/// client-side).
fn send(
    conn: &mut Conn,
    st: &Statements,
    work: &EncodedChunk,
    lo: u32,
    n: u32,
) -> std::result::Result<(), Unsent> {
    let range = encoded_range(&work.rows, lo, n);
    if range.is_empty() {
        return Ok(());
    }
    let key = st.data_key(range.len(), work.rows.format());
    let stmt = conn.prepared(key, st).map_err(Unsent::still_in_step)?;
    send_rows(&mut conn.client, st.method, &stmt, &work.rows, range)
}

/// Runs a savepoint statement; its failure is classified like any other.
fn exec(conn: &mut Conn, sql: &str) -> std::result::Result<(), (Error, Retry)> {
    conn.client.batch_execute(sql).map_err(|e| {
        let e = Error::from(e);
        let r = classify_error(&e, false);
        (e, r)
    })
}

/// Items of `inner` in sequence order (`key`), from 0 up, whatever order they come in:
/// the encoders run in parallel, and a check sends chunks as they are in the file, so of
/// two rows with the same key the later one is the one rejected, on every run. Holds at
/// most `window` items; past that (a gap that will never fill, as when the load stops, or
/// an encoder far behind the others) the lowest is let go: the order only decides which
/// of two equal keys is rejected, memory must stay bounded.
pub(crate) struct InOrder<I: Iterator> {
    inner: I,
    key: fn(&I::Item) -> u64,
    next: u64,
    window: usize,
    held: BTreeMap<u64, I::Item>,
}

impl<I: Iterator> InOrder<I> {
    /// Orders `inner` by `key`, holding at most `window` items.
    pub(crate) fn new(inner: I, key: fn(&I::Item) -> u64, window: usize) -> InOrder<I> {
        InOrder {
            inner,
            key,
            next: 0,
            window: window.max(1),
            held: BTreeMap::new(),
        }
    }

    fn lowest(&mut self) -> Option<I::Item> {
        let (k, item) = self.held.pop_first()?;
        self.next = k + 1;
        Some(item)
    }
}

impl<I: Iterator> Iterator for InOrder<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        loop {
            if let Some(item) = self.held.remove(&self.next) {
                self.next += 1;
                return Some(item);
            }
            if self.held.len() >= self.window {
                return self.lowest();
            }
            match self.inner.next() {
                Some(item) if (self.key)(&item) == self.next => {
                    self.next += 1;
                    return Some(item);
                }
                Some(item) => {
                    self.held.insert((self.key)(&item), item);
                }
                None => return self.lowest(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_sends_truncate_inside_its_transaction_on_postgresql_only() {
        let t = Some("\"public\".\"t\"");
        assert_eq!(
            chunk_begin(
                Flavour::Postgres,
                t,
                Savepoint::named("chunkload_chunk"),
                true
            )
            .unwrap(),
            "TRUNCATE \"public\".\"t\"; SAVEPOINT chunkload_chunk"
        );
        assert_eq!(
            chunk_begin(
                Flavour::Postgres,
                None,
                Savepoint::named("chunkload_chunk"),
                true
            )
            .unwrap(),
            "SAVEPOINT chunkload_chunk"
        );
        assert_eq!(
            chunk_begin(Flavour::Cockroach, None, Savepoint::COCKROACH_RESTART, true).unwrap(),
            "BEGIN; SAVEPOINT cockroach_restart"
        );
        // Before v26.3 a CockroachDB check restarts transactions instead of savepoints.
        assert_eq!(
            chunk_begin(
                Flavour::Cockroach,
                None,
                Savepoint::COCKROACH_RESTART,
                false
            )
            .unwrap(),
            "BEGIN"
        );
        // DDL never goes inside a CockroachDB transaction.
        let e = chunk_begin(Flavour::Cockroach, t, Savepoint::COCKROACH_RESTART, true).unwrap_err();
        assert!(e.to_string().contains("not transactional"), "{e}");
    }

    fn ordered(items: Vec<u64>, window: usize) -> Vec<u64> {
        InOrder::new(items.into_iter(), |k| *k, window).collect()
    }

    #[test]
    fn chunks_come_out_in_file_order_whatever_order_they_come_in() {
        assert_eq!(ordered(vec![2, 0, 1, 4, 3], 8), [0, 1, 2, 3, 4]);
        assert_eq!(ordered(vec![0, 1, 2], 8), [0, 1, 2]);
        assert_eq!(ordered(vec![], 8), Vec::<u64>::new());
    }

    #[test]
    fn a_gap_that_never_fills_neither_loses_items_nor_holds_them_all() {
        // Chunk 1 never comes (the load stopped): the rest still come, in order.
        assert_eq!(ordered(vec![3, 0, 2, 4], 8), [0, 2, 3, 4]);
        // With a window of 2, item 5 and 6 are let go before 1 comes.
        assert_eq!(ordered(vec![0, 5, 6, 7, 1], 2), [0, 5, 6, 7, 1]);
    }
}
