//! Commit: each chunk in its own retried transaction, with its ledger row, exactly once.
//!
//! A writer takes encoded chunks and commits the records an earlier run has not (see
//! [`crate::ledger::Progress::missing`]) as one piece, or as several when it must:
//! - a data error (SQLSTATE classes 22 and 23) under `--max-errors`: the piece is halved until
//!   the bad rows stand alone, the good rows commit, the bad ones go to the reject file;
//! - "transaction is too large": the piece is halved, and later pieces are capped too;
//! - a lost connection or an unknown commit outcome: reconnect (bounded in time) and ask the
//!   ledger whether the piece committed; send it again only if it did not.

use crate::chunk::Chunk;
use crate::encode::{self, EncodedRows};
use crate::ledger::{self, Piece};
use crate::load::{Connector, Method, Shared, Work};
use crate::report::{ProgressMode, Reporter};
use crate::retry::{run_transaction, RetryPolicy};
use crate::{Error, ErrorKind, Result};
use postgres::{Client, Statement};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// Statement-cache keys besides INSERT row counts (which never reach them).
const COPY_KEY: usize = usize::MAX;
const LEDGER_KEY: usize = usize::MAX - 1;

/// One writer connection with its prepared statements.
struct Conn {
    client: Client,
    statements: HashMap<usize, Statement>,
}

impl Conn {
    /// The statement cached under `key`, prepared from `sql()` on first use.
    fn prepared(
        &mut self,
        key: usize,
        sql: impl FnOnce() -> String,
    ) -> std::result::Result<Statement, PieceError> {
        if let Some(s) = self.statements.get(&key) {
            return Ok(s.clone());
        }
        let s = self
            .client
            .prepare(&sql())
            .map_err(|e| classify_piece_error(e.into()))?;
        self.statements.insert(key, s.clone());
        Ok(s)
    }
}

/// What went wrong with one piece, as the writer must react to it.
enum PieceError {
    /// A data error (SQLSTATE classes 22 and 23): isolate the bad rows.
    Data(Error),
    /// The server refused the transaction as too large: split it.
    TooLarge(Error),
    /// The connection is gone, or the commit outcome is unknown: reconnect, ask the
    /// ledger, retry only if it did not commit.
    Lost(Error),
    /// Anything else ends the load.
    Fatal(Error),
}

fn is_too_large(e: &Error) -> bool {
    let msg = e.to_string();
    msg.contains("transaction is too large")
        || msg.contains("try splitting into pieces")
        || msg.contains("bigger than maximum allowed message size")
        || e.sqlstate() == Some("54000")
}

/// The connection is gone (or the server is going away), or a commit's outcome is
/// unknown: what a reconnect and a ledger lookup resolve.
fn is_lost(e: &Error) -> bool {
    match e.kind() {
        ErrorKind::CommitUnknown { .. } | ErrorKind::Connect { .. } => true,
        ErrorKind::Db(pe) => crate::retry::connection_lost(pe),
        _ => false,
    }
}

fn classify_piece_error(e: Error) -> PieceError {
    if is_too_large(&e) {
        return PieceError::TooLarge(e);
    }
    if is_lost(&e) {
        return PieceError::Lost(e);
    }
    match e.sqlstate() {
        Some(s) if s.starts_with("22") || s.starts_with("23") => PieceError::Data(e),
        _ => PieceError::Fatal(e),
    }
}

fn connect_with_backoff(connector: &Connector, worker: usize, budget: Duration) -> Result<Client> {
    let deadline = Instant::now() + budget;
    let policy = RetryPolicy {
        max_attempts: u32::MAX,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(5),
    };
    let mut rng = rand::thread_rng();
    let mut attempt = 0u32;
    loop {
        match connector(worker, attempt) {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() >= deadline || matches!(e.kind(), ErrorKind::Usage(_)) => {
                return Err(e)
            }
            Err(_) => {
                let wait = policy
                    .backoff(attempt.min(10), &mut rng)
                    .max(Duration::from_millis(20));
                std::thread::sleep(wait.min(deadline.saturating_duration_since(Instant::now())));
                attempt += 1;
            }
        }
    }
}

pub(crate) fn writer(
    shared: &Shared,
    worker: usize,
    rx: crossbeam_channel::Receiver<Work>,
    truncate: bool,
    reporter: &Reporter,
) -> Result<()> {
    let mut conn: Option<Conn> = None;
    for work in rx {
        if shared.aborted() {
            continue;
        }
        if shared.dry_run {
            dry_sink(shared, work);
            continue;
        }
        let first = truncate && work.chunk.seq == 0;
        if truncate && !first {
            shared.wait_first();
            if shared.aborted() {
                continue;
            }
        }
        let r = write_chunk(shared, worker, &mut conn, work, first, reporter);
        if first {
            shared.signal_first();
        }
        if let Err(e) = r {
            shared.fail(e);
        }
    }
    Ok(())
}

