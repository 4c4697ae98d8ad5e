//! Infer: a `CREATE TABLE` from a sample of the file, for `load --create-table` and
//! `chunkload schema`.
//!
//! A column gets the first of `int8`, `numeric`/`float8`, `bool`, `date`, `timestamp`, `timestamptz`,
//! `uuid`, `jsonb` that every sampled non-null value fits, else `text`. "Fits" means two
//! things, both required:
//!
//! 1. the encoder accepts it ([`crate::encode::check_value`], the parser the load itself runs), so
//!    inference can never pick a type the load then refuses, and there is no second set of
//!    parsing rules to drift apart; and
//! 2. it has the plain shape of that type, a narrowing that keeps the table faithful to
//!    the text: the encoder accepts much that a person would not call a number or a date
//!    (`1` as a boolean, `epoch` as a date, a bare 32-digit hex string as a uuid).
//!
//! The shapes:
//!
//! * numbers (`int8`, `numeric`, `float8`): no leading `+` and no leading zero before
//!   another digit (`01234`, `-007`, `00.5`). Zip codes, phone numbers and zero-padded
//!   codes would lose their text as numbers, so such a column stays `text`. `0`, `-0`,
//!   `0.5` and `.5` are numbers. A column is `int8` when every value is an integer in
//!   range, else `float8` when some value has an exponent or is `NaN`/`Infinity` and all
//!   fit a double, else `numeric` (exact; also integers beyond `int8`);
//! * `bool`: `t`, `f`, `true`, `false`, `yes`, `no` in any case. Not `0`/`1` (integers),
//!   nor `y`/`n`/`on`/`off`;
//! * `date`: ISO `YYYY-MM-DD`, or numeric in one order (`13/01/2024`, `13.01.2024`,
//!   `01-13-2024`; see `infer/dates.rs` for how the order is found);
//! * `timestamp`: such a date followed by `T` or a space and `HH:MM`, then what the
//!   encoder accepts (seconds, fraction), no value naming a zone; plain dates may be
//!   mixed in. Wall-clock times stay as written, whatever the session's TimeZone (a
//!   `timestamptz` would read `02:30` in it and show it in another as `03:30-04`);
//! * `timestamptz`: the same with a zone (`Z`, an offset, a name) on some value;
//! * `uuid`: the canonical `8-4-4-4-12` hex form;
//! * `jsonb`: a JSON object or array (`{` or `[` first).
//!
//! Numbers, booleans, dates and JSON may carry the surrounding spaces the encoder trims.
//! NULLs (the dialect's NULL string, unquoted) do not vote; a column with only NULLs is
//! `text`. A quoted empty string `""` is a non-null value that fits only `text`.

mod create;
mod dates;
mod ddl;
mod order;
mod sample;
mod tally;

pub use create::{
    create_if_missing, create_missing_table, existing_date_order, CreatedTable, Sample,
    STDIN_SAMPLE_ROWS,
};
pub use ddl::{create_table_sql, hint, warnings};
pub use sample::{infer, infer_file};

use std::sync::Arc;

use crate::encode::DateOrder;
use crate::report::Observer;
use crate::source::Renamed;
use crate::{Error, Result};

/// Rows sampled from an input that cannot be read twice (stdin): enough rows to see most
/// variety, read in well under a second. A file is read whole unless told otherwise: a
/// sample's types can be refuted half-way through a load.
pub const DEFAULT_SAMPLE_ROWS: u64 = 10_000;

/// PostgreSQL truncates longer identifiers (NAMEDATALEN - 1), which would break the
/// mapping of the header onto the created table.
const MAX_IDENT_BYTES: usize = 63;

/// What to sample and which constraints to declare.
#[derive(Clone)]
pub struct InferOptions {
    /// Data records to read; `None` reads the whole input (`--infer-rows all`).
    pub sample_rows: Option<u64>,
    /// Columns of the primary key, in key order; empty for none (CockroachDB then adds
    /// its hidden `rowid`).
    pub primary_key: Vec<String>,
    /// Columns to declare `NOT NULL`.
    pub not_null: Vec<String>,
    /// Numbers are written with a decimal comma (`1.234,5`), as the load will read them.
    pub decimal_comma: bool,
    /// `--date-order`: numeric dates are read in this order, in every column; `None`
    /// finds it from the values (see `infer/dates.rs`).
    pub date_order: Option<DateOrder>,
    /// Told how far a file's inference has read
    /// ([`Event::Inferring`](crate::report::Event::Inferring)); none by default.
    pub observer: Option<Arc<dyn Observer>>,
}

impl std::fmt::Debug for InferOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InferOptions")
            .field("sample_rows", &self.sample_rows)
            .field("primary_key", &self.primary_key)
            .field("not_null", &self.not_null)
            .field("decimal_comma", &self.decimal_comma)
            .field("date_order", &self.date_order)
            .finish_non_exhaustive()
    }
}

