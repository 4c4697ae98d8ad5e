//! The fast path's common types in one pass: the admission rule of `fast` and the value
//! parser fused, so a canonical value is read once instead of checked, then parsed again.
//!
//! Each function here gives exactly what `fast::certain` followed by the general parser
//! gives: the same bytes when both accept, a refusal (`false`, `buf` untouched) whenever
//! either would refuse. The unit tests hold both against each other on edge cases and
//! random spellings, so a change to the admission rule that is not made here too fails
//! them. Types not handled here (`None`) take the general path.

use super::datetime::{date2j, days_in_month, POSTGRES_EPOCH_JDATE, USECS_PER_DAY};
use super::float;
use super::scalar::HEX;
use super::swar::{eight_digits, group4, leading_digits, parse_eight};
use super::ColumnType;

/// `Some(true)`: the COPY BINARY field of `v` (its length word, then its value) is
/// appended to `buf`; `Some(false)`: the fast path does not convert it (`buf` as before);
/// `None`: not a type handled here. A fixed-size value and its length word are written
/// together, in one append.
#[inline]
pub(super) fn encode(ty: ColumnType, v: &[u8], buf: &mut Vec<u8>) -> Option<bool> {
    let ok = match ty {
        ColumnType::Int2 => {
            int(v, i16::MIN as i64, i16::MAX as i64).map(|x| put(buf, (x as i16).to_be_bytes()))
        }
        ColumnType::Int4 => {
            int(v, i32::MIN as i64, i32::MAX as i64).map(|x| put(buf, (x as i32).to_be_bytes()))
        }
        ColumnType::Int8 => int(v, i64::MIN, i64::MAX).map(|x| put(buf, x.to_be_bytes())),
        ColumnType::Uuid => uuid(v).map(|u| put(buf, u)),
        ColumnType::Date => date(v).map(|d| put(buf, d.to_be_bytes())),
        ColumnType::Timestamp => timestamp(v, false).map(|t| put(buf, t.to_be_bytes())),
        ColumnType::Timestamptz => timestamp(v, true).map(|t| put(buf, t.to_be_bytes())),
        ColumnType::Float4 => float::float4(v).map(|x| put(buf, x.to_be_bytes())),
        ColumnType::Float8 => float::float8(v).map(|x| put(buf, x.to_be_bytes())),
        ColumnType::Bool => boolean(v).map(|b| put(buf, [b as u8])),
        ColumnType::Numeric => return Some(numeric(v, buf)),
        // Plain ASCII without NUL is valid text as it is; anything else is checked by the
        // general path (UTF-8, NUL, length).
        ColumnType::Text if ascii_no_nul(v) && v.len() <= i32::MAX as usize => {
            buf.extend_from_slice(&(v.len() as i32).to_be_bytes());
            buf.extend_from_slice(v);
            Some(())
        }
        _ => return None,
    };
    Some(ok.is_some())
}

/// Appends a fixed-size value with its length word.
#[inline(always)]
fn put<const N: usize>(buf: &mut Vec<u8>, value: [u8; N]) {
    let mut field = [0u8; 20];
    field[..4].copy_from_slice(&(N as i32).to_be_bytes());
    field[4..4 + N].copy_from_slice(&value);
    buf.extend_from_slice(&field[..4 + N]);
}

/// Every byte in 1..=127, in one pass without early exit (it vectorises).
#[inline]
fn ascii_no_nul(v: &[u8]) -> bool {
    v.iter()
        .fold(true, |ok, &b| ok & (b.wrapping_sub(1) < 0x7f))
}

/// `-?[0-9]{1,19}` within `min..=max`.
#[inline]
fn int(v: &[u8], min: i64, max: i64) -> Option<i64> {
    let (neg, d) = match v {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, v),
    };
    if d.is_empty() || d.len() > 19 {
        return None;
    }
    // 19 digits stay below 10^19 < 2^64: no overflow.
    let mut acc: u64 = 0;
    for &c in d {
        let x = c.wrapping_sub(b'0');
        if x > 9 {
            return None;
        }
        acc = acc * 10 + x as u64;
    }
    if neg {
        (acc <= min.unsigned_abs()).then(|| (acc as i64).wrapping_neg())
    } else {
        (acc <= max as u64).then_some(acc as i64)
    }
}

