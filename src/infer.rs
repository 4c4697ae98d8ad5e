//! Infer: a `CREATE TABLE` from a sample of the file, for `load --create-table` and
//! `chunkload schema`.
//!
//! A column gets the first of `int8`, `numeric`/`float8`, `bool`, `date`, `timestamp`, `timestamptz`,
//! `uuid`, `jsonb` that every sampled non-null value fits, else `text`. "Fits" means two
//! things, both required:
//!
//! 1. the encoder accepts it ([`encode::check_value`], the parser the load itself runs), so
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

mod dates;

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use crate::encode::{self, ColumnType, DateOrder};
use crate::report::{Event, InferProgress, Observer};
use crate::source::{self, Compression, Dialect, Record, RecordReader, Renamed};
use crate::sql::{quote_ident, QualifiedName};
use crate::table::Table;
use crate::{Error, ErrorKind, Result};

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
    /// Told how far a file's inference has read ([`Event::Inferring`]); none by default.
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

// ---------------------------------------------------------------------------------------
// Per-column tally
// ---------------------------------------------------------------------------------------

const INT8: u16 = 1 << 0;
const NUMERIC: u16 = 1 << 1;
const FLOAT8: u16 = 1 << 2;
const BOOL: u16 = 1 << 3;
const DATE: u16 = 1 << 4;
const TIMESTAMPTZ: u16 = 1 << 5;
const UUID: u16 = 1 << 6;
const JSONB: u16 = 1 << 7;
const TIMESTAMP: u16 = 1 << 8;
const ALL: u16 = (1 << 9) - 1;
const NUMBERS: u16 = INT8 | NUMERIC | FLOAT8;
const DATES: u16 = DATE | TIMESTAMP | TIMESTAMPTZ;

/// The candidate types still open for one column.
#[derive(Debug, Clone)]
struct Tally {
    alive: u16,
    /// Some value had an exponent or was NaN/Infinity: prefer float8 over numeric.
    wants_float: bool,
    nulls: u64,
    non_null: u64,
    dates: dates::DateVotes,
}

/// PostgreSQL's `isspace` set, the one the encoder trims.
fn trim(v: &[u8]) -> &[u8] {
    let sp = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
    let start = v.iter().position(|b| !sp(b)).unwrap_or(v.len());
    let end = v.iter().rposition(|b| !sp(b)).map_or(start, |i| i + 1);
    &v[start..end]
}

/// No leading `+`, no zero before another digit: such text is a code, not a number.
fn plain_number(t: &[u8]) -> bool {
    if t.first() == Some(&b'+') {
        return false;
    }
    let d = t.strip_prefix(b"-").unwrap_or(t);
    !(d.len() >= 2 && d[0] == b'0' && d[1].is_ascii_digit())
}

fn is_bool_word(t: &[u8]) -> bool {
    ["t", "f", "true", "false", "yes", "no"]
        .iter()
        .any(|w| t.eq_ignore_ascii_case(w.as_bytes()))
}

fn digits(t: &[u8]) -> bool {
    t.iter().all(u8::is_ascii_digit)
}

/// `YYYY-MM-DD` exactly.
fn is_iso_date(t: &[u8]) -> bool {
    t.len() == 10
        && t[4] == b'-'
        && t[7] == b'-'
        && digits(&t[..4])
        && digits(&t[5..7])
        && digits(&t[8..])
}

/// `YYYY-MM-DD` + `T`/space + `HH:MM`, anything after (the encoder judges the rest).
fn is_iso_timestamp(t: &[u8]) -> bool {
    t.len() >= 16
        && is_iso_date(&t[..10])
        && matches!(t[10], b'T' | b't' | b' ')
        && digits(&t[11..13])
        && t[13] == b':'
        && digits(&t[14..16])
}

/// A timestamp (as [`is_iso_timestamp`] shapes it) that names its zone: `Z`, an offset or
/// a zone name after `HH:MM[:SS[.fraction]]`. Without one the value is a wall-clock time,
/// which a `timestamptz` column would read in the session's time zone, whatever it is.
fn names_zone(t: &[u8]) -> bool {
    let mut rest = &t[16..];
    if rest.first() == Some(&b':') && rest.len() >= 3 && digits(&rest[1..3]) {
        rest = &rest[3..];
        if rest.first() == Some(&b'.') {
            let n = rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
            rest = &rest[1 + n..];
        }
    }
    rest.iter().any(|b| !b.is_ascii_whitespace())
}

