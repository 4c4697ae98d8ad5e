//! Scalar value parsers, text → PostgreSQL binary: integers, floats, booleans, UUIDs,
//! text, JSON and bytea, plus the helpers the other parsers share.

pub(super) type ParseResult<T> = Result<T, String>;

pub(super) fn syntax(ty: &str) -> String {
    format!("invalid input syntax for type {ty}")
}

pub(super) fn range(ty: &str) -> String {
    format!("value out of range for type {ty}")
}

/// PostgreSQL's `isspace` set.
#[inline]
pub(super) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

#[inline]
pub(super) fn trim(v: &[u8]) -> &[u8] {
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

pub(super) fn check_text(v: &[u8]) -> ParseResult<&str> {
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

pub(super) fn check_json(v: &[u8], ty: &str) -> ParseResult<()> {
    check_text(v)?;
    serde_json::from_slice::<serde::de::IgnoredAny>(v)
        .map(|_| ())
        .map_err(|e| format!("invalid input syntax for type {ty}: {e}"))
}

/// jsonb cannot store `\u0000`; json (kept as text) can.
pub(super) fn has_json_nul_escape(v: &[u8]) -> bool {
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

pub(super) fn parse_int(v: &[u8], min: i64, max: i64, ty: &str) -> ParseResult<i64> {
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

pub(super) trait Float: std::str::FromStr + Copy {
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

pub(super) fn parse_float<F: Float>(v: &[u8], ty: &str) -> ParseResult<F> {
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

pub(super) fn parse_bool(v: &[u8]) -> ParseResult<bool> {
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
pub(super) static HEX: [u8; 256] = {
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
pub(super) fn parse_uuid(v: &[u8]) -> ParseResult<[u8; 16]> {
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

// --- bytea ------------------------------------------------------------------------------

/// `\x` hex form (whitespace between byte pairs allowed) or the escape form (bytes as
/// they are, `\\` and `\ooo` octal escapes).
pub(super) fn decode_bytea(v: &[u8], buf: &mut Vec<u8>) -> ParseResult<()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::test_util::*;
    use crate::encode::{encode_binary, ColumnType};
    use proptest::prelude::*;

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
    }
}
