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
//! ([`Format::Text`], used on CockroachDB and for types we cannot encode in binary).
//! The same buffer feeds both transports: [`write_copy`] streams it to `COPY ... FROM
//! STDIN`, and [`params`] binds its fields as statement parameters without copying.

use std::fmt::{self, Write as _};
use std::io;

use bytes::BytesMut;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};

use crate::error::{truncate_value, Location};
use crate::{Error, ErrorKind};

mod chunked;
pub use chunked::{encode_chunk, ChunkShape, EncodedChunk, TypeHint};

// ---------------------------------------------------------------------------------------
// Column types
// ---------------------------------------------------------------------------------------

/// The target column's type, as far as client-side conversion cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// `smallint`.
    Int2,
    /// `integer`.
    Int4,
    /// `bigint`.
    Int8,
    /// `numeric` / `decimal`, with or without precision and scale.
    Numeric,
    /// `real`.
    Float4,
    /// `double precision`.
    Float8,
    /// `boolean`.
    Bool,
    /// `text`, `varchar(n)`, `character(n)`, `citext`: UTF-8 without NUL.
    Text,
    /// `name`: like text, but PostgreSQL truncates it to 63 bytes.
    Name,
    /// `uuid`.
    Uuid,
    /// `date`.
    Date,
    /// `timestamp [(p)] without time zone`.
    Timestamp,
    /// `timestamp [(p)] with time zone`.
    Timestamptz,
    /// `time [(p)] without time zone`.
    Time,
    /// `interval [(p)]` without a field restriction.
    Interval,
    /// `json`.
    Json,
    /// `jsonb`.
    Jsonb,
    /// `bytea`.
    Bytea,
    /// Anything else (arrays, enums, domains, `inet`, ...): sent as text, cast by the server.
    Other,
}

impl ColumnType {
    /// Maps a type name as `pg_catalog.format_type` (or `typname`) prints it.
    pub fn from_pg(type_name: &str) -> ColumnType {
        let lower = type_name.trim().to_ascii_lowercase();
        let t = lower.strip_prefix("pg_catalog.").unwrap_or(&lower);
        if t.ends_with(']') || t.starts_with('"') {
            // Arrays, and quoted names such as the one-byte `"char"`.
            return ColumnType::Other;
        }
        // Drop typmods: numeric(10,2), timestamp(3) without time zone, varchar(20).
        let mut base = String::with_capacity(t.len());
        let mut depth = 0u32;
        let mut had_typmod = false;
        for c in t.chars() {
            match c {
                '(' => {
                    depth += 1;
                    had_typmod = true;
                }
                ')' => depth = depth.saturating_sub(1),
                _ if depth == 0 => base.push(c),
                _ => {}
            }
        }
        let base = base.split_whitespace().collect::<Vec<_>>().join(" ");
        match base.as_str() {
            "int2" | "smallint" => ColumnType::Int2,
            "int4" | "integer" | "int" => ColumnType::Int4,
            "int8" | "bigint" => ColumnType::Int8,
            "numeric" | "decimal" => ColumnType::Numeric,
            "real" | "float4" => ColumnType::Float4,
            "double precision" | "float8" => ColumnType::Float8,
            "boolean" | "bool" => ColumnType::Bool,
            "text" | "character varying" | "varchar" | "character" | "bpchar" | "citext" => {
                ColumnType::Text
            }
            // Unquoted `char` is the one-byte type as a typname, `character(n)` with a typmod.
            "char" if had_typmod => ColumnType::Text,
            "name" => ColumnType::Name,
            "uuid" => ColumnType::Uuid,
            "date" => ColumnType::Date,
            "timestamp" | "timestamp without time zone" => ColumnType::Timestamp,
            "timestamptz" | "timestamp with time zone" => ColumnType::Timestamptz,
            "time" | "time without time zone" => ColumnType::Time,
            "interval" => ColumnType::Interval,
            "json" => ColumnType::Json,
            "jsonb" => ColumnType::Jsonb,
            "bytea" => ColumnType::Bytea,
            b if b.ends_with(".citext") => ColumnType::Text,
            _ => ColumnType::Other,
        }
    }

    /// The SQL name used in error messages, like PostgreSQL's own.
    pub fn sql_name(self) -> &'static str {
        match self {
            ColumnType::Int2 => "smallint",
            ColumnType::Int4 => "integer",
            ColumnType::Int8 => "bigint",
            ColumnType::Numeric => "numeric",
            ColumnType::Float4 => "real",
            ColumnType::Float8 => "double precision",
            ColumnType::Bool => "boolean",
            ColumnType::Text => "text",
            ColumnType::Name => "name",
            ColumnType::Uuid => "uuid",
            ColumnType::Date => "date",
            ColumnType::Timestamp => "timestamp",
            ColumnType::Timestamptz => "timestamp with time zone",
            ColumnType::Time => "time",
            ColumnType::Interval => "interval",
            ColumnType::Json => "json",
            ColumnType::Jsonb => "jsonb",
            ColumnType::Bytea => "bytea",
            ColumnType::Other => "text",
        }
    }
}

/// A target column, as read from the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The column's name, unquoted.
    pub name: String,
    /// How values are converted.
    pub ty: ColumnType,
    /// The type as `format_type` prints it; used for casts of [`ColumnType::Other`].
    pub type_name: String,
    /// `NOT NULL`: a NULL is rejected client-side.
    pub not_null: bool,
    /// Has a default (matters only for columns left out of the load).
    pub has_default: bool,
}

impl Column {
    /// A nullable column without default whose type is mapped from `type_name`.
    pub fn new(name: impl Into<String>, type_name: impl Into<String>) -> Column {
        let type_name = type_name.into();
        Column {
            name: name.into(),
            ty: ColumnType::from_pg(&type_name),
            type_name,
            not_null: false,
            has_default: false,
        }
    }
}

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

// ---------------------------------------------------------------------------------------
// Encoded rows
// ---------------------------------------------------------------------------------------

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
        EncodedRows {
            buf: Vec::with_capacity(source_bytes + rows * (2 + 4 * ncols)),
            ends: Vec::with_capacity(rows),
            spans: Vec::with_capacity(rows * ncols),
            sources: Vec::with_capacity(rows),
            ..EncodedRows::default()
        }
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
                    let len_at = buf.len();
                    buf.extend_from_slice(&[0; 4]);
                    let start = buf.len();
                    encode_binary(col.ty, v, buf).map_err(|msg| FieldError { column: i, msg })?;
                    let len = buf.len() - start;
                    let len32 = i32::try_from(len).map_err(|_| FieldError {
                        column: i,
                        msg: String::from("value too large"),
                    })?;
                    buf[len_at..start].copy_from_slice(&len32.to_be_bytes());
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
                    // Validate with the binary encoder, then keep the original text.
                    let start = buf.len();
                    encode_binary(col.ty, v, buf).map_err(|msg| FieldError { column: i, msg })?;
                    buf.truncate(start);
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
        }),
    }
}

fn check_null(col: &Column, i: usize) -> Result<(), FieldError> {
    if col.not_null {
        Err(FieldError {
            column: i,
            msg: String::from("null value violates not-null constraint"),
        })
    } else {
        Ok(())
    }
}

/// Appends `v` escaped for COPY text format.
fn escape_copy_text(v: &[u8], buf: &mut Vec<u8>) {
    if !v
        .iter()
        .any(|&b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        buf.extend_from_slice(v);
        return;
    }
    for &b in v {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            _ => buf.push(b),
        }
    }
}

/// Appends COPY-text-escaped `v` unescaped (the inverse of [`escape_copy_text`]).
fn unescape_copy_text(v: &[u8], out: &mut BytesMut) {
    if !v.contains(&b'\\') {
        out.extend_from_slice(v);
        return;
    }
    let mut i = 0;
    while i < v.len() {
        let b = v[i];
        if b == b'\\' && i + 1 < v.len() {
            out.extend_from_slice(&[match v[i + 1] {
                b't' => b'\t',
                b'n' => b'\n',
                b'r' => b'\r',
                other => other,
            }]);
            i += 2;
        } else {
            out.extend_from_slice(&[b]);
            i += 1;
        }
    }
}

// ---------------------------------------------------------------------------------------
// COPY framing
// ---------------------------------------------------------------------------------------

/// Signature, flags and header-extension length of a COPY BINARY stream.
pub const COPY_BINARY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The end-of-data marker of a COPY BINARY stream (a field count of -1).
pub const COPY_BINARY_TRAILER: &[u8] = &[0xff, 0xff];

/// Writes the selected rows (indices in increasing order make the fastest writes) as one
/// complete COPY data stream: header, tuples and trailer for binary, lines for text.
/// Consecutive rows are written with a single `write_all`.
pub fn write_copy(
    rows: &EncodedRows,
    select: impl Iterator<Item = usize>,
    format: Format,
    w: &mut impl io::Write,
) -> io::Result<()> {
    if !rows.is_empty() && rows.format != format {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "rows were encoded in another COPY format",
        ));
    }
    if format == Format::Binary {
        w.write_all(COPY_BINARY_HEADER)?;
    }
    let mut run: Option<std::ops::Range<usize>> = None;
    for i in select {
        let r = rows.row_range(i);
        run = match run {
            Some(cur) if cur.end == r.start => Some(cur.start..r.end),
            Some(cur) => {
                w.write_all(&rows.buf[cur])?;
                Some(r)
            }
            None => Some(r),
        };
    }
    if let Some(cur) = run {
        w.write_all(&rows.buf[cur])?;
    }
    if format == Format::Binary {
        w.write_all(COPY_BINARY_TRAILER)?;
    }
    Ok(())
}

/// `COPY "s"."t" ("a","b") FROM STDIN ...` for rows encoded in `format`. Text format
/// uses no option at all, the default on PostgreSQL and CockroachDB alike.
pub fn copy_sql(table: &QualifiedName, columns: &[Column], format: Format) -> String {
    let mut s = format!("COPY {table} (");
    push_column_list(&mut s, columns.iter().map(|c| c.name.as_str()));
    s.push_str(") FROM STDIN");
    if format == Format::Binary {
        s.push_str(" (FORMAT binary)");
    }
    s
}

// ---------------------------------------------------------------------------------------
// INSERT transport
// ---------------------------------------------------------------------------------------

/// What an INSERT does with rows whose key already exists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Conflict {
    /// Plain INSERT: a duplicate key fails the chunk.
    #[default]
    None,
    /// PostgreSQL `ON CONFLICT (pk) DO UPDATE SET ... = excluded....`.
    UpsertPg {
        /// The conflict target: primary-key (or unique) column names, unquoted.
        pk: Vec<String>,
    },
    /// CockroachDB `UPSERT INTO`.
    UpsertCockroach,
}

/// A pre-encoded field bound as a statement parameter, straight from [`EncodedRows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawParam<'a> {
    bytes: Option<&'a [u8]>,
    format: Format,
}

impl<'a> RawParam<'a> {
    /// A parameter: binary value bytes, or COPY-escaped text; `None` is NULL.
    pub fn new(bytes: Option<&'a [u8]>, format: Format) -> RawParam<'a> {
        RawParam { bytes, format }
    }

    /// The stored bytes (`None` for NULL).
    pub fn bytes(&self) -> Option<&'a [u8]> {
        self.bytes
    }

    /// Whether the bytes are binary or escaped text.
    pub fn format(&self) -> Format {
        self.format
    }
}

impl ToSql for RawParam<'_> {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.bytes {
            None => Ok(IsNull::Yes),
            Some(b) => {
                match self.format {
                    Format::Binary => out.extend_from_slice(b),
                    Format::Text => unescape_copy_text(b, out),
                }
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_ty: &Type) -> bool {
        // The value was encoded for the column's own type, which is what the server
        // infers for the parameter.
        true
    }

    fn encode_format(&self, _ty: &Type) -> postgres::types::Format {
        match self.format {
            Format::Binary => postgres::types::Format::Binary,
            Format::Text => postgres::types::Format::Text,
        }
    }

    to_sql_checked!();
}

/// The parameters of the selected rows, row-major, matching [`insert_sql`]'s `$n`.
pub fn params<'a>(rows: &'a EncodedRows, select: &[usize]) -> Vec<RawParam<'a>> {
    let mut v = Vec::with_capacity(select.len() * rows.ncols);
    for &i in select {
        for c in 0..rows.ncols {
            v.push(RawParam::new(rows.field(i, c), rows.format));
        }
    }
    v
}

/// A multi-row `INSERT INTO "s"."t" ("a","b") VALUES ($1,$2),($3,$4)` for `rows` rows.
/// [`ColumnType::Other`] parameters get `$n::text::<type>` casts so they are bound as
/// text and converted by the server.
pub fn insert_sql(
    table: &QualifiedName,
    columns: &[Column],
    rows: usize,
    conflict: &Conflict,
) -> String {
    let verb = match conflict {
        Conflict::UpsertCockroach => "UPSERT",
        _ => "INSERT",
    };
    let mut s = String::with_capacity(64 + rows * columns.len() * 6);
    let _ = write!(s, "{verb} INTO {table} (");
    push_column_list(&mut s, columns.iter().map(|c| c.name.as_str()));
    s.push_str(") VALUES ");
    let mut n = 1usize;
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for (c, col) in columns.iter().enumerate() {
            if c > 0 {
                s.push(',');
            }
            let _ = write!(s, "${n}");
            if col.ty == ColumnType::Other {
                let _ = write!(s, "::text::{}", col.type_name);
            }
            n += 1;
        }
        s.push(')');
    }
    if let Conflict::UpsertPg { pk } = conflict {
        s.push_str(" ON CONFLICT (");
        push_column_list(&mut s, pk.iter().map(|p| p.as_str()));
        s.push(')');
        let mut first = true;
        for col in columns.iter().filter(|c| !pk.contains(&c.name)) {
            s.push_str(if first { " DO UPDATE SET " } else { ", " });
            first = false;
            let q = quote_ident(&col.name);
            let _ = write!(s, "{q} = excluded.{q}");
        }
        if first {
            s.push_str(" DO NOTHING");
        }
    }
    s
}