/// 32 hex digits, or `8-4-4-4-12` with hyphens.
#[inline]
fn uuid(v: &[u8]) -> Option<[u8; 16]> {
    const HYPHENATED: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
    let mut out = [0u8; 16];
    let mut bad = 0u8;
    match v.len() {
        36 => {
            if v[8] != b'-' || v[13] != b'-' || v[18] != b'-' || v[23] != b'-' {
                return None;
            }
            for (o, &p) in out.iter_mut().zip(HYPHENATED.iter()) {
                let (hi, lo) = (HEX[v[p] as usize], HEX[v[p + 1] as usize]);
                bad |= hi | lo;
                *o = hi << 4 | lo;
            }
        }
        32 => {
            for (o, p) in out.iter_mut().zip(v.chunks_exact(2)) {
                let (hi, lo) = (HEX[p[0] as usize], HEX[p[1] as usize]);
                bad |= hi | lo;
                *o = hi << 4 | lo;
            }
        }
        _ => return None,
    }
    (bad & 0xF0 == 0).then_some(out)
}

/// Two ASCII digits as a number.
#[inline]
fn two(a: u8, b: u8) -> Option<i64> {
    let (x, y) = (a.wrapping_sub(b'0'), b.wrapping_sub(b'0'));
    (x <= 9 && y <= 9).then_some(x as i64 * 10 + y as i64)
}

/// `YYYY-MM-DD`, year 1..9999, a real day of that month: days since 2000-01-01.
#[inline]
fn ymd(v: &[u8]) -> Option<i64> {
    // `YYYY-MM-` in one word: hyphens at bytes 4 and 7, digits elsewhere.
    const SEP: u64 = 0xFF << 32 | 0xFF << 56;
    const HYPHENS: u64 = (b'-' as u64) << 32 | (b'-' as u64) << 56;
    if v.len() < 10 {
        return None;
    }
    let w = u64::from_le_bytes(v[..8].try_into().unwrap());
    let pairs = word_pairs(w, SEP, HYPHENS)?;
    let y = ((pairs & 0xFF) * 100 + ((pairs >> 16) & 0xFF)) as i64;
    let m = ((pairs >> 40) & 0xFF) as i64;
    let d = two(v[8], v[9])?;
    if y == 0 || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(date2j(y, m, d) - POSTGRES_EPOCH_JDATE)
}

/// An eight-byte word of digits and separators: `None` unless the bytes under `sep` are
/// `want` and all others ASCII digits; else byte `k` of the result is the two-digit number
/// at bytes `k` and `k + 1` (meaningful where both are digits).
#[inline]
fn word_pairs(w: u64, sep: u64, want: u64) -> Option<u64> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    let digits = (w & !sep) | (ZEROS & sep);
    if w & sep != want || !eight_digits(digits) {
        return None;
    }
    let x = digits - ZEROS;
    Some(x * 10 + (x >> 8))
}

/// `HH:MM[:SS[.f{1,6}]]` at the start of `v`, hours below 24: seconds, microseconds and
/// the rest of `v`.
#[inline]
fn clock(v: &[u8]) -> Option<(i64, i64, &[u8])> {
    // `HH:MM:SS` in one word: colons at bytes 2 and 5.
    const SEP: u64 = 0xFF << 16 | 0xFF << 40;
    const COLONS: u64 = (b':' as u64) << 16 | (b':' as u64) << 40;
    let (secs, rest) = match v.get(..8) {
        Some(w) => {
            let pairs = word_pairs(u64::from_le_bytes(w.try_into().unwrap()), SEP, COLONS);
            let Some(p) = pairs else {
                return clock_bytes(v);
            };
            let (h, mi, s) = (p & 0xFF, (p >> 24) & 0xFF, (p >> 48) & 0xFF);
            if h > 23 || mi > 59 || s > 59 {
                return None;
            }
            ((h * 3600 + mi * 60 + s) as i64, &v[8..])
        }
        None => return clock_bytes(v),
    };
    let [b'.', frac @ ..] = rest else {
        return Some((secs, 0, rest));
    };
    let Some(w) = frac.get(..8) else {
        return fraction(secs, frac);
    };
    // Up to six digits, padded with zeros to eight: microseconds × 100.
    let w = u64::from_le_bytes(w.try_into().unwrap());
    let n = leading_digits(w);
    if n == 0 || n > 6 {
        return None;
    }
    let keep = (1u64 << (8 * n)) - 1;
    let usecs = parse_eight((w & keep) | (0x3030_3030_3030_3030 & !keep)) / 100;
    Some((secs, usecs as i64, &frac[n..]))
}

