//! Exactly-once bookkeeping in the target database.
//!
//! Every piece of a chunk that commits writes one ledger row in the same transaction, so
//! the rows and their ledger entry commit together or not at all. A piece is a range of
//! the chunk's records (`first_row .. first_row + nrows`); a whole chunk is one piece
//! unless it had to be split (bad rows isolated, a transaction too large). Because chunk
//! boundaries are deterministic for the same input and options, a rerun reads the ledger,
//! skips what is covered and sends only what is not.

use crate::{Error, Result};
use postgres::{GenericClient, ToStatement};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Ledger DDL; idempotent. Also a table of loads, for `chunkload status` and for refusing
/// a file that changed under the same load id.
pub const LEDGER_DDL: &str = "
CREATE TABLE IF NOT EXISTS chunkload_loads (
    load_id text PRIMARY KEY,
    table_name text NOT NULL,
    files text NOT NULL,
    fingerprint text NOT NULL,
    total_chunks int8,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE TABLE IF NOT EXISTS chunkload_ledger (
    load_id text NOT NULL,
    chunk int8 NOT NULL,
    first_row int4 NOT NULL,
    nrows int4 NOT NULL,
    first_line int8 NOT NULL,
    last_line int8 NOT NULL,
    rows_loaded int8 NOT NULL,
    bytes int8 NOT NULL,
    rejected bool NOT NULL DEFAULT false,
    committed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (load_id, chunk, first_row)
);";

/// One committed (or rejected) piece of a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Chunk number within the load (0-based).
    pub chunk: u64,
    /// First record of the piece, as an index into the chunk.
    pub first_row: u32,
    /// Records the piece covers (loaded or rejected).
    pub nrows: u32,
    /// Source line of the piece's first record.
    pub first_line: u64,
    /// Source line of the piece's last record.
    pub last_line: u64,
    /// Rows that reached the table (records covered minus rejected ones).
    pub rows_loaded: u64,
    /// Source bytes of the piece.
    pub bytes: u64,
    /// The piece is a record the server rejected for a data error.
    pub rejected: bool,
}

/// Creates the ledger tables if needed.
pub fn ensure(client: &mut impl GenericClient) -> Result<()> {
    client.batch_execute(LEDGER_DDL)?;
    Ok(())
}

/// The ledger row of a piece; prepared once per connection by the writers.
pub const RECORD_SQL: &str = "INSERT INTO chunkload_ledger
   (load_id, chunk, first_row, nrows, first_line, last_line, rows_loaded, bytes, rejected)
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
            &(p.chunk as i64),
            &(p.first_row as i32),
            &(p.nrows as i32),
            &(p.first_line as i64),
            &(p.last_line as i64),
            &(p.rows_loaded as i64),
            &(p.bytes as i64),
            &p.rejected,
        ],
    )?;
    Ok(())
}

/// Whether a piece committed: the answer to a commit whose outcome was unknown.
pub fn committed(
    client: &mut impl GenericClient,
    load_id: &str,
    chunk: u64,
    first_row: u32,
) -> Result<bool> {
    let row = client.query_opt(
        "SELECT 1 FROM chunkload_ledger WHERE load_id = $1 AND chunk = $2 AND first_row = $3",
        &[&load_id, &(chunk as i64), &(first_row as i32)],
    )?;
    Ok(row.is_some())
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
        "SELECT fingerprint FROM chunkload_loads WHERE load_id = $1",
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
                "INSERT INTO chunkload_loads (load_id, table_name, files, fingerprint) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (load_id) DO NOTHING",
                &[&load_id, &table, &files.join(", "), &fingerprint],
            )?;
        }
    }
    Progress::read(client, load_id)
}