/// A dry run's writer: counts what would be sent; bad rows fail or are counted.
fn dry_sink(shared: &Shared, mut work: Work) {
    let c = &shared.counters;
    for (_, err) in std::mem::take(&mut work.bad) {
        if shared.cfg.max_errors == 0 {
            shared.fail(err);
            return;
        }
        let n = c.rejected.fetch_add(1, Relaxed) + 1;
        if n > shared.cfg.max_errors {
            shared.fail(
                ErrorKind::TooManyRejects {
                    rejected: n,
                    limit: shared.cfg.max_errors,
                }
                .into(),
            );
            return;
        }
    }
    if work.chunk.seq == 0 {
        shared
            .first_chunk_rows
            .store(work.rows.len() as u64, Relaxed);
    }
    shared
        .max_chunk_rows
        .fetch_max(work.chunk.rows() as u64, Relaxed);
    shared
        .max_chunk_bytes
        .fetch_max(work.chunk.bytes() as u64, Relaxed);
    c.rows.fetch_add(work.rows.len() as u64, Relaxed);
    c.chunks.fetch_add(1, Relaxed);
}

/// Rows of `rows` whose source index lies in `lo .. lo + n` (encoded rows keep source order).
pub(crate) fn select(rows: &EncodedRows, lo: u32, n: u32) -> std::ops::Range<usize> {
    let sources = rows.sources();
    sources.partition_point(|&s| s < lo)..sources.partition_point(|&s| s < lo + n)
}

fn write_chunk(
    shared: &Shared,
    worker: usize,
    conn: &mut Option<Conn>,
    mut work: Work,
    truncate: bool,
    reporter: &Reporter,
) -> Result<()> {
    let cfg = &shared.cfg;
    let missing = shared
        .progress
        .missing(work.chunk.seq, work.chunk.rows() as u32);
    // Client-side conversion errors: fatal at once, or to the reject file.
    for (row, err) in std::mem::take(&mut work.bad) {
        if !missing.iter().any(|&(lo, n)| row >= lo && row < lo + n) {
            continue;
        }
        if cfg.max_errors == 0 {
            return Err(err);
        }
        reject(shared, &work.chunk, row, &err.to_string())?;
    }
    let work = &work;
    let chunk = &work.chunk;
    let mut queue: VecDeque<(u32, u32)> = missing.into();
    let mut truncate = truncate;
    while let Some((lo, n)) = queue.pop_front() {
        if shared.aborted() {
            return Ok(());
        }
        let cap = shared.piece_cap.load(Relaxed) as u32;
        if cap > 0 && n > cap {
            let mut at = lo;
            let mut parts = Vec::new();
            while at < lo + n {
                let m = cap.min(lo + n - at);
                parts.push((at, m));
                at += m;
            }
            for p in parts.into_iter().rev() {
                queue.push_front(p);
            }
            continue;
        }
        match commit_piece(shared, worker, conn, work, lo, n, truncate) {
            Ok(()) => truncate = false,
            Err(PieceError::Data(e)) if cfg.max_errors > 0 => {
                if n == 1 {
                    reject(shared, chunk, lo, &e.to_string())?;
                    record_reject(shared, worker, conn, chunk, lo)?;
                } else {
                    queue.push_front((lo + n / 2, n - n / 2));
                    queue.push_front((lo, n / 2));
                }
            }
            Err(PieceError::Data(e)) => return Err(describe_piece_error(shared, work, lo, n, e)),
            Err(PieceError::TooLarge(e)) => {
                if n == 1 {
                    return Err(e);
                }
                shared.too_large.fetch_add(1, Relaxed);
                let half = n / 2;
                let _ = shared.piece_cap.fetch_update(Relaxed, Relaxed, |c| {
                    (c == 0 || (half as u64) < c).then_some(half.max(1) as u64)
                });
                queue.push_front((lo + half, n - half));
                queue.push_front((lo, half));
            }
            Err(PieceError::Lost(e)) => {
                *conn = None;
                if shared.cfg.progress != ProgressMode::Quiet {
                    reporter.warn(&format!("chunk {}: {e}; reconnecting", chunk.seq));
                }
                shared.counters.reconnects.fetch_add(1, Relaxed);
                // Whether the piece committed: the ledger knows, even when the answer to
                // its COMMIT was lost.
                let connector = shared.connector.as_ref().expect("only real runs connect");
                let (c, done) = with_reconnect(connector, worker, cfg.reconnect_timeout, |c| {
                    ledger::committed(c, &shared.load_id, chunk.seq, lo)
                })?;
                if done {
                    // The commit whose answer was lost did happen.
                    shared.counters.commits_confirmed.fetch_add(1, Relaxed);
                    account(shared, &work.rows, lo, n);
                } else {
                    queue.push_front((lo, n));
                }
                *conn = Some(Conn {
                    client: c,
                    statements: HashMap::new(),
                });
            }
            Err(PieceError::Fatal(e)) => return Err(e),
        }
    }
    shared.counters.chunks.fetch_add(1, Relaxed);
    Ok(())
}

