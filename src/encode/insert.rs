//! The INSERT transport: `INSERT`/`UPSERT` statements and encoded fields bound as raw
//! parameters, without copying them.

use std::fmt::Write as _;

use bytes::BytesMut;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};

use crate::encode::copy::unescape_copy_text;
use crate::encode::{Column, ColumnType, EncodedRows, Format};
use crate::sql::{push_ident_list, quote_ident, QualifiedName};

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

/// The typmod of an `interval` restricted to fields (`interval year to month`,
/// `interval day to second(3)`, as `format_type` prints it): PostgreSQL's
/// `INTERVAL_TYPMOD(precision, range)`, the range a mask of datetime.h's field bits.
/// `None` for a plain interval (or only a precision), whose input needs no typmod.
pub fn interval_typmod(type_name: &str) -> Option<i32> {
    const MONTH: i32 = 1 << 1;
    const YEAR: i32 = 1 << 2;
    const DAY: i32 = 1 << 3;
    const HOUR: i32 = 1 << 10;
    const MINUTE: i32 = 1 << 11;
    const SECOND: i32 = 1 << 12;
    let rest = type_name.strip_prefix("interval ")?;
    let (fields, precision) = match rest.split_once('(') {
        Some((f, p)) => (f.trim(), p.strip_suffix(')')?.trim().parse::<i32>().ok()?),
        None => (rest.trim(), 0xFFFF),
    };
    let range = match fields {
        "year" => YEAR,
        "month" => MONTH,
        "day" => DAY,
        "hour" => HOUR,
        "minute" => MINUTE,
        "second" => SECOND,
        "year to month" => YEAR | MONTH,
        "day to hour" => DAY | HOUR,
        "day to minute" => DAY | HOUR | MINUTE,
        "day to second" => DAY | HOUR | MINUTE | SECOND,
        "hour to minute" => HOUR | MINUTE,
        "hour to second" => HOUR | MINUTE | SECOND,
        "minute to second" => MINUTE | SECOND,
        _ => return None,
    };
    Some(((range & 0x7FFF) << 16) | (precision & 0xFFFF))
}

/// The typmod of `numeric(p,s)` or `numeric(p)` (as `format_type` prints it): PostgreSQL's
/// `make_numeric_typmod`, `((p << 16) | (s & 0x7ff)) + VARHDRSZ` (a negative scale, which
/// PostgreSQL 15 allows, in eleven bits). `None` for a plain `numeric` or an array.
pub fn numeric_typmod(type_name: &str) -> Option<i32> {
    let args = type_name
        .strip_prefix("numeric(")
        .and_then(|r| r.strip_suffix(')'))?;
    let (p, s) = match args.split_once(',') {
        Some((p, s)) => (p.trim().parse::<i32>().ok()?, s.trim().parse::<i32>().ok()?),
        None => (args.trim().parse::<i32>().ok()?, 0),
    };
    if !(1..=1000).contains(&p) || !(-1000..=1000).contains(&s) {
        return None;
    }
    Some(((p << 16) | (s & 0x7ff)) + 4)
}