/// The date types of `alive` that `v` fits in ISO form: a `date` for `YYYY-MM-DD`, a
/// `timestamp` for that or a wall-clock time, a `timestamptz` for either or a time in a
/// zone.
fn iso_date_fits(v: &[u8], alive: u16, scratch: &mut Vec<u8>) -> u16 {
    let t = trim(v);
    let date = is_iso_date(t);
    let ts = !date && is_iso_timestamp(t);
    let mut fits = 0;
    for (bit, shape, ty) in [
        (DATE, date, ColumnType::Date),
        (TIMESTAMPTZ, date || ts, ColumnType::Timestamptz),
        (
            TIMESTAMP,
            date || (ts && !names_zone(t)),
            ColumnType::Timestamp,
        ),
    ] {
        if alive & bit != 0 && shape && encode::check_value(ty, v, scratch).is_ok() {
            fits |= bit;
        }
    }
    fits
}

/// Reused buffers of a column's checks: the encoder's output, a date rewritten as ISO.
#[derive(Default)]
struct Scratch {
    check: Vec<u8>,
    iso: Vec<u8>,
}

/// The canonical `8-4-4-4-12` form.
fn is_canonical_uuid(v: &[u8]) -> bool {
    v.len() == 36
        && v.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

impl Tally {
    fn new() -> Tally {
        Tally {
            alive: ALL,
            wants_float: false,
            nulls: 0,
            non_null: 0,
            dates: dates::DateVotes::default(),
        }
    }

    fn observe(&mut self, v: Option<&[u8]>, scratch: &mut Scratch, opts: &InferOptions) {
        let Scratch {
            check: scratch,
            iso,
        } = scratch;
        let Some(v) = v else {
            self.nulls += 1;
            return;
        };
        self.non_null += 1;
        if self.alive == 0 {
            return;
        }
        let t = trim(v);
        let mut alive = self.alive;
        if alive & NUMBERS != 0 {
            // Judged as the load will read it: with a decimal comma, `1.234,5` is 1234.5.
            let mut comma = Vec::new();
            let n = match opts.decimal_comma && encode::decimal_point(v, &mut comma) {
                true => comma.as_slice(),
                false => v,
            };
            let plain = plain_number(trim(n));
            for (bit, ty) in [
                (INT8, ColumnType::Int8),
                (NUMERIC, ColumnType::Numeric),
                (FLOAT8, ColumnType::Float8),
            ] {
                if alive & bit != 0 && !(plain && encode::check_value(ty, n, scratch).is_ok()) {
                    alive &= !bit;
                }
            }
            if alive & (NUMERIC | FLOAT8) != 0 && t.iter().any(u8::is_ascii_alphabetic) {
                self.wants_float = true;
            }
        }
        let mut keep = |alive: &mut u16, bit: u16, shape: bool, ty: ColumnType| {
            if *alive & bit != 0 && !(shape && encode::check_value(ty, v, scratch).is_ok()) {
                *alive &= !bit;
            }
        };
        keep(&mut alive, BOOL, is_bool_word(t), ColumnType::Bool);
        keep(&mut alive, UUID, is_canonical_uuid(v), ColumnType::Uuid);
        let json = matches!(t.first(), Some(b'{' | b'['));
        keep(&mut alive, JSONB, json, ColumnType::Jsonb);
        if alive & DATES != 0 {
            let fits = self
                .dates
                .observe(v, alive & DATES, opts.date_order, scratch, iso);
            alive = alive & !DATES | fits;
        }
        self.alive = alive;
    }

    fn type_name(&self) -> &'static str {
        let a = self.alive;
        if self.non_null == 0 {
            "text"
        } else if a & INT8 != 0 {
            "int8"
        } else if a & FLOAT8 != 0 && self.wants_float {
            "float8"
        } else if a & NUMERIC != 0 {
            "numeric"
        } else if a & FLOAT8 != 0 {
            "float8"
        } else if a & BOOL != 0 {
            "bool"
        } else if a & DATE != 0 {
            "date"
        } else if a & TIMESTAMP != 0 {
            "timestamp"
        } else if a & TIMESTAMPTZ != 0 {
            "timestamptz"
        } else if a & UUID != 0 {
            "uuid"
        } else if a & JSONB != 0 {
            "jsonb"
        } else {
            "text"
        }
    }
}

// ---------------------------------------------------------------------------------------
// Sampling
// ---------------------------------------------------------------------------------------

/// Reads up to `opts.sample_rows` records from `reader` and infers each column's type.
///
/// `header` names the columns (the file's header or `--columns`); when it is empty the
/// columns are named `col1..colN` after the first record's width. Malformed records are
/// counted and left out, since the load rejects them on its own terms; if nothing but
/// malformed records was read, the first one's error is returned.
pub fn infer<R: Read>(
    reader: &mut RecordReader<R>,
    header: &[String],
    opts: &InferOptions,
) -> Result<Inferred> {
    infer_with(reader, header, opts, &mut || {})
}

