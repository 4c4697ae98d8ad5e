//! The fast path's admission rule: which field texts are converted client-side.
//!
//! Only canonical spellings whose meaning depends on no session setting (TimeZone,
//! DateStyle, IntervalStyle) are admitted, and the value parsers then convert them as the
//! server's input functions would. Anything else is *deferred*: sent to the server as
//! text, so the server's own parser decides. When in doubt, defer.

use super::scalar::{is_space, trim};
use super::ColumnType;

/// Whether `v` has a shape the fast path converts exactly as the server would, under any
/// session settings. A `true` is still subject to the value parser (a range error there
/// defers too).
pub(super) fn certain(ty: ColumnType, v: &[u8]) -> bool {
    match ty {
        ColumnType::Int2 | ColumnType::Int4 | ColumnType::Int8 => canonical_int(v, 19),
        ColumnType::Numeric => v.len() <= 200 && plain_decimal(v),
        ColumnType::Float4 | ColumnType::Float8 => v.len() <= 40 && plain_float(v),
        ColumnType::Bool => canonical_bool(v),
        // Text, names and JSON are passed through as they are; the server parses JSON
        // from the same bytes in binary as in text.
        ColumnType::Text | ColumnType::Name | ColumnType::Json | ColumnType::Jsonb => true,
        ColumnType::Uuid => canonical_uuid(v),
        ColumnType::Date => v.len() == 10 && iso_date(v),
        ColumnType::Timestamp => iso_timestamp(v).is_some_and(|rest| rest.is_empty()),
        ColumnType::Timestamptz => iso_timestamp(v).is_some_and(numeric_offset),
        ColumnType::Time => clock(v).is_some_and(|rest| rest.is_empty()),
        // Interval input depends on IntervalStyle for signs; the server decides.
        ColumnType::Interval => false,
        ColumnType::Bytea => bytea_plain(v),
        ColumnType::Other => false,
    }
}

/// Whether every PostgreSQL version refuses `v` for a number type: after blanks and a
/// sign it starts with a digit or `.` (not `0x`/`0o`/`0b`, `NaN`, `Infinity`) and holds a
/// byte no decimal spelling has. Such a value is reported client-side, with its line and
/// column, as the server would refuse it.
pub(super) fn certainly_not_a_number(ty: ColumnType, v: &[u8]) -> bool {
    let int = matches!(ty, ColumnType::Int2 | ColumnType::Int4 | ColumnType::Int8);
    let real = matches!(
        ty,
        ColumnType::Numeric | ColumnType::Float4 | ColumnType::Float8
    );
    if !int && !real {
        return false;
    }
    // PostgreSQL's `isspace` set, which has `\v` (not in `u8::is_ascii_whitespace`).
    let t = trim(v);
    let t = t
        .strip_prefix(b"-")
        .or_else(|| t.strip_prefix(b"+"))
        .unwrap_or(t);
    match t {
        [b'0', p, ..] if matches!(p.to_ascii_lowercase(), b'x' | b'o' | b'b') => false,
        // No integer spelling starts otherwise than with a digit.
        [first, ..] if int && !first.is_ascii_digit() => true,
        [] => int,
        [first, ..] if first.is_ascii_digit() || (*first == b'.' && real) => t.iter().any(|&b| {
            let ok = b.is_ascii_digit()
                || b == b'_'
                || (real && matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
            !ok && !is_space(b)
        }),
        _ => false,
    }
}

/// `-?[0-9]{1,max}`: no sign `+`, no blanks, no underscores, no `0x`.
fn canonical_int(v: &[u8], max: usize) -> bool {
    let d = v.strip_prefix(b"-").unwrap_or(v);
    !d.is_empty() && d.len() <= max && d.iter().all(u8::is_ascii_digit)
}

fn digits(v: &[u8]) -> usize {
    v.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// `-?[0-9]+(\.[0-9]+)?`: no exponent, no blanks, no `NaN`/`Infinity`.
fn plain_decimal(v: &[u8]) -> bool {
    let v = v.strip_prefix(b"-").unwrap_or(v);
    let n = digits(v);
    if n == 0 {
        return false;
    }
    match &v[n..] {
        [] => true,
        [b'.', frac @ ..] => !frac.is_empty() && digits(frac) == frac.len(),
        _ => false,
    }
}

/// A plain decimal with an optional short exponent `e[+-]?[0-9]{1,3}`.
fn plain_float(v: &[u8]) -> bool {
    let (mantissa, exp) = match v.iter().position(|&b| b == b'e' || b == b'E') {
        Some(i) => (&v[..i], Some(&v[i + 1..])),
        None => (v, None),
    };
    let exp_ok = match exp {
        None => true,
        Some(e) => {
            let e = e
                .strip_prefix(b"-")
                .or_else(|| e.strip_prefix(b"+"))
                .unwrap_or(e);
            !e.is_empty() && e.len() <= 3 && e.iter().all(u8::is_ascii_digit)
        }
    };
    exp_ok && plain_decimal(mantissa)
}

/// Whether a parsed float is what the server stores: finite, and neither an underflow to
/// zero (the server refuses) nor a subnormal (versions differ). The rule `float`'s fused
/// path is tested against.
#[cfg(test)]
pub(super) fn float_exact(text: &[u8], x: f64, min_positive: f64) -> bool {
    if !x.is_finite() {
        return false;
    }
    if x == 0.0 {
        let mantissa = text
            .split(|&b| b == b'e' || b == b'E')
            .next()
            .unwrap_or(text);
        return mantissa.iter().all(|&b| matches!(b, b'0' | b'.' | b'-'));
    }
    x.abs() >= min_positive
}

fn canonical_bool(v: &[u8]) -> bool {
    const WORDS: [&[u8]; 12] = [
        b"t", b"f", b"true", b"false", b"y", b"n", b"yes", b"no", b"on", b"off", b"1", b"0",
    ];
    WORDS.iter().any(|w| w.eq_ignore_ascii_case(v))
}

fn canonical_uuid(v: &[u8]) -> bool {
    match v.len() {
        32 => v.iter().all(u8::is_ascii_hexdigit),
        36 => v.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        }),
        _ => false,
    }
}