/// Marks a load finished once every one of its `total_chunks` chunks is covered.
pub fn finish_load(
    client: &mut impl GenericClient,
    load_id: &str,
    total_chunks: u64,
) -> Result<()> {
    client.execute(
        "UPDATE chunkload_loads SET total_chunks = $2, finished_at = now() WHERE load_id = $1",
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

/// The load id: the table's name plus a hash of the inputs' paths and of `options` (every
/// option that decides chunk boundaries or contents), so the same command resumes the
/// same load. `explicit` is `--load-id`; `fresh` (or stdin without an explicit id) adds a
/// random suffix, starting a new load.
pub fn load_id(
    files: &[String],
    table_name: &str,
    options: &str,
    explicit: Option<&str>,
    fresh: bool,
) -> String {
    let base = match explicit {
        Some(id) => id.to_string(),
        None => derived_load_id(files, table_name, options),
    };
    if fresh {
        format!("{base}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
    } else {
        base
    }
}

fn derived_load_id(files: &[String], table_name: &str, options: &str) -> String {
    let mut h = Sha256::new();
    for f in files {
        let p = std::fs::canonicalize(f)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| f.clone());
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.update(options.as_bytes());
    let name: String = table_name
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .take(24)
        .collect();
    format!("{}-{}", name, &hex::encode(h.finalize())[..16])
}

/// What a load has committed so far: per chunk, the record ranges already covered.
#[derive(Debug, Default, Clone)]
pub struct Progress {
    covered: HashMap<u64, Vec<(u32, u32)>>,
    /// Rows already loaded by earlier runs.
    pub rows_loaded: u64,
    /// Rows already rejected by earlier runs.
    pub rows_rejected: u64,
}

impl Progress {
    /// Reads a load's ledger rows.
    pub fn read(client: &mut impl GenericClient, load_id: &str) -> Result<Progress> {
        let mut p = Progress::default();
        for row in client.query(
            "SELECT chunk, first_row, nrows, rows_loaded, rejected FROM chunkload_ledger WHERE load_id = $1",
            &[&load_id],
        )? {
            let (chunk, first, n): (i64, i32, i32) = (row.get(0), row.get(1), row.get(2));
            p.add(chunk as u64, first as u32, n as u32);
            if row.get::<_, bool>(4) {
                p.rows_rejected += n as u64;
            } else {
                p.rows_loaded += row.get::<_, i64>(3) as u64;
            }
        }
        Ok(p)
    }

    /// Marks a range as covered.
    pub fn add(&mut self, chunk: u64, first_row: u32, nrows: u32) {
        self.covered
            .entry(chunk)
            .or_default()
            .push((first_row, nrows));
    }

    /// Whether an earlier run committed (or rejected) any piece of `chunk`.
    pub fn touched(&self, chunk: u64) -> bool {
        self.covered.contains_key(&chunk)
    }

    /// Chunks with at least one covered piece.
    pub fn chunks_touched(&self) -> usize {
        self.covered.len()
    }

    /// The ranges of `0..rows` of `chunk` not yet covered, in order.
    pub fn missing(&self, chunk: u64, rows: u32) -> Vec<(u32, u32)> {
        let Some(done) = self.covered.get(&chunk) else {
            return vec![(0, rows)];
        };
        let mut done = done.clone();
        done.sort_unstable();
        let mut out = Vec::new();
        let mut at = 0u32;
        for (first, n) in done {
            if first > at {
                out.push((at, first - at));
            }
            at = at.max(first + n);
        }
        if at < rows {
            out.push((at, rows - at));
        }
        out
    }
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
    /// Chunks with committed pieces.
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
        .query_one("SELECT to_regclass('chunkload_loads') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        return Ok(Vec::new());
    }
    let rows = client.query(
        "SELECT l.load_id, l.table_name, l.files, l.total_chunks, l.finished_at IS NOT NULL,
                count(DISTINCT g.chunk), coalesce(sum(g.rows_loaded) FILTER (WHERE NOT g.rejected), 0)::int8,
                coalesce(sum(g.nrows) FILTER (WHERE g.rejected), 0)::int8,
                to_char(greatest(max(g.committed_at), l.started_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
         FROM chunkload_loads l LEFT JOIN chunkload_ledger g USING (load_id)
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
    fn missing_ranges_are_the_gaps_between_covered_pieces() {
        let mut p = Progress::default();
        assert_eq!(p.missing(0, 10), vec![(0, 10)]);
        p.add(0, 0, 3);
        p.add(0, 5, 2);
        p.add(0, 3, 1);
        assert_eq!(p.missing(0, 10), vec![(4, 1), (7, 3)]);
        p.add(0, 4, 1);
        p.add(0, 7, 3);
        assert!(p.missing(0, 10).is_empty());
        assert_eq!(p.missing(1, 4), vec![(0, 4)]);
        assert!(p.touched(0) && !p.touched(1));
    }
}
