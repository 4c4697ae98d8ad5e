//! The tally of one column's values: the candidate types still open, narrowed value by
//! value by the encoder's check and each type's plain shape (see the module above).

use super::dates;
use super::InferOptions;
use crate::encode::{self, ColumnType};

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
pub(super) const DATES: u16 = DATE | TIMESTAMP | TIMESTAMPTZ;

/// The candidate types still open for one column.
#[derive(Debug, Clone)]
pub(super) struct Tally {
    pub(super) alive: u16,
    /// Some value had an exponent or was NaN/Infinity: prefer float8 over numeric.
    wants_float: bool,
    pub(super) nulls: u64,
    pub(super) non_null: u64,
    pub(super) dates: dates::DateVotes,
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
pub(super) fn iso_date_fits(v: &[u8], alive: u16, scratch: &mut Vec<u8>) -> u16 {
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
pub(super) struct Scratch {
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
    pub(super) fn new() -> Tally {
        Tally {
            alive: ALL,
            wants_float: false,
            nulls: 0,
            non_null: 0,
            dates: dates::DateVotes::default(),
        }
    }

    pub(super) fn observe(&mut self, v: Option<&[u8]>, scratch: &mut Scratch, opts: &InferOptions) {
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
            let dates = alive & DATES;
            let mut iso_fits = |x: &[u8]| iso_date_fits(x, dates, scratch);
            let fits = self.dates.observe(v, opts.date_order, iso, &mut iso_fits);
            alive = alive & !DATES | fits;
        }
        self.alive = alive;
    }

    pub(super) fn type_name(&self) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::super::tests::{col, opts, run, types_with};
    use crate::encode::ColumnType;
    use crate::source::Dialect;

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