/// Records between two looks at how far the input has been read.
const PROGRESS_EVERY: u64 = 1024;

/// [`infer`], calling `tick` every [`PROGRESS_EVERY`] records.
fn infer_with<R: Read>(
    reader: &mut RecordReader<R>,
    header: &[String],
    opts: &InferOptions,
    tick: &mut dyn FnMut(),
) -> Result<Inferred> {
    let mut names: Vec<String> = header.to_vec();
    if !names.is_empty() && reader.expected_fields().is_none() {
        reader.set_expected_fields(names.len());
    }
    let mut tallies = vec![Tally::new(); names.len()];
    let mut rec = Record::new();
    let mut scratch = Scratch::default();
    let (mut read, mut sampled, mut skipped) = (0u64, 0u64, 0u64);
    let mut first_bad = None;
    let mut whole_input = false;
    while opts.sample_rows.is_none_or(|limit| read < limit) {
        match reader.read_record(&mut rec) {
            Ok(false) => {
                whole_input = true;
                break;
            }
            Ok(true) => {
                if names.is_empty() {
                    names = (1..=rec.len()).map(|i| format!("col{i}")).collect();
                    tallies = vec![Tally::new(); names.len()];
                }
                for (t, f) in tallies.iter_mut().zip(rec.fields()) {
                    t.observe(f, &mut scratch, opts);
                }
                sampled += 1;
            }
            Err(e) if matches!(e.kind(), ErrorKind::Parse { .. }) => {
                skipped += 1;
                first_bad.get_or_insert(e);
            }
            Err(e) => return Err(e),
        }
        read += 1;
        if read % PROGRESS_EVERY == 0 {
            tick();
        }
    }
    if sampled == 0 {
        if let Some(e) = first_bad {
            return Err(e);
        }
    }
    if names.is_empty() {
        return Err(Error::schema(format!(
            "{}: the input is empty, there is nothing to infer a table from",
            reader.name()
        )));
    }
    let (date_order, notes) = dates::settle(&names, &mut tallies, opts.date_order);
    Ok(Inferred {
        columns: names
            .into_iter()
            .zip(&tallies)
            .map(|(name, t)| InferredColumn {
                name,
                type_name: t.type_name(),
                nulls: t.nulls,
                non_null: t.non_null,
            })
            .collect(),
        rows_sampled: sampled,
        rows_skipped: skipped,
        whole_input,
        renamed: Vec::new(),
        date_order,
        notes,
    })
}

/// Opens `path` (`-` is stdin, which is then consumed) and infers its columns. Names come
/// from `columns` when given (a header, if the dialect has one, is skipped), else from the
/// header made valid names (`source::column_names`, which the load maps back the same
/// way), else `col1..colN`.
pub fn infer_file(
    path: &str,
    dialect: &Dialect,
    compression: Option<Compression>,
    columns: Option<&[String]>,
    opts: &InferOptions,
) -> Result<Inferred> {
    let input = source::open_input(path, compression, dialect.encoding)?;
    let mut reader = RecordReader::new(path, input.reader, dialect.clone());
    let header = reader.read_header()?;
    let (names, renamed) = match (columns, header) {
        (Some(c), _) => (c.to_vec(), Vec::new()),
        (None, Some(h)) => source::column_names(&h),
        (None, None) => (Vec::new(), Vec::new()),
    };
    let mut watch = Watch::new(opts.observer.as_deref(), input.consumed, input.size);
    let inferred = infer_with(&mut reader, &names, opts, &mut || watch.tick(false));
    watch.tick(true);
    let mut inferred = inferred?;
    inferred.renamed = renamed;
    Ok(inferred)
}

/// Sends [`Event::Inferring`] as the input is read: each time another hundredth of it
/// (at least 1 MiB; 16 MiB when the size is unknown) has been read, and at the end.
struct Watch<'a> {
    observer: Option<&'a dyn Observer>,
    consumed: Arc<AtomicU64>,
    total: Option<u64>,
    step: u64,
    last: u64,
}

impl<'a> Watch<'a> {
    fn new(
        observer: Option<&'a dyn Observer>,
        consumed: Arc<AtomicU64>,
        total: Option<u64>,
    ) -> Self {
        let step = total.map_or(16 << 20, |t| (t / 100).max(1 << 20));
        Watch {
            observer,
            consumed,
            total,
            step,
            last: 0,
        }
    }

