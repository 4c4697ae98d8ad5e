//! Encode: CSV field text → the bytes the server receives, converted client-side.
//!
//! Converting on the client means a bad value is reported with its line and column
//! *before* anything of its chunk is sent, and the bad row can be skipped while the good
//! rows of the chunk are kept. The parsers follow what PostgreSQL's text input functions
//! accept for common inputs (checked against a PostgreSQL 15 server), so loading through
//! this module gives the same table as PostgreSQL's own `COPY (FORMAT csv)`.
//!
//! Rows are encoded into one reusable buffer ([`EncodedRows`]) in either of two shapes:
//! PostgreSQL's COPY BINARY tuples ([`Format::Binary`]), or COPY text lines
//! ([`Format::Text`], for types we cannot encode in binary, and the fields INSERT's
//! parameters are bound from, as on CockroachDB, which never gets a COPY).
//! The same buffer feeds both transports: [`copy::write_copy`] streams it to `COPY ...
//! FROM STDIN`, and [`insert::params`] binds its fields as statement parameters without
//! copying.
//!
//! Here live the [`Encoder`], [`EncodedRows`] and [`FieldError`]; [`column`](mod@column) holds the
//! column types, [`copy`] and [`insert`] the two transports, and private modules the
//! value parsers: `scalar` (integers, floats, bool, uuid, text, json, bytea), `numeric`,
//! `datetime` (a port of PostgreSQL's date/time input) and `interval`.

mod chunked;
pub mod column;
pub mod copy;
mod date_order;
mod datetime;
mod direct;
mod fast;
mod float;
pub mod insert;
mod interval;
mod numeric;
mod scalar;
mod swar;
pub use chunked::{
    decimal_point, encode_chunk, encode_chunk_into, ChunkShape, EncodedChunk, Recycler, TypeHint,
};

pub use column::{Column, ColumnType};
pub use date_order::{iso_date, split_date, DateOrder};

use std::fmt;

use crate::error::{truncate_value, Location};
use crate::{Error, ErrorKind};

use copy::escape_copy_text;
use datetime::{parse_date, parse_time, parse_timestamp};
use interval::parse_interval;
use numeric::encode_numeric;
use scalar::{
    check_json, check_text, decode_bytea, has_json_nul_escape, parse_bool, parse_float, parse_int,
    parse_uuid, ParseResult,
};

/// How encoded rows are laid out, and how the server receives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// PostgreSQL COPY BINARY tuples; parameters bound in binary.
    #[default]
    Binary,
    /// COPY text lines (tab-separated, `\N` for NULL, backslash escapes); parameters
    /// bound as text.
    Text,
}

impl Format {
    /// Binary where the server flavour supports it and every column has a binary
    /// encoder here; text otherwise.
    pub fn for_columns(columns: &[Column], flavour_supports_binary: bool) -> Format {
        if flavour_supports_binary && columns.iter().all(|c| c.ty != ColumnType::Other) {
            Format::Binary
        } else {
            Format::Text
        }
    }
}

/// A field that does not convert; the caller attaches the [`Location`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// 0-based index of the target column (equal to the column count for an extra field).
    pub column: usize,
    /// Short reason, in PostgreSQL's words where it has them.
    pub msg: String,
    /// Not an error: the fast path is not certain of this value, so its chunk goes to the
    /// server as text and the server's parser decides.
    pub deferred: bool,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column + 1, self.msg)
    }
}

impl std::error::Error for FieldError {}

impl FieldError {
    /// Builds the library's [`ErrorKind::Convert`] error: `loc` is the record's position,
    /// the column name and type come from `columns`, `value` is the offending field.
    pub fn into_error(self, mut loc: Location, columns: &[Column], value: Option<&[u8]>) -> Error {
        let (name, ty) = match columns.get(self.column) {
            Some(c) => (c.name.clone(), c.type_name.clone()),
            None => (format!("#{}", self.column + 1), String::from("(none)")),
        };
        loc.column = Some(name);
        let value = match value {
            Some(v) => truncate_value(v, 80),
            None => String::from("NULL"),
        };
        ErrorKind::Convert {
            loc,
            ty,
            value,
            msg: self.msg,
        }
        .into()
    }
}

const NULL_SPAN: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

