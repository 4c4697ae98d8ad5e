//! The database sink: a chunk's missing pieces, each in a retried transaction with its
//! ledger row; bad rows isolated, oversized transactions split, lost commits resolved.

use super::control::{PipelineControl, Rejects};
use super::durability::ASYNC_CHUNK_SQL;
use super::load_sql::{Method, StatementKey, Statements};
use super::pieces::{Pieces, RowRange};
use super::sink::{encoded_range, ChunkSink};
use crate::chunk::Chunk;
use crate::connect::{connect_with_backoff, with_reconnect, Connector};
use crate::encode::{self, EncodedChunk, EncodedRows};
use crate::flavour::Flavour;
use crate::ledger::{self, Committed, Piece};
use crate::report::{Counters, Reporter, Topic};
use crate::retry::{
    classify_error, fault, retry_loop, run_transaction, Budget, Fault, GiveUp, Retry, RetryPath,
    RetryPolicy,
};
use crate::{Error, ErrorKind, Result};
use postgres::{Client, GenericClient, Statement};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// What committing a load's chunks needs; the same for every writer.
pub(crate) struct CommitTarget {
    pub(crate) statements: Statements,
    pub(crate) load_id: String,
    /// Input file names, for error positions.
    pub(crate) files: Vec<String>,
    /// What earlier runs committed.
    pub(crate) committed: Committed,
    pub(crate) retry: RetryPolicy,
    /// How a chunk transaction is retried on this server (by its version on CockroachDB).
    pub(crate) retry_path: RetryPath,
    /// Write a ledger row in each piece's transaction.
    pub(crate) ledger: bool,
    pub(crate) connector: Connector,
    /// Total time to keep reconnecting after a lost connection.
    pub(crate) reconnect_timeout: Duration,
    /// Chunk commits do not wait for the disk (see [`super::durability`]).
    pub(crate) async_commit: bool,
}

/// Rows per transaction after the server refused one as too large, shared by the writers.
#[derive(Debug, Default)]
pub(crate) struct PieceCap {
    /// The cap (0: none).
    pub(crate) rows: AtomicU64,
    /// Pieces split because the server refused them as too large.
    pub(crate) splits: AtomicU64,
}

/// One writer connection with its prepared statements.
pub(super) struct Conn {
    pub(super) client: Client,
    statements: HashMap<StatementKey, Statement>,
}

impl Conn {
    pub(super) fn new(client: Client) -> Conn {
        Conn {
            client,
            statements: HashMap::new(),
        }
    }

    /// The statement `key`, prepared on first use.
    pub(super) fn prepared(
        &mut self,
        key: StatementKey,
        statements: &Statements,
    ) -> Result<Statement> {
        if let Some(s) = self.statements.get(&key) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(&statements.sql(key))?;
        self.statements.insert(key, s.clone());
        Ok(s)
    }
}

/// One writer's sink: its connection and what the load's writers share.
pub(crate) struct DatabaseSink<'a> {
    pub(crate) target: &'a CommitTarget,
    pub(crate) control: &'a PipelineControl,
    pub(crate) counters: &'a Counters,
    pub(crate) rejects: &'a Rejects,
    pub(crate) cap: &'a PieceCap,
    pub(crate) reporter: &'a Reporter,
    pub(crate) worker: usize,
    conn: Option<Conn>,
}

impl<'a> DatabaseSink<'a> {
    /// A sink for writer number `worker`; it connects on its first piece.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        target: &'a CommitTarget,
        control: &'a PipelineControl,
        counters: &'a Counters,
        rejects: &'a Rejects,
        cap: &'a PieceCap,
        reporter: &'a Reporter,
        worker: usize,
    ) -> DatabaseSink<'a> {
        DatabaseSink {
            target,
            control,
            counters,
            rejects,
            cap,
            reporter,
            worker,
            conn: None,
        }
    }
}

