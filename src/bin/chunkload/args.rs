//! Flags: the raw command line as clap parses it, and its conversion into validated
//! library configs (`LoadConfig`, `Dialect`, `RetryPolicy`, `InferOptions`).

use crate::import::ImportArgs;
use chunkload::infer::InferOptions;
use chunkload::load::{LoadConfig, Method};
use chunkload::report::ProgressMode;
use chunkload::retry::RetryPolicy;
use chunkload::source::Dialect;
use clap::{Args, Parser, Subcommand};
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "chunkload",
    version,
    about = "Bulk-load CSV into CockroachDB and PostgreSQL in bounded, retried, exactly-once chunks"
)]
pub(crate) struct Cli {
    /// Connection URL: postgres://, postgresql:// or cockroachdb:// (also DATABASE_URL).
    /// Several hosts: postgres://u@h1:26257,h2:26257/db. TLS: ?sslmode=verify-full&sslrootcert=ca.crt
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub(crate) url: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Args, Clone)]
pub(crate) struct RetryArgs {
    /// Attempts per transaction, the first included (retries only SQLSTATE 40001).
    #[arg(long, default_value_t = 10)]
    pub(crate) max_attempts: u32,
    /// Upper bound of the first retry's random delay, in milliseconds; doubles per retry.
    #[arg(long, default_value_t = 50)]
    pub(crate) retry_base_ms: u64,
    /// Cap of the retry delay bound, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub(crate) retry_max_ms: u64,
}

impl RetryArgs {
    pub(crate) fn policy(&self) -> anyhow::Result<RetryPolicy> {
        let p = RetryPolicy {
            max_attempts: self.max_attempts,
            base_delay: Duration::from_millis(self.retry_base_ms),
            max_delay: Duration::from_millis(self.retry_max_ms),
        };
        p.validate()?;
        Ok(p)
    }
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Apply a schema (the bundled dbinit.sql by default) to the database the URL names.
    #[command(
        after_help = "Example:\n  chunkload init --url postgres://root@localhost:26257/bank"
    )]
    Init {
        /// A SQL file to apply instead of the bundled dbinit.sql.
        #[arg(long)]
        schema: Option<std::path::PathBuf>,
    },
    /// Run the tutorial's bank app: create accounts, transfer, delete five.
    #[command(
        after_help = "Example:\n  chunkload bank --url postgres://root@localhost:26257/bank --accounts 100 --seed 7"
    )]
    Bank {
        /// Accounts to create.
        #[arg(long, default_value_t = 100)]
        accounts: usize,
        /// Seed for a reproducible run.
        #[arg(long)]
        seed: Option<u64>,
        #[command(flatten)]
        retry: RetryArgs,
    },
    /// Load CSV files into a table in bounded chunks, each committed exactly once.
    #[command(
        after_help = "Examples:\n  chunkload load data/accounts.csv --table accounts --url postgres://root@localhost:26257/bank\n  chunkload load big.csv.zst --table t --method copy --workers 4 --max-errors 100\n  chunkload load - --table t --no-header --columns id,balance < rows.csv"
    )]
    Load(Box<LoadArgs>),
    /// Print the CREATE TABLE inferred from a CSV file, to edit and apply with `init --schema`.
    #[command(
        after_help = "Example:\n  chunkload schema trips.csv --table trips --primary-key id > trips.sql\n  chunkload init --schema trips.sql"
    )]
    Schema {
        /// The CSV file (`-` reads stdin).
        file: String,
        /// Name of the table in the statement (default: the file's name).
        #[arg(long)]
        table: Option<String>,
        /// Column names of a file without header.
        #[arg(long, value_delimiter = ',')]
        columns: Option<Vec<String>>,
        #[command(flatten)]
        dialect: DialectArgs,
        #[command(flatten)]
        infer: InferArgs,
    },
    /// Split a CSV into shards for CockroachDB's IMPORT INTO (or server-side COPY), write
    /// the statement, and optionally serve the shards over HTTP or run it.
    #[command(after_help = crate::import::AFTER_HELP)]
    Import(Box<ImportArgs>),
    /// List the loads recorded in the database: chunks and rows committed, finished or not.
    #[command(
        after_help = "Example:\n  chunkload status --url postgres://root@localhost:26257/bank"
    )]
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Generate a deterministic dataset (CSV with a header) for tests and benchmarks.
    #[command(
        after_help = "Examples:\n  chunkload gen accounts --rows 1000000 --seed 1 -o accounts.csv\n  chunkload gen wide --rows 100000 --ddl"
    )]
    Gen {
        /// Dataset: accounts (id uuid, balance int8) or wide (10 mixed-type columns).
        dataset: chunkload::gen::Dataset,
        /// Rows to generate.
        #[arg(long, default_value_t = 10_000)]
        rows: u64,
        /// Seed: the same seed gives the same bytes.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Output file (default stdout).
        #[arg(short, long)]
        output: Option<std::path::PathBuf>,
        /// Print the dataset's CREATE TABLE instead of rows.
        #[arg(long)]
        ddl: bool,
        /// Table name used by --ddl.
        #[arg(long)]
        table: Option<String>,
    },
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Example:\n  chunkload completions bash > ~/.local/share/bash-completion/completions/chunkload"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Start a throwaway local PostgreSQL and keep it until Ctrl-C or stdin closes (for
    /// benchmarks and scripts); prints its URL on the first line of stdout.
    #[command(hide = true)]
    Server,
    /// Start a throwaway local PostgreSQL, run the bank app and a chunked load on it, stop it.
    #[command(after_help = "Example:\n  chunkload demo --keep")]
    Demo {
        /// Keep the server running until Ctrl-C, to look around with psql.
        #[arg(long)]
        keep: bool,
        /// Seed for a reproducible run.
        #[arg(long)]
        seed: Option<u64>,
    },
}