impl Default for InferOptions {
    fn default() -> Self {
        InferOptions {
            sample_rows: Some(DEFAULT_SAMPLE_ROWS),
            primary_key: Vec::new(),
            not_null: Vec::new(),
            decimal_comma: false,
            date_order: None,
            observer: None,
        }
    }
}

/// One column's inferred type and what the sample held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InferredColumn {
    /// The column's name: the header cell made a valid name (`source::column_names`),
    /// a `--columns` name, or `colN`.
    pub name: String,
    /// The SQL type: `int8`, `numeric`, `float8`, `bool`, `date`, `timestamp`,
    /// `timestamptz`, `uuid`,
    /// `jsonb` or `text`.
    pub type_name: &'static str,
    /// Sampled NULLs.
    pub nulls: u64,
    /// Sampled non-null values.
    pub non_null: u64,
}

/// The inferred columns and how much of the input they rest on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inferred {
    /// Columns in file order.
    pub columns: Vec<InferredColumn>,
    /// Well-formed data records sampled.
    pub rows_sampled: u64,
    /// Malformed records (wrong field count, bad UTF-8, ...) left out of the sample; the
    /// load reports or rejects them itself.
    pub rows_skipped: u64,
    /// The sample reached the end of the input, so no later row can contradict it.
    pub whole_input: bool,
    /// Header cells whose column has another name (trimmed, numbered, cut to 63 bytes).
    pub renamed: Vec<Renamed>,
    /// The order numeric dates are read in (`13/01/2024` under DMY): the one given, or
    /// the one the columns' dates need; the load must read them so too
    /// ([`crate::load::LoadConfig::date_order`]). `None` when no column has such dates.
    pub date_order: Option<DateOrder>,
    /// Columns left `text` although their values looked like dates, and why.
    pub notes: Vec<String>,
}

impl Inferred {
    /// The table `create_table_sql` would create, as the catalog would describe it: what
    /// a dry run without a server converts for.
    pub fn to_table(&self, name: &str, opts: &InferOptions) -> crate::table::Table {
        crate::table::Table {
            schema: "public".into(),
            name: name.to_string(),
            columns: self
                .columns
                .iter()
                .map(|c| crate::table::TableColumn {
                    name: c.name.clone(),
                    type_name: c.type_name.to_string(),
                    not_null: opts.not_null.contains(&c.name),
                    has_default: false,
                })
                .collect(),
            primary_key: opts.primary_key.clone(),
            skipped: Vec::new(),
            oid: None,
        }
    }
}

/// Parses `--infer-rows`: `all` or a positive count.
pub fn parse_infer_rows(s: &str) -> Result<Option<u64>> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("all") {
        return Ok(None);
    }
    match t.parse::<u64>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(Error::usage(format!(
            "--infer-rows must be a positive number of rows or `all`, got {s:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    //! The helpers the submodules' tests share, and the tests of this file.
    use super::*;
    use crate::source::{Dialect, RecordReader};
    use crate::ErrorKind;

    pub(super) fn opts(rows: Option<u64>) -> InferOptions {
        InferOptions {
            sample_rows: rows,
            ..InferOptions::default()
        }
    }

    pub(super) fn run(csv: &str, d: Dialect, o: &InferOptions) -> Result<Inferred> {
        let mut r = RecordReader::with_buffer_size("t.csv", csv.as_bytes(), d, 16);
        let header = r.read_header()?.unwrap_or_default();
        infer(&mut r, &header, o)
    }

    pub(super) fn types_with(csv: &str, d: Dialect, o: &InferOptions) -> Vec<&'static str> {
        run(csv, d, o)
            .unwrap()
            .columns
            .iter()
            .map(|c| c.type_name)
            .collect()
    }

    pub(super) fn types(csv: &str) -> Vec<&'static str> {
        types_with(csv, Dialect::default(), &opts(None))
    }

    /// One column of the given values, one per line.
    pub(super) fn col(values: &[&str]) -> &'static str {
        let csv = format!("c\n{}\n", values.join("\n"));
        types(&csv)[0]
    }

    pub(super) fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parse_infer_rows_takes_all_or_a_positive_count() {
        assert_eq!(parse_infer_rows("all").unwrap(), None);
        assert_eq!(parse_infer_rows("ALL").unwrap(), None);
        assert_eq!(parse_infer_rows("500").unwrap(), Some(500));
        for bad in ["0", "-1", "x", ""] {
            let e = parse_infer_rows(bad).unwrap_err();
            assert!(matches!(e.kind(), ErrorKind::Usage(_)), "{bad}");
        }
    }
}
