//! Exactly-once bookkeeping in the target database, keyed by the data.
//!
//! Every piece of a chunk that commits (or is rejected) writes one ledger row in the same
//! transaction, so the rows and their ledger entry commit together or not at all. A piece
//! is a run of consecutive records of one input, identified by its byte range
//! `[byte_start, byte_end)` in the (decompressed) input: a range always starts and ends on
//! a record boundary. Chunk boundaries therefore need not repeat from run to run: a rerun
//! with any chunk size, method or worker count skips the records whose bytes are covered
//! and sends the rest. The tables live in their own schema ([`SCHEMA`]), never in the
//! user's `search_path`.

use crate::{Error, Result};
use postgres::{GenericClient, ToStatement};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

pub mod lease;

/// The schema of the bookkeeping tables.
pub const SCHEMA: &str = "chunkload";

/// Ledger DDL; idempotent. Also a table of loads, for `chunkload status` and for refusing
/// a file that changed under the same load id.
pub const LEDGER_DDL: &str = "
CREATE SCHEMA IF NOT EXISTS chunkload;
CREATE TABLE IF NOT EXISTS chunkload.chunkload_loads (
    load_id text PRIMARY KEY,
    table_name text NOT NULL,
    files text NOT NULL,
    fingerprint text NOT NULL,
    total_chunks int8,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
ALTER TABLE chunkload.chunkload_loads ADD COLUMN IF NOT EXISTS owner text;
ALTER TABLE chunkload.chunkload_loads ADD COLUMN IF NOT EXISTS heartbeat timestamptz;
CREATE TABLE IF NOT EXISTS chunkload.chunkload_ledger (
    load_id text NOT NULL,
    file int4 NOT NULL,
    byte_start int8 NOT NULL,
    byte_end int8 NOT NULL,
    first_line int8 NOT NULL,
    last_line int8 NOT NULL,
    nrows int4 NOT NULL,
    rows_loaded int8 NOT NULL,
    rejected bool NOT NULL DEFAULT false,
    committed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (load_id, file, byte_start)
);
CREATE TABLE IF NOT EXISTS chunkload.chunkload_rejects (
    load_id text NOT NULL,
    file int4 NOT NULL,
    byte_start int8 NOT NULL,
    line int8 NOT NULL,
    raw bytea NOT NULL,
    error text NOT NULL,
    PRIMARY KEY (load_id, file, byte_start)
);";

/// One committed (or rejected) piece: consecutive records of one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Input file (index in the load's file list).
    pub file: u32,
    /// Offset of the piece's first byte in the (decompressed) input.
    pub byte_start: u64,
    /// Offset just past the piece's last byte (its line terminator included).
    pub byte_end: u64,
    /// Source line of the piece's first record.
    pub first_line: u64,
    /// Source line of the piece's last record.
    pub last_line: u64,
    /// Records the piece covers (loaded or rejected).
    pub nrows: u32,
    /// Rows that reached the table (records covered minus rejected ones).
    pub rows_loaded: u64,
    /// The piece is a record the server rejected for a data error.
    pub rejected: bool,
}

/// Creates the ledger schema and tables if needed; without the privilege, one error that
/// names it and the DDL an administrator can run.
pub fn ensure(client: &mut impl GenericClient) -> Result<()> {
    match client.batch_execute(LEDGER_DDL) {
        Ok(()) => Ok(()),
        // `IF NOT EXISTS` does not see a creation still in flight: that of a lost
        // connection's earlier attempt (or of a run beside this one). The catalog's unique
        // index waits for it and refuses this one; once it is done, running again holds.
        Err(e) if e.code().is_some_and(concurrent_creation) => {
            Ok(client.batch_execute(LEDGER_DDL)?)
        }
        Err(e) if e.code() == Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) => {
            Err(Error::usage(format!(
                "chunkload keeps its bookkeeping in schema {SCHEMA}, and this role may not \
                 create it ({}): it needs the CREATE privilege on the database (or an \
                 administrator creates the schema). An administrator can run:\n\
                 CREATE SCHEMA IF NOT EXISTS {SCHEMA}; GRANT USAGE, CREATE ON SCHEMA {SCHEMA} TO <role>;",
                e.as_db_error().map_or(String::new(), |d| d.message().to_string())
            )))
        }
        Err(e) => Err(e.into()),
    }
}

/// A DDL statement lost a race with the same creation in another session.
fn concurrent_creation(state: &postgres::error::SqlState) -> bool {
    use postgres::error::SqlState;
    [
        SqlState::UNIQUE_VIOLATION,
        SqlState::DUPLICATE_SCHEMA,
        SqlState::DUPLICATE_TABLE,
        SqlState::DUPLICATE_OBJECT,
    ]
    .contains(state)
}

