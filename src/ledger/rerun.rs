//! What a rerun finds changed since its load's earlier runs, and what it does about it
//! before anything commits. The ledger holds byte ranges of the input and the rows they put
//! into one table: skipping them is exact only while both are as they were.
//!
//! - The input, by its [`super::fingerprint`]. Changed after a load that committed no row,
//!   there is nothing to protect: the load starts again on the input as it is now. Changed
//!   after rows committed, nobody can tell which rows of the new input those are: refused,
//!   naming the committed lines and the ways on.
//! - The table, by its OID (`table_oid` on the load's row; `pg_class.oid`, CockroachDB's
//!   descriptor id): a table dropped and created again, or renamed with another created
//!   under its name, has another, and the committed rows are not in it: the load starts
//!   again. TRUNCATE keeps the OID on both servers (CockroachDB gives the table new
//!   indexes, not a new id, since v20.2: cockroach#52170, PR #52235), so the rows are
//!   counted too, up to the number the ledger committed (`count(*)` of a `LIMIT n`
//!   subquery: never more rows read than the load wrote). None left (TRUNCATE, or DELETE of
//!   every row): the load starts again. Some left: refused, as no rerun can tell which rows
//!   went. A table that also holds rows of others can lose some of the load's unseen, as
//!   long as it keeps at least as many as the load committed.
//! - A load row of an earlier build has no OID: it takes the table it finds, which only the
//!   count protects.
//!
//! A finished load is not loaded again unasked: its rerun says what changed, and that
//! `--fresh` loads it again. Starting again happens in place, under the load's lease: its
//! ledger rows and rejects are deleted and its row takes the new fingerprint and OID, in
//! one transaction, so the same command resumes the new start if it is interrupted.

use super::{ensure, Committed, LedgerSchema, LEDGER, LOADS, REJECTS};
use crate::error::plural;
use crate::{Error, Result};
use postgres::GenericClient;

/// The table a load writes into, as the catalog names and numbers it now.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Its SQL name.
    pub name: &'a str,
    /// Its OID (see [`crate::table::Table::oid`]).
    pub oid: Option<i64>,
}

/// What became of the table since the load's earlier runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableChange {
    /// Not the table they ran into: dropped and created again, or renamed and another
    /// created under its name.
    Replaced,
    /// Holds `held` rows, fewer than were committed into it (0: truncated or emptied).
    Fewer {
        /// Rows it holds now.
        held: u64,
    },
}

/// Why a rerun loads every row again from the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// The input changed, and no row of it was committed.
    InputChanged,
    /// The table changed: the `committed` rows are not in it.
    Table {
        /// What became of it.
        change: TableChange,
        /// Rows the earlier runs committed.
        committed: u64,
    },
}

impl Restart {
    /// The one line a run says before anything commits.
    pub fn line(&self, load_id: &str, table: &str) -> String {
        let what = match *self {
            Restart::InputChanged => format!(
                "the input changed since load {load_id} started, and no row of it was committed"
            ),
            Restart::Table {
                change: TableChange::Replaced,
                committed,
            } => format!(
                "{table} is not the table load {load_id} committed {committed} {} into \
                 (it was dropped and created again, or renamed, since)",
                plural(committed, "row", "rows")
            ),
            Restart::Table {
                change: TableChange::Fewer { .. },
                committed,
            } => format!(
                "{table} holds none of the {committed} {} load {load_id} committed into it \
                 (it was truncated or emptied since)",
                plural(committed, "row", "rows")
            ),
        };
        format!("{what}: loading every row again from the start")
    }
}

/// A load as a run finds it, after any start again.
#[derive(Debug)]
pub struct Found {
    /// What stays committed from earlier runs (nothing after a start again).
    pub committed: Committed,
    /// The load started again, and why.
    pub restarted: Option<Restart>,
    /// A finished load whose table changed since: said, nothing done.
    pub finished_change: Option<TableChange>,
}

/// Registers load `load_id` into `table` (idempotent, so it simply runs again after a lost
/// connection); [`resolve`], under the load's lease, judges what earlier runs left.
pub fn begin_load(
    client: &mut impl GenericClient,
    s: &LedgerSchema,
    load_id: &str,
    table: Target<'_>,
    files: &[String],
    fingerprint: &str,
) -> Result<()> {
    ensure(client, s)?;
    client.execute(
        &format!(
            "INSERT INTO {} (load_id, table_name, files, fingerprint, table_oid)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (load_id) DO NOTHING",
            s.table(LOADS)
        ),
        &[
            &load_id,
            &table.name,
            &super::files_text(files),
            &fingerprint,
            &table.oid,
        ],
    )?;
    Ok(())
}