/// [`clock`] a byte at a time, for the forms without seconds or near the end of `v`.
fn clock_bytes(v: &[u8]) -> Option<(i64, i64, &[u8])> {
    let [h0, h1, b':', m0, m1, rest @ ..] = v else {
        return None;
    };
    let (h, mi) = (two(*h0, *h1)?, two(*m0, *m1)?);
    if h > 23 || mi > 59 {
        return None;
    }
    let secs = h * 3600 + mi * 60;
    let [b':', s0, s1, tail @ ..] = rest else {
        return Some((secs, 0, rest));
    };
    let s = two(*s0, *s1)?;
    if s > 59 {
        return None;
    }
    match tail {
        [b'.', frac @ ..] => fraction(secs + s, frac),
        _ => Some((secs + s, 0, tail)),
    }
}

/// One to six digits of a second's fraction at the start of `frac`.
fn fraction(secs: i64, frac: &[u8]) -> Option<(i64, i64, &[u8])> {
    let n = frac
        .iter()
        .take(7)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if n == 0 || n > 6 {
        return None;
    }
    let mut usecs = 0i64;
    for &c in &frac[..n] {
        usecs = usecs * 10 + (c - b'0') as i64;
    }
    usecs *= [100_000, 10_000, 1_000, 100, 10, 1][n - 1];
    Some((secs, usecs, &frac[n..]))
}

#[inline]
fn date(v: &[u8]) -> Option<i32> {
    if v.len() != 10 {
        return None;
    }
    ymd(v).map(|d| d as i32)
}