/// Connects (with backoff) and runs idempotent `work`; a connection lost on the way is
/// reopened and the work runs again, all within `budget`. Returns the connection too.
pub(crate) fn with_reconnect<T>(
    connector: &Connector,
    worker: usize,
    budget: Duration,
    mut work: impl FnMut(&mut Client) -> Result<T>,
) -> Result<(Client, T)> {
    let deadline = Instant::now() + budget;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut client = connect_with_backoff(connector, worker, left)?;
        match work(&mut client) {
            Ok(v) => return Ok((client, v)),
            Err(e) if is_lost(&e) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(e),
        }
    }
}

/// A data error the server raised for a piece, with the piece's place in the input.
fn describe_piece_error(shared: &Shared, work: &Work, lo: u32, n: u32, e: Error) -> Error {
    let chunk = &work.chunk;
    let file = &shared.cfg.files[chunk.file_index];
    // COPY names the row it stopped at ("COPY t, line 3, column qty: ..."): map it back to
    // the source record for an exact line and column.
    let range = select(&work.rows, lo, n);
    if let Some((k, column)) = copy_position(&e) {
        let at = range.start + k as usize - 1;
        if k >= 1 && at < range.end {
            let rec = chunk.batch.record(work.rows.source_row(at) as usize);
            let loc = crate::Location {
                file: file.clone(),
                pos: rec.position(),
                column,
            };
            return Error::other(format!(
                "{loc}: the server rejected the row: {e}; pass --max-errors N to send bad rows to a reject file instead"
            ));
        }
    }
    let first = chunk.batch.record(lo as usize).position().line;
    let last = chunk.batch.record((lo + n - 1) as usize).position().line;
    Error::other(format!(
        "{file}: lines {first}–{last} (chunk {}): the server rejected the rows: {e}; \
         pass --max-errors N to isolate bad rows into a reject file instead",
        chunk.seq
    ))
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

/// Sends a bad row to the reject file, unless it is one past `--max-errors`: that one
/// stops the load and stays out of the file, so a rerun with a higher limit writes it once.
fn reject(shared: &Shared, chunk: &Chunk, row: u32, msg: &str) -> Result<()> {
    let n = shared.counters.rejected.fetch_add(1, Relaxed) + 1;
    if n > shared.cfg.max_errors {
        shared.counters.rejected.fetch_sub(1, Relaxed);
        return Err(ErrorKind::TooManyRejects {
            rejected: n,
            limit: shared.cfg.max_errors,
        }
        .into());
    }
    let rec = chunk.batch.record(row as usize);
    shared.rejects.write(rec.raw(), rec.position().line, msg)
}

fn piece_of(chunk: &Chunk, rows: &EncodedRows, lo: u32, n: u32, rejected: bool) -> Piece {
    let bytes: usize = (lo..lo + n)
        .map(|i| chunk.batch.record(i as usize).raw().len())
        .sum();
    Piece {
        chunk: chunk.seq,
        first_row: lo,
        nrows: n,
        first_line: chunk.batch.record(lo as usize).position().line,
        last_line: chunk.batch.record((lo + n - 1) as usize).position().line,
        rows_loaded: if rejected {
            0
        } else {
            select(rows, lo, n).len() as u64
        },
        bytes: bytes as u64,
        rejected,
    }
}

fn account(shared: &Shared, rows: &EncodedRows, lo: u32, n: u32) {
    shared
        .counters
        .rows
        .fetch_add(select(rows, lo, n).len() as u64, Relaxed);
}

/// Records a server-rejected row in the ledger so a rerun does not send it again.
fn record_reject(
    shared: &Shared,
    worker: usize,
    conn: &mut Option<Conn>,
    chunk: &Chunk,
    row: u32,
) -> Result<()> {
    let piece = piece_of(chunk, &EncodedRows::new(), row, 1, true);
    let c = ensure_conn(shared, worker, conn)?;
    ledger::record(&mut c.client, ledger::RECORD_SQL, &shared.load_id, &piece)
}

fn ensure_conn<'a>(
    shared: &Shared,
    worker: usize,
    conn: &'a mut Option<Conn>,
) -> Result<&'a mut Conn> {
    if conn.is_none() {
        let connector = shared.connector.as_ref().expect("only real runs connect");
        let client = connect_with_backoff(connector, worker, shared.cfg.reconnect_timeout)?;
        *conn = Some(Conn {
            client,
            statements: HashMap::new(),
        });
    }
    Ok(conn.as_mut().expect("connected above"))
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