    fn tick(&mut self, done: bool) {
        let Some(observer) = self.observer else {
            return;
        };
        let read = self.consumed.load(Relaxed);
        if done || read >= self.last + self.step {
            self.last = read;
            observer.event(&Event::Inferring(InferProgress {
                read,
                total: self.total,
                done,
            }));
        }
    }
}

// ---------------------------------------------------------------------------------------
// DDL
// ---------------------------------------------------------------------------------------

/// The column a user named: exact match first, else the one case-insensitive match (as
/// `Table::map_columns` maps headers).
fn resolve(name: &str, cols: &[InferredColumn]) -> Option<usize> {
    crate::table::resolve_name(name, cols.iter().map(|c| c.name.as_str()))
}

fn column_list(cols: &[InferredColumn]) -> String {
    cols.iter()
        .map(|c| format!("{:?}", c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Resolves the names given to `flag`, each once.
fn resolve_all(flag: &str, names: &[String], cols: &[InferredColumn]) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(names.len());
    for n in names {
        let i = resolve(n, cols).ok_or_else(|| {
            Error::usage(format!(
                "{flag}: {n:?} is not a column of the file (its columns: {})",
                column_list(cols)
            ))
        })?;
        if out.contains(&i) {
            return Err(Error::usage(format!(
                "{flag}: column {:?} is named twice",
                cols[i].name
            )));
        }
        out.push(i);
    }
    Ok(out)
}

/// Header names that would make a broken or different table are refused up front.
fn check_names(cols: &[InferredColumn]) -> Result<()> {
    if cols.is_empty() {
        return Err(Error::schema("no columns to create a table with"));
    }
    let fix = "rename it in the file's header or pass --columns";
    for (i, c) in cols.iter().enumerate() {
        let what = format!("column {} of the header", i + 1);
        if c.name.is_empty() {
            return Err(Error::schema(format!("{what} has no name; {fix}")));
        }
        if c.name.contains('\0') {
            return Err(Error::schema(format!("{what} contains a NUL byte; {fix}")));
        }
        if c.name.len() > MAX_IDENT_BYTES {
            return Err(Error::schema(format!(
                "{what} ({:?}) is longer than {MAX_IDENT_BYTES} bytes, which PostgreSQL would truncate; {fix}",
                c.name
            )));
        }
        if cols[..i].iter().any(|p| p.name == c.name) {
            return Err(Error::schema(format!(
                "{what} repeats the name {:?}; {fix}",
                c.name
            )));
        }
    }
    Ok(())
}

/// The `CREATE TABLE` statement (with a trailing `;`, ready for a file) for `table` as the
/// user wrote it (`t`, `s.t`, `"My T"`). Every identifier is quoted, so header names are
/// kept exactly as written; columns in `opts.not_null` get `NOT NULL`, and
/// `opts.primary_key` becomes the `PRIMARY KEY`. Unknown names in either are a usage
/// error that lists the file's columns.
pub fn create_table_sql(table: &str, inferred: &Inferred, opts: &InferOptions) -> Result<String> {
    let name = QualifiedName::parse(table)?;
    let cols = &inferred.columns;
    check_names(cols)?;
    let pk = resolve_all("--primary-key", &opts.primary_key, cols)?;
    let not_null = resolve_all("--not-null", &opts.not_null, cols)?;
    let mut lines: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let nn = if not_null.contains(&i) {
                " NOT NULL"
            } else {
                ""
            };
            format!("    {} {}{nn}", quote_ident(&c.name), c.type_name)
        })
        .collect();
    if !pk.is_empty() {
        let key: Vec<String> = pk.iter().map(|&i| quote_ident(&cols[i].name)).collect();
        lines.push(format!("    PRIMARY KEY ({})", key.join(", ")));
    }
    Ok(format!(
        "CREATE TABLE {name} (\n{}\n);\n",
        lines.join(",\n")
    ))
}

/// Notes worth printing before a load: columns declared `NOT NULL` or part of the key
/// whose sample already holds NULLs, so those rows will fail; columns whose dates were
/// left text ([`Inferred::notes`]). Names that do not resolve
/// are left to [`create_table_sql`] to report.
pub fn warnings(inferred: &Inferred, opts: &InferOptions) -> Vec<String> {
    let cols = &inferred.columns;
    let mut out = Vec::new();
    let mut seen = Vec::new();
    let named = opts
        .primary_key
        .iter()
        .map(|n| (n, "is in the primary key"))
        .chain(opts.not_null.iter().map(|n| (n, "is declared NOT NULL")));
    for (n, why) in named {
        let Some(i) = resolve(n, cols) else { continue };
        if seen.contains(&i) || cols[i].nulls == 0 {
            continue;
        }
        seen.push(i);
        out.push(format!(
            "column {:?} {why} but {} of the {} sampled rows have NULL there; those rows will fail",
            cols[i].name, cols[i].nulls, inferred.rows_sampled
        ));
    }
    out.extend(inferred.notes.iter().cloned());
    out
}

