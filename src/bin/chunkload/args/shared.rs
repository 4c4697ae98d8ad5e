//! Flags more than one command takes: the CSV dialect, schema inference, retries.

use chunkload::encode::DateOrder;
use chunkload::infer::InferOptions;
use chunkload::retry::RetryPolicy;
use chunkload::source::DialectSpec;
use clap::Args;
use std::time::Duration;

/// The CSV settings every command that reads CSV understands.
#[derive(Args)]
#[command(next_help_heading = "CSV dialect")]
pub(crate) struct CsvArgs {
    /// Field delimiter (one byte; `\t` for tab). Default: found from the file (`,` `;`
    /// tab `|`), else `,`.
    #[arg(long)]
    pub(crate) delimiter: Option<String>,
    /// The string that means NULL when unquoted (default: the empty field).
    #[arg(long, default_value = "")]
    pub(crate) null: String,
    /// The files have no header line. Default: found from the file.
    #[arg(long, conflicts_with = "header")]
    pub(crate) no_header: bool,
    /// The files' first line is a header. Default: found from the file.
    #[arg(long)]
    pub(crate) header: bool,
}

impl CsvArgs {
    /// The delimiter as the one byte it must be, if given.
    pub(crate) fn delimiter_byte(&self) -> anyhow::Result<Option<u8>> {
        self.delimiter
            .as_deref()
            .map(|d| one_byte("delimiter", d))
            .transpose()
    }

    /// `--header` or `--no-header`, if either was given.
    pub(crate) fn has_header(&self) -> Option<bool> {
        match (self.header, self.no_header) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

/// How the CSV is written; PostgreSQL's CSV COPY rules by default.
#[derive(Args)]
#[command(next_help_heading = "CSV dialect")]
pub(crate) struct DialectArgs {
    #[command(flatten)]
    pub(crate) csv: CsvArgs,
    /// Quote character. Default: found from the file (`"` or `'`), else `"`.
    #[arg(long)]
    pub(crate) quote: Option<String>,
    /// Escape character inside quotes. Default: found from the file (the quote character
    /// or `\`), else the quote character.
    #[arg(long)]
    pub(crate) escape: Option<String>,
    /// Physical lines to skip at the start of each file, before the header.
    #[arg(long, default_value_t = 0)]
    pub(crate) skip_lines: u64,
    /// Decompression: none, gzip, zstd, bzip2 or xz (default: detected from the first
    /// bytes; zip archives are read member by member).
    #[arg(long)]
    pub(crate) compression: Option<chunkload::source::Compression>,
    /// The files' encoding, converted to UTF-8 as they are read: PostgreSQL's names
    /// (LATIN1, WIN1252, LATIN9, SJIS, EUC_JP, …) or WHATWG labels (windows-1252,
    /// utf-16le, …). Default: UTF-8, or UTF-16 when a byte order mark says so.
    #[arg(long, value_name = "NAME")]
    pub(crate) encoding: Option<chunkload::source::Encoding>,
    /// Numbers are written with a decimal comma, as a European Excel writes them: `12,5`
    /// is 12.5 and `1.234,5` is 1234.5 (dots group thousands), in number columns only.
    #[arg(long, conflicts_with = "no_decimal_comma")]
    pub(crate) decimal_comma: bool,
    /// Numbers are written with a decimal point, even in a `;`-separated file whose
    /// numbers look like `12,5` (which otherwise turns --decimal-comma on).
    #[arg(long)]
    pub(crate) no_decimal_comma: bool,
    /// The order of dates written with numbers (`13/01/2024`): dmy, mdy or ymd. Such
    /// dates are sent as `2024-01-13`, whatever the session's DateStyle. Default: found
    /// by --create-table and `schema` when every date of a column says it; else the
    /// server's DateStyle reads them.
    #[arg(long, value_name = "ORDER", value_parser = parse_date_order)]
    pub(crate) date_order: Option<DateOrder>,
}

fn parse_date_order(s: &str) -> Result<DateOrder, String> {
    s.parse().map_err(|e: chunkload::Error| e.to_string())
}

impl DialectArgs {
    /// The dialect as given: the parts left out are found from the file.
    pub(crate) fn spec(&self) -> anyhow::Result<DialectSpec> {
        Ok(DialectSpec {
            delimiter: self.csv.delimiter_byte()?,
            quote: self
                .quote
                .as_deref()
                .map(|q| one_byte("quote", q))
                .transpose()?,
            escape: self
                .escape
                .as_deref()
                .map(|e| one_byte("escape", e))
                .transpose()?,
            has_header: self.csv.has_header(),
            skip_lines: self.skip_lines,
            null: self.csv.null.as_bytes().to_vec(),
            encoding: self.encoding,
            decimal_comma: match (self.decimal_comma, self.no_decimal_comma) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            },
        })
    }
}

/// Schema inference, for `--create-table` and `chunkload schema`.
#[derive(Args)]
#[command(next_help_heading = "Table creation")]
pub(crate) struct InferArgs {
    /// Rows read to infer column types: a number or `all`. Default: all of a file (a
    /// sample's types can be refuted half-way through a load), 10000 of stdin (read once).
    #[arg(long, value_parser = parse_infer_rows)]
    pub(crate) infer_rows: Option<InferRows>,
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

fn parse_infer_rows(s: &str) -> Result<InferRows, String> {
    chunkload::infer::parse_infer_rows(s)
        .map(InferRows)
        .map_err(|e| e.to_string())
}

impl InferArgs {
    /// The options for inferring from `file`: the rows asked for, else all of a file and
    /// a sample of stdin.
    pub(crate) fn options(
        &self,
        file: &str,
        decimal_comma: bool,
        date_order: Option<DateOrder>,
    ) -> InferOptions {
        let default = match file {
            "-" => Some(chunkload::infer::DEFAULT_SAMPLE_ROWS),
            _ => None,
        };
        InferOptions {
            sample_rows: self.infer_rows.map_or(default, |r| r.0),
            primary_key: self.primary_key.clone(),
            not_null: self.not_null.clone(),
            decimal_comma,
            date_order,
            observer: None,
        }
    }
}

#[derive(Args, Clone)]
#[command(next_help_heading = "Reliability")]
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

/// A one-byte flag (`\t` spelled out is a tab).
fn one_byte(what: &str, s: &str) -> anyhow::Result<u8> {
    let s = if s == "\\t" { "\t" } else { s };
    match s.as_bytes() {
        [b] => Ok(*b),
        _ => Err(chunkload::Error::usage(format!("--{what} must be one byte, got {s:?}")).into()),
    }
}

/// Where the bookkeeping is: every command that reads or writes the ledger takes it.
#[derive(Args)]
#[command(next_help_heading = "Reliability")]
pub(crate) struct LedgerArgs {
    /// Schema of the ledger tables (created on first use), taken literally; never the
    /// search_path. Default: chunkload, or the table's own schema when the role may not
    /// create chunkload but may create tables there
    #[arg(long, value_name = "NAME")]
    pub(crate) ledger_schema: Option<String>,
}

impl LedgerArgs {
    /// The schema, checked; without the flag, the default, which may be kept beside the
    /// table (`chunkload::ledger::home`).
    pub(crate) fn schema(&self) -> Result<chunkload::ledger::LedgerSchema, chunkload::Error> {
        match &self.ledger_schema {
            Some(name) => chunkload::ledger::LedgerSchema::new(name),
            None => Ok(chunkload::ledger::LedgerSchema::default()),
        }
    }
}