/// What load `load_id` committed, judged against its input and table as they are now (see
/// the module): resumed, started again from the start, or refused with the ways on.
/// Idempotent: run again after a lost connection, it finds what it did.
pub fn resolve(
    client: &mut impl GenericClient,
    s: &LedgerSchema,
    load_id: &str,
    table: Target<'_>,
    files: &[String],
    fingerprint: &str,
) -> Result<Found> {
    let row = client.query_opt(
        &format!(
            "SELECT fingerprint, table_oid FROM {} WHERE load_id = $1",
            s.table(LOADS)
        ),
        &[&load_id],
    )?;
    let (recorded, oid): (String, Option<i64>) = match &row {
        Some(r) => (r.get(0), r.get(1)),
        None => (fingerprint.to_string(), table.oid),
    };
    let earlier = Committed::read(client, s, load_id)?;
    let committed = earlier.rows_loaded;
    let found = |earlier, restarted, finished_change| Found {
        committed: earlier,
        restarted,
        finished_change,
    };
    if recorded != fingerprint {
        if committed > 0 {
            return Err(input_changed(
                client, s, load_id, table.name, files, committed,
            ));
        }
        start_again(client, s, load_id, table.oid, fingerprint)?;
        return Ok(found(
            Committed::default(),
            Some(Restart::InputChanged),
            None,
        ));
    }
    let replaced = matches!((oid, table.oid), (Some(was), Some(now)) if was != now);
    let change = match () {
        // Rejected records too: the new table may take what the old one refused.
        _ if replaced && !earlier.is_empty() => Some(TableChange::Replaced),
        _ if committed == 0 => None,
        _ => match held(client, table.name, committed)? {
            held if held < committed => Some(TableChange::Fewer { held }),
            _ => None,
        },
    };
    match change {
        None => {
            if oid != table.oid && table.oid.is_some() {
                // A row of an earlier build, or nothing committed into the old table.
                client.execute(
                    &format!(
                        "UPDATE {} SET table_oid = $2 WHERE load_id = $1",
                        s.table(LOADS)
                    ),
                    &[&load_id, &table.oid],
                )?;
            }
            Ok(found(earlier, None, None))
        }
        Some(change) if earlier.finished_at.is_some() => Ok(found(earlier, None, Some(change))),
        Some(TableChange::Fewer { held }) if held > 0 => {
            Err(rows_deleted(load_id, table.name, held, committed))
        }
        Some(change) => {
            start_again(client, s, load_id, table.oid, fingerprint)?;
            let restart = Restart::Table { change, committed };
            Ok(found(Committed::default(), Some(restart), None))
        }
    }
}

/// The rows `table` holds, counted up to `limit`: no more rows read than the load wrote.
/// `limit` is a number of ours, written into the statement.
fn held(client: &mut impl GenericClient, table: &str, limit: u64) -> Result<u64> {
    let n: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT {limit}) AS held"),
            &[],
        )?
        .get(0);
    Ok(n as u64)
}

/// Starts load `load_id` again in place: its ledger rows and rejects go, its row takes the
/// input's `fingerprint` and the table's `oid` and forgets its `--truncate` state and its
/// end, so this run is the load's first (with `--truncate`, it empties the table again).
fn start_again(
    client: &mut impl GenericClient,
    s: &LedgerSchema,
    load_id: &str,
    oid: Option<i64>,
    fingerprint: &str,
) -> Result<()> {
    let mut tx = client.transaction()?;
    for t in [LEDGER, REJECTS] {
        tx.execute(
            &format!("DELETE FROM {} WHERE load_id = $1", s.table(t)),
            &[&load_id],
        )?;
    }
    tx.execute(
        &format!(
            "UPDATE {} SET fingerprint = $2, table_oid = $3, truncate_state = NULL,
                    finished_at = NULL, total_chunks = NULL
              WHERE load_id = $1",
            s.table(LOADS)
        ),
        &[&load_id, &fingerprint, &oid],
    )?;
    tx.commit()?;
    Ok(())
}

/// The refusal of a rerun whose table lost some of the rows the load committed.
fn rows_deleted(load_id: &str, table: &str, held: u64, committed: u64) -> Error {
    Error::usage(format!(
        "{table} holds {held} {}, fewer than the {committed} load {load_id} committed into \
         it: rows were deleted since, and a rerun cannot tell which, so nothing was loaded. \
         Rerun with --fresh --truncate to empty {table} and load every row again, or with \
         --fresh to load every row again next to the {held} there (with --method upsert, a \
         file that repeats a key also leaves fewer rows than it loaded: --fresh is then \
         harmless)",
        plural(held, "row", "rows")
    ))
}