/// Quotes a path for the shell when it needs it, for a command the user can paste.
fn shell_word(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./+:@%".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// What the loader appends to a conversion error in a table this run created by
/// inference: where the type came from and how to get a better one.
pub fn hint(type_name: &str, inferred: &Inferred, file: &str) -> String {
    let edit = format!(
        "edit the schema (chunkload schema {} > t.sql), create the table from it and load again",
        shell_word(file)
    );
    if inferred.whole_input {
        format!(
            "the type {type_name} was inferred from all {} rows of the file; {edit}",
            inferred.rows_sampled
        )
    } else {
        format!(
            "the type {type_name} was inferred from the first {} rows; pass --infer-rows all or {edit}",
            inferred.rows_sampled + inferred.rows_skipped
        )
    }
}

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
    /// The inference it came from, for [`hint`].
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
    let inferred = if file == "-" {
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
        inferred
    } else {
        infer(opts)?
    };
    for w in warnings(&inferred, opts) {
        warn(&w);
    }
    let sql = create_table_sql(table, &inferred, opts)?;
    Ok(create_if_missing(client, table, &sql)?.then_some(CreatedTable { sql, inferred }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(rows: Option<u64>) -> InferOptions {
        InferOptions {
            sample_rows: rows,
            ..InferOptions::default()
        }
    }

    fn run(csv: &str, d: Dialect, o: &InferOptions) -> Result<Inferred> {
        let mut r = RecordReader::with_buffer_size("t.csv", csv.as_bytes(), d, 16);
        let header = r.read_header()?.unwrap_or_default();
        infer(&mut r, &header, o)
    }

    fn types_with(csv: &str, d: Dialect, o: &InferOptions) -> Vec<&'static str> {
        run(csv, d, o)
            .unwrap()
            .columns
            .iter()
            .map(|c| c.type_name)
            .collect()
    }

    fn types(csv: &str) -> Vec<&'static str> {
        types_with(csv, Dialect::default(), &opts(None))
    }

    /// One column of the given values, one per line.
    fn col(values: &[&str]) -> &'static str {
        let csv = format!("c\n{}\n", values.join("\n"));
        types(&csv)[0]
    }

    #[test]
    fn each_type_from_plain_values() {
        assert_eq!(col(&["1", "-2", "0", "9223372036854775807"]), "int8");
        assert_eq!(col(&["1.5", "-2", "0.25", ".5"]), "numeric");
        assert_eq!(col(&["99999999999999999999", "1"]), "numeric");
        assert_eq!(col(&["1e3", "2.5", "-1.5E-7"]), "float8");
        assert_eq!(col(&["NaN", "1.5", "-Infinity", "inf"]), "float8");
        assert_eq!(col(&["t", "F", "true", "FALSE", "yes", "No"]), "bool");
        assert_eq!(col(&["2024-01-31", "1999-12-01"]), "date");
        assert_eq!(
            col(&["2024-01-31 10:00", "2024-01-31T10:00:00.123Z", "2024-02-01"]),
            "timestamptz"
        );
        assert_eq!(col(&["2024-01-31 10:00:00+02:00"]), "timestamptz");
        assert_eq!(
            col(&["2024-01-31 10:00:00", "2024-01-31 11:00:00Z"]),
            "timestamptz"
        );
        // Wall-clock times (no zone anywhere) stay as written, in any session.
        assert_eq!(
            col(&["2024-03-10 02:30", "2024-01-31T10:00:00.123", "2024-02-01"]),
            "timestamp"
        );
        assert_eq!(
            col(&["2024-01-31 10:00:00 ", "2024-01-31 10:00:59.5"]),
            "timestamp"
        );
        assert_eq!(
            col(&[
                "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12"
            ]),
            "uuid"
        );
        assert_eq!(col(&["\"{\"\"a\"\": 1}\"", "\"[1, 2]\"", "[]"]), "jsonb");
        assert_eq!(col(&["hello", "world"]), "text");
    }

    #[test]
    fn one_misfit_makes_the_column_text_or_a_wider_number() {
        assert_eq!(col(&["1", "2", "x"]), "text");
        assert_eq!(col(&["1", "2.5"]), "numeric");
        assert_eq!(col(&["1", "2e5"]), "float8");
        // Out of float8's range but an exact numeric.
        assert_eq!(col(&["1e400", "2"]), "numeric");
        assert_eq!(col(&["t", "1"]), "text");
        assert_eq!(col(&["2024-01-31", "2024-02-30"]), "text");
        assert_eq!(col(&["2024-01-31", "x"]), "text");
        assert_eq!(col(&["{\"a\"", "[1]"]), "text");
        assert_eq!(col(&["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "1"]), "text");
    }

    #[test]
    fn narrower_than_the_encoder_where_the_text_would_be_lost() {
        // 0/1 are integers, not booleans; the encoder's other spellings stay text.
        assert_eq!(col(&["0", "1"]), "int8");
        assert_eq!(col(&["on", "off"]), "text");
        assert_eq!(col(&["y", "n"]), "text");
        // Dates only in ISO form; the encoder's specials and slashes are not dates here.
        assert_eq!(col(&["2024/01/31"]), "text");
        assert_eq!(col(&["epoch"]), "text");
        assert_eq!(col(&["2024-01-01", "infinity"]), "text");
        // A hash is not a uuid, nor a braced one.
        assert_eq!(col(&["d41d8cd98f00b204e9800998ecf8427e"]), "text");
        assert_eq!(col(&["{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"]), "text");
        // JSON scalars are not jsonb columns.
        assert_eq!(col(&["\"\"\"a\"\"\"", "null"]), "text");
    }

    #[test]
    fn zip_codes_and_signed_codes_stay_text() {
        assert_eq!(col(&["01234", "98101"]), "text");
        assert_eq!(col(&["98101", "-007"]), "text");
        assert_eq!(col(&["00.5"]), "text");
        assert_eq!(col(&["+14155551234"]), "text");
        assert_eq!(col(&["0", "-0", "0.5", "10"]), "numeric");
        assert_eq!(col(&["0", "-0", "10"]), "int8");
    }

    #[test]
    fn spaces_the_encoder_trims_are_allowed() {
        assert_eq!(col(&["\" 12\"", "13 "]), "int8");
        assert_eq!(col(&["\" true \"", "f"]), "bool");
        // The encoder does not trim uuids.
        assert_eq!(col(&["\" a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\""]), "text");
    }

    #[test]
    fn nulls_do_not_vote_and_empty_strings_are_text() {
        let inf = run(
            "a,b,c\n1,,\"\"\n,,x\n3,,y\n",
            Dialect::default(),
            &opts(None),
        )
        .unwrap();
        let got: Vec<_> = inf
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.type_name, c.nulls, c.non_null))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", "int8", 1, 2),
                ("b", "text", 3, 0),
                ("c", "text", 0, 3)
            ]
        );
        assert_eq!(col(&["\"\"", "1"]), "text");
    }

    #[test]
    fn the_dialects_null_string_is_honoured() {
        let d = Dialect {
            null: b"NA".to_vec(),
            ..Dialect::default()
        };
        let csv = "n,d,q\n1,NA,NA\nNA,2024-01-01,\"NA\"\n";
        assert_eq!(
            types_with(csv, d.clone(), &opts(None)),
            vec!["int8", "date", "text"]
        );
        let inf = run(csv, d, &opts(None)).unwrap();
        assert_eq!((inf.columns[0].nulls, inf.columns[2].nulls), (1, 1));
        // Without the option "NA" is text.
        assert_eq!(
            types_with(csv, Dialect::default(), &opts(None)),
            vec!["text", "text", "text"]
        );
    }

    #[test]
    fn the_sample_limit_stops_reading() {
        let csv = "n\n1\n2\n3\nx\n";
        let limited = run(csv, Dialect::default(), &opts(Some(3))).unwrap();
        assert_eq!(limited.columns[0].type_name, "int8");
        assert_eq!(limited.rows_sampled, 3);
        assert!(!limited.whole_input);
        let all = run(csv, Dialect::default(), &opts(None)).unwrap();
        assert_eq!(all.columns[0].type_name, "text");
        assert_eq!(all.rows_sampled, 4);
        assert!(all.whole_input);
        // A limit past the end reads the whole input.
        assert!(
            run(csv, Dialect::default(), &opts(Some(10)))
                .unwrap()
                .whole_input
        );
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

    #[test]
    fn without_header_columns_are_numbered() {
        let d = Dialect {
            has_header: false,
            ..Dialect::default()
        };
        let inf = run("1,x\n2,y\n", d, &opts(None)).unwrap();
        let names: Vec<_> = inf.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["col1", "col2"]);
        assert_eq!(inf.rows_sampled, 2);
    }

    #[test]
    fn malformed_records_are_skipped_unless_nothing_else_is_there() {
        let inf = run("a,b\n1,2\n3\n4,5\n", Dialect::default(), &opts(None)).unwrap();
        assert_eq!((inf.rows_sampled, inf.rows_skipped), (2, 1));
        assert_eq!(inf.columns[1].type_name, "int8");
        let e = run("a,b\n3\n", Dialect::default(), &opts(None)).unwrap_err();
        assert!(e.to_string().contains("expected 2 fields, found 1"), "{e}");
        let e = run("", Dialect::default(), &opts(None)).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Schema(_)), "{e}");
        // A header alone gives text columns.
        let inf = run("a,b\n", Dialect::default(), &opts(None)).unwrap();
        assert_eq!(inf.rows_sampled, 0);
        assert_eq!(inf.columns[0].type_name, "text");
    }

    fn inferred(cols: &[(&str, &'static str, u64)]) -> Inferred {
        Inferred {
            columns: cols
                .iter()
                .map(|&(n, t, nulls)| InferredColumn {
                    name: n.to_string(),
                    type_name: t,
                    nulls,
                    non_null: 10 - nulls,
                })
                .collect(),
            rows_sampled: 10,
            rows_skipped: 0,
            whole_input: false,
            renamed: Vec::new(),
            date_order: None,
            notes: Vec::new(),
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn create_table_quotes_odd_names_and_declares_keys() {
        let inf = inferred(&[
            ("id", "int8", 0),
            ("Cost Total $", "numeric", 0),
            ("select", "bool", 2),
            ("a\"b", "text", 0),
        ]);
        let o = InferOptions {
            primary_key: strings(&["ID"]),
            not_null: strings(&["cost total $", "a\"b"]),
            ..InferOptions::default()
        };
        let sql = create_table_sql("Sales.\"My T\"", &inf, &o).unwrap();
        assert_eq!(
            sql,
            "CREATE TABLE \"sales\".\"My T\" (\n    \"id\" int8,\n    \"Cost Total $\" numeric NOT NULL,\n    \"select\" bool,\n    \"a\"\"b\" text NOT NULL,\n    PRIMARY KEY (\"id\")\n);\n"
        );
        let plain = create_table_sql("t", &inf, &InferOptions::default()).unwrap();
        assert!(!plain.contains("PRIMARY KEY"), "{plain}");
        assert!(!plain.contains("NOT NULL"), "{plain}");
        let o = InferOptions {
            primary_key: strings(&["a\"b", "id"]),
            ..InferOptions::default()
        };
        let sql = create_table_sql("t", &inf, &o).unwrap();
        assert!(sql.contains("PRIMARY KEY (\"a\"\"b\", \"id\")"), "{sql}");
    }

    #[test]
    fn unknown_key_or_not_null_columns_list_the_header() {
        let inf = inferred(&[("id", "int8", 0), ("name", "text", 0)]);
        let o = InferOptions {
            primary_key: strings(&["idx"]),
            ..InferOptions::default()
        };
        let e = create_table_sql("t", &inf, &o).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Usage(_)));
        assert_eq!(
            e.to_string(),
            "--primary-key: \"idx\" is not a column of the file (its columns: \"id\", \"name\")"
        );
        let o = InferOptions {
            not_null: strings(&["name", "NAME"]),
            ..InferOptions::default()
        };
        let e = create_table_sql("t", &inf, &o).unwrap_err();
        assert!(e.to_string().contains("named twice"), "{e}");
        // Ambiguous case-insensitive names need the exact spelling.
        let inf = inferred(&[("Ab", "int8", 0), ("aB", "text", 0)]);
        let o = InferOptions {
            primary_key: strings(&["ab"]),
            ..InferOptions::default()
        };
        assert!(create_table_sql("t", &inf, &o).is_err());
        let o = InferOptions {
            primary_key: strings(&["aB"]),
            ..InferOptions::default()
        };
        assert!(create_table_sql("t", &inf, &o)
            .unwrap()
            .contains("PRIMARY KEY (\"aB\")"));
    }

    #[test]
    fn bad_header_names_and_table_names_are_refused() {
        let d = InferOptions::default();
        for (cols, want) in [
            (vec![("", "int8", 0)], "has no name"),
            (vec![("a", "int8", 0), ("a", "text", 0)], "repeats the name"),
            (vec![("x\0y", "int8", 0)], "NUL"),
        ] {
            let e = create_table_sql("t", &inferred(&cols), &d).unwrap_err();
            assert!(e.to_string().contains(want), "{e}");
        }
        let long = "x".repeat(64);
        let e = create_table_sql("t", &inferred(&[(&long, "text", 0)]), &d).unwrap_err();
        assert!(e.to_string().contains("longer than 63 bytes"), "{e}");
        let ok = "x".repeat(63);
        assert!(create_table_sql("t", &inferred(&[(&ok, "text", 0)]), &d).is_ok());
        let e = create_table_sql("a.b.c", &inferred(&[("a", "text", 0)]), &d).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Usage(_)), "{e}");
    }

    #[test]
    fn warnings_name_constrained_columns_with_sampled_nulls() {
        let inf = inferred(&[("id", "int8", 0), ("x", "text", 3), ("y", "text", 1)]);
        let o = InferOptions {
            primary_key: strings(&["id", "x"]),
            not_null: strings(&["X", "y", "missing"]),
            ..InferOptions::default()
        };
        assert_eq!(
            warnings(&inf, &o),
            vec![
                "column \"x\" is in the primary key but 3 of the 10 sampled rows have NULL there; those rows will fail".to_string(),
                "column \"y\" is declared NOT NULL but 1 of the 10 sampled rows have NULL there; those rows will fail".to_string(),
            ]
        );
    }

    #[test]
    fn hint_says_where_the_type_came_from_and_what_to_do() {
        let mut inf = inferred(&[("id", "int8", 0)]);
        inf.rows_sampled = 10_000;
        assert_eq!(
            hint("int8", &inf, "data/in.csv"),
            "the type int8 was inferred from the first 10000 rows; pass --infer-rows all or edit the schema (chunkload schema data/in.csv > t.sql), create the table from it and load again"
        );
        inf.whole_input = true;
        let h = hint("date", &inf, "my file's.csv");
        assert!(
            h.starts_with("the type date was inferred from all 10000 rows"),
            "{h}"
        );
        assert!(
            h.contains("chunkload schema 'my file'\\''s.csv' > t.sql"),
            "{h}"
        );
        assert!(!h.contains("--infer-rows"), "{h}");
    }

    #[test]
    fn infer_file_reads_compressed_files_and_takes_column_names() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"id,when\n1,2024-01-01\n2,2024-01-02 03:04:05\n")
            .unwrap();
        std::fs::write(&path, enc.finish().unwrap()).unwrap();
        let p = path.to_str().unwrap();
        let o = opts(None);
        let inf = infer_file(p, &Dialect::default(), None, None, &o).unwrap();
        let got: Vec<_> = inf
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.type_name))
            .collect();
        assert_eq!(got, vec![("id", "int8"), ("when", "timestamp")]);
        let names = strings(&["k", "v"]);
        let inf = infer_file(p, &Dialect::default(), None, Some(&names), &o).unwrap();
        assert_eq!(inf.columns[0].name, "k");
        assert_eq!(inf.rows_sampled, 2);
        let e = infer_file(
            dir.path().join("missing.csv").to_str().unwrap(),
            &Dialect::default(),
            None,
            None,
            &o,
        )
        .unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Io { .. }), "{e}");
    }

    #[test]
    fn a_files_inference_reports_how_far_it_has_read() {
        use std::sync::Mutex;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.csv");
        let row = "12345678901234567890,abcdefghijklmnopqrstuvwxyz\n";
        let body = format!("n,s\n{}", row.repeat(3 * (1 << 20) / row.len()));
        std::fs::write(&path, &body).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let o = InferOptions {
            sample_rows: None,
            observer: Some(Arc::new(move |e: &Event| {
                if let Event::Inferring(p) = e {
                    sink.lock().unwrap().push(*p);
                }
            })),
            ..InferOptions::default()
        };
        let p = path.to_str().unwrap();
        infer_file(p, &Dialect::default(), None, None, &o).unwrap();
        let seen = seen.lock().unwrap().clone();
        let total = body.len() as u64;
        assert!(seen.len() >= 3, "{seen:?}");
        assert!(seen.windows(2).all(|w| w[0].read <= w[1].read), "{seen:?}");
        assert!(seen.iter().all(|p| p.total == Some(total)), "{seen:?}");
        let (last, before) = seen.split_last().unwrap();
        assert!(last.done && last.read == total, "{last:?}");
        assert!(before.iter().all(|p| !p.done && p.read < total), "{seen:?}");
    }

    #[test]
    fn inferred_types_map_back_to_the_encoders_types() {
        for (name, ty) in [
            ("int8", ColumnType::Int8),
            ("numeric", ColumnType::Numeric),
            ("float8", ColumnType::Float8),
            ("bool", ColumnType::Bool),
            ("date", ColumnType::Date),
            ("timestamp", ColumnType::Timestamp),
            ("timestamptz", ColumnType::Timestamptz),
            ("uuid", ColumnType::Uuid),
            ("jsonb", ColumnType::Jsonb),
            ("text", ColumnType::Text),
        ] {
            assert_eq!(ColumnType::from_pg(name), ty, "{name}");
        }
    }
}