/// The ledger row of a piece; prepared once per connection by the writers.
pub const RECORD_SQL: &str = "INSERT INTO chunkload.chunkload_ledger
   (load_id, file, byte_start, byte_end, first_line, last_line, nrows, rows_loaded, rejected)
 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// Writes a piece's ledger row; call inside the piece's own transaction. `stmt` is
/// [`RECORD_SQL`] or a statement prepared from it.
pub fn record<S: ?Sized + ToStatement>(
    tx: &mut impl GenericClient,
    stmt: &S,
    load_id: &str,
    p: &Piece,
) -> Result<()> {
    tx.execute(
        stmt,
        &[
            &load_id,
            &(p.file as i32),
            &(p.byte_start as i64),
            &(p.byte_end as i64),
            &(p.first_line as i64),
            &(p.last_line as i64),
            &(p.nrows as i32),
            &(p.rows_loaded as i64),
            &p.rejected,
        ],
    )?;
    Ok(())
}

/// Whether the piece of input `file` starting at `byte_start` committed: the answer to a
/// commit whose outcome was unknown.
pub fn committed(
    client: &mut impl GenericClient,
    load_id: &str,
    file: u32,
    byte_start: u64,
) -> Result<bool> {
    let row = client.query_opt(
        "SELECT 1 FROM chunkload.chunkload_ledger WHERE load_id = $1 AND file = $2 AND byte_start = $3",
        &[&load_id, &(file as i32), &(byte_start as i64)],
    )?;
    Ok(row.is_some())
}

/// Keeps a rejected record (once, however often runs reject it): the reject file is
/// written from these rows.
pub fn store_reject(
    client: &mut impl GenericClient,
    load_id: &str,
    file: u32,
    byte_start: u64,
    line: u64,
    raw: &[u8],
    error: &str,
) -> Result<()> {
    client.execute(
        "INSERT INTO chunkload.chunkload_rejects (load_id, file, byte_start, line, raw, error)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (load_id, file, byte_start) DO NOTHING",
        &[
            &load_id,
            &(file as i32),
            &(byte_start as i64),
            &(line as i64),
            &raw,
            &error,
        ],
    )?;
    Ok(())
}

/// A load's rejected records in input order: raw bytes, line, error.
pub fn rejects(
    client: &mut impl GenericClient,
    load_id: &str,
) -> Result<Vec<(Vec<u8>, u64, String)>> {
    Ok(client
        .query(
            "SELECT raw, line, error FROM chunkload.chunkload_rejects WHERE load_id = $1
             ORDER BY file, byte_start",
            &[&load_id],
        )?
        .iter()
        .map(|r| (r.get(0), r.get::<_, i64>(1) as u64, r.get(2)))
        .collect())
}

/// Registers load `load_id` (idempotent, so it simply runs again after a lost connection),
/// refuses it when its input changed since it started, and reads what it committed.
pub fn begin_load(
    client: &mut impl GenericClient,
    load_id: &str,
    table: &str,
    files: &[String],
    fingerprint: &str,
) -> Result<Progress> {
    ensure(client)?;
    let existing = client.query_opt(
        "SELECT fingerprint FROM chunkload.chunkload_loads WHERE load_id = $1",
        &[&load_id],
    )?;
    match existing {
        Some(row) if row.get::<_, String>(0) != fingerprint => {
            return Err(Error::usage(format!(
                "the input changed since load {load_id} started (size, time or content differ); \
                 loading it under the same load id could duplicate or lose rows. \
                 Use --fresh to start a new load (or --load-id NAME)"
            )))
        }
        Some(_) => {}
        None => {
            client.execute(
                "INSERT INTO chunkload.chunkload_loads (load_id, table_name, files, fingerprint) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (load_id) DO NOTHING",
                &[&load_id, &table, &files.join(", "), &fingerprint],
            )?;
        }
    }
    Progress::read(client, load_id)
}

/// Forgets load `load_id`: its ledger, its rejects and its row in the loads table (so a
/// `--fresh` run can start that name again). Returns the ledger rows removed.
pub fn forget(client: &mut impl GenericClient, load_id: &str) -> Result<u64> {
    ensure(client)?;
    let n = client.execute(
        "DELETE FROM chunkload.chunkload_ledger WHERE load_id = $1",
        &[&load_id],
    )?;
    client.execute(
        "DELETE FROM chunkload.chunkload_rejects WHERE load_id = $1",
        &[&load_id],
    )?;
    client.execute(
        "DELETE FROM chunkload.chunkload_loads WHERE load_id = $1",
        &[&load_id],
    )?;
    Ok(n)
}

/// Which loads `chunkload forget` removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForgetWhich {
    /// One load by id.
    Load(String),
    /// Every finished load.
    Finished,
    /// Loads with no activity for this many seconds.
    OlderThan(u64),
}