/// Encoded rows of one chunk, in one reusable buffer: no allocation per row or field once
/// the buffers have grown.
#[derive(Debug, Clone, Default)]
pub struct EncodedRows {
    format: Format,
    ncols: usize,
    /// COPY tuples (binary) or lines (text), back to back.
    buf: Vec<u8>,
    /// End offset in `buf` of each row.
    ends: Vec<u32>,
    /// Per field: where its value bytes are in `buf` (escaped text in text format).
    spans: Vec<Span>,
    /// Source record index of each encoded row.
    sources: Vec<u32>,
}

impl EncodedRows {
    /// An empty set; its format is taken from the first encoder that fills it.
    pub fn new() -> EncodedRows {
        EncodedRows::default()
    }

    /// Room for `rows` rows of `ncols` fields from about `source_bytes` of CSV, so a
    /// chunk's buffers are allocated once instead of grown by doubling.
    pub fn with_capacity(source_bytes: usize, rows: usize, ncols: usize) -> EncodedRows {
        let mut r = EncodedRows::default();
        r.reserve_for(source_bytes, rows, ncols);
        r
    }

    /// Makes room as [`EncodedRows::with_capacity`] does, in buffers that may already
    /// have it (recycled from an earlier chunk).
    pub fn reserve_for(&mut self, source_bytes: usize, rows: usize, ncols: usize) {
        self.buf
            .reserve((source_bytes + rows * (2 + 4 * ncols)).saturating_sub(self.buf.len()));
        self.ends.reserve(rows.saturating_sub(self.ends.len()));
        self.spans
            .reserve((rows * ncols).saturating_sub(self.spans.len()));
        self.sources
            .reserve(rows.saturating_sub(self.sources.len()));
    }

    /// Forgets the rows, keeping the allocations.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
        self.spans.clear();
        self.sources.clear();
    }

    /// Source record index of every encoded row, in increasing order.
    pub fn sources(&self) -> &[u32] {
        &self.sources
    }

    /// Number of encoded rows.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// No rows encoded.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Encoded bytes, without COPY header and trailer.
    pub fn byte_len(&self) -> usize {
        self.buf.len()
    }

    /// The layout of the rows.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Fields per row.
    pub fn ncols(&self) -> usize {
        self.ncols
    }

    /// The source row index given to [`Encoder::encode_row`] for encoded row `i`.
    pub fn source_row(&self, i: usize) -> u32 {
        self.sources[i]
    }

    /// The encoded bytes of row `i`: one COPY tuple or one text line with its newline.
    pub fn row(&self, i: usize) -> &[u8] {
        &self.buf[self.row_range(i)]
    }

    /// Field `col` of row `i`: the binary value, or the escaped text; `None` for NULL.
    pub fn field(&self, i: usize, col: usize) -> Option<&[u8]> {
        let s = self.spans[i * self.ncols + col];
        if s.start == NULL_SPAN {
            None
        } else {
            Some(&self.buf[s.start as usize..(s.start + s.len) as usize])
        }
    }

    fn row_range(&self, i: usize) -> std::ops::Range<usize> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        start..self.ends[i] as usize
    }
}

/// Converts rows for one table's column list in one format.
#[derive(Debug, Clone)]
pub struct Encoder {
    columns: Vec<Column>,
    format: Format,
}

impl Encoder {
    /// An encoder for `columns` (in field order). Use [`Format::for_columns`] to choose
    /// `format`: binary COPY of an [`ColumnType::Other`] column would be refused.
    pub fn new(columns: Vec<Column>, format: Format) -> Encoder {
        Encoder { columns, format }
    }

