//! `chunkload import` flags and their [`ImportOptions`].

use super::shared::CsvArgs;
use chunkload::import::{self, Emit, ImportAuth, ImportOptions, ShardCompression};
use clap::Args;
use std::path::PathBuf;

/// `chunkload import --help` ends with these; lines stay short so clap does not wrap them.
pub(crate) const AFTER_HELP: &str = "\
Examples:
  chunkload import big.csv --table accounts --shards 16 --out shards/
  chunkload import big.csv --table t --shards 8 --out shards/ \\
      --serve 10.0.0.5:8080 --serve-once
  chunkload import big.csv.zst --table t --shards 8 --out imp/ --compress gzip \\
      --base-url 's3://bucket/imp?AUTH=specified&AWS_ACCESS_KEY_ID=..&AWS_SECRET_ACCESS_KEY=..'
  chunkload import big.csv --table t --shards 4 --out /tmp/imp --emit copy --execute \\
      --url postgres://postgres@localhost/db

  chunkload import big.csv --table t --shards 8 --out s3://bucket/imp/ \
      --sql-out ./import.sql
  chunkload import big.csv --table t --shards 8 --out az://container/imp/
  chunkload import big.csv --table t --shards 8 --out gs://bucket/imp/

The shards and import.sql (with the real URLs, credentials included) go to --out; with
an s3://, az:// or gs:// --out the shards are uploaded and import.sql stays local
(--sql-out). The
terminal shows the statement with credentials replaced by ***.";

/// Where to write the shards and how the nodes will read them.
#[derive(Args)]
// One file, and what a missing header means here.
#[command(mut_arg("no_header", |a| a.help(
    "The file has no header line (then --columns names the columns, or all columns load in \
     table order)"
)))]
pub(crate) struct ImportArgs {
    /// The CSV file to split; `-` reads stdin; gzip and zstd input is decompressed.
    pub(crate) file: PathBuf,
    /// Target table: `table` or `schema.table` (quote parts with "" to keep case).
    #[arg(long)]
    pub(crate) table: String,
    /// Number of shard files (the cluster's nodes fetch them in parallel); never more than
    /// there are records, since no shard is written empty.
    #[arg(long)]
    pub(crate) shards: usize,
    /// Directory for the shards and import.sql (created if missing), or s3://bucket/prefix/,
    /// az://container/prefix/ or gs://bucket/prefix/ to upload the shards there as they
    /// are cut (import.sql then goes to --sql-out).
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// With an s3://, az:// or gs:// --out: where import.sql (the statement with its credentials) is
    /// written; it is never uploaded. Default: import.sql in the current directory.
    #[arg(long, value_name = "FILE")]
    pub(crate) sql_out: Option<PathBuf>,
    /// With an s3://, az:// or gs:// --out: how the nodes authenticate to the store.
    /// specified puts this process's credentials into the URLs (AWS keys, the Azure
    /// account key, the Google access token); implicit (AUTH=implicit) uses the nodes' own.
    #[arg(long, alias = "s3-auth", value_enum, default_value_t = OutAuthArg::Specified)]
    pub(crate) out_auth: OutAuthArg,
    /// Bytes per part of an object-store upload (memory per shard in flight); S3
    /// refuses parts under 5 MiB but the last. For tests.
    #[arg(long, hide = true, default_value_t = import::DEFAULT_PART_SIZE)]
    pub(crate) part_size: usize,
    /// Target columns of a file without header, or names overriding the header's, in order.
    #[arg(long, value_delimiter = ',')]
    pub(crate) columns: Option<Vec<String>>,
    #[command(flatten)]
    pub(crate) csv: CsvArgs,
    /// Repeat the header at the top of every shard (IMPORT then skips it).
    #[arg(long)]
    pub(crate) keep_header: bool,
    /// Compress the shards: none or gzip.
    #[arg(long, value_enum, default_value_t = CompressArg::None)]
    pub(crate) compress: CompressArg,
    /// Where the nodes read the shards: nodelocal://1/path, userfile:///path,
    /// http://host:port/, s3://bucket/prefix?..., gs://bucket/prefix?...
    /// (default: nodelocal://1/<out dir name>/, or http://ADDR/ with --serve).
    #[arg(long)]
    pub(crate) base_url: Option<String>,
    /// Serve this import's shards (and nothing else in --out) over HTTP on ADDR
    /// (host:port), logging each fetch, until Ctrl-C (or --serve-once).
    #[arg(long, value_name = "ADDR")]
    pub(crate) serve: Option<String>,
    /// With --serve: stop once every shard has been fetched completely.
    #[arg(long, requires = "serve")]
    pub(crate) serve_once: bool,
    /// Run the statement: IMPORT INTO on CockroachDB; with --emit copy on PostgreSQL, the
    /// server-side COPY statements (the server must be able to read the shards).
    #[arg(long)]
    pub(crate) execute: bool,
    /// Statements to produce: import (IMPORT INTO, for CockroachDB) or copy (also copy.sql:
    /// one server-side COPY per shard, for PostgreSQL).
    #[arg(long, value_enum, default_value_t = EmitArg::Import)]
    pub(crate) emit: EmitArg,
    /// Replace the shards an earlier import of this table left in --out.
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum CompressArg {
    None,
    Gzip,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum OutAuthArg {
    Specified,
    Implicit,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum EmitArg {
    Import,
    Copy,
}

impl ImportArgs {
    pub(crate) fn options(&self) -> anyhow::Result<ImportOptions> {
        let mut o = ImportOptions::new(&self.file, &self.table, self.shards, &self.out);
        o.delimiter = self.csv.delimiter_byte()?.unwrap_or(b',');
        o.null = self.csv.null.clone();
        o.has_header = self.csv.has_header().unwrap_or(true);
        o.columns = self.columns.clone();
        o.keep_header = self.keep_header;
        o.compress = match self.compress {
            CompressArg::None => ShardCompression::None,
            CompressArg::Gzip => ShardCompression::Gzip,
        };
        o.emit = match self.emit {
            EmitArg::Import => Emit::Import,
            EmitArg::Copy => Emit::Copy,
        };
        o.base_url = self.base_url.clone();
        o.force = self.force;
        o.sql_out = self.sql_out.clone();
        o.out_auth = match self.out_auth {
            OutAuthArg::Specified => ImportAuth::Specified,
            OutAuthArg::Implicit => ImportAuth::Implicit,
        };
        o.part_size = self.part_size;
        Ok(o)
    }
}