/// Removes the ledger entries of the loads `which` selects; returns their ids.
pub fn forget_loads(client: &mut impl GenericClient, which: &ForgetWhich) -> Result<Vec<String>> {
    ensure(client)?;
    let ids: Vec<String> = match which {
        ForgetWhich::Load(id) => client
            .query(
                "SELECT load_id FROM chunkload.chunkload_loads WHERE load_id = $1",
                &[id],
            )?,
        ForgetWhich::Finished => client.query(
            "SELECT load_id FROM chunkload.chunkload_loads WHERE finished_at IS NOT NULL",
            &[],
        )?,
        ForgetWhich::OlderThan(secs) => client.query(
            "SELECT l.load_id FROM chunkload.chunkload_loads l
             WHERE greatest(l.started_at, l.finished_at,
                   (SELECT max(g.committed_at) FROM chunkload.chunkload_ledger g WHERE g.load_id = l.load_id))
                   < now() - ($1::text)::interval",
            &[&format!("{secs} seconds")],
        )?,
    }
    .iter()
    .map(|r| r.get(0))
    .collect();
    for id in &ids {
        forget(client, id)?;
    }
    Ok(ids)
}

/// Parses `--older-than`: a number with `s`, `m`, `h` or `d` (`30d`), in seconds.
pub fn parse_age(s: &str) -> Result<u64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| Error::usage(format!("--older-than {s:?}: expected e.g. 30d, 12h, 90m")))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" | "" => 86_400,
        _ => {
            return Err(Error::usage(format!(
                "--older-than {s:?}: the unit is s, m, h or d"
            )))
        }
    };
    Ok(n * mult)
}

/// Marks a load finished once every one of its `total_chunks` chunks is covered.
pub fn finish_load(
    client: &mut impl GenericClient,
    load_id: &str,
    total_chunks: u64,
) -> Result<()> {
    client.execute(
        "UPDATE chunkload.chunkload_loads SET total_chunks = $2, finished_at = now() WHERE load_id = $1",
        &[&load_id, &(total_chunks as i64)],
    )?;
    Ok(())
}

/// The fingerprint of a load's inputs: each file's, joined.
pub fn fingerprint_all(files: &[String]) -> Result<String> {
    let prints: Vec<String> = files
        .iter()
        .map(|f| fingerprint(f))
        .collect::<Result<_>>()?;
    Ok(prints.join(";"))
}

/// Size, modification time and a hash of the first and last MiB: cheap, and it changes
/// when the file does.
pub fn fingerprint(path: &str) -> Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    if path == "-" {
        return Ok("stdin".into());
    }
    let io = |e| Error::io(path, e);
    let mut f = std::fs::File::open(path).map_err(io)?;
    let meta = f.metadata().map_err(io)?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let n = f.read(&mut buf).map_err(io)?;
    h.update(&buf[..n]);
    if meta.len() > (1 << 20) {
        f.seek(SeekFrom::End(-(1 << 20))).map_err(io)?;
        let n = f.read(&mut buf).map_err(io)?;
        h.update(&buf[..n]);
    }
    Ok(format!(
        "{}:{}:{}",
        meta.len(),
        mtime,
        hex::encode(&h.finalize()[..8])
    ))
}