    /// The target columns, in field order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The layout rows are encoded in.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Converts one record's fields (`None` is SQL NULL) and appends it to `out`.
    /// On error `out` is left exactly as before the call, so the row can be skipped.
    pub fn encode_row<'a, I>(
        &self,
        fields: I,
        source_row: u32,
        out: &mut EncodedRows,
    ) -> Result<(), FieldError>
    where
        I: IntoIterator<Item = Option<&'a [u8]>>,
    {
        if out.ends.is_empty() {
            out.format = self.format;
            out.ncols = self.columns.len();
        } else if out.format != self.format || out.ncols != self.columns.len() {
            return Err(FieldError {
                column: 0,
                msg: String::from("encoded rows hold another table's layout"),
                deferred: false,
            });
        }
        let buf_mark = out.buf.len();
        let span_mark = out.spans.len();
        let r = match self.format {
            Format::Binary => self.row_binary(fields.into_iter(), out),
            Format::Text => self.row_text(fields.into_iter(), out),
        };
        let r = r.and_then(|()| {
            u32::try_from(out.buf.len()).map_err(|_| FieldError {
                column: 0,
                msg: String::from("encoded chunk exceeds 4 GiB"),
                deferred: false,
            })
        });
        match r {
            Ok(end) => {
                out.ends.push(end);
                out.sources.push(source_row);
                Ok(())
            }
            Err(e) => {
                out.buf.truncate(buf_mark);
                out.spans.truncate(span_mark);
                Err(e)
            }
        }
    }

    fn row_binary<'a>(
        &self,
        mut fields: impl Iterator<Item = Option<&'a [u8]>>,
        out: &mut EncodedRows,
    ) -> Result<(), FieldError> {
        let buf = &mut out.buf;
        let spans = &mut out.spans;
        buf.extend_from_slice(&(self.columns.len() as i16).to_be_bytes());
        for (i, col) in self.columns.iter().enumerate() {
            match next_field(&mut fields, i, self.columns.len())? {
                None => {
                    check_null(col, i)?;
                    buf.extend_from_slice(&(-1i32).to_be_bytes());
                    spans.push(Span {
                        start: NULL_SPAN,
                        len: 0,
                    });
                }
                Some(v) => {
                    let start = buf.len() + 4;
                    if !fast_binary(col.ty, v, buf) {
                        if let Some(e) = sure_refusal(col.ty, i, v) {
                            return Err(e);
                        }
                        return Err(FieldError {
                            column: i,
                            msg: String::from("deferred to the server's parser"),
                            deferred: true,
                        });
                    }
                    let len = buf.len() - start;
                    if len > i32::MAX as usize {
                        return Err(FieldError {
                            column: i,
                            msg: String::from("value too large"),
                            deferred: false,
                        });
                    }
                    spans.push(Span {
                        start: start as u32,
                        len: len as u32,
                    });
                }
            }
        }
        no_extra_field(&mut fields, self.columns.len())
    }

    fn row_text<'a>(
        &self,
        mut fields: impl Iterator<Item = Option<&'a [u8]>>,
        out: &mut EncodedRows,
    ) -> Result<(), FieldError> {
        let buf = &mut out.buf;
        let spans = &mut out.spans;
        for (i, col) in self.columns.iter().enumerate() {
            if i > 0 {
                buf.push(b'\t');
            }
            match next_field(&mut fields, i, self.columns.len())? {
                None => {
                    check_null(col, i)?;
                    buf.extend_from_slice(b"\\N");
                    spans.push(Span {
                        start: NULL_SPAN,
                        len: 0,
                    });
                }
                Some(v) => {
                    // The original text: the server's parser converts it. Only a sure
                    // refusal is reported here, with its line and column.
                    if let Some(e) = sure_refusal(col.ty, i, v) {
                        return Err(e);
                    }
                    let start = buf.len();
                    escape_copy_text(v, buf);
                    spans.push(Span {
                        start: start as u32,
                        len: (buf.len() - start) as u32,
                    });
                }
            }
        }
        buf.push(b'\n');
        no_extra_field(&mut fields, self.columns.len())
    }
}

fn next_field<'a>(
    fields: &mut impl Iterator<Item = Option<&'a [u8]>>,
    i: usize,
    n: usize,
) -> Result<Option<&'a [u8]>, FieldError> {
    fields.next().ok_or_else(|| FieldError {
        column: i,
        msg: format!("missing field: record has {i} fields, {n} expected"),
        deferred: false,
    })
}

fn no_extra_field<'a>(
    fields: &mut impl Iterator<Item = Option<&'a [u8]>>,
    n: usize,
) -> Result<(), FieldError> {
    match fields.next() {
        None => Ok(()),
        Some(_) => Err(FieldError {
            column: n,
            msg: format!("extra field: more than the {n} target columns"),
            deferred: false,
        }),
    }
}

fn check_null(col: &Column, i: usize) -> Result<(), FieldError> {
    if col.not_null {
        Err(FieldError {
            column: i,
            msg: String::from("null value violates not-null constraint"),
            deferred: false,
        })
    } else {
        Ok(())
    }
}