fn two(v: &[u8], max: u8) -> bool {
    v.len() == 2 && v[0].is_ascii_digit() && v[1].is_ascii_digit() && {
        let n = (v[0] - b'0') * 10 + (v[1] - b'0');
        n <= max
    }
}

/// `YYYY-MM-DD`, year 1..9999: ISO order whatever the DateStyle.
fn iso_date(v: &[u8]) -> bool {
    v.len() == 10
        && v[..4].iter().all(u8::is_ascii_digit)
        && &v[..4] != b"0000"
        && v[4] == b'-'
        && v[7] == b'-'
        && two(&v[5..7], 12)
        && two(&v[8..10], 31)
}

/// `HH:MM[:SS[.f{1,6}]]` at the start of `v`, hours below 24; returns the rest.
fn clock(v: &[u8]) -> Option<&[u8]> {
    if v.len() < 5 || !two(&v[..2], 23) || v[2] != b':' || !two(&v[3..5], 59) {
        return None;
    }
    let mut rest = &v[5..];
    if let [b':', s0, s1, tail @ ..] = rest {
        if !two(&[*s0, *s1], 59) {
            return None;
        }
        rest = tail;
        if let [b'.', frac @ ..] = rest {
            let n = digits(frac);
            if n == 0 || n > 6 {
                return None;
            }
            rest = &frac[n..];
        }
    }
    Some(rest)
}

/// `YYYY-MM-DD[ T]HH:MM[:SS[.f{1,6}]]` at the start of `v`; returns the rest.
fn iso_timestamp(v: &[u8]) -> Option<&[u8]> {
    if v.len() < 16 || !iso_date(&v[..10]) || !matches!(v[10], b' ' | b'T') {
        return None;
    }
    clock(&v[11..])
}

/// `Z`, `+HH` or `+HH:MM` (either sign): an offset that does not need the zone database.
fn numeric_offset(v: &[u8]) -> bool {
    match v {
        b"Z" => true,
        [b'+' | b'-', h @ ..] => match h.len() {
            2 => two(h, 14),
            5 => two(&h[..2], 14) && h[2] == b':' && two(&h[3..], 59),
            _ => false,
        },
        _ => false,
    }
}

