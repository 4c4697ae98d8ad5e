//! `chunkload load` flags and their [`LoadConfig`].

use super::shared::{DialectArgs, InferArgs, LedgerArgs, RetryArgs};
use crate::progress::{Progress, ProgressMode};
use chunkload::load::{LoadConfig, Method, SyncCommit};
use clap::Args;
use std::time::Duration;

#[derive(Args)]
pub(crate) struct LoadArgs {
    /// CSV files or http(s):// URLs, loaded in order; `-` reads stdin; gzip, zstd, bzip2 and
    /// xz are decompressed; a zip archive loads each of its CSV members. A directory gives
    /// its .csv, .tsv and .txt files (also compressed, not in subdirectories), a glob its
    /// matches (quoted globs work too), each sorted by name.
    #[arg(required = true)]
    pub(crate) files: Vec<String>,
    /// Target table: `table` or `schema.table` (quote parts with "" to keep case). With
    /// `{stem}` (the file name without directory and extensions), `{name}` or `{dir}`,
    /// each file is loaded into its own table, as a load of its own.
    #[arg(long, help_heading = "Target")]
    pub(crate) table: String,
    /// With a table per file: stop at the first file that fails (the others are loaded
    /// by default, and the exit code is the worst one).
    #[arg(long, help_heading = "Reliability")]
    pub(crate) stop_on_error: bool,
    /// Target columns of a file without header, or the header columns to load, in order.
    #[arg(long, value_delimiter = ',', help_heading = "Target")]
    pub(crate) columns: Option<Vec<String>>,
    /// How rows travel: copy (COPY FROM STDIN), insert (multi-row INSERT) or upsert.
    /// Default: copy on PostgreSQL, insert on CockroachDB (which refuses COPY over the
    /// extended protocol the Rust driver uses, cockroach#41120: copy is refused there).
    #[arg(long, value_enum, help_heading = "Chunking")]
    pub(crate) method: Option<MethodArg>,
    #[command(flatten)]
    pub(crate) dialect: DialectArgs,
    #[command(flatten)]
    pub(crate) infer: InferArgs,
    /// Source bytes per chunk (transaction); suffixes K, M allowed. Default 1M for copy
    /// (PostgreSQL's default method: fewer commits than smaller chunks, peak memory about
    /// 64 MiB with 2 workers; it grows with chunk size and workers), 512K for insert and
    /// upsert (their bind parameters double the memory; CockroachDB's default is insert); on
    /// CockroachDB kept under half the intent budget.
    #[arg(long, value_parser = parse_size, value_name = "BYTES", help_heading = "Chunking")]
    pub(crate) chunk_bytes: Option<usize>,
    /// Rows per chunk. Default: no bound on PostgreSQL (the bytes decide), 10000 on
    /// CockroachDB (its cost is per row).
    #[arg(long, value_name = "ROWS", help_heading = "Chunking")]
    pub(crate) chunk_rows: Option<usize>,
    /// Writer connections committing chunks concurrently.
    #[arg(long, default_value_t = 2, help_heading = "Chunking")]
    pub(crate) workers: usize,
    /// Empty the table first, once per load: in the first chunk's transaction on
    /// PostgreSQL; on CockroachDB (where TRUNCATE is not transactional) as a step of its
    /// own before any chunk, recorded in the ledger.
    #[arg(long, help_heading = "Target")]
    pub(crate) truncate: bool,
    /// Bad rows tolerated (sent to the reject file) before the load stops.
    #[arg(long, default_value_t = 0, help_heading = "Reliability")]
    pub(crate) max_errors: u64,
    /// Where bad rows go (default: <first file>.rejects.csv).
    #[arg(long, help_heading = "Output")]
    pub(crate) reject_file: Option<String>,
    /// Name the load (for resume); default: derived from the files and options. Stdin is
    /// resumable only under a name, and must then be fed the same bytes again.
    #[arg(long, help_heading = "Reliability")]
    pub(crate) load_id: Option<String>,
    /// Start a new load instead of resuming an interrupted one.
    #[arg(long, help_heading = "Reliability")]
    pub(crate) fresh: bool,
    /// Seconds to keep reconnecting after a lost connection.
    #[arg(long, default_value_t = 120, help_heading = "Reliability")]
    pub(crate) reconnect_timeout: u64,
    /// Read, convert, chunk and encode everything; print the CREATE TABLE it would run
    /// (with --create-table) and the head of the first chunk's SQL; write nothing.
    #[arg(long, help_heading = "Output")]
    pub(crate) dry_run: bool,
    /// Run the whole load against the real table and commit nothing: bad rows go to the
    /// reject file, the summary says what a real load would load and reject; no rows and
    /// no ledger entries are written. On PostgreSQL one transaction on one connection.
    #[arg(long, help_heading = "Output")]
    pub(crate) check: bool,
    /// Print errors and warnings only: no progress, notes, CREATE TABLE or summary
    /// (`--json` still prints its summary on stdout).
    #[arg(long, short, help_heading = "Output")]
    pub(crate) quiet: bool,
    /// Print a plain progress line on stderr every SECS seconds, even on a terminal (for
    /// logs; without it a terminal gets a bar, anything else a line every 5 s).
    #[arg(long, value_name = "SECS", help_heading = "Output")]
    pub(crate) progress_lines: Option<f64>,
    /// Print the summary (or the error) as JSON on stdout; progress stays on stderr.
    #[arg(long, help_heading = "Output")]
    pub(crate) json: bool,
    /// Create the table when it does not exist, with types inferred from the file.
    #[arg(long, help_heading = "Table creation")]
    pub(crate) create_table: bool,
    /// Initial loads into an empty table: drop its indexes (on PostgreSQL also its primary
    /// key, unique constraints and the foreign keys that reference it), load, rebuild them.
    /// Recorded in the ledger first, so a rerun after a crash finishes the rebuild.
    #[arg(long, help_heading = "Chunking")]
    pub(crate) defer_indexes: bool,
    /// Whether chunk commits wait for the disk: on (as the session says), off, or auto
    /// (PostgreSQL: off unless synchronous_commit is set for the session or role). The
    /// load's last commit always waits, so success means everything is on disk.
    #[arg(long, value_enum, default_value_t = SyncCommitArg::On, help_heading = "Reliability")]
    pub(crate) synchronous_commit: SyncCommitArg,
    /// Skip the ledger row of each chunk: only to measure what exactly-once costs.
    /// Without it a rerun or an ambiguous commit can duplicate rows.
    #[arg(long, hide = true)]
    pub(crate) unsafe_no_ledger: bool,
    #[command(flatten)]
    pub(crate) retry: RetryArgs,
    #[command(flatten)]
    pub(crate) ledger: LedgerArgs,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum MethodArg {
    Copy,
    Insert,
    Upsert,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum SyncCommitArg {
    Auto,
    On,
    Off,
}

/// `--chunk-bytes`: a count with an optional K, M or G suffix (powers of 1024).
fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (num, mult) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 1024),
        Some('M') => (&t[..t.len() - 1], 1024 * 1024),
        Some('G') => (&t[..t.len() - 1], 1024 * 1024 * 1024),
        _ => (t, 1),
    };
    let n: usize = num
        .trim()
        .parse()
        .map_err(|_| format!("not a size: {s:?} (e.g. 256K, 4M)"))?;
    n.checked_mul(mult)
        .filter(|&v| v > 0)
        .ok_or_else(|| format!("bad size {s:?}"))
}