/// `YYYY-MM-DD[ T]HH:MM[:SS[.f{1,6}]]`, with `Z` / `±HH` / `±HH:MM` after it when
/// `with_tz` (required then) and nothing when not: microseconds since 2000-01-01 UTC.
#[inline]
fn timestamp(v: &[u8], with_tz: bool) -> Option<i64> {
    if v.len() < 16 || !matches!(v[10], b' ' | b'T') || v[13] != b':' {
        return None;
    }
    let days = ymd(v)?;
    let (secs, usecs, rest) = clock(&v[11..])?;
    let offset = match (with_tz, rest) {
        (false, []) => 0,
        (false, _) | (true, []) => return None,
        (true, b"Z") => 0,
        (true, [sign @ (b'+' | b'-'), h0, h1, zm @ ..]) => {
            let oh = two(*h0, *h1)?;
            let om = match zm {
                [] => 0,
                [b':', m0, m1] => two(*m0, *m1)?,
                _ => return None,
            };
            if oh > 14 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    Some((days * USECS_PER_DAY) + (secs - offset) * 1_000_000 + usecs)
}

/// `-?[0-9]+(\.[0-9]+)?` of at most 200 bytes, as `numeric_send` writes it: base-10000
/// groups without leading or trailing zero groups, the weight of the first group, the
/// scale as written (a zero is positive). The whole field, length word included, is built
/// on the stack and appended at once.
fn numeric(v: &[u8], buf: &mut Vec<u8>) -> bool {
    const NEG: u16 = 0x4000;
    /// Length word, ndigits, weight, sign and dscale.
    const HEAD: usize = 12;
    if v.len() > 200 {
        return false;
    }
    let (neg, body) = match v {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, v),
    };
    let n = body.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 {
        return false;
    }
    let (int, frac) = match &body[n..] {
        [] => (&body[..n], &[][..]),
        [b'.', f @ ..] if !f.is_empty() && f.iter().all(u8::is_ascii_digit) => (&body[..n], f),
        _ => return false,
    };
    let dscale = frac.len() as u16;
    let int = &int[int.iter().take_while(|&&b| b == b'0').count()..];
    let mut frac = &frac[..frac.len() - frac.iter().rev().take_while(|&&b| b == b'0').count()];
    // At most 199 digits: 50 groups, one more where the point splits one.
    let mut f = [0u8; HEAD + 2 * 52];
    f[10..12].copy_from_slice(&dscale.to_be_bytes());
    let mut end = HEAD;
    let mut push = |g: u16| {
        f[end..end + 2].copy_from_slice(&g.to_be_bytes());
        end += 2;
    };
    let group = |d: &[u8]| match <[u8; 4]>::try_from(d) {
        Ok(four) => group4(four),
        Err(_) => d.iter().fold(0u16, |a, &c| a * 10 + (c - b'0') as u16),
    };
    let mut weight: i16 = 0;
    if !int.is_empty() {
        let first = match int.len() % 4 {
            0 => 4,
            k => k,
        };
        push(group(&int[..first]));
        for g in int[first..].chunks_exact(4) {
            push(group(g));
        }
        weight = ((int.len() - first) / 4) as i16;
    } else if !frac.is_empty() {
        let zero_groups = frac.iter().take_while(|&&b| b == b'0').count() / 4;
        frac = &frac[zero_groups * 4..];
        weight = -1 - zero_groups as i16;
    }
    for g in frac.chunks(4) {
        push(group(g) * [1000, 100, 10, 1][g.len() - 1]);
    }
    // Trailing zero groups (only in an integer part: `frac` ends in a non-zero digit).
    while end > HEAD && f[end - 2..end] == [0, 0] {
        end -= 2;
    }
    let ndigits = ((end - HEAD) / 2) as i16;
    let sign = if neg && ndigits > 0 { NEG } else { 0 };
    f[..4].copy_from_slice(&((end - 4) as i32).to_be_bytes());
    f[4..6].copy_from_slice(&ndigits.to_be_bytes());
    f[6..8].copy_from_slice(&weight.to_be_bytes());
    f[8..10].copy_from_slice(&sign.to_be_bytes());
    buf.extend_from_slice(&f[..end]);
    true
}

/// The canonical boolean words, any case.
#[inline]
fn boolean(v: &[u8]) -> Option<bool> {
    if v.is_empty() || v.len() > 5 {
        return None;
    }
    let mut w = [0u8; 5];
    for (o, b) in w.iter_mut().zip(v) {
        *o = b.to_ascii_lowercase();
    }
    match &w[..v.len()] {
        b"t" | b"true" | b"y" | b"yes" | b"on" | b"1" => Some(true),
        b"f" | b"false" | b"n" | b"no" | b"off" | b"0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ColumnType::*;

    /// What the fast path gave before this module: the admission check, then the general
    /// parser.
    fn reference(ty: ColumnType, v: &[u8]) -> Option<Vec<u8>> {
        let mut buf = Vec::new();
        (super::super::fast::certain(ty, v)
            && super::super::encode_binary(ty, v, &mut buf).is_ok()
            && float_exact(ty, v, &buf))
        .then_some(buf)
    }

    /// Floats are admitted only when finite, not an underflow and not subnormal.
    fn float_exact(ty: ColumnType, v: &[u8], buf: &[u8]) -> bool {
        use super::super::fast::float_exact;
        match ty {
            Float4 => {
                let x = f32::from_be_bytes(buf.try_into().unwrap());
                float_exact(v, x as f64, f32::MIN_POSITIVE as f64)
            }
            Float8 => float_exact(
                v,
                f64::from_be_bytes(buf.try_into().unwrap()),
                f64::MIN_POSITIVE,
            ),
            _ => true,
        }
    }

    fn direct(ty: ColumnType, v: &[u8]) -> Option<Vec<u8>> {
        let mut buf = vec![0xAB];
        let Some(ok) = encode(ty, v, &mut buf) else {
            // Only text outside plain ASCII is left to the general path.
            assert!(ty == Text && !ascii_no_nul(v), "{ty:?} {v:?}");
            return reference(ty, v);
        };
        if !ok {
            assert_eq!(buf, [0xAB], "{ty:?} {v:?}: a refusal leaves the buffer");
            return None;
        }
        // The length word, then the value.
        let len = i32::from_be_bytes(buf[1..5].try_into().unwrap());
        assert_eq!(len as usize, buf.len() - 5, "{ty:?} {v:?}: length word");
        Some(buf[5..].to_vec())
    }

    fn agree(ty: ColumnType, v: &[u8]) {
        assert_eq!(
            direct(ty, v),
            reference(ty, v),
            "{ty:?} {:?}",
            String::from_utf8_lossy(v)
        );
    }

    const TYPES: [ColumnType; 12] = [
        Float4,
        Float8,
        Int2,
        Int4,
        Int8,
        Uuid,
        Date,
        Timestamp,
        Timestamptz,
        Bool,
        Text,
        Numeric,
    ];

    #[test]
    fn edge_spellings_agree_with_the_admission_check_and_the_parser() {
        let cases = [
            "",
            "0",
            "-0",
            "-",
            "+1",
            " 1",
            "1 ",
            "007",
            "32767",
            "32768",
            "-32768",
            "-32769",
            "2147483647",
            "2147483648",
            "-2147483648",
            "-2147483649",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999",
            "1_0",
            "0x1",
            "１",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
            "a0eebc99-9c0b4ef8-bb6d-6bb9bd380a11",
            "a0eebc999c0b4ef8bb6d6bb9bd380a1",
            "2024-01-31",
            "2024-02-29",
            "2023-02-29",
            "1900-02-29",
            "2000-02-29",
            "0001-01-01",
            "0000-01-01",
            "9999-12-31",
            "2024-00-10",
            "2024-13-01",
            "2024-01-00",
            "2024-01-32",
            "2024-04-31",
            "2024-1-31",
            "2024/01/31",
            "2024-01-31 ",
            " 2024-01-31",
            "2024-01-31T12:00",
            "2024-01-31 12:00",
            "2024-01-31 12:00:00",
            "2024-01-31 23:59:59.999999",
            "2024-01-31 24:00:00",
            "2024-01-31 12:60",
            "2024-01-31 12:00:60",
            "2024-01-31 12:00:00.",
            "2024-01-31 12:00:00.1234567",
            "2024-01-31 12:00:00.5Z",
            "2024-01-31 12:00Z",
            "2024-01-31 12:00:00+00:00",
            "2024-01-31 12:00:00-05",
            "2024-01-31 12:00:00+05:30",
            "2024-01-31 12:00:00+14:59",
            "2024-01-31 12:00:00+15",
            "2024-01-31 12:00:00+05:60",
            "2024-01-31 12:00:00+0530",
            "2024-01-31 12:00:00 +05",
            "2024-01-31 12:00:00z",
            "2024-01-31 12:00:00 PST",
            "2024-01-31 12:00:00+5",
            "2024-01-31t12:00",
            "2007-08-21T09:04:36.517899+00:00",
            "0001-01-01 00:00:00-14:59",
            "9999-12-31 23:59:59.999999+14",
            "9999-12-31 23:59:59.999999-14:59",
            "2024-01-31 12:00:00.000001",
            "2024-01-31 1:00",
            "2024-01-31 12:0",
            "t",
            "f",
            "true",
            "FALSE",
            "y",
            "N",
            "yes",
            "nO",
            "on",
            "OFF",
            "1",
            "0",
            "tr",
            "truee",
            " true",
            "of",
            "plain text",
            "tab\there",
            "nul\0byte",
            "é",
            "\u{7f}",
            "0.0",
            "-0.00",
            "00.000",
            "1.",
            ".5",
            "-.5",
            "1e3",
            "NaN",
            "10000",
            "100000000",
            "-10000.0001",
            "0.0001",
            "0.00001",
            "0.000012",
            "12345.6789",
            "1234.56789",
            "-14405043.69",
            "0.0000002625324200780241",
            "9999.9999",
            "0.10",
            "1.2.3",
            "--1",
        ];
        for ty in TYPES {
            for v in cases {
                agree(ty, v.as_bytes());
            }
        }
    }

    #[test]
    fn random_spellings_agree_with_the_admission_check_and_the_parser() {
        // Random strings over the bytes these forms are made of, shaped like each form,
        // so that near misses are common.
        const ALPHABET: &[u8] = b"0123456789-:+ .TZtfaeAE";
        let templates = [
            "0000",
            "-00000",
            "0000000000000000000",
            "-0000000000000000000",
            "00000000000",
            "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "0000-a0-c0",
            "0000-a0-c0 h0:s0",
            "0000-a0-c0Th0:s0:s0",
            "0000-a0-c0 h0:s0:s0.000000",
            "0000-a0-c0 h0:s0:s0.000+h0:s0",
            "0000-a0-c0 h0:s0:s0-a0",
            "0000-a0-c0 h0:s0Z",
            "0000-a0-c0Th0:s0:s0.000000+h0:s0",
            "0000-a0-c0 h0:s0:s0.000-a0",
            "0000-a0-c0 h0:s0:s0.0000000Z",
            "t",
            "FALSE",
            "yes",
            "No",
            "on",
            "oFf",
            "Y",
            "1",
            "zzzzzzz.zzzzzzzzz",
            "-zzzzzzzzzzz.zz",
            "zzzzzzzzzzzzzzzz",
            "0.zzzzzzzzzzzzzzzzzzzz",
            "zz.zzzzzzzzzzzzzzze-zz",
            "-0.zzzzzzzzzzzzzzzzE+z",
            "zzzzzzzzzzzzzzzzzzzez00",
        ];
        let mut next = crate::testing::xorshift(0x9E37_79B9_7F4A_7C15u64);
        let mut accepted = [0usize; TYPES.len()];
        for _ in 0..50_000 {
            let t = templates[(next() % templates.len() as u64) as usize].as_bytes();
            let mut v: Vec<u8> = t
                .iter()
                .map(|&c| match c {
                    b'0' => b'0' + (next() % 10) as u8,
                    b'x' => b"0123456789abcdefABCDEF"[(next() % 22) as usize],
                    // Mostly zeros: leading, trailing and interior zero groups.
                    // Digits of months, days, hours, minutes: mostly in range.
                    b'a' => b'0' + (next() % 2) as u8,
                    b'c' => b'0' + (next() % 4) as u8,
                    b'h' => b'0' + (next() % 3) as u8,
                    b's' => b'0' + (next() % 7) as u8,
                    b'z' if next() % 3 != 0 => b'0',
                    b'z' => b'0' + (next() % 10) as u8,
                    other => other,
                })
                .collect();
            // Mutate one byte in a few of them.
            if next() % 4 == 0 {
                let i = (next() % v.len() as u64) as usize;
                v[i] = ALPHABET[(next() % ALPHABET.len() as u64) as usize];
            }
            if next() % 16 == 0 {
                v.truncate((next() % (v.len() as u64 + 1)) as usize);
            }
            for (k, ty) in TYPES.into_iter().enumerate() {
                agree(ty, &v);
                accepted[k] += reference(ty, &v).is_some() as usize;
            }
        }
        // Each form is exercised on both sides of the rule (text takes every ASCII string).
        for (k, n) in accepted
            .into_iter()
            .enumerate()
            .filter(|&(k, _)| TYPES[k] != Text)
        {
            assert!((500..45_000).contains(&n), "{:?}: {n} accepted", TYPES[k]);
        }
    }

    #[test]
    fn other_types_take_the_general_path() {
        let mut buf = Vec::new();
        for ty in [Time, Interval, Bytea, Json, Jsonb, Name, Other] {
            assert_eq!(encode(ty, b"1", &mut buf), None, "{ty:?}");
        }
        assert_eq!(encode(Text, "é".as_bytes(), &mut buf), None);
        assert!(buf.is_empty());
    }
}