/// Hex `\x` with pairs of hex digits and nothing else, or escape format without any
/// backslash (the bytes as they are).
fn bytea_plain(v: &[u8]) -> bool {
    match v.strip_prefix(b"\\x") {
        Some(hex) => hex.len() % 2 == 0 && hex.iter().all(u8::is_ascii_hexdigit),
        None => !v.contains(&b'\\'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ColumnType::*;

    /// Every class the issue lists as wrongly refused or wrongly accepted goes to the
    /// server; the canonical forms stay on the fast path.
    #[test]
    fn non_canonical_spellings_are_deferred() {
        let deferred: &[(ColumnType, &str)] = &[
            (Timestamptz, "2024-01-31 12:34:56 PST"),
            (Timestamptz, "2024-01-31 12:34:56 Europe/Paris"),
            (Timestamptz, "2024-01-31 12:34:56 EST5EDT"),
            (Timestamptz, "2024-07-01 12:00"),
            (Date, "1/31/24"),
            (Date, "01/02/2024"),
            (Date, "today"),
            (Time, "allballs"),
            (Date, "J2451545"),
            (Date, "2024 01 31"),
            (Date, "2024.01.31"),
            (Date, "2024-001"),
            (Date, "Wed Jan 31 2024"),
            (Date, "040506"),
            (Date, "Feb 10 100000"),
            (Time, "T12:34:56"),
            (Time, "01:00 PM-08"),
            (Time, "11:30 a.m."),
            (Time, "24:00:00"),
            (Timestamp, "20240131T123456"),
            (Timestamp, "2024-Jan-31T12:00"),
            (Timestamp, "600000-01-01 00:00"),
            (Timestamp, "2024-01-31 12:00:00.1234567"),
            (Timestamp, "0000-01-01 00:00"),
            (Interval, "P0001-02-03T04:05:06"),
            (Interval, "1d2h"),
            (Interval, "-1 2:03:04"),
            (Float8, "0x1p3"),
            (Float8, "1e400"),
            (Float8, "NaN"),
            (Float4, " 1.5"),
            (Numeric, "0e1073741823"),
            (Numeric, "1e3"),
            (Numeric, ".5"),
            (Numeric, "NaN"),
            (Int4, "+7"),
            (Int4, " 12 "),
            (Int4, "1_000"),
            (Int4, "0x1F"),
            (Bool, "tr"),
            (Bool, " true"),
            (Uuid, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"),
            (Bytea, "\\x0\u{b}1"),
            (Bytea, "\\x01\u{c}"),
            (Bytea, "\\x012"),
            (Bytea, "a\\\\b"),
            (Float4, "1e-40"),
            (Float4, "3.5e38"),
            (Int2, "32768"),
            (Date, "2024-02-30"),
            (Other, "happy"),
        ];
        for (ty, v) in deferred {
            let mut buf = Vec::new();
            let fast = super::super::fast_binary(*ty, v.as_bytes(), &mut buf);
            assert!(!fast && buf.is_empty(), "{ty:?} {v:?} should be deferred");
        }
        let fast: &[(ColumnType, &str)] = &[
            (Int8, "-9223372036854775808"),
            (Int2, "007"),
            (Numeric, "-1234.50"),
            (Float8, "1.5e-3"),
            (Bool, "TRUE"),
            (Uuid, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
            (Date, "2024-01-31"),
            (Timestamp, "2024-01-31T12:00"),
            (Timestamp, "2024-01-31 12:00:00.123456"),
            (Timestamptz, "2024-01-31 12:00:00Z"),
            (Timestamptz, "2024-01-31 12:00:00-05"),
            (Timestamptz, "2024-01-31 12:00:00+05:30"),
            (Time, "23:59:59.999999"),
            (Bytea, "\\xDEADbeef"),
            (Bytea, "plain"),
            (Text, "anything at all"),
        ];
        for (ty, v) in fast {
            let mut buf = Vec::new();
            let fast = super::super::fast_binary(*ty, v.as_bytes(), &mut buf);
            assert!(fast, "{ty:?} {v:?} should be fast");
        }
    }

    #[test]
    fn only_sure_refusals_are_reported_client_side() {
        assert!(certainly_not_a_number(Int8, b"12x"));
        assert!(certainly_not_a_number(Int4, b"1.5"));
        assert!(certainly_not_a_number(Numeric, b" 12x "));
        for v in [
            "0x1F",
            "NaN",
            "inf",
            "1e3",
            " 7 ",
            "1_000",
            "x",
            "-Infinity",
        ] {
            assert!(!certainly_not_a_number(Float8, v.as_bytes()), "{v}");
            let int_sure = ["NaN", "inf", "1e3", "x", "-Infinity"].contains(&v);
            assert_eq!(certainly_not_a_number(Int8, v.as_bytes()), int_sure, "{v}");
        }
        assert!(!certainly_not_a_number(Text, b"12x"));
    }

    /// What the encoder does with one value of type `ty`: the binary value it sends, or
    /// the error (deferred to the server, or a client-side refusal).
    fn outcome(ty: &str, v: &str) -> Result<Vec<u8>, crate::encode::FieldError> {
        use crate::encode::{Column, EncodedRows, Encoder, Format};
        let enc = Encoder::new(vec![Column::new("v", ty)], Format::Binary);
        let mut rows = EncodedRows::new();
        enc.encode_row([Some(v.as_bytes())], 0, &mut rows)?;
        // Whatever the fast path defers, the text layout sends as it is.
        let text = Encoder::new(vec![Column::new("v", ty)], Format::Text);
        text.encode_row([Some(v.as_bytes())], 0, &mut EncodedRows::new())
            .unwrap_or_else(|e| panic!("{ty} {v:?} refused as text: {}", e.msg));
        Ok(rows.field(0, 0).unwrap().to_vec())
    }

    fn deferred(ty: &str, v: &str) {
        match outcome(ty, v) {
            Err(e) if e.deferred => {}
            Err(e) => panic!("{ty} {v:?} refused client-side: {}", e.msg),
            Ok(b) => panic!("{ty} {v:?} converted client-side to {b:?}"),
        }
    }

    /// Issue 11, values once accepted wrongly: each now goes to the server as text, so
    /// PostgreSQL refuses it (or reads it) itself.
    #[test]
    fn wrongly_accepted_classes_go_to_the_server() {
        let long_fraction = format!("2024-01-31 00:00:00.{}", "0".repeat(150));
        let cases: &[(&str, &str)] = &[
            // Years past 294276 once wrapped around.
            ("timestamp", "600000-01-01"),
            ("timestamp", "600000-01-01 00:00"),
            ("timestamptz", "294277-01-01 00:00+00"),
            ("date", "600000-01-01"),
            // `PM-08` is a POSIX zone for PostgreSQL: 01:00, not 13:00.
            ("time", "01:00 PM-08"),
            ("timestamp", "2024-01-31 01:00 PM-08"),
            ("numeric", "0e1073741823"),
            ("numeric(20,6)", "0e1073741823"),
            ("bytea", "\\x0\u{b}1"),
            ("bytea", "\\x01\u{c}"),
            ("date", "Feb 10 100000"),
            ("timestamp", "2024-Jan-31T12:00"),
            ("time", "11:30 a.m."),
            ("timestamp", "2024-01-31 11:30 a.m."),
            // Over PostgreSQL's length limit for date/time text.
            ("date", &long_fraction),
            ("timestamp", &long_fraction),
        ];
        for (ty, v) in cases {
            deferred(ty, v);
        }
    }

    /// Issue 11, values once refused client-side that PostgreSQL reads: each is left to
    /// the server, never refused.
    #[test]
    fn wrongly_refused_classes_go_to_the_server() {
        let cases: &[(&str, &str)] = &[
            ("timestamptz", "2024-01-31 12:34:56 PST"),
            ("timestamptz", "2024-01-31 12:34:56 Europe/Paris"),
            ("timestamptz", "2024-01-31 12:34:56 EST5EDT"),
            ("time with time zone", "10:00 PST"),
            ("date", "1/31/24"),
            ("timestamp", "1/31/24 10:00"),
            ("interval", "P0001-02-03T04:05:06"),
            ("date", "today"),
            ("time", "allballs"),
            ("date", "J2451545"),
            ("date", "2024 01 31"),
            ("date", "2024.01.31"),
            ("date", "2024-001"),
            ("date", "Wed Jan 31 2024"),
            ("date", "040506"),
            ("time", "040506"),
            ("time", "T12:34:56"),
            ("timestamp", "20240131T123456"),
            ("float8", "0x1p3"),
            ("float4", "0x1.8p1"),
            ("float8", "-0X1P-2"),
            ("interval", "1d2h"),
            // PostgreSQL's isspace has \v and \f around numbers.
            ("integer", "\u{b}5"),
            ("smallint", "5\u{b}"),
            ("real", "1.5\u{b}"),
            ("double precision", "\u{c}-0\u{c}"),
            ("numeric", "\u{b}1.5\u{b}"),
        ];
        for (ty, v) in cases {
            deferred(ty, v);
        }
    }

    /// numeric(7,2) values are sent with all their digits: the server rounds them to the
    /// scale and only then checks the precision (99999.994 is stored as 99999.99, 99999.995
    /// overflows there), exactly as numeric_in does for COPY.
    #[test]
    fn numeric_is_rounded_to_its_typmod_by_the_server() {
        let header = |nd: i16, w: i16, dscale: u16| {
            let mut b = nd.to_be_bytes().to_vec();
            b.extend_from_slice(&w.to_be_bytes());
            b.extend_from_slice(&0u16.to_be_bytes());
            b.extend_from_slice(&dscale.to_be_bytes());
            b
        };
        let mut want = header(3, 1, 3);
        for d in [9i16, 9999, 9940] {
            want.extend_from_slice(&d.to_be_bytes());
        }
        assert_eq!(outcome("numeric(7,2)", "99999.994").unwrap(), want);
        let mut want = header(3, 1, 3);
        for d in [9i16, 9999, 9950] {
            want.extend_from_slice(&d.to_be_bytes());
        }
        assert_eq!(outcome("numeric(7,2)", "99999.995").unwrap(), want);
        deferred("numeric(7,2)", "9.9999e4");
    }

    #[test]
    fn canonical_spellings_are_converted_client_side() {
        // Days and microseconds since 2000-01-01, offsets applied.
        assert_eq!(
            outcome("date", "2024-01-31").unwrap(),
            8796i32.to_be_bytes()
        );
        let ts = (8796i64 * 86_400 + 12 * 3600 + 34 * 60 + 56) * 1_000_000 + 500_000;
        assert_eq!(
            outcome("timestamp", "2024-01-31 12:34:56.5").unwrap(),
            ts.to_be_bytes()
        );
        assert_eq!(
            outcome("timestamptz", "2024-01-31T14:34:56.5+02:00").unwrap(),
            ts.to_be_bytes()
        );
        assert_eq!(
            outcome("time", "12:34:56").unwrap(),
            ((12i64 * 3600 + 34 * 60 + 56) * 1_000_000).to_be_bytes()
        );
        assert_eq!(outcome("integer", "-42").unwrap(), (-42i32).to_be_bytes());
        assert_eq!(
            outcome("double precision", "1.5e3").unwrap(),
            1500f64.to_be_bytes()
        );
        assert_eq!(
            outcome("bytea", "\\xDEADbeef").unwrap(),
            [0xde, 0xad, 0xbe, 0xef]
        );
        // Refused by every PostgreSQL version: reported client-side with its position.
        let e = outcome("integer", "12x").unwrap_err();
        assert!(
            !e.deferred && e.msg == "invalid input syntax for type integer",
            "{e}"
        );
    }

    #[test]
    fn floats_that_overflow_or_underflow_are_not_exact() {
        assert!(float_exact(b"0.000", 0.0, f64::MIN_POSITIVE));
        assert!(!float_exact(b"1e-400", 0.0, f64::MIN_POSITIVE));
        assert!(!float_exact(b"1e-310", 1e-310, f64::MIN_POSITIVE));
        assert!(!float_exact(b"1e400", f64::INFINITY, f64::MIN_POSITIVE));
        assert!(float_exact(b"1.5", 1.5, f64::MIN_POSITIVE));
    }
}