impl ChunkSink for DatabaseSink<'_> {
    fn commit(&mut self, mut work: EncodedChunk, truncate: bool) -> Result<()> {
        if work.fallback {
            self.counters.fallback_chunks.fetch_add(1, Relaxed);
        }
        // Client-side conversion errors: fatal at once, or to the reject file.
        for (row, err) in std::mem::take(&mut work.bad) {
            if !self.rejects.tolerates_any() {
                return Err(err);
            }
            reject(self.rejects, &work.chunk, row, &err)?;
        }
        let work = &work;
        let chunk = &work.chunk;
        let mut pieces = Pieces::whole(chunk.rows() as u32);
        let mut truncate = truncate;
        while let Some(piece) = pieces.next(self.cap.rows.load(Relaxed) as u32) {
            if self.control.aborted() {
                return Ok(());
            }
            let RowRange { lo, n } = piece;
            let Err(e) = self.commit_piece(work, lo, n, truncate) else {
                truncate = false;
                continue;
            };
            match fault(&e) {
                Fault::Data if self.rejects.tolerates_any() => {
                    if !pieces.halve(piece) {
                        // With the row's line and column, as a client-side refusal.
                        let files = &self.target.files;
                        let e = describe_piece_error(files, work, lo, n, e);
                        reject(self.rejects, chunk, lo, &e)?;
                        self.record_reject(chunk, lo)?;
                    }
                }
                Fault::Data => {
                    return Err(describe_piece_error(&self.target.files, work, lo, n, e))
                }
                Fault::TooLarge => {
                    if !pieces.halve(piece) {
                        return Err(e);
                    }
                    // Later pieces are capped too: the server refuses this size.
                    self.cap.splits.fetch_add(1, Relaxed);
                    let half = u64::from(n / 2);
                    let _ = self
                        .cap
                        .rows
                        .fetch_update(Relaxed, Relaxed, |c| (c == 0 || half < c).then_some(half));
                }
                Fault::Lost => {
                    self.conn = None;
                    self.reporter.warn(
                        Topic::Connection,
                        format!("chunk {}: {e}; reconnecting", chunk.seq),
                    );
                    self.counters.reconnects.fetch_add(1, Relaxed);
                    // Whether the piece committed: the ledger knows, even when the answer
                    // to its COMMIT was lost.
                    let t = self.target;
                    let (c, done) =
                        with_reconnect(&t.connector, self.worker, t.reconnect_timeout, |c| {
                            let start = chunk.batch.record(lo as usize).position().byte;
                            let s = &t.statements.ledger_schema;
                            ledger::committed(c, s, &t.load_id, chunk.file_index as u32, start)
                        })?;
                    if done {
                        // The commit whose answer was lost did happen, and with it the
                        // truncation: the chunk's other pieces must not empty the table.
                        self.counters.commits_confirmed.fetch_add(1, Relaxed);
                        self.account(&work.rows, lo, n);
                        truncate = false;
                    } else {
                        pieces.again(piece);
                    }
                    self.conn = Some(Conn::new(c));
                }
                Fault::Fatal => return Err(e),
            }
        }
        self.counters.chunks.fetch_add(1, Relaxed);
        Ok(())
    }
}