fn push_column_list<'a>(s: &mut String, names: impl Iterator<Item = &'a str>) {
    for (i, n) in names.enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&quote_ident(n));
    }
}

// ---------------------------------------------------------------------------------------
// Identifiers
// ---------------------------------------------------------------------------------------

/// Always double-quotes, doubling embedded quotes, so any name (reserved words, spaces,
/// capitals) is taken literally. NUL cannot occur in a SQL identifier and is dropped;
/// [`QualifiedName::parse`] rejects it up front.
pub fn quote_ident(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    s.push('"');
    for c in name.chars() {
        match c {
            '"' => s.push_str("\"\""),
            '\0' => {}
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// A table name with optional schema, as given by the user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QualifiedName {
    /// The schema, unquoted; `None` uses the search path.
    pub schema: Option<String>,
    /// The table, unquoted.
    pub name: String,
}

impl QualifiedName {
    /// Parses `table`, `schema.table`, `"my.schema"."Tab"` like SQL does: unquoted parts
    /// are folded to lower case, quoted parts are taken literally (`""` is a quote).
    pub fn parse(s: &str) -> crate::Result<QualifiedName> {
        let bad = |why: &str| Error::usage(format!("invalid table name {s:?}: {why}"));
        if s.contains('\0') {
            return Err(bad("contains a NUL byte"));
        }
        let mut parts = Vec::new();
        let mut it = s.trim().chars().peekable();
        loop {
            let mut part = String::new();
            if it.peek() == Some(&'"') {
                it.next();
                loop {
                    match it.next() {
                        Some('"') if it.peek() == Some(&'"') => {
                            it.next();
                            part.push('"');
                        }
                        Some('"') => break,
                        Some(c) => part.push(c),
                        None => return Err(bad("unterminated quoted identifier")),
                    }
                }
            } else {
                while let Some(&c) = it.peek() {
                    if c == '.' || c == '"' {
                        break;
                    }
                    if c.is_whitespace() {
                        return Err(bad("unquoted names cannot contain spaces"));
                    }
                    part.push(c.to_ascii_lowercase());
                    it.next();
                }
            }
            if part.is_empty() {
                return Err(bad("empty name part"));
            }
            parts.push(part);
            match it.next() {
                None => break,
                Some('.') => continue,
                Some(_) => return Err(bad("expected '.' between name parts")),
            }
        }
        match parts.len() {
            1 => Ok(QualifiedName {
                schema: None,
                name: parts.pop().unwrap_or_default(),
            }),
            2 => {
                let name = parts.pop().unwrap_or_default();
                Ok(QualifiedName {
                    schema: parts.pop(),
                    name,
                })
            }
            _ => Err(bad("use table or schema.table")),
        }
    }
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.schema {
            write!(f, "{}.", quote_ident(s))?;
        }
        f.write_str(&quote_ident(&self.name))
    }
}

// ---------------------------------------------------------------------------------------
// Value parsers: text → PostgreSQL binary
// ---------------------------------------------------------------------------------------

type Conv<T> = Result<T, String>;

fn syntax(ty: &str) -> String {
    format!("invalid input syntax for type {ty}")
}

fn range(ty: &str) -> String {
    format!("value out of range for type {ty}")
}

/// PostgreSQL's `isspace` set.
#[inline]
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

#[inline]
fn trim(v: &[u8]) -> &[u8] {
    let mut s = v;
    while let [first, rest @ ..] = s {
        if !is_space(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_space(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// Appends the binary value of `v` for a column of type `ty`.
fn encode_binary(ty: ColumnType, v: &[u8], buf: &mut Vec<u8>) -> Conv<()> {
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

fn check_text(v: &[u8]) -> Conv<&str> {
    // Plain ASCII without NUL, the common case, in one pass that vectorises (no early
    // exit); `from_utf8` plus a NUL search cost about three times as much on short fields.
    if v.iter()
        .fold(true, |ok, &b| ok & (b.wrapping_sub(1) < 0x7f))
    {
        // SAFETY: every byte is in 1..=127: ASCII, hence valid UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(v) });
    }
    let s = std::str::from_utf8(v).map_err(|e| {
        format!(
            "invalid byte sequence for encoding UTF8 at byte {}",
            e.valid_up_to()
        )
    })?;
    if v.contains(&0) {
        return Err(String::from(
            "invalid byte sequence for encoding UTF8: 0x00",
        ));
    }
    Ok(s)
}

fn check_json(v: &[u8], ty: &str) -> Conv<()> {
    check_text(v)?;
    serde_json::from_slice::<serde::de::IgnoredAny>(v)
        .map(|_| ())
        .map_err(|e| format!("invalid input syntax for type {ty}: {e}"))
}

/// jsonb cannot store `\u0000`; json (kept as text) can.
fn has_json_nul_escape(v: &[u8]) -> bool {
    let mut i = 0;
    while i + 6 <= v.len() {
        if v[i] == b'\\' {
            if &v[i + 1..i + 6] == b"u0000" {
                return true;
            }
            i += 2; // skip the escaped character, e.g. the second of `\\`
        } else {
            i += 1;
        }
    }
    false
}

fn parse_int(v: &[u8], min: i64, max: i64, ty: &str) -> Conv<i64> {
    let s = trim(v);
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return Err(syntax(ty));
    }
    let mut acc: u64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return Err(syntax(ty));
        }
        acc = match acc.checked_mul(10).and_then(|a| a.checked_add(d as u64)) {
            Some(a) => a,
            None => return Err(range(ty)),
        };
    }
    if neg {
        if acc > min.unsigned_abs() {
            return Err(range(ty));
        }
        Ok((acc as i64).wrapping_neg())
    } else {
        if acc > max as u64 {
            return Err(range(ty));
        }
        Ok(acc as i64)
    }
}

trait Float: std::str::FromStr + Copy {
    fn is_inf(self) -> bool;
    fn is_zero(self) -> bool;
}

impl Float for f32 {
    fn is_inf(self) -> bool {
        self.is_infinite()
    }
    fn is_zero(self) -> bool {
        self == 0.0
    }
}

impl Float for f64 {
    fn is_inf(self) -> bool {
        self.is_infinite()
    }
    fn is_zero(self) -> bool {
        self == 0.0
    }
}

fn parse_float<F: Float>(v: &[u8], ty: &str) -> Conv<F> {
    let s = trim(v);
    let st = std::str::from_utf8(s).map_err(|_| syntax(ty))?;
    let x: F = st.parse().map_err(|_| syntax(ty))?;
    let literal_special = s
        .iter()
        .any(|b| b.is_ascii_alphabetic() && !matches!(b, b'e' | b'E'));
    if x.is_inf() && !literal_special {
        return Err(format!("\"{st}\" is out of range for type {ty}"));
    }
    if x.is_zero() && !literal_special {
        let mantissa = s.split(|&b| b == b'e' || b == b'E').next().unwrap_or(&[]);
        if mantissa.iter().any(|b| (b'1'..=b'9').contains(b)) {
            return Err(format!("\"{st}\" is out of range for type {ty}"));
        }
    }
    Ok(x)
}

fn parse_bool(v: &[u8]) -> Conv<bool> {
    let s = trim(v);
    let prefix_of = |word: &[u8], min: usize| {
        s.len() >= min && s.len() <= word.len() && s.eq_ignore_ascii_case(&word[..s.len()])
    };
    let r = match s.first().map(u8::to_ascii_lowercase) {
        Some(b't') if prefix_of(b"true", 1) => Some(true),
        Some(b'f') if prefix_of(b"false", 1) => Some(false),
        Some(b'y') if prefix_of(b"yes", 1) => Some(true),
        Some(b'n') if prefix_of(b"no", 1) => Some(false),
        Some(b'o') if s.eq_ignore_ascii_case(b"on") => Some(true),
        Some(b'o') if prefix_of(b"off", 2) => Some(false),
        Some(b'1') if s.len() == 1 => Some(true),
        Some(b'0') if s.len() == 1 => Some(false),
        _ => None,
    };
    r.ok_or_else(|| syntax("boolean"))
}

/// Hex digit values; 0xFF marks a non-hex byte. A table keeps random hex free of
/// mispredicted branches.
static HEX: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

#[inline]
fn hex_val(b: u8) -> Option<u8> {
    let v = HEX[b as usize];
    (v != 0xFF).then_some(v)
}

/// Where the 16 byte pairs of a canonical `8-4-4-4-12` UUID start.
const UUID_PAIRS: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/// The canonical hyphenated form, branch-free: the common case, several times faster
/// than the general parser. `None` sends anything else to it.
#[inline]
fn parse_uuid_canonical(v: &[u8]) -> Option<[u8; 16]> {
    if v.len() != 36 || v[8] != b'-' || v[13] != b'-' || v[18] != b'-' || v[23] != b'-' {
        return None;
    }
    let mut out = [0u8; 16];
    let mut bad = 0u8;
    for (o, &p) in out.iter_mut().zip(UUID_PAIRS.iter()) {
        let (hi, lo) = (HEX[v[p] as usize], HEX[v[p + 1] as usize]);
        bad |= hi | lo;
        *o = hi << 4 | lo;
    }
    (bad & 0xf0 == 0).then_some(out)
}

/// PostgreSQL's `string_to_uuid`: optional braces, a hyphen allowed after any group of
/// four hex digits, no whitespace.
fn parse_uuid(v: &[u8]) -> Conv<[u8; 16]> {
    if let Some(out) = parse_uuid_canonical(v) {
        return Ok(out);
    }
    let err = || syntax("uuid");
    let mut s = v;
    let braces = s.first() == Some(&b'{');
    if braces {
        s = &s[1..];
    }
    let mut out = [0u8; 16];
    let mut p = 0;
    for (i, o) in out.iter_mut().enumerate() {
        let hi = s.get(p).copied().and_then(hex_val).ok_or_else(err)?;
        let lo = s.get(p + 1).copied().and_then(hex_val).ok_or_else(err)?;
        *o = hi << 4 | lo;
        p += 2;
        if s.get(p) == Some(&b'-') && i % 2 == 1 && i < 15 {
            p += 1;
        }
    }
    if braces {
        if s.get(p) != Some(&b'}') {
            return Err(err());
        }
        p += 1;
    }
    if p != s.len() {
        return Err(err());
    }
    Ok(out)
}

// --- numeric ----------------------------------------------------------------------------

const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;
const NUMERIC_PINF: u16 = 0xD000;
const NUMERIC_NINF: u16 = 0xF000;
const NUMERIC_DSCALE_MAX: i64 = 0x3FFF;

fn numeric_header(buf: &mut Vec<u8>, ndigits: i16, weight: i16, sign: u16, dscale: u16) {
    buf.extend_from_slice(&ndigits.to_be_bytes());
    buf.extend_from_slice(&weight.to_be_bytes());
    buf.extend_from_slice(&sign.to_be_bytes());
    buf.extend_from_slice(&dscale.to_be_bytes());
}

/// PostgreSQL's `numeric_in` + `numeric_send`: base-10000 digits without leading or
/// trailing zero groups, the weight of the first group, and the display scale as
/// written (trailing zeros count; an exponent shifts it).
fn encode_numeric(v: &[u8], buf: &mut Vec<u8>) -> Conv<()> {
    let s = trim(v);
    let err = || syntax("numeric");
    if s.eq_ignore_ascii_case(b"nan") {
        numeric_header(buf, 0, 0, NUMERIC_NAN, 0);
        return Ok(());
    }
    let (neg, body) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.eq_ignore_ascii_case(b"infinity") || body.eq_ignore_ascii_case(b"inf") {
        numeric_header(buf, 0, 0, if neg { NUMERIC_NINF } else { NUMERIC_PINF }, 0);
        return Ok(());
    }
    let mut i = 0;
    while i < body.len() && body[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = &body[..i];
    let mut frac_digits: &[u8] = &[];
    if i < body.len() && body[i] == b'.' {
        i += 1;
        let f0 = i;
        while i < body.len() && body[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = &body[f0..i];
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return Err(err());
    }
    let mut exp: i64 = 0;
    if i < body.len() && (body[i] == b'e' || body[i] == b'E') {
        i += 1;
        let eneg = match body.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let e0 = i;
        while i < body.len() && body[i].is_ascii_digit() {
            // Saturate: absurd exponents end in an overflow error below.
            exp = (exp * 10 + (body[i] - b'0') as i64).min(1 << 40);
            i += 1;
        }
        if i == e0 {
            return Err(err());
        }
        if eneg {
            exp = -exp;
        }
    }
    if i != body.len() {
        return Err(err());
    }
    let overflow = || String::from("value overflows numeric format");
    let dscale = (frac_digits.len() as i64 - exp).max(0);
    if dscale > NUMERIC_DSCALE_MAX {
        return Err(overflow());
    }
    let n = int_digits.len() + frac_digits.len();
    let digit = |k: usize| -> u16 {
        let c = if k < int_digits.len() {
            int_digits[k]
        } else {
            frac_digits[k - int_digits.len()]
        };
        (c - b'0') as u16
    };
    let first = (0..n).find(|&k| digit(k) != 0);
    let Some(first) = first else {
        numeric_header(buf, 0, 0, NUMERIC_POS, dscale as u16);
        return Ok(());
    };
    let last = (0..n).rev().find(|&k| digit(k) != 0).unwrap_or(first);
    // Decimal exponent of digit k is dweight - k.
    let dweight = int_digits.len() as i64 - 1 + exp;
    let weight = (dweight - first as i64).div_euclid(4);
    let last_group = (dweight - last as i64).div_euclid(4);
    if weight > i16::MAX as i64 || weight < i16::MIN as i64 {
        return Err(overflow());
    }
    let ndigits = weight - last_group + 1;
    if ndigits > i16::MAX as i64 {
        return Err(overflow());
    }
    numeric_header(
        buf,
        ndigits as i16,
        weight as i16,
        if neg { NUMERIC_NEG } else { NUMERIC_POS },
        dscale as u16,
    );
    const POW10: [u16; 4] = [1, 10, 100, 1000];
    let mut group = weight;
    let mut acc: u16 = 0;
    for k in first..=last {
        let e = dweight - k as i64;
        let g = e.div_euclid(4);
        while group > g {
            buf.extend_from_slice(&acc.to_be_bytes());
            acc = 0;
            group -= 1;
        }
        acc += digit(k) * POW10[e.rem_euclid(4) as usize];
    }
    buf.extend_from_slice(&acc.to_be_bytes());
    Ok(())
}

// --- dates and times --------------------------------------------------------------------

const USECS_PER_SEC: i64 = 1_000_000;
const USECS_PER_MINUTE: i64 = 60 * USECS_PER_SEC;
const USECS_PER_HOUR: i64 = 60 * USECS_PER_MINUTE;
const USECS_PER_DAY: i64 = 24 * USECS_PER_HOUR;
const POSTGRES_EPOCH_JDATE: i64 = 2_451_545;
/// Julian day 0 is the first valid date; dates end before this Julian day.
const DATE_END_JULIAN: i64 = 2_147_483_494;
const MIN_TIMESTAMP: i64 = -211_813_488_000_000_000;
const END_TIMESTAMP: i64 = 9_223_371_331_200_000_000;

/// PostgreSQL's `date2j`: Julian day of a proleptic Gregorian date (astronomical year).
fn date2j(y: i64, m: i64, d: i64) -> i64 {
    let (y, m) = if m > 2 {
        (y + 4800, m + 1)
    } else {
        (y + 4799, m + 13)
    };
    let century = y / 100;
    let mut julian = y * 365 - 32167;
    julian += y / 4 - century + century / 4;
    julian += 7834 * m / 256 + d;
    julian
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A cursor over ASCII date/time text.
struct Cur<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cur<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) -> bool {
        let start = self.i;
        while self.peek().is_some_and(is_space) {
            self.i += 1;
        }
        self.i > start
    }

    /// A run of 1..=max digits.
    fn number(&mut self, max: usize) -> Option<(i64, usize)> {
        let start = self.i;
        let mut v: i64 = 0;
        while let Some(c) = self.peek() {
            if !c.is_ascii_digit() || self.i - start == max {
                break;
            }
            v = v * 10 + (c - b'0') as i64;
            self.i += 1;
        }
        let n = self.i - start;
        (n > 0).then_some((v, n))
    }

    /// A case-insensitive word followed by the end, whitespace or a sign.
    fn word(&mut self, w: &[u8]) -> bool {
        let end = self.i + w.len();
        if end <= self.s.len()
            && self.s[self.i..end].eq_ignore_ascii_case(w)
            && self.s.get(end).is_none_or(|&c| !c.is_ascii_alphanumeric())
        {
            self.i = end;
            true
        } else {
            false
        }
    }

    fn at_end(&self) -> bool {
        self.i == self.s.len()
    }
}

/// Rounds a fraction of a second (the digits after the point) to microseconds like
/// PostgreSQL's `rint(strtod(frac) * 1e6)`.
fn fraction_usecs(digits: &[u8]) -> i64 {
    if digits.len() <= 6 {
        let mut v = 0i64;
        for (k, &d) in digits.iter().enumerate() {
            v += (d - b'0') as i64 * 10i64.pow(5 - k as u32);
        }
        v
    } else {
        // Parse "0.ddd..." as a double, exactly like strtod does.
        let mut tmp = String::with_capacity(digits.len() + 2);
        tmp.push_str("0.");
        tmp.extend(digits.iter().map(|&d| d as char));
        let f: f64 = tmp.parse().unwrap_or(0.0);
        (f * 1e6).round_ties_even() as i64
    }
}

/// `YYYY-MM-DD` or `YYYY/MM/DD` (year of 3 to 7 digits, month and day of 1 or 2).
fn parse_ymd(c: &mut Cur<'_>) -> Option<(i64, i64, i64)> {
    let (y, yn) = c.number(7)?;
    let delim = c.peek()?;
    if yn < 3 || !(delim == b'-' || delim == b'/') {
        return None;
    }
    c.i += 1;
    let (m, _) = c.number(2)?;
    if !c.eat(delim) {
        return None;
    }
    let (d, _) = c.number(2)?;
    if c.peek().is_some_and(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((y, m, d))
}

/// A month name or its three-letter (or `sept`) abbreviation.
fn parse_month_name(c: &mut Cur<'_>) -> Option<i64> {
    const MONTHS: [&[u8]; 12] = [
        b"january",
        b"february",
        b"march",
        b"april",
        b"may",
        b"june",
        b"july",
        b"august",
        b"september",
        b"october",
        b"november",
        b"december",
    ];
    let start = c.i;
    while c.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
        c.i += 1;
    }
    let w = &c.s[start..c.i];
    let found = MONTHS.iter().position(|m| {
        w.len() >= 3
            && w.len() <= m.len()
            && (w.len() == 3 || w.len() == m.len() || w.eq_ignore_ascii_case(b"sept"))
            && m[..w.len()].eq_ignore_ascii_case(w)
    });
    match found {
        Some(k) => Some(k as i64 + 1),
        None => {
            c.i = start;
            None
        }
    }
}

/// A separator between date fields of the spelled-out forms: spaces, `-`, `/` or `,`.
fn date_sep(c: &mut Cur<'_>) -> bool {
    let start = c.i;
    c.eat(b',');
    c.skip_ws();
    if c.i == start {
        c.eat(b'-') || c.eat(b'/')
    } else {
        true
    }
}

/// The date part of a date or timestamp in the spellings PostgreSQL accepts under
/// `DateStyle = 'ISO, MDY'` (its default; the loader sets it on its sessions so text
/// sent to the server reads the same): `Y-M-D`, `Y/M/D`, `YYYYMMDD`, `M/D/YYYY`,
/// `M-D-YYYY`, and month names (`Jan 31 2024`, `January 31, 2024`, `31 Jan 2024`,
/// `2024-Jan-31`, `31-Jan-2024`). The year must have 3 or more digits where the order
/// is not fixed by ISO, so nothing depends on a two-digit-year rule.
fn parse_date_fields(c: &mut Cur<'_>) -> Option<(i64, i64, i64)> {
    let start = c.i;
    if let Some(r) = parse_ymd(c) {
        return Some(r);
    }
    c.i = start;
    let end_of_number = |c: &Cur<'_>| !c.peek().is_some_and(|b| b.is_ascii_digit());
    // YYYYMMDD: like PostgreSQL, the last four digits are month and day, the rest the
    // year (7 digits and more; 6 would be a two-digit year).
    if let Some((v, n)) = c.number(11) {
        if n >= 7 && end_of_number(c) {
            return Some((v / 10_000, v / 100 % 100, v % 100));
        }
    }
    c.i = start;
    // M/D/YYYY, M-D-YYYY, M.D.YYYY
    if let Some((m, _)) = c.number(2) {
        if let Some(delim) = c.peek().filter(|b| matches!(b, b'/' | b'-' | b'.')) {
            c.i += 1;
            if let Some((d, _)) = c.number(2) {
                if c.eat(delim) {
                    if let Some((y, yn)) = c.number(7) {
                        if yn >= 3 && end_of_number(c) {
                            return Some((y, m, d));
                        }
                    }
                }
            }
        }
    }
    c.i = start;
    // Mon D[,] YYYY
    if let Some(m) = parse_month_name(c) {
        if date_sep(c) {
            if let Some((d, _)) = c.number(2) {
                if date_sep(c) {
                    if let Some((y, yn)) = c.number(7) {
                        if yn >= 3 && end_of_number(c) {
                            return Some((y, m, d));
                        }
                    }
                }
            }
        }
    }
    c.i = start;
    // D Mon YYYY, D-Mon-YYYY, YYYY-Mon-D, YYYY Mon D
    if let Some((a, an)) = c.number(7) {
        if date_sep(c) {
            if let Some(m) = parse_month_name(c) {
                if date_sep(c) {
                    if let Some((b, bn)) = c.number(7) {
                        if end_of_number(c) {
                            if an <= 2 && bn >= 3 {
                                return Some((b, m, a));
                            }
                            if an >= 3 && bn <= 2 {
                                return Some((a, m, b));
                            }
                        }
                    }
                }
            }
        }
    }
    c.i = start;
    None
}

/// An optional `AM`/`PM` after a clock time that began at `clock_start`, applied like
/// PostgreSQL's `DecodeDateTime`: the hour as written must be 0 to 12.
fn parse_meridiem(c: &mut Cur<'_>, clock_start: usize, t: i64) -> Result<i64, DtErr> {
    let save = c.i;
    c.skip_ws();
    let pm = if c.word(b"am") || c.word(b"a.m.") {
        false
    } else if c.word(b"pm") || c.word(b"p.m.") {
        true
    } else {
        c.i = save;
        return Ok(t);
    };
    let hour = Cur {
        s: c.s,
        i: clock_start,
    }
    .number(2)
    .map_or(0, |(h, _)| h);
    if hour > 12 {
        return Err(DtErr::Field);
    }
    let half = 12 * USECS_PER_HOUR;
    Ok(match (pm, hour == 12) {
        (false, true) => t - half,
        (true, false) => t + half,
        _ => t,
    })
}

/// Optional ` BC`/` AD` suffix.
fn parse_era(c: &mut Cur<'_>) -> Option<bool> {
    let save = c.i;
    c.skip_ws();
    if c.word(b"bc") {
        Some(true)
    } else if c.word(b"ad") {
        Some(false)
    } else {
        c.i = save;
        None
    }
}

/// Validates y-m-d (with era) and returns the Julian day.
fn julian(y: i64, m: i64, d: i64, bc: bool) -> Result<i64, DtErr> {
    if y == 0 || !(1..=12).contains(&m) || d < 1 {
        return Err(DtErr::Field);
    }
    let y = if bc { 1 - y } else { y };
    if d > days_in_month(y, m) {
        return Err(DtErr::Field);
    }
    // IS_VALID_JULIAN
    if y < -4713 || (y == -4713 && m < 11) || y > 5_874_898 || (y == 5_874_898 && m >= 6) {
        return Err(DtErr::Range);
    }
    Ok(date2j(y, m, d))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DtErr {
    Syntax,
    Field,
    Range,
    Zone,
}

fn dt_msg(e: DtErr, ty: &str) -> String {
    match e {
        DtErr::Syntax => syntax(ty),
        DtErr::Field => String::from("date/time field value out of range"),
        DtErr::Range => format!("{ty} out of range"),
        DtErr::Zone => String::from(
            "time zone displacement out of range, or a zone name other than Z, UTC or GMT",
        ),
    }
}

fn special_day(s: &[u8]) -> Option<i8> {
    if s.eq_ignore_ascii_case(b"infinity") {
        Some(1)
    } else if s.eq_ignore_ascii_case(b"-infinity") {
        Some(-1)
    } else if s.eq_ignore_ascii_case(b"epoch") {
        Some(0)
    } else {
        None
    }
}

fn parse_date(v: &[u8]) -> Conv<i32> {
    let s = trim(v);
    match special_day(s) {
        Some(1) => return Ok(i32::MAX),
        Some(-1) => return Ok(i32::MIN),
        Some(_) => return Ok((date2j(1970, 1, 1) - POSTGRES_EPOCH_JDATE) as i32),
        None => {}
    }
    let mut c = Cur { s, i: 0 };
    let (y, m, d) = parse_date_fields(&mut c).ok_or_else(|| syntax("date"))?;
    let mut bc = parse_era(&mut c).unwrap_or(false);
    if !c.at_end() {
        // A timestamp's text: PostgreSQL keeps the date and drops time and zone.
        let sep = c.eat(b'T') || c.eat(b't') || c.skip_ws();
        if !(sep && c.peek().is_some_and(|b| b.is_ascii_digit())) {
            return Err(syntax("date"));
        }
        let clock_start = c.i;
        let t = parse_clock(&mut c).map_err(|e| dt_msg(e, "date"))?;
        parse_meridiem(&mut c, clock_start, t).map_err(|e| dt_msg(e, "date"))?;
        parse_zone(&mut c).map_err(|e| dt_msg(e, "date"))?;
        bc |= parse_era(&mut c).unwrap_or(false);
        if !c.at_end() {
            return Err(syntax("date"));
        }
    }
    let j = julian(y, m, d, bc).map_err(|e| dt_msg(e, "date"))?;
    if !(0..DATE_END_JULIAN).contains(&j) {
        return Err(dt_msg(DtErr::Range, "date"));
    }
    Ok((j - POSTGRES_EPOCH_JDATE) as i32)
}

/// `H[H]:M[M][:S[S][.fff]]` → microseconds since midnight (hour up to 24, seconds up to
/// 60 like PostgreSQL; the total may not pass 24:00:00).
fn parse_clock(c: &mut Cur<'_>) -> Result<i64, DtErr> {
    let (h, _) = c.number(2).ok_or(DtErr::Syntax)?;
    if !c.eat(b':') {
        return Err(DtErr::Syntax);
    }
    let (mi, _) = c.number(2).ok_or(DtErr::Syntax)?;
    let mut sec = 0;
    let mut fsec = 0;
    if c.eat(b':') {
        sec = c.number(2).ok_or(DtErr::Syntax)?.0;
        if c.eat(b'.') {
            let start = c.i;
            while c.peek().is_some_and(|b| b.is_ascii_digit()) {
                c.i += 1;
            }
            fsec = fraction_usecs(&c.s[start..c.i]);
        }
    }
    if c.peek()
        .is_some_and(|b| b.is_ascii_digit() || b == b':' || b == b'.')
    {
        return Err(DtErr::Syntax);
    }
    if mi > 59 || sec > 60 || h > 24 || (h == 24 && (mi > 0 || sec > 0 || fsec > 0)) {
        return Err(DtErr::Field);
    }
    let t = ((h * 60 + mi) * 60 + sec) * USECS_PER_SEC + fsec;
    if t > USECS_PER_DAY {
        return Err(DtErr::Field);
    }
    Ok(t)
}

/// An optional zone: `Z`, `UTC`, `GMT`, `+HH`, `+HHMM`, `+HH:MM[:SS]` (PostgreSQL's
/// `DecodeTimezone` rules). Returns seconds east of UTC.
fn parse_zone(c: &mut Cur<'_>) -> Result<Option<i64>, DtErr> {
    let save = c.i;
    c.skip_ws();
    if c.word(b"z") || c.word(b"utc") || c.word(b"gmt") {
        return Ok(Some(0));
    }
    let neg = match c.peek() {
        Some(b'+') => false,
        Some(b'-') => true,
        _ => {
            c.i = save;
            return Ok(None);
        }
    };
    c.i += 1;
    let start = c.i;
    let (mut hr, n) = c.number(9).ok_or(DtErr::Syntax)?;
    let mut min = 0;
    let mut sec = 0;
    if c.eat(b':') {
        min = c.number(9).ok_or(DtErr::Syntax)?.0;
        if c.eat(b':') {
            sec = c.number(9).ok_or(DtErr::Syntax)?.0;
        }
    } else if n > 2 {
        min = hr % 100;
        hr /= 100;
    }
    if c.peek()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b':' || b == b'.')
    {
        return Err(DtErr::Syntax);
    }
    debug_assert!(c.i > start);
    if hr > 15 || min >= 60 || sec >= 60 {
        return Err(DtErr::Zone);
    }
    let tz = (hr * 60 + min) * 60 + sec;
    Ok(Some(if neg { -tz } else { tz }))
}

/// Unknown zone names (letters where a zone could be) get their own message.
fn zone_name_follows(c: &Cur<'_>) -> bool {
    let mut k = c.i;
    while c.s.get(k).copied().is_some_and(is_space) {
        k += 1;
    }
    c.s.get(k).is_some_and(|b| b.is_ascii_alphabetic())
}

fn parse_timestamp(v: &[u8], with_tz: bool) -> Conv<i64> {
    let ty = if with_tz {
        "timestamp with time zone"
    } else {
        "timestamp"
    };
    let s = trim(v);
    match special_day(s) {
        Some(1) => return Ok(i64::MAX),
        Some(-1) => return Ok(i64::MIN),
        Some(_) => return Ok(-(POSTGRES_EPOCH_JDATE - date2j(1970, 1, 1)) * USECS_PER_DAY),
        None => {}
    }
    let r = (|| {
        let mut c = Cur { s, i: 0 };
        let (y, m, d) = parse_date_fields(&mut c).ok_or(DtErr::Syntax)?;
        let mut time = 0;
        let save = c.i;
        let sep = c.eat(b'T') || c.eat(b't') || c.skip_ws();
        if sep && c.peek().is_some_and(|b| b.is_ascii_digit()) {
            let clock_start = c.i;
            time = parse_clock(&mut c)?;
            time = parse_meridiem(&mut c, clock_start, time)?;
        } else {
            c.i = save;
        }
        let zone = parse_zone(&mut c)?;
        let bc = parse_era(&mut c).unwrap_or(false);
        if !c.at_end() {
            return Err(if zone.is_none() && zone_name_follows(&c) {
                DtErr::Zone
            } else {
                DtErr::Syntax
            });
        }
        let j = julian(y, m, d, bc)?;
        let mut t = (j - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY + time;
        if with_tz {
            // No zone means UTC (the loader's session time zone).
            t -= zone.unwrap_or(0) * USECS_PER_SEC;
        }
        if !(MIN_TIMESTAMP..END_TIMESTAMP).contains(&t) {
            return Err(DtErr::Range);
        }
        Ok(t)
    })();
    r.map_err(|e| dt_msg(e, ty))
}

fn parse_time(v: &[u8]) -> Conv<i64> {
    let s = trim(v);
    let r = (|| {
        let mut c = Cur { s, i: 0 };
        let clock_start = c.i;
        let t = parse_clock(&mut c)?;
        let t = parse_meridiem(&mut c, clock_start, t)?;
        // time without time zone validates and ignores a zone.
        let zone = parse_zone(&mut c)?;
        if !c.at_end() {
            return Err(if zone.is_none() && zone_name_follows(&c) {
                DtErr::Zone
            } else {
                DtErr::Syntax
            });
        }
        Ok(t)
    })();
    r.map_err(|e| dt_msg(e, "time"))
}

// --- interval ---------------------------------------------------------------------------

/// Fields being accumulated, like PostgreSQL 15's `pg_itm_in`.
#[derive(Default)]
struct Itm {
    usec: i64,
    mday: i32,
    mon: i32,
    year: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// No unit seen yet: a bare number means seconds.
    Ignore,
    /// After `ago`: a number here is an error.
    Invalid,
    Micro,
    Milli,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
    Decade,
    Century,
    Millennium,
}

const M_MICRO: u32 = 1;
const M_MILLI: u32 = 2;
const M_SECOND: u32 = 4;
const M_MINUTE: u32 = 8;
const M_HOUR: u32 = 16;
const M_DAY: u32 = 32;
const M_WEEK: u32 = 64;
const M_MONTH: u32 = 128;
const M_YEAR: u32 = 256;
const M_DECADE: u32 = 512;
const M_CENTURY: u32 = 1024;
const M_MILLENNIUM: u32 = 2048;
const M_ALL_SECS: u32 = M_MICRO | M_MILLI | M_SECOND;
const M_TIME: u32 = M_ALL_SECS | M_MINUTE | M_HOUR;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IvErr {
    Bad,
    Overflow,
}

type IvResult<T> = Result<T, IvErr>;

fn ck<T>(o: Option<T>) -> IvResult<T> {
    o.ok_or(IvErr::Overflow)
}

impl Itm {
    fn fract_usecs(&mut self, frac: f64, scale: i64) -> IvResult<()> {
        if frac == 0.0 {
            return Ok(());
        }
        let frac = frac * scale as f64;
        let mut usec = frac as i64;
        let rest = frac - usec as f64;
        if rest > 0.5 {
            usec += 1;
        } else if rest < -0.5 {
            usec -= 1;
        }
        self.usec = ck(self.usec.checked_add(usec))?;
        Ok(())
    }

    fn usecs(&mut self, val: i64, frac: f64, scale: i64) -> IvResult<()> {
        self.usec = ck(val
            .checked_mul(scale)
            .and_then(|p| self.usec.checked_add(p)))?;
        self.fract_usecs(frac, scale)
    }

    fn fract_days(&mut self, frac: f64, scale: i32) -> IvResult<()> {
        if frac == 0.0 {
            return Ok(());
        }
        let frac = frac * scale as f64;
        let extra = frac as i32;
        self.mday = ck(self.mday.checked_add(extra))?;
        self.fract_usecs(frac - extra as f64, USECS_PER_DAY)
    }

    fn days(&mut self, val: i64, scale: i32) -> IvResult<()> {
        let v = ck(i32::try_from(val).ok())?;
        self.mday = ck(v.checked_mul(scale).and_then(|d| self.mday.checked_add(d)))?;
        Ok(())
    }

    fn months(&mut self, val: i64) -> IvResult<()> {
        let v = ck(i32::try_from(val).ok())?;
        self.mon = ck(self.mon.checked_add(v))?;
        Ok(())
    }

    fn years(&mut self, val: i64, scale: i32) -> IvResult<()> {
        let v = ck(i32::try_from(val).ok())?;
        self.year = ck(v.checked_mul(scale).and_then(|y| self.year.checked_add(y)))?;
        Ok(())
    }

    fn fract_years(&mut self, frac: f64, scale: i32) -> IvResult<()> {
        let extra = (frac * scale as f64 * 12.0).round_ties_even() as i32;
        self.mon = ck(self.mon.checked_add(extra))?;
        Ok(())
    }

    fn apply(&mut self, unit: Unit, val: i64, fval: f64) -> IvResult<u32> {
        Ok(match unit {
            Unit::Micro | Unit::Milli | Unit::Minute | Unit::Hour => {
                let (scale, mask) = match unit {
                    Unit::Micro => (1, M_MICRO),
                    Unit::Milli => (1000, M_MILLI),
                    Unit::Minute => (USECS_PER_MINUTE, M_MINUTE),
                    _ => (USECS_PER_HOUR, M_HOUR),
                };
                self.usecs(val, fval, scale)?;
                mask
            }
            Unit::Second | Unit::Ignore => {
                self.usecs(val, fval, USECS_PER_SEC)?;
                if fval == 0.0 {
                    M_SECOND
                } else {
                    M_ALL_SECS
                }
            }
            Unit::Day => {
                self.days(val, 1)?;
                self.fract_usecs(fval, USECS_PER_DAY)?;
                M_DAY
            }
            Unit::Week => {
                self.days(val, 7)?;
                self.fract_days(fval, 7)?;
                M_WEEK
            }
            Unit::Month => {
                self.months(val)?;
                self.fract_days(fval, 30)?;
                M_MONTH
            }
            Unit::Year | Unit::Decade | Unit::Century | Unit::Millennium => {
                let (scale, mask) = match unit {
                    Unit::Year => (1, M_YEAR),
                    Unit::Decade => (10, M_DECADE),
                    Unit::Century => (100, M_CENTURY),
                    _ => (1000, M_MILLENNIUM),
                };
                self.years(val, scale)?;
                self.fract_years(fval, scale)?;
                mask
            }
            Unit::Invalid => return Err(IvErr::Bad),
        })
    }

    fn finish(self) -> IvResult<(i64, i32, i32)> {
        let months = ck(self
            .year
            .checked_mul(12)
            .and_then(|y| y.checked_add(self.mon)))?;
        Ok((self.usec, self.mday, months))
    }
}

/// `interval` input: PostgreSQL's own style (`1 day 02:03:04`, `3 hours`, `@ 1 hour ago`,
/// `1-2` years-months), and ISO 8601 designators (`P1Y2M3DT4H5M6S`). Returns
/// (microseconds, days, months), the binary layout.
fn parse_interval(v: &[u8]) -> Conv<(i64, i32, i32)> {
    let r = match parse_interval_pg(v) {
        Err(IvErr::Bad) if v.first() == Some(&b'P') => parse_interval_iso(v),
        r => r,
    };
    r.map_err(|e| match e {
        IvErr::Bad => syntax("interval"),
        IvErr::Overflow => String::from("interval field value out of range"),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    /// A number, possibly with a fraction or a `-months` part.
    Num,
    /// `h:m[:s[.f]]`.
    Time,
    /// Signed: a number or a time.
    Signed,
    /// Letters.
    Word,
}

const MAX_FIELDS: usize = 25;

fn parse_interval_pg(v: &[u8]) -> IvResult<(i64, i32, i32)> {
    // Tokenize like ParseDateTime: (kind, negative, start, end).
    let mut toks = [(Tok::Num, false, 0usize, 0usize); MAX_FIELDS];
    let mut nf = 0;
    let n = v.len();
    let mut i = 0;
    while i < n {
        let c = v[i];
        if is_space(c) {
            i += 1;
            continue;
        }
        let mut neg = false;
        let kind;
        let start;
        if c.is_ascii_digit() {
            start = i;
            while i < n && v[i].is_ascii_digit() {
                i += 1;
            }
            if i < n && v[i] == b':' {
                kind = Tok::Time;
                while i < n && (v[i].is_ascii_digit() || v[i] == b':' || v[i] == b'.') {
                    i += 1;
                }
            } else if i < n && matches!(v[i], b'-' | b'/' | b'.') {
                let delim = v[i];
                i += 1;
                if i < n && v[i].is_ascii_digit() {
                    while i < n && (v[i].is_ascii_digit() || v[i] == delim) {
                        i += 1;
                    }
                } else {
                    while i < n && (v[i].is_ascii_alphanumeric() || v[i] == delim) {
                        i += 1;
                    }
                }
                kind = Tok::Num;
            } else {
                kind = Tok::Num;
            }
        } else if c == b'.' {
            start = i;
            i += 1;
            while i < n && v[i].is_ascii_digit() {
                i += 1;
            }
            kind = Tok::Num;
        } else if c.is_ascii_alphabetic() {
            start = i;
            while i < n && v[i].is_ascii_alphabetic() {
                i += 1;
            }
            if i < n && (matches!(v[i], b'-' | b'/' | b'.' | b'+') || v[i].is_ascii_digit()) {
                return Err(IvErr::Bad);
            }
            kind = Tok::Word;
        } else if c == b'+' || c == b'-' {
            neg = c == b'-';
            i += 1;
            while i < n && is_space(v[i]) {
                i += 1;
            }
            if !(i < n && v[i].is_ascii_digit()) {
                return Err(IvErr::Bad);
            }
            start = i;
            while i < n && (v[i].is_ascii_digit() || matches!(v[i], b':' | b'.' | b'-')) {
                i += 1;
            }
            kind = Tok::Signed;
        } else if c.is_ascii_punctuation() {
            // '@' and other punctuation are ignored.
            i += 1;
            continue;
        } else {
            return Err(IvErr::Bad);
        }
        if nf == MAX_FIELDS {
            return Err(IvErr::Bad);
        }
        toks[nf] = (kind, neg, start, i);
        nf += 1;
    }

    let mut itm = Itm::default();
    let mut unit = Unit::Ignore;
    let mut fmask = 0u32;
    let mut is_before = false;
    for &(kind, neg, start, end) in toks[..nf].iter().rev() {
        let f = &v[start..end];
        let tmask;
        let is_time = match kind {
            Tok::Time => true,
            Tok::Signed => f.contains(&b':'),
            _ => false,
        };
        if kind == Tok::Word {
            match interval_unit(f) {
                Some(Some(u)) => unit = u,
                Some(None) => {
                    is_before = true;
                    unit = Unit::Invalid;
                }
                None => return Err(IvErr::Bad),
            }
            tmask = 0;
        } else if is_time && time_for_interval(f, &mut itm).is_ok() {
            if neg {
                itm.usec = ck(itm.usec.checked_neg())?;
            }
            tmask = M_TIME;
            unit = Unit::Day;
        } else if kind == Tok::Time {
            return Err(time_for_interval(f, &mut itm).err().unwrap_or(IvErr::Bad));
        } else {
            // A number: integer part, then a fraction or "-months".
            let mut k = 0;
            while k < f.len() && f[k].is_ascii_digit() {
                k += 1;
            }
            let mut val: i64 = 0;
            for &d in &f[..k] {
                val = ck(val
                    .checked_mul(10)
                    .and_then(|x| x.checked_add((d - b'0') as i64)))?;
            }
            if neg {
                val = -val;
            }
            let mut fval = 0.0;
            let rest = &f[k..];
            if let Some(months) = rest.strip_prefix(b"-") {
                if months.is_empty() || !months.iter().all(u8::is_ascii_digit) {
                    return Err(IvErr::Bad);
                }
                let m: i64 = std::str::from_utf8(months)
                    .ok()
                    .and_then(|m| m.parse().ok())
                    .ok_or(IvErr::Overflow)?;
                if m >= 12 {
                    return Err(IvErr::Overflow);
                }
                unit = Unit::Month;
                val = ck(val
                    .checked_mul(12)
                    .and_then(|x| x.checked_add(if neg { -m } else { m })))?;
            } else if rest.first() == Some(&b'.') {
                if rest.len() > 1 {
                    fval = std::str::from_utf8(rest)
                        .ok()
                        .and_then(|r| r.parse::<f64>().ok())
                        .ok_or(IvErr::Bad)?;
                }
                if neg {
                    fval = -fval;
                }
            } else if !rest.is_empty() || k == 0 {
                return Err(IvErr::Bad);
            }
            tmask = itm.apply(unit, val, fval)?;
            if unit == Unit::Hour {
                unit = Unit::Day;
            }
        }
        if tmask & fmask != 0 {
            return Err(IvErr::Bad);
        }
        fmask |= tmask;
    }
    if fmask == 0 {
        return Err(IvErr::Bad);
    }
    if is_before {
        itm.usec = ck(itm.usec.checked_neg())?;
        itm.mday = ck(itm.mday.checked_neg())?;
        itm.mon = ck(itm.mon.checked_neg())?;
        itm.year = ck(itm.year.checked_neg())?;
    }
    itm.finish()
}

/// `h:m[:s[.f]]` or `m:s.f` inside an interval; *sets* the time part like PostgreSQL.
fn time_for_interval(f: &[u8], itm: &mut Itm) -> IvResult<()> {
    let mut parts = f.splitn(3, |&b| b == b':');
    let num = |p: &[u8]| -> IvResult<i64> {
        if p.is_empty() || !p.iter().all(u8::is_ascii_digit) {
            return Err(IvErr::Bad);
        }
        std::str::from_utf8(p)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(IvErr::Overflow)
    };
    let split_frac = |p: &'_ [u8]| -> IvResult<(i64, i64)> {
        match p.iter().position(|&b| b == b'.') {
            None => Ok((num(p)?, 0)),
            Some(d) => {
                let frac = &p[d + 1..];
                if !frac.iter().all(u8::is_ascii_digit) {
                    return Err(IvErr::Bad);
                }
                Ok((num(&p[..d])?, fraction_usecs(frac)))
            }
        }
    };
    let a = parts.next().ok_or(IvErr::Bad)?;
    let b = parts.next().ok_or(IvErr::Bad)?;
    let (hour, min, sec, fsec) = match parts.next() {
        Some(c) => {
            let (s, fs) = split_frac(c)?;
            (num(a)?, num(b)?, s, fs)
        }
        None if b.contains(&b'.') => {
            // mm:ss.fff
            let (s, fs) = split_frac(b)?;
            (0, num(a)?, s, fs)
        }
        None => (num(a)?, num(b)?, 0, 0),
    };
    if min > 59 || sec > 60 || fsec > USECS_PER_SEC {
        return Err(IvErr::Overflow);
    }
    itm.usec = ck(hour
        .checked_mul(USECS_PER_HOUR)
        .and_then(|h| h.checked_add(min * USECS_PER_MINUTE + sec * USECS_PER_SEC + fsec)))?;
    Ok(())
}

/// Unit words of PostgreSQL's `deltatktbl` (matched on their first 10 letters).
/// `Some(None)` is `ago`.
fn interval_unit(word: &[u8]) -> Option<Option<Unit>> {
    let mut key = [0u8; 10];
    let len = word.len().min(10);
    for (k, b) in key.iter_mut().zip(word) {
        *k = b.to_ascii_lowercase();
    }
    let u = match &key[..len] {
        b"ago" => return Some(None),
        b"c" | b"cent" | b"centuries" | b"century" => Unit::Century,
        b"d" | b"day" | b"days" => Unit::Day,
        b"dec" | b"decade" | b"decades" | b"decs" => Unit::Decade,
        b"h" | b"hour" | b"hours" | b"hr" | b"hrs" => Unit::Hour,
        b"m" | b"min" | b"mins" | b"minute" | b"minutes" => Unit::Minute,
        b"microsecon" | b"us" | b"usec" | b"usecond" | b"useconds" | b"usecs" => Unit::Micro,
        b"millisecon" | b"ms" | b"msec" | b"msecond" | b"mseconds" | b"msecs" => Unit::Milli,
        b"mil" | b"millennia" | b"millennium" | b"mils" => Unit::Millennium,
        b"mon" | b"mons" | b"month" | b"months" => Unit::Month,
        b"s" | b"sec" | b"second" | b"seconds" | b"secs" => Unit::Second,
        b"w" | b"week" | b"weeks" => Unit::Week,
        b"y" | b"year" | b"years" | b"yr" | b"yrs" => Unit::Year,
        _ => return None,
    };
    Some(Some(u))
}

/// ISO 8601 designator form `P[nY][nM][nW][nD][T[nH][nM][nS]]`, numbers may carry
/// fractions (PostgreSQL's `DecodeISO8601Interval`, without the alternative format).
fn parse_interval_iso(v: &[u8]) -> IvResult<(i64, i32, i32)> {
    if v.len() < 2 || v[0] != b'P' {
        return Err(IvErr::Bad);
    }
    let mut itm = Itm::default();
    let mut datepart = true;
    let mut i = 1;
    while i < v.len() {
        if v[i] == b'T' {
            datepart = false;
            i += 1;
            continue;
        }
        // A strtod-like prefix: [-]digits[.digits][e[+-]digits].
        let start = i;
        if !(v[i].is_ascii_digit() || v[i] == b'-' || v[i] == b'.') {
            return Err(IvErr::Bad);
        }
        if v[i] == b'-' {
            i += 1;
        }
        let m0 = i;
        while i < v.len() && v[i].is_ascii_digit() {
            i += 1;
        }
        if i < v.len() && v[i] == b'.' {
            i += 1;
            while i < v.len() && v[i].is_ascii_digit() {
                i += 1;
            }
        }
        if !v[m0..i].iter().any(u8::is_ascii_digit) {
            return Err(IvErr::Bad);
        }
        if i < v.len() && (v[i] == b'e' || v[i] == b'E') {
            let mut k = i + 1;
            if k < v.len() && (v[k] == b'+' || v[k] == b'-') {
                k += 1;
            }
            if k < v.len() && v[k].is_ascii_digit() {
                while k < v.len() && v[k].is_ascii_digit() {
                    k += 1;
                }
                i = k;
            }
        }
        let val: f64 = std::str::from_utf8(&v[start..i])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(IvErr::Bad)?;
        if val.is_nan() || !(-1.0e15..=1.0e15).contains(&val) {
            return Err(IvErr::Overflow);
        }
        let ipart = val.trunc() as i64;
        let fpart = val - ipart as f64;
        let unit = v.get(i).copied().ok_or(IvErr::Bad)?;
        i += 1;
        match (datepart, unit) {
            (true, b'Y') => {
                itm.years(ipart, 1)?;
                itm.fract_years(fpart, 1)?;
            }
            (true, b'M') => {
                itm.months(ipart)?;
                itm.fract_days(fpart, 30)?;
            }
            (true, b'W') => {
                itm.days(ipart, 7)?;
                itm.fract_days(fpart, 7)?;
            }
            (true, b'D') => {
                itm.days(ipart, 1)?;
                itm.fract_usecs(fpart, USECS_PER_DAY)?;
            }
            (false, b'H') => itm.usecs(ipart, fpart, USECS_PER_HOUR)?,
            (false, b'M') => itm.usecs(ipart, fpart, USECS_PER_MINUTE)?,
            (false, b'S') => itm.usecs(ipart, fpart, USECS_PER_SEC)?,
            _ => return Err(IvErr::Bad),
        }
    }
    itm.finish()
}

// --- bytea ------------------------------------------------------------------------------

/// `\x` hex form (whitespace between byte pairs allowed) or the escape form (bytes as
/// they are, `\\` and `\ooo` octal escapes).
fn decode_bytea(v: &[u8], buf: &mut Vec<u8>) -> Conv<()> {
    if let Some(hex) = v.strip_prefix(b"\\x") {
        let mut i = 0;
        while i < hex.len() {
            let c = hex[i];
            if is_space(c) {
                i += 1;
                continue;
            }
            let hi = hex_val(c).ok_or_else(|| String::from("invalid hexadecimal digit"))?;
            let lo = match hex.get(i + 1) {
                None => {
                    return Err(String::from(
                        "invalid hexadecimal data: odd number of digits",
                    ))
                }
                Some(&d) => hex_val(d).ok_or_else(|| String::from("invalid hexadecimal digit"))?,
            };
            buf.push(hi << 4 | lo);
            i += 2;
        }
        return Ok(());
    }
    check_text(v)?;
    let mut i = 0;
    while i < v.len() {
        let c = v[i];
        if c != b'\\' {
            buf.push(c);
            i += 1;
        } else if v.get(i + 1) == Some(&b'\\') {
            buf.push(b'\\');
            i += 2;
        } else if i + 3 < v.len()
            && (b'0'..=b'3').contains(&v[i + 1])
            && (b'0'..=b'7').contains(&v[i + 2])
            && (b'0'..=b'7').contains(&v[i + 3])
        {
            buf.push((v[i + 1] - b'0') << 6 | (v[i + 2] - b'0') << 3 | (v[i + 3] - b'0'));
            i += 4;
        } else {
            return Err(syntax("bytea"));
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc(ty: &str, v: &str) -> Result<Vec<u8>, String> {
        let mut buf = Vec::new();
        encode_binary(ColumnType::from_pg(ty), v.as_bytes(), &mut buf).map(|()| buf)
    }

    fn ok(ty: &str, v: &str) -> Vec<u8> {
        enc(ty, v).unwrap_or_else(|e| panic!("{ty} {v:?}: {e}"))
    }

    fn err(ty: &str, v: &str) -> String {
        match enc(ty, v) {
            Ok(b) => panic!("{ty} {v:?} accepted as {b:?}"),
            Err(e) => e,
        }
    }

    fn i64_of(b: &[u8]) -> i64 {
        i64::from_be_bytes(b.try_into().unwrap())
    }

    /// (ndigits, weight, sign, dscale, digits)
    fn numeric_parts(b: &[u8]) -> (i16, i16, u16, u16, Vec<i16>) {
        let be16 = |i: usize| [b[i], b[i + 1]];
        let nd = i16::from_be_bytes(be16(0));
        let digits = (0..nd as usize)
            .map(|k| i16::from_be_bytes(be16(8 + 2 * k)))
            .collect();
        (
            nd,
            i16::from_be_bytes(be16(2)),
            u16::from_be_bytes(be16(4)),
            u16::from_be_bytes(be16(6)),
            digits,
        )
    }

    /// Like PostgreSQL's numeric_out, from the binary form.
    fn numeric_to_string(b: &[u8]) -> String {
        let (_, weight, sign, dscale, digits) = numeric_parts(b);
        match sign {
            NUMERIC_NAN => return "NaN".into(),
            NUMERIC_PINF => return "Infinity".into(),
            NUMERIC_NINF => return "-Infinity".into(),
            _ => {}
        }
        let group = |g: i32| -> i16 {
            let idx = weight as i32 - g;
            if idx >= 0 && (idx as usize) < digits.len() {
                digits[idx as usize]
            } else {
                0
            }
        };
        let mut s = String::new();
        if sign == NUMERIC_NEG {
            s.push('-');
        }
        if weight < 0 {
            s.push('0');
        } else {
            for g in (0..=weight as i32).rev() {
                if g == weight as i32 {
                    s.push_str(&group(g).to_string());
                } else {
                    s.push_str(&format!("{:04}", group(g)));
                }
            }
        }
        if dscale > 0 {
            let mut f = String::new();
            let mut g = -1;
            while f.len() < dscale as usize {
                f.push_str(&format!("{:04}", group(g)));
                g -= 1;
            }
            s.push('.');
            s.push_str(&f[..dscale as usize]);
        }
        s
    }

    /// The canonical text of a decimal literal, computed with strings only.
    fn canonical_decimal(neg: bool, int: &str, frac: &str, exp: i64) -> String {
        let digits: String = format!("{int}{frac}");
        let point = int.len() as i64 + exp;
        let dscale = (frac.len() as i64 - exp).max(0) as usize;
        let (ip, fp) = if point <= 0 {
            (
                String::from("0"),
                format!("{}{}", "0".repeat((-point) as usize), digits),
            )
        } else if point as usize >= digits.len() {
            (
                format!("{}{}", digits, "0".repeat(point as usize - digits.len())),
                String::new(),
            )
        } else {
            (
                digits[..point as usize].to_string(),
                digits[point as usize..].to_string(),
            )
        };
        let ip = ip.trim_start_matches('0');
        let ip = if ip.is_empty() { "0" } else { ip };
        let mut fp = fp;
        fp.truncate(dscale);
        while fp.len() < dscale {
            fp.push('0');
        }
        let zero = ip == "0" && fp.bytes().all(|b| b == b'0');
        let mut s = String::new();
        if neg && !zero {
            s.push('-');
        }
        s.push_str(ip);
        if dscale > 0 {
            s.push('.');
            s.push_str(&fp);
        }
        s
    }

    fn col(name: &str, ty: &str) -> Column {
        Column::new(name, ty)
    }

    // --- column types ---------------------------------------------------------------

    #[test]
    fn from_pg_maps_format_type_and_typname_spellings() {
        use ColumnType::*;
        let cases = [
            ("smallint", Int2),
            ("int2", Int2),
            ("integer", Int4),
            ("int4", Int4),
            ("bigint", Int8),
            ("int8", Int8),
            ("numeric(10,2)", Numeric),
            ("numeric", Numeric),
            ("real", Float4),
            ("double precision", Float8),
            ("boolean", Bool),
            ("character varying(20)", Text),
            ("character(3)", Text),
            ("bpchar", Text),
            ("text", Text),
            ("citext", Text),
            ("public.citext", Text),
            ("name", Name),
            ("uuid", Uuid),
            ("date", Date),
            ("timestamp without time zone", Timestamp),
            ("timestamp(3) without time zone", Timestamp),
            ("timestamp with time zone", Timestamptz),
            ("timestamptz", Timestamptz),
            ("time without time zone", Time),
            ("time(6) without time zone", Time),
            ("time with time zone", Other),
            ("interval", Interval),
            ("interval(3)", Interval),
            ("interval year to month", Other),
            ("json", Json),
            ("jsonb", Jsonb),
            ("bytea", Bytea),
            ("integer[]", Other),
            ("\"char\"", Other),
            ("char", Other),
            ("mood", Other),
            ("inet", Other),
            ("pg_catalog.int4", Int4),
            ("  BIGINT ", Int8),
        ];
        for (name, want) in cases {
            assert_eq!(ColumnType::from_pg(name), want, "{name}");
        }
    }

    #[test]
    fn format_is_text_when_any_column_is_other_or_flavour_lacks_binary() {
        let cols = vec![col("a", "uuid"), col("b", "bigint")];
        assert_eq!(Format::for_columns(&cols, true), Format::Binary);
        assert_eq!(Format::for_columns(&cols, false), Format::Text);
        let with_enum = vec![col("a", "uuid"), col("m", "mood")];
        assert_eq!(Format::for_columns(&with_enum, true), Format::Text);
    }

    // --- integers -------------------------------------------------------------------

    #[test]
    fn integers_accept_spaces_and_signs_and_check_range() {
        assert_eq!(ok("int2", "32767"), vec![0x7f, 0xff]);
        assert_eq!(ok("int2", "-32768"), vec![0x80, 0x00]);
        assert_eq!(ok("int4", " +12 "), 12i32.to_be_bytes());
        assert_eq!(ok("int4", "\t-7\n"), (-7i32).to_be_bytes());
        assert_eq!(ok("int8", "-9223372036854775808"), i64::MIN.to_be_bytes());
        assert_eq!(ok("int8", "9223372036854775807"), i64::MAX.to_be_bytes());
        assert_eq!(ok("int8", "00012"), 12i64.to_be_bytes());
        assert_eq!(err("int2", "32768"), "value out of range for type smallint");
        assert_eq!(
            err("int2", "-32769"),
            "value out of range for type smallint"
        );
        assert_eq!(
            err("int4", "2147483648"),
            "value out of range for type integer"
        );
        assert_eq!(
            err("int8", "9223372036854775808"),
            "value out of range for type bigint"
        );
        assert_eq!(
            err("int8", "99999999999999999999"),
            "value out of range for type bigint"
        );
        for bad in ["", " ", "-", "+", "1.0", "1e3", "12a", "0x10", "- 1", "1 2"] {
            assert_eq!(
                err("int4", bad),
                "invalid input syntax for type integer",
                "{bad:?}"
            );
        }
    }

    // --- numeric --------------------------------------------------------------------

    #[test]
    fn numeric_binary_matches_postgres_encodings() {
        // (input, ndigits, weight, sign, dscale, digits), as numeric_send produces them.
        type Case = (&'static str, i16, i16, u16, u16, &'static [i16]);
        let cases: &[Case] = &[
            ("0", 0, 0, 0, 0, &[]),
            ("0.000", 0, 0, 0, 3, &[]),
            ("-0", 0, 0, 0, 0, &[]),
            ("1", 1, 0, 0, 0, &[1]),
            ("-1.5", 2, 0, 0x4000, 1, &[1, 5000]),
            ("12345.678", 3, 1, 0, 3, &[1, 2345, 6780]),
            ("1e-3", 1, -1, 0, 3, &[10]),
            ("100000000", 1, 2, 0, 0, &[1]),
            ("0.0001", 1, -1, 0, 4, &[1]),
            ("0.00001", 1, -2, 0, 5, &[1000]),
            ("1.50e1", 1, 0, 0, 1, &[15]),
            ("1.5E+3", 1, 0, 0, 0, &[1500]),
            ("000123.4500", 2, 0, 0, 4, &[123, 4500]),
            ("10000.0001", 3, 1, 0, 4, &[1, 0, 1]),
            (" .5 ", 1, -1, 0, 1, &[5000]),
            ("5.", 1, 0, 0, 0, &[5]),
        ];
        for &(input, nd, w, sign, dscale, digits) in cases {
            let b = ok("numeric", input);
            assert_eq!(
                numeric_parts(&b),
                (nd, w, sign, dscale, digits.to_vec()),
                "{input}"
            );
            assert_eq!(b.len(), 8 + 2 * nd as usize);
        }
    }

    #[test]
    fn numeric_specials_and_errors() {
        assert_eq!(numeric_parts(&ok("numeric", "NaN")).2, NUMERIC_NAN);
        assert_eq!(numeric_parts(&ok("numeric", " nan ")).2, NUMERIC_NAN);
        assert_eq!(numeric_parts(&ok("numeric", "Infinity")).2, NUMERIC_PINF);
        assert_eq!(numeric_parts(&ok("numeric", "+inf")).2, NUMERIC_PINF);
        assert_eq!(numeric_parts(&ok("numeric", "-Infinity")).2, NUMERIC_NINF);
        for bad in [
            "", ".", "1e", "1e+", "abc", "-NaN", "1.2.3", "1 2", "--1", "1_000",
        ] {
            assert_eq!(
                err("numeric", bad),
                "invalid input syntax for type numeric",
                "{bad:?}"
            );
        }
        // PostgreSQL's limits: weight fits i16, display scale at most 16383.
        assert_eq!(numeric_parts(&ok("numeric", "1e131071")).1, 32767);
        assert_eq!(err("numeric", "1e131072"), "value overflows numeric format");
        assert_eq!(numeric_parts(&ok("numeric", "1e-16383")).3, 16383);
        assert_eq!(err("numeric", "1e-16384"), "value overflows numeric format");
        assert_eq!(err("numeric", "0e-20000"), "value overflows numeric format");
        assert_eq!(numeric_parts(&ok("numeric", "0e200000")).0, 0);
        assert_eq!(
            err("numeric", "1e1000000000000"),
            "value overflows numeric format"
        );
    }

    // --- floats, bool, uuid ---------------------------------------------------------

    #[test]
    fn floats_follow_strtod_with_postgres_range_checks() {
        assert_eq!(ok("float8", " 1.5 "), 1.5f64.to_be_bytes());
        assert_eq!(ok("float4", "1.5"), 1.5f32.to_be_bytes());
        assert_eq!(ok("float8", "-0"), (-0.0f64).to_be_bytes());
        assert_eq!(ok("float8", "Infinity"), f64::INFINITY.to_be_bytes());
        assert_eq!(ok("float8", "-inf"), f64::NEG_INFINITY.to_be_bytes());
        assert_eq!(ok("float4", "INF"), f32::INFINITY.to_be_bytes());
        assert!(f64::from_be_bytes(ok("float8", "NaN").try_into().unwrap()).is_nan());
        assert!(f32::from_be_bytes(ok("float4", "nan").try_into().unwrap()).is_nan());
        // Subnormals are fine, overflow and underflow to zero are errors.
        assert_eq!(ok("float8", "1e-310"), 1e-310f64.to_be_bytes());
        assert_eq!(ok("float4", "1e-40"), 1e-40f32.to_be_bytes());
        assert!(err("float8", "1e309").contains("out of range for type double precision"));
        assert!(err("float8", "-1e309").contains("out of range"));
        assert!(err("float8", "1e-400").contains("out of range"));
        assert!(err("float4", "3.5e38").contains("out of range for type real"));
        assert!(err("float4", "1e-50").contains("out of range"));
        assert_eq!(ok("float8", "0e-400"), 0f64.to_be_bytes());
        assert_eq!(
            err("float8", "abc"),
            "invalid input syntax for type double precision"
        );
        assert_eq!(err("float4", ""), "invalid input syntax for type real");
    }

    #[test]
    fn booleans_accept_postgres_spellings() {
        for t in [
            "t", "true", "TRUE", "tr", "y", "yes", "ye", "on", "On", "1", " yes ",
        ] {
            assert_eq!(ok("bool", t), vec![1], "{t:?}");
        }
        for f in ["f", "false", "fa", "n", "no", "NO", "off", "of", "0"] {
            assert_eq!(ok("bool", f), vec![0], "{f:?}");
        }
        for bad in ["", "o", "2", "truee", "onn", "yess", "10"] {
            assert_eq!(
                err("bool", bad),
                "invalid input syntax for type boolean",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn canonical_uuid_fast_path_agrees_with_the_general_parser() {
        let base = *b"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
        for at in [0, 7, 8, 9, 35] {
            for b in 0..=255u8 {
                let mut v = base;
                v[at] = b;
                let fast = parse_uuid_canonical(&v);
                let general = {
                    // The general parser alone: a layout the fast path refuses.
                    let mut braced = vec![b'{'];
                    braced.extend_from_slice(&v);
                    braced.push(b'}');
                    parse_uuid(&braced).ok()
                };
                assert_eq!(fast, general, "byte {b:#04x} at {at}");
            }
        }
    }

    #[test]
    fn text_fast_path_still_refuses_nul_and_bad_utf8() {
        assert_eq!(
            check_text(b"plain ascii, 1..127 \x7f"),
            Ok("plain ascii, 1..127 \x7f")
        );
        assert_eq!(check_text("caf\u{e9}".as_bytes()), Ok("caf\u{e9}"));
        assert!(check_text(b"nul \0 inside").unwrap_err().contains("0x00"));
        assert!(check_text(b"bad \xff utf8")
            .unwrap_err()
            .contains("at byte 4"));
    }

    #[test]
    fn uuids_in_every_postgres_spelling() {
        let want: Vec<u8> = vec![
            0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38,
            0x0a, 0x11,
        ];
        for s in [
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
            "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
            "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}",
        ] {
            assert_eq!(ok("uuid", s), want, "{s}");
        }
        for bad in [
            " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g",
            "a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-",
            "a0eebc9-99c0b-4ef8-bb6d-6bb9bd380a11",
            "",
        ] {
            assert_eq!(
                err("uuid", bad),
                "invalid input syntax for type uuid",
                "{bad:?}"
            );
        }
    }

    // --- dates and times ------------------------------------------------------------

    fn date_of(s: &str) -> i32 {
        i32::from_be_bytes(ok("date", s).try_into().unwrap())
    }

    #[test]
    fn dates_in_the_other_spellings_postgres_reads_under_iso_mdy() {
        let jan31 = date_of("2024-01-31");
        for v in [
            "20240131",
            "1/31/2024",
            "01-31-2024",
            "1.31.2024",
            "Jan 31 2024",
            "January 31, 2024",
            "31 Jan 2024",
            "31-jan-2024",
            "2024-Jan-31",
            "2024 JAN 31",
            "2024-01-31 12:34:56",
            "2024-01-31T23:59:59+05",
            "1/31/2024 11:00 PM",
        ] {
            assert_eq!(date_of(v), jan31, "{v}");
        }
        assert_eq!(date_of("1240131"), date_of("0124-01-31"));
        assert_eq!(date_of("107521017"), date_of("10752-10-17"));
        assert_eq!(date_of("Sept 5 2024"), date_of("2024-09-05"));
        // Two-digit years and ambiguous orders are left to nobody: refused.
        for bad in [
            "1/31/24",
            "240131",
            "Jan 31 24",
            "Janu 31 2024",
            "jan. 31 2024",
        ] {
            assert_eq!(
                err("date", bad),
                "invalid input syntax for type date",
                "{bad}"
            );
        }
        assert_eq!(
            err("date", "2/29/2023"),
            "date/time field value out of range"
        );
    }

    #[test]
    fn twelve_hour_clocks() {
        let t = |v: &str| i64::from_be_bytes(ok("time", v).try_into().unwrap());
        assert_eq!(t("12:00 AM"), 0);
        assert_eq!(t("12:30 pm"), t("12:30"));
        assert_eq!(t("1:02:03 PM"), t("13:02:03"));
        assert_eq!(t("00:15 PM"), t("12:15"));
        assert_eq!(t("12:59:59.9999999 pm"), t("13:00"));
        assert_eq!(
            err("time", "13:00 AM"),
            "date/time field value out of range"
        );
        let ts = |v: &str| i64::from_be_bytes(ok("timestamp", v).try_into().unwrap());
        assert_eq!(ts("1/31/2024 1:00 PM"), ts("2024-01-31 13:00"));
        assert_eq!(ts("Jan 31, 2024 12:05 am"), ts("2024-01-31 00:05"));
    }

    #[test]
    fn dates_count_days_from_2000_01_01() {
        assert_eq!(date_of("2000-01-01"), 0);
        assert_eq!(date_of("1970-01-01"), -10957);
        assert_eq!(date_of("epoch"), -10957);
        assert_eq!(date_of("2020-1-5"), 7309);
        assert_eq!(date_of("2020/01/05"), 7309);
        assert_eq!(date_of(" 2020-02-29 "), 7364);
        assert_eq!(date_of("0001-01-01"), -730119);
        assert_eq!(date_of("0001-12-31 BC"), -730120);
        assert_eq!(date_of("4714-11-24 BC"), -2451545);
        assert_eq!(date_of("5874897-12-31"), 2147483493 - 2451545);
        assert_eq!(date_of("infinity"), i32::MAX);
        assert_eq!(date_of("-Infinity"), i32::MIN);
        for bad in [
            "2021-02-29",
            "2020-13-01",
            "2020-00-10",
            "2020-01-32",
            "0000-01-01",
        ] {
            assert_eq!(
                err("date", bad),
                "date/time field value out of range",
                "{bad}"
            );
        }
        for bad in ["4714-11-23 BC", "5874898-01-01"] {
            assert_eq!(err("date", bad), "date out of range", "{bad}");
        }
        for bad in [
            "20-01-01",
            "2020/01-05",
            "2020-01-01x",
            "",
            "+infinity",
            "today",
        ] {
            assert_eq!(
                err("date", bad),
                "invalid input syntax for type date",
                "{bad}"
            );
        }
    }

    fn ts(ty: &str, s: &str) -> i64 {
        i64_of(&ok(ty, s))
    }

    const TS: &str = "timestamp";
    const TSTZ: &str = "timestamp with time zone";
    /// 2020-01-01 00:00:00 in microseconds since 2000-01-01.
    const Y2020: i64 = 7305 * USECS_PER_DAY;

    #[test]
    fn timestamps_with_zones_and_rounding() {
        let ten = Y2020 + 10 * USECS_PER_HOUR;
        assert_eq!(ts(TS, "2000-01-01 00:00:00"), 0);
        for s in [
            "2020-01-01 10:00:00",
            "2020-01-01T10:00:00",
            "2020-01-01t10:00",
            "2020-01-01   10:00",
            " 2020-01-01 10:00 ",
            "2020-01-01 10:0:0",
        ] {
            assert_eq!(ts(TS, s), ten, "{s}");
            assert_eq!(ts(TSTZ, s), ten, "{s}: no zone means UTC");
        }
        assert_eq!(ts(TS, "2020-01-01"), Y2020);
        for s in [
            "2020-01-01 10:00:00Z",
            "2020-01-01 10:00:00 z",
            "2020-01-01 10:00:00 UTC",
            "2020-01-01 10:00:00+00",
        ] {
            assert_eq!(ts(TSTZ, s), ten, "{s}");
        }
        assert_eq!(ts(TSTZ, "2020-01-01 10:00:00+02"), ten - 2 * USECS_PER_HOUR);
        assert_eq!(
            ts(TSTZ, "2020-01-01 10:00:00 +05:30"),
            ten - 330 * USECS_PER_MINUTE
        );
        assert_eq!(
            ts(TSTZ, "2020-01-01 10:00:00-0530"),
            ten + 330 * USECS_PER_MINUTE
        );
        assert_eq!(
            ts(TSTZ, "2020-01-01 10:00:00+530"),
            ten - 330 * USECS_PER_MINUTE
        );
        assert_eq!(
            ts(TSTZ, "2020-01-01T10:00+01:02:03"),
            ten - 3723 * USECS_PER_SEC
        );
        // timestamp without time zone ignores the zone, like PostgreSQL.
        assert_eq!(ts(TS, "2020-01-01 10:00:00+02"), ten);
        // Fractions: exact up to 6 digits, then rint(strtod * 1e6).
        assert_eq!(ts(TS, "2020-01-01 10:00:00.123456"), ten + 123456);
        assert_eq!(ts(TS, "2020-01-01 10:00:00.5"), ten + 500000);
        assert_eq!(ts(TS, "2020-01-01 10:00:00.0000005"), ten);
        assert_eq!(ts(TS, "2020-01-01 10:00:00.0000015"), ten + 2);
        assert_eq!(ts(TS, "2020-01-01 10:00:00."), ten);
        assert_eq!(ts(TS, "2020-01-01 23:59:59.9999999"), Y2020 + USECS_PER_DAY);
        assert_eq!(ts(TS, "2020-01-01 24:00:00"), Y2020 + USECS_PER_DAY);
        assert_eq!(ts(TS, "2020-01-01 23:59:60"), Y2020 + USECS_PER_DAY);
        assert_eq!(ts(TS, "infinity"), i64::MAX);
        assert_eq!(ts(TSTZ, "-infinity"), i64::MIN);
        assert_eq!(ts(TS, "epoch"), -10957 * USECS_PER_DAY);
        assert_eq!(ts(TS, "4714-11-24 00:00:00 BC"), MIN_TIMESTAMP);
        assert_eq!(ts(TS, "294276-12-31 23:59:59.999999"), END_TIMESTAMP - 1);
        for bad in [
            "2020-01-01 24:00:01",
            "2020-01-01 25:00",
            "2020-01-01 23:59:60.5",
        ] {
            assert_eq!(err(TS, bad), "date/time field value out of range", "{bad}");
        }
        assert_eq!(err(TS, "4714-11-23 23:59:59 BC"), "timestamp out of range");
        assert_eq!(err(TS, "294277-01-01"), "timestamp out of range");
        assert!(err(TSTZ, "2020-01-01 10:00 +16").starts_with("time zone"));
        assert!(err(TSTZ, "2020-01-01 10:00 EST").starts_with("time zone"));
        for bad in [
            "2020-01-01 10",
            "+infinity",
            "2020-01-01 10:00:00 1",
            "10:00",
        ] {
            assert_eq!(
                err(TSTZ, bad),
                "invalid input syntax for type timestamp with time zone",
                "{bad}"
            );
        }
    }

    #[test]
    fn times_allow_24_00_and_ignore_zones() {
        let t = |s: &str| i64_of(&ok("time", s));
        assert_eq!(t("10:00"), 10 * USECS_PER_HOUR);
        assert_eq!(
            t(" 1:2:3.5 "),
            USECS_PER_HOUR + 2 * USECS_PER_MINUTE + 3_500_000
        );
        assert_eq!(t("24:00:00"), USECS_PER_DAY);
        assert_eq!(t("23:59:60"), USECS_PER_DAY);
        assert_eq!(t("10:00:00+02"), 10 * USECS_PER_HOUR);
        assert_eq!(t("10:00:00 Z"), 10 * USECS_PER_HOUR);
        for bad in ["24:00:01", "23:59:60.5", "25:00", "10:60"] {
            assert_eq!(
                err("time", bad),
                "date/time field value out of range",
                "{bad}"
            );
        }
        for bad in ["10", "", "10:00:00 x1"] {
            assert!(err("time", bad).contains("time"), "{bad}");
        }
    }

    fn iv(s: &str) -> (i64, i32, i32) {
        let b = ok("interval", s);
        (
            i64_of(&b[..8]),
            i32::from_be_bytes(b[8..12].try_into().unwrap()),
            i32::from_be_bytes(b[12..16].try_into().unwrap()),
        )
    }

    #[test]
    fn intervals_in_postgres_sql_and_iso_styles() {
        const H: i64 = USECS_PER_HOUR;
        const M: i64 = USECS_PER_MINUTE;
        const S: i64 = USECS_PER_SEC;
        // PostgreSQL style.
        assert_eq!(iv("1 day 02:03:04"), (2 * H + 3 * M + 4 * S, 1, 0));
        assert_eq!(iv("3 hours"), (3 * H, 0, 0));
        assert_eq!(iv("-1 year 2 mons"), (0, 0, -10));
        assert_eq!(iv("1 day ago"), (0, -1, 0));
        assert_eq!(iv("@ 1 hour"), (H, 0, 0));
        assert_eq!(iv("@ 1 hour ago"), (-H, 0, 0));
        assert_eq!(iv("1 hour ago 2 days"), (-H, -2, 0));
        assert_eq!(iv("1.5 days"), (12 * H, 1, 0));
        assert_eq!(iv("1.5 months"), (0, 15, 1));
        assert_eq!(iv("1.25 y"), (0, 0, 15));
        assert_eq!(iv("1 mil"), (0, 0, 12000));
        assert_eq!(iv("1 week 2 days"), (0, 9, 0));
        assert_eq!(iv("1d 2h 3m 4s"), (2 * H + 3 * M + 4 * S, 1, 0));
        assert_eq!(iv("5 milliseconds"), (5000, 0, 0));
        assert_eq!(iv("10 microseconds"), (10, 0, 0));
        assert_eq!(iv("0.5"), (S / 2, 0, 0));
        assert_eq!(iv("1 2 hours"), (2 * H, 1, 0));
        assert_eq!(iv("- 5 days"), (0, -5, 0));
        // Fractions below a microsecond round half away... only above one half.
        assert_eq!(iv("1.5 us"), (1, 0, 0));
        assert_eq!(iv("1.0000015 seconds"), (S + 1, 0, 0));
        // SQL standard pieces.
        assert_eq!(iv("02:03:04"), (2 * H + 3 * M + 4 * S, 0, 0));
        assert_eq!(iv("-02:03:04"), (-(2 * H + 3 * M + 4 * S), 0, 0));
        assert_eq!(iv("5:30.25"), (5 * M + 30 * S + 250_000, 0, 0));
        assert_eq!(iv("1-2"), (0, 0, 14));
        assert_eq!(iv("1-2 3 4:05:06"), (4 * H + 5 * M + 6 * S, 3, 14));
        assert_eq!(iv("100:00:00"), (100 * H, 0, 0));
        // ISO 8601.
        assert_eq!(iv("P1Y2M3DT4H5M6S"), (4 * H + 5 * M + 6 * S, 3, 14));
        assert_eq!(iv("P1.5Y"), (0, 0, 18));
        assert_eq!(iv("P1W"), (0, 7, 0));
        assert_eq!(iv("PT36H"), (36 * H, 0, 0));
        assert_eq!(iv("PT1.0000005S"), (S + 1, 0, 0));
        assert_eq!(iv("P1Y-2M"), (0, 0, 10));
        for bad in [
            "",
            "garbage",
            "1 fortnight",
            "1 ago",
            "1 day 2 days",
            "1 hour 02:00",
            "p1y",
            " P1Y",
            "P1Y ",
            "1-12",
            "1:60",
            "3 mons 1.5 months",
        ] {
            assert!(err("interval", bad).contains("interval"), "{bad:?}");
        }
        assert_eq!(
            err("interval", "2147483648 days"),
            "interval field value out of range"
        );
        assert_eq!(
            err("interval", "178956971 years"),
            "interval field value out of range"
        );
    }

    // --- json, text, bytea ----------------------------------------------------------

    #[test]
    fn json_is_validated_and_jsonb_gets_a_version_byte() {
        assert_eq!(ok("json", "{\"a\":1}"), b"{\"a\":1}");
        assert_eq!(ok("jsonb", "[1, 2]"), b"\x01[1, 2]");
        assert_eq!(ok("json", " 1e400 "), b" 1e400 ");
        assert_eq!(ok("json", "{\"a\":\"\\u0000\"}"), b"{\"a\":\"\\u0000\"}");
        assert!(err("jsonb", "{\"a\":\"\\u0000\"}").contains("\\u0000"));
        assert_eq!(ok("jsonb", "\"\\\\u0000\""), b"\x01\"\\\\u0000\"");
        for bad in ["", "nul", "{\"a\":}", "{\"a\":1} x", "[1,]"] {
            assert!(
                err("json", bad).starts_with("invalid input syntax for type json"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn text_must_be_utf8_without_nul() {
        assert_eq!(ok("text", "héllo"), "héllo".as_bytes());
        assert_eq!(ok("text", ""), b"");
        let mut buf = Vec::new();
        let e = encode_binary(ColumnType::Text, b"a\0b", &mut buf).unwrap_err();
        assert!(e.contains("0x00"), "{e}");
        let e = encode_binary(ColumnType::Text, b"ab\xff", &mut buf).unwrap_err();
        assert!(e.contains("UTF8") && e.contains("byte 2"), "{e}");
        // name is cut to 63 bytes on a character boundary, like namein.
        assert_eq!(ok("name", &"x".repeat(70)).len(), 63);
        assert_eq!(ok("name", &"é".repeat(40)), "é".repeat(31).as_bytes());
    }

    #[test]
    fn bytea_hex_and_escape_forms() {
        assert_eq!(ok("bytea", "\\xdeadBEEF"), vec![0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(ok("bytea", "\\x de ad "), vec![0xde, 0xad]);
        assert_eq!(ok("bytea", "\\x"), Vec::<u8>::new());
        assert_eq!(ok("bytea", "abc"), b"abc");
        assert_eq!(ok("bytea", "a\\\\b"), b"a\\b");
        assert_eq!(ok("bytea", "a\\001b"), b"a\x01b");
        assert!(err("bytea", "\\xdea").contains("odd number"));
        assert!(err("bytea", "\\xzz").contains("hexadecimal digit"));
        assert_eq!(
            err("bytea", "a\\400b"),
            "invalid input syntax for type bytea"
        );
        assert_eq!(err("bytea", "a\\b"), "invalid input syntax for type bytea");
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
        assert_eq!(bad.column, 1);
        assert_eq!(bad.msg, "invalid input syntax for type bigint");
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
    fn text_rows_are_validated_and_escaped() {
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
        let bad = e
            .encode_row([Some(&b"5x"[..]), None, None], 2, &mut rows)
            .unwrap_err();
        assert_eq!(bad.column, 0);
        let nul = e
            .encode_row([None, Some(&b"a\0"[..]), None], 3, &mut rows)
            .unwrap_err();
        assert_eq!(nul.column, 1);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows.byte_len(), rows.row(0).len() + rows.row(1).len());
    }

    #[test]
    fn write_copy_frames_binary_and_writes_text_lines() {
        let e = Encoder::new(vec![col("n", "int4")], Format::Binary);
        let mut rows = EncodedRows::new();
        for (i, v) in ["1", "2", "3"].iter().enumerate() {
            e.encode_row([Some(v.as_bytes())], i as u32, &mut rows)
                .unwrap();
        }
        let mut out = Vec::new();
        write_copy(&rows, 0..rows.len(), Format::Binary, &mut out).unwrap();
        let mut want = b"PGCOPY\n\xff\r\n\0".to_vec();
        want.extend_from_slice(&[0; 8]);
        for n in 1..=3i32 {
            want.extend_from_slice(&[0, 1, 0, 0, 0, 4]);
            want.extend_from_slice(&n.to_be_bytes());
        }
        want.extend_from_slice(&[0xff, 0xff]);
        assert_eq!(out, want);

        let mut sel = Vec::new();
        write_copy(&rows, [0usize, 2].into_iter(), Format::Binary, &mut sel).unwrap();
        assert_eq!(sel.len(), 19 + 2 * 10 + 2);
        assert_eq!(&sel[19..29], rows.row(0));
        assert_eq!(&sel[29..39], rows.row(2));

        assert!(write_copy(&rows, 0..1, Format::Text, &mut Vec::new()).is_err());

        let t = Encoder::new(vec![col("s", "text")], Format::Text);
        let mut trows = EncodedRows::new();
        for (i, v) in ["a", "b\tc", "d"].iter().enumerate() {
            t.encode_row([Some(v.as_bytes())], i as u32, &mut trows)
                .unwrap();
        }
        let mut text = Vec::new();
        write_copy(&trows, [1usize, 2].into_iter(), Format::Text, &mut text).unwrap();
        assert_eq!(text, b"b\\tc\nd\n");
    }

    /// A writer that records each write call.
    struct Calls(Vec<usize>);
    impl io::Write for Calls {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.push(b.len());
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn write_copy_writes_consecutive_rows_in_one_call() {
        let e = Encoder::new(vec![col("n", "int8")], Format::Binary);
        let mut rows = EncodedRows::new();
        for i in 0..100 {
            e.encode_row([Some(i.to_string().as_bytes())], i, &mut rows)
                .unwrap();
        }
        let mut w = Calls(Vec::new());
        write_copy(&rows, 0..100, Format::Binary, &mut w).unwrap();
        assert_eq!(w.0, vec![19, rows.byte_len(), 2]);
        let mut w = Calls(Vec::new());
        write_copy(&rows, (0..10).chain(20..30), Format::Binary, &mut w).unwrap();
        assert_eq!(w.0, vec![19, 140, 140, 2]);
    }

    // --- SQL ------------------------------------------------------------------------

    fn weird_cols() -> Vec<Column> {
        vec![
            col("id", "integer"),
            col("Cost Total $", "numeric(10,2)"),
            col("select", "text"),
            col("a\"b", "mood"),
        ]
    }

    #[test]
    fn insert_sql_golden_strings() {
        let t = QualifiedName::parse("\"my.schema\".\"Tab\"").unwrap();
        let cols = weird_cols();
        assert_eq!(
            insert_sql(&t, &cols, 2, &Conflict::None),
            "INSERT INTO \"my.schema\".\"Tab\" (\"id\",\"Cost Total $\",\"select\",\"a\"\"b\") \
             VALUES ($1,$2,$3,$4::text::mood),($5,$6,$7,$8::text::mood)"
        );
        assert_eq!(
            insert_sql(
                &QualifiedName::parse("t").unwrap(),
                &cols[..3],
                1,
                &Conflict::UpsertPg {
                    pk: vec!["id".into()]
                }
            ),
            "INSERT INTO \"t\" (\"id\",\"Cost Total $\",\"select\") VALUES ($1,$2,$3) \
             ON CONFLICT (\"id\") DO UPDATE SET \"Cost Total $\" = excluded.\"Cost Total $\", \
             \"select\" = excluded.\"select\""
        );
        assert_eq!(
            insert_sql(
                &QualifiedName::parse("t").unwrap(),
                &cols[..1],
                1,
                &Conflict::UpsertPg {
                    pk: vec!["id".into()]
                }
            ),
            "INSERT INTO \"t\" (\"id\") VALUES ($1) ON CONFLICT (\"id\") DO NOTHING"
        );
        assert_eq!(
            insert_sql(
                &QualifiedName::parse("public.accounts").unwrap(),
                &cols[..2],
                1,
                &Conflict::UpsertCockroach
            ),
            "UPSERT INTO \"public\".\"accounts\" (\"id\",\"Cost Total $\") VALUES ($1,$2)"
        );
    }

    #[test]
    fn copy_sql_golden_strings() {
        let t = QualifiedName::parse("S.\"T t\"").unwrap();
        let cols = weird_cols();
        assert_eq!(
            copy_sql(&t, &cols[..3], Format::Binary),
            "COPY \"s\".\"T t\" (\"id\",\"Cost Total $\",\"select\") FROM STDIN (FORMAT binary)"
        );
        assert_eq!(
            copy_sql(&t, &cols, Format::Text),
            "COPY \"s\".\"T t\" (\"id\",\"Cost Total $\",\"select\",\"a\"\"b\") FROM STDIN"
        );
    }

    #[test]
    fn identifiers_are_quoted_and_parsed_like_sql() {
        assert_eq!(quote_ident("select"), "\"select\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident("Cost Total $"), "\"Cost Total $\"");
        let q = |s: &str| QualifiedName::parse(s).unwrap();
        assert_eq!(
            q("Accounts"),
            QualifiedName {
                schema: None,
                name: "accounts".into()
            }
        );
        assert_eq!(
            q("\"my.schema\".\"Tab\""),
            QualifiedName {
                schema: Some("my.schema".into()),
                name: "Tab".into()
            }
        );
        assert_eq!(q("s.\"a\"\"b\"").name, "a\"b");
        assert_eq!(
            q("\"my.schema\".\"Tab\"").to_string(),
            "\"my.schema\".\"Tab\""
        );
        assert_eq!(q("t").to_string(), "\"t\"");
        for bad in ["", "a.b.c", "\"open", "a..b", "a.", "\"a\"b", "a b", "a\0b"] {
            let e = QualifiedName::parse(bad).unwrap_err();
            assert!(matches!(e.kind(), ErrorKind::Usage(_)), "{bad:?}");
        }
    }

    #[test]
    fn raw_params_bind_binary_bytes_or_unescaped_text() {
        let e = Encoder::new(vec![col("n", "int8"), col("s", "text")], Format::Binary);
        let mut rows = EncodedRows::new();
        e.encode_row([Some(&b"5"[..]), None], 0, &mut rows).unwrap();
        e.encode_row([Some(&b"6"[..]), Some(&b"x"[..])], 1, &mut rows)
            .unwrap();
        let ps = params(&rows, &[1, 0]);
        assert_eq!(ps.len(), 4);
        assert_eq!(ps[0].bytes(), Some(&6i64.to_be_bytes()[..]));
        assert_eq!(ps[1].bytes(), Some(&b"x"[..]));
        assert_eq!(ps[3].bytes(), None);
        let mut out = BytesMut::new();
        assert!(matches!(
            ps[0].to_sql(&Type::INT8, &mut out).unwrap(),
            IsNull::No
        ));
        assert_eq!(&out[..], &6i64.to_be_bytes());
        assert!(matches!(
            ps[3].to_sql(&Type::TEXT, &mut out).unwrap(),
            IsNull::Yes
        ));
        assert!(<RawParam<'_> as ToSql>::accepts(&Type::NUMERIC));
        assert!(matches!(
            ps[0].encode_format(&Type::INT8),
            postgres::types::Format::Binary
        ));

        let t = RawParam::new(Some(b"a\\tb\\\\c\\nd\\re"), Format::Text);
        let mut out = BytesMut::new();
        t.to_sql_checked(&Type::TEXT, &mut out).unwrap();
        assert_eq!(&out[..], b"a\tb\\c\nd\re");
        assert!(matches!(
            t.encode_format(&Type::TEXT),
            postgres::types::Format::Text
        ));
    }

    #[test]
    fn field_error_becomes_a_located_convert_error() {
        let cols = two_cols();
        let fe = FieldError {
            column: 1,
            msg: "invalid input syntax for type bigint".into(),
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
        assert_eq!(e.exit_code(), 1);
    }

    // --- property tests -------------------------------------------------------------

    proptest! {
        #[test]
        fn prop_i64_round_trips(x in any::<i64>(), pad in "[ \t]{0,2}") {
            let s = format!("{pad}{x}{pad}");
            prop_assert_eq!(i64_of(&ok("bigint", &s)), x);
        }

        #[test]
        fn prop_f64_round_trips(x in any::<f64>()) {
            let b = ok("float8", &x.to_string());
            let y = f64::from_be_bytes(b.try_into().unwrap());
            prop_assert!(y == x || (x.is_nan() && y.is_nan()));
            let e = ok("float8", &format!("{x:e}"));
            let z = f64::from_be_bytes(e.try_into().unwrap());
            prop_assert!(z == x || (x.is_nan() && z.is_nan()));
        }

        #[test]
        fn prop_f32_round_trips(x in any::<f32>()) {
            let b = ok("float4", &x.to_string());
            let y = f32::from_be_bytes(b.try_into().unwrap());
            prop_assert!(y == x || (x.is_nan() && y.is_nan()));
        }

        #[test]
        fn prop_numeric_round_trips(
            neg in any::<bool>(),
            int in "[0-9]{0,30}",
            frac in proptest::option::of("[0-9]{0,20}"),
            exp in proptest::option::of(-40i64..40),
        ) {
            prop_assume!(!int.is_empty() || frac.as_deref().is_some_and(|f| !f.is_empty()));
            let mut s = String::new();
            if neg { s.push('-'); }
            s.push_str(&int);
            if let Some(f) = &frac { s.push('.'); s.push_str(f); }
            if let Some(e) = exp { s.push_str(&format!("e{e}")); }
            let b = ok("numeric", &s);
            let (nd, weight, _, _, digits) = numeric_parts(&b);
            prop_assert_eq!(b.len(), 8 + 2 * nd as usize);
            // Canonical: no leading or trailing zero groups, each group < 10000.
            if nd > 0 {
                prop_assert!(digits[0] != 0 && digits[nd as usize - 1] != 0);
            } else {
                prop_assert_eq!(weight, 0);
            }
            prop_assert!(digits.iter().all(|&d| (0..10000).contains(&d)));
            let want = canonical_decimal(neg, &int, frac.as_deref().unwrap_or(""), exp.unwrap_or(0));
            prop_assert_eq!(numeric_to_string(&b), want);
        }

        #[test]
        fn prop_escaped_text_unescapes_to_the_original(s in "[a-z\t\n\r\\\\]{0,20}") {
            let mut buf = Vec::new();
            escape_copy_text(s.as_bytes(), &mut buf);
            prop_assert!(!buf.iter().any(|&b| matches!(b, b'\t' | b'\n' | b'\r')));
            let mut out = BytesMut::new();
            unescape_copy_text(&buf, &mut out);
            prop_assert_eq!(&out[..], s.as_bytes());
        }

        #[test]
        fn prop_timestamps_agree_with_chrono(secs in -6_000_000_000i64..200_000_000_000, us in 0u32..1_000_000) {
            let dt = chrono::DateTime::from_timestamp(secs, us * 1000).unwrap().naive_utc();
            let s = dt.format("%Y-%m-%d %H:%M:%S%.6f").to_string();
            let want = secs * USECS_PER_SEC + us as i64 - 10957 * USECS_PER_DAY;
            prop_assert_eq!(ts(TS, &s), want);
            prop_assert_eq!(ts(TSTZ, &format!("{s}+01:30")), want - 90 * USECS_PER_MINUTE);
        }
    }
}