/// Appends the COPY BINARY field of `v` (length word, then binary value) when the fast
/// path is certain of it (see `fast`); `false`, with `buf` as before, when the server must
/// convert it. Inlined into the row loop: called once per field, its call and register
/// saves cost more than some values.
#[inline(always)]
fn fast_binary(ty: ColumnType, v: &[u8], buf: &mut Vec<u8>) -> bool {
    // The common types: admission and conversion in one pass.
    if let Some(ok) = direct::encode(ty, v, buf) {
        return ok;
    }
    if !fast::certain(ty, v) {
        return false;
    }
    let at = buf.len();
    buf.extend_from_slice(&[0; 4]);
    if encode_binary(ty, v, buf).is_err() {
        buf.truncate(at);
        return false;
    }
    // A length past i32 is refused by the caller.
    let len = (buf.len() - at - 4) as u32;
    buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    true
}

/// Appends the binary value of `v` for a column of type `ty`.
fn encode_binary(ty: ColumnType, v: &[u8], buf: &mut Vec<u8>) -> ParseResult<()> {
    match ty {
        ColumnType::Int2 => {
            let x = parse_int(v, i16::MIN as i64, i16::MAX as i64, "smallint")?;
            buf.extend_from_slice(&(x as i16).to_be_bytes());
        }
        ColumnType::Int4 => {
            let x = parse_int(v, i32::MIN as i64, i32::MAX as i64, "integer")?;
            buf.extend_from_slice(&(x as i32).to_be_bytes());
        }
        ColumnType::Int8 => {
            let x = parse_int(v, i64::MIN, i64::MAX, "bigint")?;
            buf.extend_from_slice(&x.to_be_bytes());
        }
        ColumnType::Numeric => encode_numeric(v, buf)?,
        ColumnType::Float4 => {
            let x = parse_float::<f32>(v, "real")?;
            buf.extend_from_slice(&x.to_be_bytes());
        }
        ColumnType::Float8 => {
            let x = parse_float::<f64>(v, "double precision")?;
            buf.extend_from_slice(&x.to_be_bytes());
        }
        ColumnType::Bool => buf.push(parse_bool(v)? as u8),
        ColumnType::Text | ColumnType::Other => {
            check_text(v)?;
            buf.extend_from_slice(v);
        }
        ColumnType::Name => {
            let s = check_text(v)?;
            // namein truncates to NAMEDATALEN-1 bytes on a character boundary.
            let mut end = s.len().min(63);
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            buf.extend_from_slice(&v[..end]);
        }
        ColumnType::Uuid => buf.extend_from_slice(&parse_uuid(v)?),
        ColumnType::Date => buf.extend_from_slice(&parse_date(v)?.to_be_bytes()),
        ColumnType::Timestamp => {
            buf.extend_from_slice(&parse_timestamp(v, false)?.to_be_bytes());
        }
        ColumnType::Timestamptz => {
            buf.extend_from_slice(&parse_timestamp(v, true)?.to_be_bytes());
        }
        ColumnType::Time => buf.extend_from_slice(&parse_time(v)?.to_be_bytes()),
        ColumnType::Interval => {
            let (us, days, months) = parse_interval(v)?;
            buf.extend_from_slice(&us.to_be_bytes());
            buf.extend_from_slice(&days.to_be_bytes());
            buf.extend_from_slice(&months.to_be_bytes());
        }
        ColumnType::Json => {
            check_json(v, "json")?;
            buf.extend_from_slice(v);
        }
        ColumnType::Jsonb => {
            check_json(v, "jsonb")?;
            if has_json_nul_escape(v) {
                return Err(String::from(
                    "unsupported Unicode escape sequence: \\u0000 cannot be converted to text",
                ));
            }
            buf.push(1);
            buf.extend_from_slice(v);
        }
        ColumnType::Bytea => decode_bytea(v, buf)?,
    }
    Ok(())
}

/// Whether `v` converts to `ty`, by the very parser that encodes it, so schema inference
/// never picks a type the load would then refuse. `scratch` is cleared and reused, so a
/// caller checking many values allocates once.
pub fn check_value(ty: ColumnType, v: &[u8], scratch: &mut Vec<u8>) -> Result<(), String> {
    scratch.clear();
    encode_binary(ty, v, scratch)
}

