//! What `chunkload import` is asked to do, checked before anything is written.

use super::ImportAuth;
use crate::{Error, Result};
use std::path::PathBuf;

/// Whether shards are compressed on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShardCompression {
    /// Plain `.csv` shards.
    #[default]
    None,
    /// `.csv.gz` shards, read with `decompress = 'gzip'`; less to move over the network.
    Gzip,
}

/// Which statements `import` writes besides `import.sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Emit {
    /// CockroachDB `IMPORT INTO` only.
    #[default]
    Import,
    /// Also `copy.sql`: one server-side `COPY ... FROM 'file'` per shard, for PostgreSQL.
    Copy,
}

/// Everything `chunkload import` needs; built by the CLI from its flags.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The CSV file; `-` reads stdin. gzip and zstd input is detected and decompressed.
    pub input: PathBuf,
    /// Target table, optionally schema-qualified (`schema.table`).
    pub table: String,
    /// Number of shard files to write (at least 1). Fewer are written when a shard would
    /// be empty (fewer records than shards, or records larger than a shard's share).
    pub shards: usize,
    /// Directory for the shards and `import.sql`; created if missing. An `s3://bucket/prefix`
    /// (`az://container/prefix`, `gs://bucket/prefix`) URL uploads the shards there instead, as they are cut (`import.sql` then goes to
    /// [`ImportOptions::sql_out`]).
    pub out_dir: PathBuf,
    /// Field delimiter (default `,`).
    pub delimiter: u8,
    /// Unquoted field text meaning NULL (default empty, as PostgreSQL CSV).
    pub null: String,
    /// Whether the first record is a header (default true); it is dropped from the shards.
    pub has_header: bool,
    /// Column names: override the header's, or name the columns of a headerless file.
    pub columns: Option<Vec<String>>,
    /// Shard compression.
    pub compress: ShardCompression,
    /// Where nodes read the shards; default `nodelocal://1/<name of out_dir>/`.
    pub base_url: Option<String>,
    /// Repeat the header at the top of every shard and emit `skip = '1'`.
    pub keep_header: bool,
    /// Also write `copy.sql` for PostgreSQL.
    pub emit: Emit,
    /// Replace the shards of the same table left in `out_dir` by an earlier import;
    /// without it their presence is a usage error (they would be served and not loaded).
    pub force: bool,
    /// Where `import.sql` goes with object-store output (default `import.sql` in the current
    /// directory): it holds the credentials, so it stays local and is never uploaded.
    pub sql_out: Option<PathBuf>,
    /// With object-store output: whether the statement's URLs carry this process's
    /// credentials (AWS keys, Azure account key, Google token) or `AUTH=implicit`.
    pub out_auth: ImportAuth,
    /// With object-store output: bytes per part, so per shard in memory (default
    /// 8 MiB). S3 refuses parts under 5 MiB but the last, at completion.
    pub part_size: usize,
}

impl ImportOptions {
    /// Options with the defaults of the command line: comma, empty NULL, header, plain
    /// shards, nodelocal URLs.
    pub fn new(
        input: impl Into<PathBuf>,
        table: impl Into<String>,
        shards: usize,
        out_dir: impl Into<PathBuf>,
    ) -> ImportOptions {
        ImportOptions {
            input: input.into(),
            table: table.into(),
            shards,
            out_dir: out_dir.into(),
            delimiter: b',',
            null: String::new(),
            has_header: true,
            columns: None,
            compress: ShardCompression::None,
            base_url: None,
            keep_header: false,
            emit: Emit::Import,
            force: false,
            sql_out: None,
            out_auth: ImportAuth::Specified,
            part_size: super::DEFAULT_PART_SIZE,
        }
    }

    pub(super) fn validate(&self) -> Result<()> {
        if self.shards == 0 {
            return Err(Error::usage("--shards must be at least 1"));
        }
        if self.shards > 100_000 {
            return Err(Error::usage("--shards must be at most 100000"));
        }
        if matches!(self.delimiter, b'"' | b'\r' | b'\n') || !self.delimiter.is_ascii() {
            return Err(Error::usage(
                "--delimiter must be one ASCII character other than a quote or a newline",
            ));
        }
        if self.null.contains(char::from(self.delimiter)) || self.null.contains('"') {
            return Err(Error::usage(
                "--null must not contain the delimiter or a double quote",
            ));
        }
        if self.null.contains(['\r', '\n']) {
            return Err(Error::usage("--null must not contain a newline"));
        }
        if let Some(cols) = &self.columns {
            if cols.is_empty() || cols.iter().any(|c| c.is_empty()) {
                return Err(Error::usage("--columns must list non-empty column names"));
            }
        }
        if self.keep_header && !self.has_header {
            return Err(Error::usage("--keep-header needs an input with a header"));
        }
        crate::sql::quote_table(&self.table)?;
        let store = crate::source::store::is_store(&self.out_dir.to_string_lossy());
        if store && self.emit == Emit::Copy {
            return Err(Error::usage(
                "--emit copy needs the shards on the PostgreSQL server's disk: it cannot read \
                 them from an object-store --out (s3://, az://, gs://)",
            ));
        }
        if !store && self.sql_out.is_some() {
            return Err(Error::usage(
                "--sql-out is for object-store output (s3://, az://, gs://); import.sql goes \
                 to a local --out",
            ));
        }
        if !(1 << 20..=5 << 30).contains(&self.part_size) {
            return Err(Error::usage("--part-size must be between 1 MiB and 5 GiB"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_validated() {
        let ok = ImportOptions::new("a.csv", "t", 2, "/tmp/x");
        assert!(ok.validate().is_ok());
        let bad = |f: &dyn Fn(&mut ImportOptions)| {
            let mut o = ok.clone();
            f(&mut o);
            o.validate().is_err()
        };
        assert!(bad(&|o| o.shards = 0));
        assert!(bad(&|o| o.delimiter = b'"'));
        assert!(bad(&|o| o.null = ",".into()));
        assert!(bad(&|o| o.columns = Some(vec![])));
        assert!(bad(&|o| o.table = "a..b".into()));
        assert!(bad(&|o| {
            o.has_header = false;
            o.keep_header = true;
        }));
    }
}