impl LoadArgs {
    /// The config of a load of `files` into `table`.
    pub(crate) fn config(&self, files: Vec<String>, table: &str) -> anyhow::Result<LoadConfig> {
        let mut cfg = LoadConfig::new(files, table);
        cfg.columns = self.columns.clone();
        cfg.compression = self.dialect.compression;
        cfg.chunk_bytes = self.chunk_bytes;
        cfg.chunk_rows = self.chunk_rows;
        cfg.method = self.method.map(|m| match m {
            MethodArg::Copy => Method::Copy,
            MethodArg::Insert => Method::Insert,
            MethodArg::Upsert => Method::Upsert,
        });
        cfg.truncate = self.truncate;
        cfg.workers = self.workers;
        cfg.retry = self.retry.policy()?;
        cfg.max_errors = self.max_errors;
        cfg.reject_file = self.reject_file.clone();
        cfg.load_id = self.load_id.clone();
        cfg.fresh = self.fresh;
        cfg.reconnect_timeout = Duration::from_secs(self.reconnect_timeout);
        cfg.ledger = !self.unsafe_no_ledger;
        cfg.ledger_schema = self.ledger.schema()?;
        cfg.check = self.check;
        cfg.decimal_comma = self.dialect.decimal_comma;
        cfg.date_order = self.dialect.date_order;
        cfg.defer_indexes = self.defer_indexes;
        cfg.synchronous_commit = match self.synchronous_commit {
            SyncCommitArg::Auto => SyncCommit::Auto,
            SyncCommitArg::On => SyncCommit::On,
            SyncCommitArg::Off => SyncCommit::Off,
        };
        // --json keeps stdout for JSON; progress still goes to a terminal's stderr.
        let mode = match (self.quiet, self.progress_lines, self.json) {
            (true, _, _) => ProgressMode::Quiet,
            (false, Some(secs), _) => ProgressMode::Lines {
                every: Duration::from_secs_f64(secs.max(0.1)),
            },
            (false, None, true) => ProgressMode::Terminal,
            (false, None, false) => ProgressMode::Auto,
        };
        cfg.observer = std::sync::Arc::new(Progress::new(mode));
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_suffixes() {
        assert_eq!(parse_size("256K"), Ok(256 * 1024));
        assert_eq!(parse_size("4m"), Ok(4 * 1024 * 1024));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
    }
}