/// A value no PostgreSQL version reads as this (numeric) type: reported here, with its
/// line and column, instead of by the server.
fn sure_refusal(ty: ColumnType, column: usize, v: &[u8]) -> Option<FieldError> {
    if !fast::certainly_not_a_number(ty, v) {
        return None;
    }
    let msg = encode_binary(ty, v, &mut Vec::new())
        .err()
        .unwrap_or_else(|| format!("invalid input syntax for type {}", ty.sql_name()));
    Some(FieldError {
        column,
        msg,
        deferred: false,
    })
}

#[cfg(test)]
pub(crate) mod test_util {
    use super::*;

    pub fn enc(ty: &str, v: &str) -> Result<Vec<u8>, String> {
        let mut buf = Vec::new();
        encode_binary(ColumnType::from_pg(ty), v.as_bytes(), &mut buf).map(|()| buf)
    }

    pub fn ok(ty: &str, v: &str) -> Vec<u8> {
        enc(ty, v).unwrap_or_else(|e| panic!("{ty} {v:?}: {e}"))
    }

    pub fn err(ty: &str, v: &str) -> String {
        match enc(ty, v) {
            Ok(b) => panic!("{ty} {v:?} accepted as {b:?}"),
            Err(e) => e,
        }
    }

    pub fn i64_of(b: &[u8]) -> i64 {
        i64::from_be_bytes(b.try_into().unwrap())
    }

    pub fn col(name: &str, ty: &str) -> Column {
        Column::new(name, ty)
    }