#[derive(Args)]
pub(crate) struct LoadArgs {
    /// CSV files, loaded in order into one table; `-` reads stdin; .gz and .zst are decompressed.
    #[arg(required = true)]
    pub(crate) files: Vec<String>,
    /// Target table: `table` or `schema.table` (quote parts with "" to keep case).
    #[arg(long)]
    pub(crate) table: String,
    /// Target columns of a file without header, or the header columns to load, in order.
    #[arg(long, value_delimiter = ',')]
    pub(crate) columns: Option<Vec<String>>,
    /// How rows travel: copy (COPY FROM STDIN), insert (multi-row INSERT) or upsert.
    #[arg(long, value_enum, default_value_t = MethodArg::Copy)]
    pub(crate) method: MethodArg,
    #[command(flatten)]
    pub(crate) dialect: DialectArgs,
    #[command(flatten)]
    pub(crate) infer: InferArgs,
    /// Source bytes per chunk (transaction); suffixes K, M allowed.
    #[arg(long, default_value = "256K", value_parser = parse_size)]
    pub(crate) chunk_bytes: usize,
    /// Rows per chunk.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) chunk_rows: usize,
    /// Writer connections committing chunks concurrently.
    #[arg(long, default_value_t = 2)]
    pub(crate) workers: usize,
    /// Empty the table first, in the first chunk's transaction.
    #[arg(long)]
    pub(crate) truncate: bool,
    /// Bad rows tolerated (sent to the reject file) before the load stops.
    #[arg(long, default_value_t = 0)]
    pub(crate) max_errors: u64,
    /// Where bad rows go (default: <first file>.rejects.csv).
    #[arg(long)]
    pub(crate) reject_file: Option<String>,
    /// Name the load (for resume); default: derived from the files and options. Stdin is
    /// resumable only under a name, and must then be fed the same bytes again.
    #[arg(long)]
    pub(crate) load_id: Option<String>,
    /// Start a new load instead of resuming an interrupted one.
    #[arg(long)]
    pub(crate) fresh: bool,
    /// Seconds to keep reconnecting after a lost connection.
    #[arg(long, default_value_t = 120)]
    pub(crate) reconnect_timeout: u64,
    /// Read, convert, chunk and encode everything; print the first chunk's SQL; write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// No progress output.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// Create the table when it does not exist, with types inferred from the file.
    #[arg(long)]
    pub(crate) create_table: bool,
    /// Skip the ledger row of each chunk: only to measure what exactly-once costs.
    /// Without it a rerun or an ambiguous commit can duplicate rows.
    #[arg(long, hide = true)]
    pub(crate) unsafe_no_ledger: bool,
    #[command(flatten)]
    pub(crate) retry: RetryArgs,
}

