//! `--create-table`: a missing table inferred from the load's first file and created,
//! safely against concurrent loaders.

use super::{create_table_sql, infer_file, warnings, InferOptions, Inferred};
use crate::encode::DateOrder;
use crate::source::{Compression, Dialect};
use crate::table::Table;
use crate::{ErrorKind, Result};

/// Runs `sql` (from [`create_table_sql`]) unless `table` already exists; `Ok(true)` when
/// this call created it. Safe against concurrent loaders: whoever loses the race sees the
/// winner's table and gets `Ok(false)`.
pub fn create_if_missing(client: &mut postgres::Client, table: &str, sql: &str) -> Result<bool> {
    match Table::read(client, table) {
        Ok(_) => return Ok(false),
        Err(e) if matches!(e.kind(), ErrorKind::Schema(_)) => {}
        Err(e) => return Err(e),
    }
    match client.batch_execute(sql) {
        Ok(()) => Ok(true),
        // Losing a race shows as 42P07, 42710 (the row type) or 23505 (a catalog index)
        // on PostgreSQL, as other codes elsewhere: whatever the code, if the table is
        // there now, someone else made it.
        Err(e) => match Table::read(client, table) {
            Ok(_) => Ok(false),
            Err(_) => Err(e.into()),
        },
    }
}

/// Rows sampled from stdin when every row is asked for (`--infer-rows all`): stdin is
/// read once, and the sample is kept in memory until the load reads it again.
pub const STDIN_SAMPLE_ROWS: u64 = 100_000;

/// Where `--create-table` samples the types from: the load's first file, read as the load
/// will read it.
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    /// The file (`-` is stdin: a sample is read, then read again by the load; a zip
    /// archive: its first CSV member).
    pub file: &'a str,
    /// The load's dialect.
    pub dialect: &'a Dialect,
    /// The load's decompression (`None`: by extension).
    pub compression: Option<Compression>,
    /// The load's `--columns`, naming the file's columns.
    pub columns: Option<&'a [String]>,
}

/// A table [`create_missing_table`] created.
#[derive(Debug, Clone)]
pub struct CreatedTable {
    /// The `CREATE TABLE` that was run.
    pub sql: String,
    /// The inference it came from, for [`hint`](super::hint).
    pub inferred: Inferred,
}

/// `--create-table`: when `table` does not exist, infers its columns from `sample`, creates
/// it and returns what was run; `None` when the table exists, or a concurrent loader made
/// it first. `warn` gets each of [`warnings`] before the statement is built.
pub fn create_missing_table(
    client: &mut postgres::Client,
    table: &str,
    sample: &Sample<'_>,
    opts: &InferOptions,
    warn: &mut dyn FnMut(&str),
) -> Result<Option<CreatedTable>> {
    match Table::read(client, table) {
        Ok(_) => return Ok(None),
        Err(e) if matches!(e.kind(), ErrorKind::Schema(_)) => {}
        Err(e) => return Err(e),
    }
    let inferred = infer_sample(sample, opts, warn)?;
    for w in warnings(&inferred, opts) {
        warn(&w);
    }
    let sql = create_table_sql(table, &inferred, opts)?;
    Ok(create_if_missing(client, table, &sql)?.then_some(CreatedTable { sql, inferred }))
}

/// `--create-table` on a table that exists (a rerun of the load that created it, another
/// file for it): the order this file's inference reads numeric dates in, as when the
/// table was created, so a rerun reads them alike and keeps its load id. Stdin is
/// sampled as [`create_missing_table`] samples it (a rerun is fed the same input).
/// `None` for a table without date or timestamp columns, which is not read.
pub fn existing_date_order(
    client: &mut postgres::Client,
    table: &str,
    sample: &Sample<'_>,
    opts: &InferOptions,
) -> Result<Option<DateOrder>> {
    use crate::encode::ColumnType::{self, Date, Timestamp, Timestamptz};
    let dated = Table::read(client, table)?.columns.iter().any(|c| {
        matches!(
            ColumnType::from_pg(&c.type_name),
            Date | Timestamp | Timestamptz
        )
    });
    if !dated {
        return Ok(None);
    }
    Ok(infer_sample(sample, opts, &mut |_| {})?.date_order)
}

/// `sample` inferred as the load will read it: a zip archive's first CSV member; stdin
/// from its first rows, put back for the load to read again (said through `warn`).
fn infer_sample(
    sample: &Sample<'_>,
    opts: &InferOptions,
    warn: &mut dyn FnMut(&str),
) -> Result<Inferred> {
    // A zip archive: its first CSV member, the load's first file.
    let file = &crate::source::expand_archives(&[sample.file.to_string()])?.files[0];
    let infer = |opts: &InferOptions| {
        infer_file(
            file,
            sample.dialect,
            sample.compression,
            sample.columns,
            opts,
        )
    };
    if file == "-" {
        // Stdin is read once: the sample it took is read again by the load.
        let opts = InferOptions {
            sample_rows: Some(opts.sample_rows.unwrap_or(STDIN_SAMPLE_ROWS)),
            ..opts.clone()
        };
        let (inferred, bytes) = crate::source::stdin::sampled(|| infer(&opts));
        let inferred = inferred?;
        warn(&format!(
            "stdin is read once: the column types come from a sample of its first {} rows \
             ({bytes} bytes, kept in memory and loaded with the rest)",
            inferred.rows_sampled
        ));
        Ok(inferred)
    } else {
        infer(opts)
    }
}