impl DatabaseSink<'_> {
    fn connection(&mut self) -> Result<&mut Conn> {
        if self.conn.is_none() {
            let t = self.target;
            let client = connect_with_backoff(&t.connector, self.worker, t.reconnect_timeout)?;
            self.conn = Some(Conn::new(client));
        }
        Ok(self.conn.as_mut().expect("connected above"))
    }

    fn account(&self, rows: &EncodedRows, lo: u32, n: u32) {
        self.counters
            .rows
            .fetch_add(encoded_range(rows, lo, n).len() as u64, Relaxed);
    }

    /// Records a server-rejected row in the ledger so a rerun does not send it again.
    fn record_reject(&mut self, chunk: &Chunk, row: u32) -> Result<()> {
        let piece = piece_of(chunk, &EncodedRows::new(), row, 1, true);
        let t = self.target;
        let c = self.connection()?;
        let sql = ledger::record_sql(&t.statements.ledger_schema);
        ledger::record(&mut c.client, sql.as_str(), &t.load_id, &piece)
    }

    /// Commits rows `lo .. lo + n` of a chunk and their ledger row in one retried
    /// transaction. A COPY the server refused at its start leaves the connection out of
    /// step (see [`in_step`]): that transaction did not commit, so a 40001 (or a refusal
    /// the client library hid) runs it again on a new connection, within the same attempt
    /// budget; any other error is the COPY's own, and the next piece connects afresh.
    fn commit_piece(&mut self, work: &EncodedChunk, lo: u32, n: u32, truncate: bool) -> Result<()> {
        let policy = self.target.retry;
        let (attempts, restarts) = retry_loop(
            Budget::Attempts(policy.max_attempts),
            &policy,
            &mut rand::thread_rng(),
            std::thread::sleep,
            |_| {
                let attempts = self.try_piece(work, lo, n, truncate);
                attempts.map_err(|(e, out_of_step)| {
                    if !out_of_step {
                        return (e, Retry::Fail);
                    }
                    self.conn = None;
                    match worth_resending(&e) {
                        true => (e, Retry::Again),
                        false => (e, Retry::Fail),
                    }
                })
            },
        )
        .map_err(GiveUp::into_error)?;
        let retries = (attempts - 1) + (restarts - 1);
        if retries > 0 {
            self.counters.retries.fetch_add(retries as u64, Relaxed);
        }
        self.account(&work.rows, lo, n);
        Ok(())
    }

    /// One run of a piece's retried transaction on the writer's connection: its attempts,
    /// or the error and whether it is a COPY's that left the connection out of step.
    fn try_piece(
        &mut self,
        work: &EncodedChunk,
        lo: u32,
        n: u32,
        truncate: bool,
    ) -> std::result::Result<u32, (Error, bool)> {
        let t = self.target;
        let st = &t.statements;
        let piece = piece_of(&work.chunk, &work.rows, lo, n, false);
        let range = encoded_range(&work.rows, lo, n);
        let c = self.connection().map_err(|e| (e, false))?;
        // Statements are prepared once per connection (INSERTs once per row count): a
        // chunk then costs no parse round trips.
        let stmt = match range.is_empty() {
            true => None,
            false => Some(
                c.prepared(st.data_key(range.len(), work.rows.format()), st)
                    .map_err(|e| (e, false))?,
            ),
        };
        let record = c
            .prepared(StatementKey::Ledger, st)
            .map_err(|e| (e, false))?;
        let truncate_sql = in_transaction_truncate(st.flavour, truncate, &st.table.sql_name())
            .map_err(|e| (e, false))?;
        // The COPY's error, when it left the connection out of step.
        let mut refused = None;
        let done = run_transaction(&mut c.client, t.retry_path, &t.retry, |tx| {
            if t.async_commit {
                tx.batch_execute(ASYNC_CHUNK_SQL)?;
            }
            if let Some(sql) = &truncate_sql {
                tx.batch_execute(sql)?;
            }
            if t.ledger {
                ledger::record(tx, &record, &t.load_id, &piece)?;
            }
            let Some(stmt) = &stmt else {
                return Ok(()); // every row of the piece was rejected client-side
            };
            match send_rows(tx, st.method, stmt, &work.rows, range.clone()) {
                Ok(()) => Ok(()),
                // Retried here, or classified by the caller.
                Err(Unsent {
                    error,
                    out_of_step: false,
                }) => Err(error),
                Err(Unsent { error, .. }) => {
                    refused = Some(error);
                    // Not retried on this connection: nothing more is sent on it.
                    Err(Error::other("out of step after a refused COPY"))
                }
            }
        });
        match (done, refused) {
            (Ok(done), _) => Ok(done.attempts),
            (Err(_), Some(e)) => Err((e, true)),
            (Err(e), None) => Err((e, false)),
        }
    }
}

/// The `TRUNCATE` that chunk 0 of a `--truncate` load runs first in its transaction, on
/// PostgreSQL only, where it commits atomically with the chunk. On CockroachDB a chunk
/// transaction never holds DDL (a TRUNCATE there is not transactional, and from v25.1 it
/// commits what came before it): the load empties the table before any chunk
/// (`load::truncate`), so a truncating chunk there is a bug, refused.
fn in_transaction_truncate(
    flavour: Flavour,
    truncate: bool,
    table: &str,
) -> Result<Option<String>> {
    match (flavour, truncate) {
        (_, false) => Ok(None),
        (Flavour::Postgres, true) => Ok(Some(format!("TRUNCATE {table}"))),
        (Flavour::Cockroach, true) => Err(Error::other(
            "internal error: a chunk transaction was asked to TRUNCATE on CockroachDB, where \
             the table is emptied before any chunk",
        )),
    }
}