/// Commits rows `lo .. lo + n` of a chunk and their ledger row in one retried transaction.
fn commit_piece(
    shared: &Shared,
    worker: usize,
    conn: &mut Option<Conn>,
    work: &Work,
    lo: u32,
    n: u32,
    truncate: bool,
) -> std::result::Result<(), PieceError> {
    let plan = &shared.plan;
    let piece = piece_of(&work.chunk, &work.rows, lo, n, false);
    let range = select(&work.rows, lo, n);
    let c = ensure_conn(shared, worker, conn).map_err(PieceError::Lost)?;
    // Statements are prepared once per connection (INSERTs once per row count): a chunk
    // then costs no parse round trips.
    let stmt = match plan.method {
        _ if range.is_empty() => None,
        Method::Copy => Some(c.prepared(COPY_KEY, || plan.copy_sql())?),
        _ => Some(c.prepared(range.len(), || plan.insert_sql(range.len()))?),
    };
    let record = c.prepared(LEDGER_KEY, || ledger::RECORD_SQL.to_string())?;
    let truncate_sql = truncate.then(|| format!("TRUNCATE {}", plan.table.sql_name()));
    let done = run_transaction(&mut c.client, plan.flavour, &shared.cfg.retry, |tx| {
        if let Some(sql) = &truncate_sql {
            tx.batch_execute(sql)?;
        }
        if shared.cfg.ledger {
            ledger::record(tx, &record, &shared.load_id, &piece)?;
        }
        let Some(stmt) = &stmt else {
            return Ok(()); // every row of the piece was rejected client-side
        };
        match plan.method {
            Method::Insert | Method::Upsert => {
                let select: Vec<usize> = range.clone().collect();
                let params = encode::params(&work.rows, &select);
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| p as &(dyn postgres::types::ToSql + Sync))
                    .collect();
                tx.execute(stmt, &refs)?;
            }
            Method::Copy => {
                let mut w = tx.copy_in(stmt)?;
                encode::write_copy(&work.rows, range.clone(), plan.format, &mut w)
                    .map_err(copy_stream_error)?;
                w.finish()?;
            }
        }
        Ok(())
    })
    .map_err(classify_piece_error)?;
    if done.attempts > 1 {
        shared
            .counters
            .retries
            .fetch_add((done.attempts - 1) as u64, Relaxed);
    }
    account(shared, &work.rows, lo, n);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{Column, Encoder, Format};

    #[test]
    fn select_finds_the_encoded_rows_of_a_source_range_around_rejected_rows() {
        let enc = Encoder::new(vec![Column::new("n", "int8")], Format::Binary);
        let mut rows = EncodedRows::new();
        // Source rows 0..10, with 3 and 7 rejected by conversion.
        for i in 0..10u32 {
            let v = if i == 3 || i == 7 {
                "x".to_string()
            } else {
                i.to_string()
            };
            let _ = enc.encode_row([Some(v.as_bytes())], i, &mut rows);
        }
        assert_eq!(rows.len(), 8);
        assert_eq!(select(&rows, 0, 10), 0..8);
        assert_eq!(select(&rows, 0, 3), 0..3);
        assert_eq!(
            select(&rows, 3, 1),
            3..3,
            "a rejected row encodes to nothing"
        );
        assert_eq!(select(&rows, 3, 5), 3..6);
        assert_eq!(select(&rows, 8, 2), 6..8);
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

    #[test]
    fn too_large_is_recognised_by_message() {
        assert!(is_too_large(&Error::other(
            "transaction is too large to complete; try splitting into pieces"
        )));
        assert!(!is_too_large(&Error::other("duplicate key value")));
    }
}