/// How the CSV is written; PostgreSQL's CSV COPY rules by default.
#[derive(Args)]
pub(crate) struct DialectArgs {
    /// Field delimiter (one byte; `\t` for tab).
    #[arg(long, default_value = ",")]
    pub(crate) delimiter: String,
    /// Quote character.
    #[arg(long, default_value = "\"")]
    pub(crate) quote: String,
    /// Escape character inside quotes (default: the quote character).
    #[arg(long)]
    pub(crate) escape: Option<String>,
    /// The files have no header line.
    #[arg(long)]
    pub(crate) no_header: bool,
    /// Physical lines to skip at the start of each file, before the header.
    #[arg(long, default_value_t = 0)]
    pub(crate) skip_lines: u64,
    /// The string that means NULL when unquoted (default: the empty field).
    #[arg(long, default_value = "")]
    pub(crate) null: String,
    /// Decompression: none, gzip or zstd (default: detected from the first bytes).
    #[arg(long)]
    pub(crate) compression: Option<chunkload::source::Compression>,
}

impl DialectArgs {
    pub(crate) fn dialect(&self) -> anyhow::Result<Dialect> {
        let d = Dialect {
            delimiter: one_byte("delimiter", &self.delimiter)?,
            quote: one_byte("quote", &self.quote)?,
            escape: match &self.escape {
                Some(e) => one_byte("escape", e)?,
                None => one_byte("quote", &self.quote)?,
            },
            has_header: !self.no_header,
            skip_lines: self.skip_lines,
            null: self.null.as_bytes().to_vec(),
        };
        d.validate()?;
        Ok(d)
    }
}

/// Schema inference, for `--create-table` and `chunkload schema`.
#[derive(Args)]
pub(crate) struct InferArgs {
    /// Rows sampled to infer column types: a number or `all`.
    #[arg(long, default_value = "10000", value_parser = parse_infer_rows)]
    pub(crate) infer_rows: InferRows,
    /// Primary key of a created table (default: none).
    #[arg(long, value_delimiter = ',')]
    pub(crate) primary_key: Vec<String>,
    /// Columns of a created table declared NOT NULL.
    #[arg(long, value_delimiter = ',')]
    pub(crate) not_null: Vec<String>,
}

/// `--infer-rows`: a count, or `None` for all.
#[derive(Clone, Copy)]
pub(crate) struct InferRows(Option<u64>);

pub(crate) fn parse_infer_rows(s: &str) -> Result<InferRows, String> {
    chunkload::infer::parse_infer_rows(s)
        .map(InferRows)
        .map_err(|e| e.to_string())
}

impl InferArgs {
    pub(crate) fn options(&self) -> InferOptions {
        InferOptions {
            sample_rows: self.infer_rows.0,
            primary_key: self.primary_key.clone(),
            not_null: self.not_null.clone(),
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum MethodArg {
    Copy,
    Insert,
    Upsert,
}

pub(crate) fn parse_size(s: &str) -> Result<usize, String> {
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

pub(crate) fn one_byte(what: &str, s: &str) -> anyhow::Result<u8> {
    let s = if s == "\\t" { "\t" } else { s };
    match s.as_bytes() {
        [b] => Ok(*b),
        _ => Err(chunkload::Error::usage(format!("--{what} must be one byte, got {s:?}")).into()),
    }
}

impl LoadArgs {
    pub(crate) fn config(&self) -> anyhow::Result<LoadConfig> {
        let mut cfg = LoadConfig::new(self.files.clone(), &self.table);
        cfg.columns = self.columns.clone();
        cfg.dialect = self.dialect.dialect()?;
        cfg.compression = self.dialect.compression;
        cfg.limits.max_bytes = self.chunk_bytes;
        cfg.limits.max_rows = self.chunk_rows;
        cfg.method = match self.method {
            MethodArg::Copy => Method::Copy,
            MethodArg::Insert => Method::Insert,
            MethodArg::Upsert => Method::Upsert,
        };
        cfg.truncate = self.truncate;
        cfg.workers = self.workers;
        cfg.retry = self.retry.policy()?;
        cfg.max_errors = self.max_errors;
        cfg.reject_file = self.reject_file.clone();
        cfg.load_id = self.load_id.clone();
        cfg.fresh = self.fresh;
        cfg.reconnect_timeout = Duration::from_secs(self.reconnect_timeout);
        cfg.ledger = !self.unsafe_no_ledger;
        cfg.progress = if self.quiet || self.json {
            ProgressMode::Quiet
        } else {
            ProgressMode::Auto
        };
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