/// Rows that did not reach the table: the error, and whether it left the connection out
/// of step (see [`in_step`]). Then nothing more may be sent on that connection, not even
/// a `ROLLBACK`: its answer would be the one of the statement before. Every caller of
/// [`send_rows`] must drop the connection then.
pub(super) struct Unsent {
    pub(super) error: Error,
    pub(super) out_of_step: bool,
}

impl Unsent {
    pub(super) fn still_in_step(error: impl Into<Error>) -> Unsent {
        Unsent {
            error: error.into(),
            out_of_step: false,
        }
    }
}

/// Sends `range` of `rows` through the prepared COPY `stmt`; after a failure, checks that
/// the connection is still in step.
fn copy_rows(
    tx: &mut impl GenericClient,
    stmt: &Statement,
    rows: &EncodedRows,
    range: std::ops::Range<usize>,
) -> std::result::Result<(), Unsent> {
    let Err(error) = try_copy(tx, stmt, rows, range) else {
        return Ok(());
    };
    Err(Unsent {
        error,
        out_of_step: !in_step(tx),
    })
}

fn try_copy(
    tx: &mut impl GenericClient,
    stmt: &Statement,
    rows: &EncodedRows,
    range: std::ops::Range<usize>,
) -> Result<()> {
    let mut w = tx.copy_in(stmt)?;
    let written = encode::copy::write_copy(rows, range, rows.format(), &mut w);
    // Finish even after a failed write: the server's error (a 40001 raised mid-COPY) then
    // ends the COPY in step, and the connection stays usable for the rollback and the
    // retry. (PostgreSQL only: CockroachDB never gets a COPY, see `LoadConfig::method_for`.)
    let finished = w.finish();
    written.map_err(copy_stream_error)?;
    finished?;
    Ok(())
}

/// The client library's own complaint (no server error, no I/O error, not closed): it
/// read the extra answer of a refused COPY before the refusal itself, and dropped the
/// connection. No COMMIT was sent, so the piece runs again on a new connection.
pub(super) fn hid_the_refusal(e: &Error) -> bool {
    let ErrorKind::Db(pe) = e.kind() else {
        return false;
    };
    pe.as_db_error().is_none() && !pe.is_closed() && std::error::Error::source(pe).is_none()
}

/// Whether a COPY refused out of step may succeed when sent again on a new connection:
/// a 40001, or a refusal the client library hid.
pub(super) fn worth_resending(e: &Error) -> bool {
    classify_error(e, false) == Retry::Again || hid_the_refusal(e)
}

/// Whether the connection still answers in step after a failed COPY. The client library
/// sends Sync after Execute and again after CopyDone (or CopyFail); a server that refused
/// the COPY before reading any of it (a statement trigger, a permission check; a text
/// COPY reads nothing before its first row) answers both, and the second ReadyForQuery
/// would pass for the answer to the next statement. An empty query is answered in step by
/// EmptyQueryResponse (in a failed transaction too) or an error; out of step by that lone
/// ReadyForQuery, or the library drops the connection on it.
fn in_step(tx: &mut impl GenericClient) -> bool {
    match tx.simple_query("") {
        Ok(messages) => messages.len() == 1,
        Err(e) => e.as_db_error().is_some(),
    }
}

/// Sends rows `range` of `rows` through `stmt` (the piece's COPY or INSERT), inside the
/// caller's transaction or savepoint.
pub(super) fn send_rows(
    tx: &mut impl GenericClient,
    method: Method,
    stmt: &Statement,
    rows: &EncodedRows,
    range: std::ops::Range<usize>,
) -> std::result::Result<(), Unsent> {
    match method {
        Method::Insert | Method::Upsert => {
            let select: Vec<usize> = range.collect();
            let params = encode::insert::params(rows, &select);
            let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                .iter()
                .map(|p| p as &(dyn postgres::types::ToSql + Sync))
                .collect();
            tx.execute(stmt, &refs).map_err(Unsent::still_in_step)?;
            Ok(())
        }
        Method::Copy => copy_rows(tx, stmt, rows, range),
    }
}

/// Sends a bad row of `chunk` to the reject file, within the budget.
pub(super) fn reject(rejects: &Rejects, chunk: &Chunk, row: u32, why: &Error) -> Result<()> {
    let rec = chunk.batch.record(row as usize);
    let pos = rec.position();
    rejects.reject(chunk.file_index as u32, pos.byte, rec.raw(), pos.line, why)
}

