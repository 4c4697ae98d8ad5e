//! `numeric`: decimal text → PostgreSQL's base-10000 binary form.

use crate::encode::scalar::{syntax, trim, ParseResult};

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
pub(super) fn encode_numeric(v: &[u8], buf: &mut Vec<u8>) -> ParseResult<()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::test_util::*;
    use proptest::prelude::*;

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

    proptest! {
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
    }
}