/// The refusal of a changed input after rows were committed: which lines are committed,
/// and the ways on.
fn input_changed(
    client: &mut impl GenericClient,
    s: &LedgerSchema,
    load_id: &str,
    table: &str,
    files: &[String],
    committed: u64,
) -> Error {
    let lines = match committed_lines(client, s, load_id, files) {
        Ok(l) => format!(": {l}"),
        Err(e) => return e,
    };
    Error::usage(format!(
        "the input changed since load {load_id} started (size, time or content differ), and \
         {committed} {} of it {} committed in {table}{lines}; which rows of the changed input \
         those are is unknown, so nothing was loaded. Restore the input as it was and rerun \
         to resume, or rerun with --fresh --truncate to empty {table} and load the changed \
         input from the start, or with --fresh to load all of it next to the committed rows",
        plural(committed, "row", "rows"),
        plural(committed, "is", "are")
    ))
}

/// Ranges shown per input before "and N more".
const RANGES_SHOWN: usize = 5;

/// The committed lines of each input, as `lines 2-141, 150-200 of a.csv; line 7 of b.csv`.
fn committed_lines(
    client: &mut impl GenericClient,
    s: &LedgerSchema,
    load_id: &str,
    files: &[String],
) -> Result<String> {
    let pieces: Vec<Span> = client
        .query(
            &format!(
                "SELECT file, byte_start, byte_end, first_line, last_line FROM {}
                  WHERE load_id = $1 AND NOT rejected ORDER BY file, byte_start",
                s.table(LEDGER)
            ),
            &[&load_id],
        )?
        .iter()
        .map(|r| Span {
            file: r.get::<_, i32>(0) as u32,
            bytes: (r.get::<_, i64>(1) as u64, r.get::<_, i64>(2) as u64),
            lines: (r.get::<_, i64>(3) as u64, r.get::<_, i64>(4) as u64),
        })
        .collect();
    Ok(line_ranges(&pieces, files))
}

/// A committed piece: its input, bytes and first and last lines.
#[derive(Debug, Clone, Copy)]
struct Span {
    file: u32,
    bytes: (u64, u64),
    lines: (u64, u64),
}

/// Pieces (sorted by input and byte) as line ranges per input: pieces that touch join.
fn line_ranges(pieces: &[Span], files: &[String]) -> String {
    let mut joined: Vec<Span> = Vec::new();
    for p in pieces {
        match joined.last_mut() {
            Some(last) if last.file == p.file && last.bytes.1 == p.bytes.0 => {
                last.bytes.1 = p.bytes.1;
                last.lines.1 = p.lines.1;
            }
            _ => joined.push(*p),
        }
    }
    let mut out: Vec<String> = Vec::new();
    for group in joined.chunk_by(|a, b| a.file == b.file) {
        let name = files
            .get(group[0].file as usize)
            .cloned()
            .unwrap_or_else(|| format!("input {}", group[0].file + 1));
        let mut shown: Vec<String> = group
            .iter()
            .take(RANGES_SHOWN)
            .map(|p| match p.lines {
                (a, b) if a == b => a.to_string(),
                (a, b) => format!("{a}-{b}"),
            })
            .collect();
        if group.len() > RANGES_SHOWN {
            shown.push(format!("and {} more", group.len() - RANGES_SHOWN));
        }
        let word = match group {
            [one] if one.lines.0 == one.lines.1 => "line",
            _ => "lines",
        };
        out.push(format!("{word} {} of {name}", shown.join(", ")));
    }
    out.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(file: u32, bytes: (u64, u64), lines: (u64, u64)) -> Span {
        Span { file, bytes, lines }
    }

    #[test]
    fn touching_pieces_join_into_line_ranges_per_input() {
        let files = vec!["a.csv".to_string(), "b.csv".to_string()];
        let pieces = [
            span(0, (5, 50), (2, 11)),
            span(0, (50, 90), (12, 21)),
            // A rejected record (line 22) between: not committed.
            span(0, (99, 140), (23, 30)),
            span(1, (5, 9), (2, 2)),
        ];
        assert_eq!(
            line_ranges(&pieces, &files),
            "lines 2-21, 23-30 of a.csv; line 2 of b.csv"
        );
        let many: Vec<Span> = (0..7)
            .map(|i| span(0, (i * 10, i * 10 + 5), (i, i)))
            .collect();
        assert_eq!(
            line_ranges(&many, &files),
            "lines 0, 1, 2, 3, 4, and 2 more of a.csv"
        );
    }

    #[test]
    fn the_restart_line_says_why_and_what_happens() {
        let replaced = Restart::Table {
            change: TableChange::Replaced,
            committed: 140,
        };
        let line = replaced.line("t-1", "\"public\".\"t\"");
        assert!(line.contains("committed 140 rows into"), "{line}");
        assert!(
            line.ends_with("loading every row again from the start"),
            "{line}"
        );
        let emptied = Restart::Table {
            change: TableChange::Fewer { held: 0 },
            committed: 1,
        };
        assert!(emptied.line("t-1", "t").contains("none of the 1 row "));
    }
}