    pub fn weird_cols() -> Vec<Column> {
        vec![
            col("id", "integer"),
            col("Cost Total $", "numeric(10,2)"),
            col("select", "text"),
            col("a\"b", "mood"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::*;
    use super::*;

    #[test]
    fn format_is_text_when_any_column_is_other_or_flavour_lacks_binary() {
        let cols = vec![col("a", "uuid"), col("b", "bigint")];
        assert_eq!(Format::for_columns(&cols, true), Format::Binary);
        assert_eq!(Format::for_columns(&cols, false), Format::Text);
        let with_enum = vec![col("a", "uuid"), col("m", "mood")];
        assert_eq!(Format::for_columns(&with_enum, true), Format::Text);
    }

    // --- rows -----------------------------------------------------------------------

    fn two_cols() -> Vec<Column> {
        let mut id = col("id", "uuid");
        id.not_null = true;
        vec![id, col("balance", "bigint")]
    }

    const U1: &str = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";

    #[test]
    fn binary_rows_are_copy_tuples_with_spans() {
        let e = Encoder::new(two_cols(), Format::Binary);
        let mut rows = EncodedRows::new();
        e.encode_row([Some(U1.as_bytes()), Some(&b"42"[..])], 7, &mut rows)
            .unwrap();
        e.encode_row([Some(U1.as_bytes()), None], 8, &mut rows)
            .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows.ncols(), 2);
        assert_eq!(rows.source_row(0), 7);
        assert_eq!(rows.source_row(1), 8);
        let uuid = parse_uuid(U1.as_bytes()).unwrap();
        let mut want0 = vec![0, 2, 0, 0, 0, 16];
        want0.extend_from_slice(&uuid);
        want0.extend_from_slice(&[0, 0, 0, 8]);
        want0.extend_from_slice(&42i64.to_be_bytes());
        assert_eq!(rows.row(0), &want0[..]);
        let mut want1 = vec![0, 2, 0, 0, 0, 16];
        want1.extend_from_slice(&uuid);
        want1.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        assert_eq!(rows.row(1), &want1[..]);
        assert_eq!(rows.byte_len(), want0.len() + want1.len());
        assert_eq!(rows.field(0, 0), Some(&uuid[..]));
        assert_eq!(rows.field(0, 1), Some(&42i64.to_be_bytes()[..]));
        assert_eq!(rows.field(1, 1), None);
        rows.clear();
        assert!(rows.is_empty());
        assert_eq!(rows.byte_len(), 0);
    }

    #[test]
    fn a_bad_row_is_rolled_back_and_good_rows_are_kept() {
        let e = Encoder::new(two_cols(), Format::Binary);
        let mut rows = EncodedRows::new();
        e.encode_row([Some(U1.as_bytes()), Some(&b"1"[..])], 0, &mut rows)
            .unwrap();
        let before = (rows.byte_len(), rows.spans.len());
        let bad = e
            .encode_row([Some(U1.as_bytes()), Some(&b"x"[..])], 1, &mut rows)
            .unwrap_err();
        // A sure refusal (no integer spelling holds an `x`) stays client-side.
        assert_eq!(bad.column, 1);
        assert_eq!(bad.msg, "invalid input syntax for type bigint");
        assert!(!bad.deferred);
        let odd = e
            .encode_row([Some(U1.as_bytes()), Some(&b" +1"[..])], 1, &mut rows)
            .unwrap_err();
        assert!(odd.deferred, "not canonical: the server's parser decides");
        let null = e
            .encode_row([None, Some(&b"1"[..])], 2, &mut rows)
            .unwrap_err();
        assert_eq!(null.column, 0);
        assert!(null.msg.contains("not-null"));
        let short = e
            .encode_row([Some(U1.as_bytes())], 3, &mut rows)
            .unwrap_err();
        assert_eq!(short.column, 1);
        assert!(short.msg.starts_with("missing field"));
        let long = e
            .encode_row([Some(U1.as_bytes()), Some(&b"1"[..]), None], 4, &mut rows)
            .unwrap_err();
        assert_eq!(long.column, 2);
        assert!(long.msg.starts_with("extra field"));
        assert_eq!((rows.byte_len(), rows.spans.len()), before);
        e.encode_row([Some(U1.as_bytes()), Some(&b"2"[..])], 5, &mut rows)
            .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows.source_row(1), 5);
        assert_eq!(rows.field(1, 1), Some(&2i64.to_be_bytes()[..]));
        // Text layout into the same buffer is refused.
        let t = Encoder::new(two_cols(), Format::Text);
        assert!(t
            .encode_row([Some(U1.as_bytes()), Some(&b"2"[..])], 6, &mut rows)
            .is_err());
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn text_rows_keep_the_original_text_escaped() {
        let cols = vec![col("n", "integer"), col("s", "text"), col("m", "mood")];
        let e = Encoder::new(cols, Format::Text);
        let mut rows = EncodedRows::new();
        e.encode_row(
            [Some(&b" 5 "[..]), Some(&b"a\tb\\c\nd\re"[..]), None],
            0,
            &mut rows,
        )
        .unwrap();
        e.encode_row([None, Some(&b""[..]), Some(&b"happy"[..])], 1, &mut rows)
            .unwrap();
        assert_eq!(rows.row(0), b" 5 \ta\\tb\\\\c\\nd\\re\t\\N\n");
        assert_eq!(rows.row(1), b"\\N\t\thappy\n");
        assert_eq!(rows.field(0, 1), Some(&b"a\\tb\\\\c\\nd\\re"[..]));
        assert_eq!(rows.field(1, 1), Some(&b""[..]));
        assert_eq!(rows.field(0, 2), None);
        // Text goes to the server's parser as it is; only sure refusals stay here.
        let bad = e
            .encode_row([Some(&b"5x"[..]), None, None], 2, &mut rows)
            .unwrap_err();
        assert_eq!(bad.column, 0);
        e.encode_row([Some(&b"0x5"[..]), None, None], 2, &mut rows)
            .unwrap();
        assert_eq!(rows.row(2), b"0x5\t\\N\t\\N\n");
        let short = e.encode_row([None, None], 3, &mut rows).unwrap_err();
        assert_eq!(short.column, 2);
        assert!(!short.deferred);
        assert_eq!(rows.len(), 3);
        let lines: usize = (0..3).map(|i| rows.row(i).len()).sum();
        assert_eq!(rows.byte_len(), lines);
    }

    #[test]
    fn field_error_becomes_a_located_convert_error() {
        let cols = two_cols();
        let fe = FieldError {
            column: 1,
            msg: "invalid input syntax for type bigint".into(),
            deferred: false,
        };
        let loc = Location {
            file: "a.csv".into(),
            ..Location::default()
        };
        let e = fe.into_error(loc, &cols, Some(b"12x"));
        let ErrorKind::Convert {
            loc,
            ty,
            value,
            msg,
        } = e.kind()
        else {
            panic!("{e:?}")
        };
        assert_eq!(loc.column.as_deref(), Some("balance"));
        assert_eq!(ty, "bigint");
        assert_eq!(value, "12x");
        assert_eq!(msg, "invalid input syntax for type bigint");
        assert_eq!(e.outcome(), crate::error::Outcome::Data);
    }
}