/// The type of `type_name` (as `format_type` prints it) without its typmod: the INSERT's
/// assignment then applies the typmod as `COPY` does (`value too long` for `varchar(5)[]`,
/// a length error for `bit(3)`), where an explicit cast would truncate or pad silently.
/// Bare `character` and `bit` mean length 1 in SQL, so they are spelled `bpchar`, `"bit"`.
fn cast_type(type_name: &str) -> String {
    let mut out = String::with_capacity(type_name.len());
    let (mut depth, mut quoted) = (0u32, false);
    for c in type_name.chars() {
        match c {
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    if out == type_name {
        return out;
    }
    let dims = out.trim_end_matches("[]");
    let suffix = &out[dims.len()..];
    match dims.trim_end() {
        "character" => format!("bpchar{suffix}"),
        "bit" => format!("\"bit\"{suffix}"),
        base => {
            // `time(3) with time zone` leaves a double space.
            let base = base.split_whitespace().collect::<Vec<_>>().join(" ");
            format!("{base}{suffix}")
        }
    }
}

/// A multi-row `INSERT INTO "s"."t" ("a","b") VALUES ($1,$2),($3,$4)` for `rows` rows
/// whose parameters are bound in `format`.
/// [`ColumnType::Other`] parameters get `$n::text::<type>` casts so they are bound as
/// text and converted by the server.
///
/// On PostgreSQL a parameter is read by its type's input function *without* the column's
/// typmod, which the assignment applies afterwards; `COPY` reads with it. For a `numeric(p,s)`
/// bound as text (a chunk the client could not convert: `865.1E-16384`, `.5`, `NaN`) that
/// differs: `numeric_in` with the typmod rounds to the scale before it makes the value, so
/// COPY stores `0.00`, while without it the 16385 decimal places overflow. Such a
/// parameter is therefore read as COPY reads it, `numeric_in($n::text::cstring, 0,
/// typmod)`. A binary one needs nothing: the client sends the digits as written, and
/// `numeric_recv` then the assignment's rounding are what COPY's `numeric_recv` with the
/// typmod does.
pub fn insert_sql(
    table: &QualifiedName,
    columns: &[Column],
    rows: usize,
    conflict: &Conflict,
    postgres: bool,
    format: Format,
) -> String {
    let verb = match conflict {
        Conflict::UpsertCockroach => "UPSERT",
        _ => "INSERT",
    };
    let mut s = String::with_capacity(64 + rows * columns.len() * 6);
    let _ = write!(s, "{verb} INTO {table} (");
    push_ident_list(&mut s, columns.iter().map(|c| c.name.as_str()));
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
            match interval_typmod(&col.type_name) {
                // A bare `5` or `1:30` means what the fields say only to an input function
                // given the typmod, as COPY gives it; a cast parses first, then cuts.
                Some(typmod) if postgres && col.ty == ColumnType::Other => {
                    let _ = write!(s, "interval_in(${n}::text::cstring, 0, {typmod})");
                }
                _ if postgres && format == Format::Text && col.ty == ColumnType::Numeric => {
                    match numeric_typmod(&col.type_name) {
                        Some(typmod) => {
                            let _ = write!(s, "numeric_in(${n}::text::cstring, 0, {typmod})");
                        }
                        None => {
                            let _ = write!(s, "${n}");
                        }
                    }
                }
                _ if col.ty == ColumnType::Other => {
                    let _ = write!(s, "${n}::text::{}", cast_type(&col.type_name));
                }
                _ => {
                    let _ = write!(s, "${n}");
                }
            }
            n += 1;
        }
        s.push(')');
    }
    if let Conflict::UpsertPg { pk } = conflict {
        s.push_str(" ON CONFLICT (");
        push_ident_list(&mut s, pk.iter().map(|p| p.as_str()));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::test_util::*;
    use crate::encode::Encoder;

    #[test]
    fn interval_typmods_are_postgres_own() {
        // INTERVAL_TYPMOD(0xFFFF, YEAR|MONTH) and (3, SECOND); the integration test
        // `interval_fields_under_insert_and_upsert_store_what_copy_stores` holds every
        // form against the catalog's atttypmod.
        assert_eq!(interval_typmod("interval year to month"), Some(458_751));
        assert_eq!(interval_typmod("interval second(3)"), Some(268_435_459));
        assert_eq!(interval_typmod("interval"), None);
        assert_eq!(interval_typmod("interval(3)"), None);
        assert_eq!(interval_typmod("interval year to month[]"), None);
    }

    #[test]
    fn numeric_typmods_are_postgres_own() {
        // The integration test `world_numeric_with_a_typmod_stores_the_same_under_every_method`
        // holds numeric(7,2) against the catalog's atttypmod.
        assert_eq!(numeric_typmod("numeric(7,2)"), Some((7 << 16 | 2) + 4));
        assert_eq!(numeric_typmod("numeric(5)"), Some((5 << 16) + 4));
        assert_eq!(numeric_typmod("numeric(2,-3)"), Some((2 << 16 | 0x7fd) + 4));
        assert_eq!(numeric_typmod("numeric"), None);
        assert_eq!(numeric_typmod("numeric(7,2)[]"), None);
    }

    #[test]
    fn a_numeric_with_a_typmod_bound_as_text_is_read_with_it() {
        let t = QualifiedName::parse("t").unwrap();
        let cols = vec![
            col("a", "numeric(7,2)"),
            col("b", "numeric"),
            col("c", "int8"),
        ];
        assert_eq!(
            insert_sql(&t, &cols, 1, &Conflict::None, true, Format::Text),
            "INSERT INTO \"t\" (\"a\",\"b\",\"c\") VALUES \
             (numeric_in($1::text::cstring, 0, 458758),$2,$3)"
        );
        // Binary digits as written: the assignment rounds them as COPY's recv does.
        assert_eq!(
            insert_sql(&t, &cols, 1, &Conflict::None, true, Format::Binary),
            "INSERT INTO \"t\" (\"a\",\"b\",\"c\") VALUES ($1,$2,$3)"
        );
        // CockroachDB has no numeric_in to call; its parameters are what it reads.
        assert_eq!(
            insert_sql(
                &t,
                &cols,
                1,
                &Conflict::UpsertCockroach,
                false,
                Format::Text
            ),
            "UPSERT INTO \"t\" (\"a\",\"b\",\"c\") VALUES ($1,$2,$3)"
        );
    }

    #[test]
    fn insert_sql_golden_strings() {
        let t = QualifiedName::parse("\"my.schema\".\"Tab\"").unwrap();
        let cols = weird_cols();
        assert_eq!(
            insert_sql(&t, &cols, 2, &Conflict::None, true, Format::Binary),
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
                },
                true,
                Format::Binary
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
                },
                true,
                Format::Binary
            ),
            "INSERT INTO \"t\" (\"id\") VALUES ($1) ON CONFLICT (\"id\") DO NOTHING"
        );
        assert_eq!(
            insert_sql(
                &QualifiedName::parse("public.accounts").unwrap(),
                &cols[..2],
                1,
                &Conflict::UpsertCockroach,
                false,
                Format::Binary
            ),
            "UPSERT INTO \"public\".\"accounts\" (\"id\",\"Cost Total $\") VALUES ($1,$2)"
        );
    }

    #[test]
    fn other_columns_are_cast_without_their_typmod() {
        let cases = [
            ("mood", "mood"),
            ("integer[]", "integer[]"),
            ("character varying(5)[]", "character varying[]"),
            ("character(5)[]", "bpchar[]"),
            ("character(3)[][]", "bpchar[][]"),
            ("bit(3)", "\"bit\""),
            ("bit varying(8)", "bit varying"),
            ("numeric(7,2)[]", "numeric[]"),
            ("time(0) with time zone", "time with time zone"),
            ("public.geometry(Point,4326)", "public.geometry"),
            ("\"odd(name)\"", "\"odd(name)\""),
            ("\"char\"", "\"char\""),
            ("interval year to month", "interval year to month"),
        ];
        for (name, want) in cases {
            assert_eq!(cast_type(name), want, "{name}");
        }
        let cols = vec![col("a", "character varying(5)[]"), col("b", "bit(3)")];
        assert_eq!(
            insert_sql(&QualifiedName::parse("t").unwrap(), &cols, 1, &Conflict::None, true, Format::Binary),
            "INSERT INTO \"t\" (\"a\",\"b\") VALUES ($1::text::character varying[],$2::text::\"bit\")"
        );
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
}