/// A data error the server raised for a piece, with the piece's place in the input.
pub(super) fn describe_piece_error(
    files: &[String],
    work: &EncodedChunk,
    lo: u32,
    n: u32,
    e: Error,
) -> Error {
    let chunk = &work.chunk;
    let file = &files[chunk.file_index];
    // COPY names the row it stopped at ("COPY t, line 3, column qty: ..."): map it back to
    // the source record for an exact line and column.
    let range = encoded_range(&work.rows, lo, n);
    if let Some((k, column)) = copy_position(&e) {
        let at = range.start + k as usize - 1;
        if k >= 1 && at < range.end {
            let rec = chunk.batch.record(work.rows.source_row(at) as usize);
            let loc = crate::Location {
                file: file.clone(),
                pos: rec.position(),
                column,
            };
            return ErrorKind::Refused {
                loc,
                last_line: None,
                chunk: chunk.seq,
                source: Box::new(e),
            }
            .into();
        }
    }
    let first = chunk.batch.record(lo as usize).position();
    let last = chunk.batch.record((lo + n - 1) as usize).position().line;
    ErrorKind::Refused {
        loc: crate::Location {
            file: file.clone(),
            pos: first,
            column: None,
        },
        last_line: Some(last),
        chunk: chunk.seq,
        source: Box::new(e),
    }
    .into()
}

/// The 1-based row and the column in a COPY error's context line.
fn copy_position(e: &Error) -> Option<(u64, Option<String>)> {
    let ErrorKind::Db(pe) = e.kind() else {
        return None;
    };
    parse_copy_where(pe.as_db_error()?.where_()?)
}

/// Parses PostgreSQL's `COPY t, line 3, column qty: "12x"` (or `COPY t, line 3`).
fn parse_copy_where(w: &str) -> Option<(u64, Option<String>)> {
    let rest = &w[w.find(", line ")? + ", line ".len()..];
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let line = rest[..digits].parse().ok()?;
    let column = rest[digits..].strip_prefix(", column ").map(|c| {
        let end = c.find(": ").unwrap_or(c.len());
        c[..end].to_string()
    });
    Some((line, column))
}

fn piece_of(chunk: &Chunk, rows: &EncodedRows, lo: u32, n: u32, rejected: bool) -> Piece {
    let first = chunk.batch.record(lo as usize);
    let last = chunk.batch.record((lo + n - 1) as usize);
    Piece {
        file: chunk.file_index as u32,
        byte_start: first.position().byte,
        byte_end: last.position().byte + last.raw().len() as u64,
        first_line: first.position().line,
        last_line: last.position().line,
        end_line: last.position().line + ledger::lines_in(last.raw()),
        end_record: last.position().record,
        nrows: n,
        rows_loaded: if rejected {
            0
        } else {
            encoded_range(rows, lo, n).len() as u64
        },
        rejected,
    }
}

/// The COPY writer reports the server's or the connection's error inside an `io::Error`;
/// unwrapping it keeps a dropped connection classified as lost (reconnect and ask the
/// ledger) instead of ending the load.
fn copy_stream_error(e: std::io::Error) -> Error {
    match e
        .into_inner()
        .map(|inner| inner.downcast::<postgres::Error>())
    {
        Some(Ok(pe)) => Error::from(*pe),
        Some(Err(other)) => Error::other(format!("COPY stream: {other}")),
        None => Error::other("COPY stream failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_postgresql_chunks_truncate_inside_their_transaction() {
        let t = "\"public\".\"t\"";
        assert_eq!(
            in_transaction_truncate(Flavour::Postgres, true, t).unwrap(),
            Some("TRUNCATE \"public\".\"t\"".to_string())
        );
        for f in [Flavour::Postgres, Flavour::Cockroach] {
            assert_eq!(in_transaction_truncate(f, false, t).unwrap(), None);
        }
        assert!(in_transaction_truncate(Flavour::Cockroach, true, t).is_err());
    }

    #[test]
    fn copy_error_context_gives_row_and_column() {
        assert_eq!(
            parse_copy_where("COPY items, line 3, column qty: \"12x\""),
            Some((3, Some("qty".to_string())))
        );
        assert_eq!(parse_copy_where("COPY items, line 17"), Some((17, None)));
        assert_eq!(parse_copy_where("SQL statement \"INSERT ...\""), None);
    }
}