/// The load id: the table's name plus a hash of the inputs' canonical paths and of
/// `identity` (the target table, the column mapping and the dialect: what decides which
/// rows the data becomes), so a rerun of the same data resumes the same load whatever its
/// chunking, method or workers. `explicit` is `--load-id`; `fresh` (or stdin without an
/// explicit id) adds a random suffix, starting a new load; `fresh` with an explicit id keeps
/// the name (the caller forgets that load's earlier entries).
pub fn load_id(
    files: &[String],
    table_name: &str,
    identity: &str,
    explicit: Option<&str>,
    fresh: bool,
) -> String {
    let base = match explicit {
        Some(id) => id.to_string(),
        None => derived_load_id(files, table_name, identity),
    };
    if fresh && explicit.is_none() {
        format!("{base}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
    } else {
        base
    }
}

fn derived_load_id(files: &[String], table_name: &str, identity: &str) -> String {
    let mut h = Sha256::new();
    for f in files {
        let p = std::fs::canonicalize(f)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| f.clone());
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.update(identity.as_bytes());
    let name: String = table_name
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .take(24)
        .collect();
    format!("{}-{}", name, &hex::encode(h.finalize())[..16])
}

/// What a load has committed (or rejected) so far: per input, the byte ranges covered.
#[derive(Debug, Default, Clone)]
pub struct Progress {
    covered: HashMap<u32, Vec<(u64, u64)>>,
    /// Pieces committed by earlier runs (rejected records not counted).
    pub pieces: u64,
    /// Rows already loaded by earlier runs.
    pub rows_loaded: u64,
    /// Rows already rejected by earlier runs.
    pub rows_rejected: u64,
    /// When an earlier run finished the load (RFC 3339, UTC), if one did.
    pub finished_at: Option<String>,
}

impl Progress {
    /// Reads a load's ledger rows.
    pub fn read(client: &mut impl GenericClient, load_id: &str) -> Result<Progress> {
        let mut p = Progress::default();
        for row in client.query(
            "SELECT file, byte_start, byte_end, nrows, rows_loaded, rejected
             FROM chunkload.chunkload_ledger WHERE load_id = $1",
            &[&load_id],
        )? {
            let (file, start, end): (i32, i64, i64) = (row.get(0), row.get(1), row.get(2));
            p.add(file as u32, start as u64, end as u64);
            if row.get::<_, bool>(5) {
                p.rows_rejected += row.get::<_, i32>(3) as u64;
            } else {
                p.pieces += 1;
                p.rows_loaded += row.get::<_, i64>(4) as u64;
            }
        }
        for ranges in p.covered.values_mut() {
            *ranges = merged(std::mem::take(ranges));
        }
        p.finished_at = client
            .query_opt(
                "SELECT to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
                 FROM chunkload.chunkload_loads WHERE load_id = $1 AND finished_at IS NOT NULL",
                &[&load_id],
            )?
            .map(|r| r.get(0));
        Ok(p)
    }

    /// Marks the bytes `start .. end` of input `file` as covered.
    pub fn add(&mut self, file: u32, start: u64, end: u64) {
        let ranges = self.covered.entry(file).or_default();
        ranges.push((start, end));
        *ranges = merged(std::mem::take(ranges));
    }

    /// Nothing committed or rejected yet.
    pub fn is_empty(&self) -> bool {
        self.covered.is_empty()
    }

    /// The covered byte ranges of input `file`: sorted, disjoint, adjacent ones joined.
    pub fn covered(&self, file: u32) -> Vec<(u64, u64)> {
        self.covered.get(&file).cloned().unwrap_or_default()
    }
}

/// Sorted, overlapping or touching ranges joined.
fn merged(mut ranges: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    ranges.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (s, e) in ranges {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// A load as `chunkload status` lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadStatus {
    /// Load id.
    pub load_id: String,
    /// Target table.
    pub table: String,
    /// Input files.
    pub files: String,
    /// Pieces committed (a chunk is one piece unless it had to be split).
    pub chunks: i64,
    /// Chunks in the input, once known (the reader reached the end).
    pub total_chunks: Option<i64>,
    /// Rows loaded.
    pub rows: i64,
    /// Rows rejected.
    pub rejected: i64,
    /// Last commit (or the start), RFC 3339.
    pub last_activity: String,
    /// Every chunk committed.
    pub finished: bool,
}

/// Lists the loads recorded in this database, newest first; empty if none ever ran.
pub fn status(client: &mut impl GenericClient) -> Result<Vec<LoadStatus>> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('chunkload.chunkload_loads') IS NOT NULL",
            &[],
        )?
        .get(0);
    if !exists {
        return Ok(Vec::new());
    }
    let rows = client.query(
        "SELECT l.load_id, l.table_name, l.files, l.total_chunks, l.finished_at IS NOT NULL,
                count(g.load_id) FILTER (WHERE NOT g.rejected), coalesce(sum(g.rows_loaded) FILTER (WHERE NOT g.rejected), 0)::int8,
                coalesce(sum(g.nrows) FILTER (WHERE g.rejected), 0)::int8,
                to_char(greatest(max(g.committed_at), l.started_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
         FROM chunkload.chunkload_loads l LEFT JOIN chunkload.chunkload_ledger g USING (load_id)
         GROUP BY l.load_id, l.table_name, l.files, l.total_chunks, l.finished_at, l.started_at
         ORDER BY greatest(max(g.committed_at), l.started_at) DESC",
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|r| LoadStatus {
            load_id: r.get(0),
            table: r.get(1),
            files: r.get(2),
            total_chunks: r.get(3),
            finished: r.get(4),
            chunks: r.get(5),
            rows: r.get(6),
            rejected: r.get(7),
            last_activity: r.get(8),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covered_ranges_join_and_records_inside_them_are_covered() {
        let mut p = Progress::default();
        assert!(p.is_empty());
        p.add(0, 100, 200);
        p.add(0, 0, 50);
        p.add(0, 50, 80);
        p.add(1, 10, 20);
        assert_eq!(parse_age("30d").unwrap(), 30 * 86_400);
        assert_eq!(parse_age("2h").unwrap(), 7_200);
        assert!(parse_age("3w").is_err() && parse_age("x").is_err());
        assert_eq!(p.covered(0), vec![(0, 80), (100, 200)]);
        assert_eq!(p.covered(2), vec![]);
    }
}
