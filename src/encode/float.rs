//! `real` and `double precision` on the fast path in one pass: the admission rule of
//! `fast` (a plain decimal with a short exponent), the parse and the exactness check
//! (finite, no underflow, no subnormal) fused.
//!
//! The digits are read once into a `u64`. When that mantissa and the power of ten are
//! both exact in the float type (at most 2^53 and 10^22 for `f64`, 2^24 and 10^10 for
//! `f32`), one multiplication or division gives the correctly rounded value (Clinger's
//! fast path), the value `float8in`'s `strtod` stores. Anything longer goes to the
//! standard library's parser, correctly rounded too, without the checks the general path
//! repeats. The unit tests hold both paths equal to `fast::certain`, `parse_float` and
//! `fast::float_exact` on edge spellings and random values.

use super::swar::{eight_digits, parse_eight};
use std::str::FromStr;

/// A plain decimal `-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]{1,3})?` of at most 40 bytes.
struct Decimal {
    neg: bool,
    /// The significant digits when there are at most 19 (else wrapped, unused).
    mantissa: u64,
    /// Significant digits (leading zeros dropped); 0 for a zero.
    digits: usize,
    /// The value is `mantissa × 10^exp10`.
    exp10: i32,
}

/// Reads `v` as the admission rule's plain float, in one pass.
#[inline]
fn scan(v: &[u8]) -> Option<Decimal> {
    if v.len() > 40 {
        return None;
    }
    let neg = v.first() == Some(&b'-');
    let int_start = neg as usize;
    let mut i = zeros(v, int_start);
    let mut m = 0u64;
    let int_end = digits(v, i, &mut m);
    if int_end == int_start {
        return None;
    }
    let mut sig = int_end - i;
    i = int_end;
    let mut frac = 0;
    if v.get(i) == Some(&b'.') {
        let frac_start = i + 1;
        // Zeros after the point lead too when the integer part is all zeros.
        let sig_start = if sig == 0 {
            zeros(v, frac_start)
        } else {
            frac_start
        };
        let end = digits(v, sig_start, &mut m);
        frac = end - frac_start;
        if frac == 0 {
            return None;
        }
        sig += end - sig_start;
        i = end;
    }
    let mut exp10 = -(frac as i32);
    if let Some(b'e' | b'E') = v.get(i) {
        i += 1;
        let neg_exp = v.get(i) == Some(&b'-');
        i += matches!(v.get(i), Some(b'-' | b'+')) as usize;
        let start = i;
        let mut e = 0i32;
        while let Some(&b) = v.get(i) {
            let x = b.wrapping_sub(b'0');
            if x > 9 {
                break;
            }
            if i - start == 3 {
                return None;
            }
            e = e * 10 + x as i32;
            i += 1;
        }
        if i == start {
            return None;
        }
        exp10 += if neg_exp { -e } else { e };
    }
    (i == v.len()).then_some(Decimal {
        neg,
        mantissa: m,
        digits: sig,
        exp10,
    })
}

/// Where the run of `0`s of `v` from `i` on ends.
#[inline]
fn zeros(v: &[u8], mut i: usize) -> usize {
    while v.get(i) == Some(&b'0') {
        i += 1;
    }
    i
}

/// Reads the ASCII digits of `v` from `i` on into `m` (wrapping past 19 digits), eight
/// at a time while it can; returns where they end.
#[inline]
fn digits(v: &[u8], mut i: usize, m: &mut u64) -> usize {
    while let Some(w) = v.get(i..i + 8) {
        let w = u64::from_le_bytes(w.try_into().unwrap());
        if !eight_digits(w) {
            break;
        }
        *m = m.wrapping_mul(100_000_000).wrapping_add(parse_eight(w));
        i += 8;
    }
    while let Some(&b) = v.get(i) {
        let x = b.wrapping_sub(b'0');
        if x > 9 {
            break;
        }
        *m = m.wrapping_mul(10).wrapping_add(x as u64);
        i += 1;
    }
    i
}

/// What the two float types differ in.
trait Real: FromStr + Copy + std::ops::Neg<Output = Self> + 'static {
    /// Mantissas up to this are exact.
    const MAX_EXACT: u64;
    /// 10^0 ..= the largest exact power of ten.
    const POW10: &'static [Self];
    fn from_u64(m: u64) -> Self;
    fn mul(self, p: Self) -> Self;
    fn div(self, p: Self) -> Self;
    /// Finite, and zero or at least the smallest normal value.
    fn normal_or_zero(self) -> bool;
    fn is_zero(self) -> bool;
}

impl Real for f64 {
    const MAX_EXACT: u64 = 1 << 53;
    const POW10: &'static [f64] = &[
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];
    fn from_u64(m: u64) -> f64 {
        m as f64
    }
    fn mul(self, p: f64) -> f64 {
        self * p
    }
    fn div(self, p: f64) -> f64 {
        self / p
    }
    fn normal_or_zero(self) -> bool {
        self.is_finite() && (self == 0.0 || self.abs() >= f64::MIN_POSITIVE)
    }
    fn is_zero(self) -> bool {
        self == 0.0
    }
}

impl Real for f32 {
    const MAX_EXACT: u64 = 1 << 24;
    const POW10: &'static [f32] = &[1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10];
    fn from_u64(m: u64) -> f32 {
        m as f32
    }
    fn mul(self, p: f32) -> f32 {
        self * p
    }
    fn div(self, p: f32) -> f32 {
        self / p
    }
    fn normal_or_zero(self) -> bool {
        self.is_finite() && (self == 0.0 || self.abs() >= f32::MIN_POSITIVE)
    }
    fn is_zero(self) -> bool {
        self == 0.0
    }
}

#[inline]
fn parse<F: Real>(v: &[u8]) -> Option<F> {
    let d = scan(v)?;
    if d.digits == 0 {
        let zero = F::from_u64(0);
        return Some(if d.neg { -zero } else { zero });
    }
    let max_pow = F::POW10.len() as i32 - 1;
    if d.digits <= 19 && d.mantissa <= F::MAX_EXACT && (-max_pow..=max_pow).contains(&d.exp10) {
        let m = F::from_u64(d.mantissa);
        let p = F::POW10[d.exp10.unsigned_abs() as usize];
        let x = if d.exp10 < 0 { m.div(p) } else { m.mul(p) };
        return Some(if d.neg { -x } else { x });
    }
    // SAFETY: `scan` admitted only ASCII digits, '-', '+', '.', 'e' and 'E'.
    let s = unsafe { std::str::from_utf8_unchecked(v) };
    let x: F = s.parse().ok()?;
    // A non-zero digit read as zero is an underflow, which the server refuses.
    (x.normal_or_zero() && !x.is_zero()).then_some(x)
}

/// The `double precision` value of `v` when the fast path admits it.
#[inline]
pub(super) fn float8(v: &[u8]) -> Option<f64> {
    parse::<f64>(v)
}

/// The `real` value of `v` when the fast path admits it.
#[inline]
pub(super) fn float4(v: &[u8]) -> Option<f32> {
    parse::<f32>(v)
}

#[cfg(test)]
mod tests {
    use super::super::{fast, scalar::parse_float, ColumnType};
    use super::*;

    /// What the fast path gave before this module: the admission check, the general
    /// parser, then the exactness check.
    fn reference8(v: &[u8]) -> Option<u64> {
        if !fast::certain(ColumnType::Float8, v) {
            return None;
        }
        let x = parse_float::<f64>(v, "double precision").ok()?;
        fast::float_exact(v, x, f64::MIN_POSITIVE).then_some(x.to_bits())
    }

    fn reference4(v: &[u8]) -> Option<u32> {
        if !fast::certain(ColumnType::Float4, v) {
            return None;
        }
        let x = parse_float::<f32>(v, "real").ok()?;
        fast::float_exact(v, x as f64, f32::MIN_POSITIVE as f64).then_some(x.to_bits())
    }

    /// Both types agree with the reference, bit for bit; returns whether `float8` took it.
    fn agree(v: &str) -> bool {
        let b = v.as_bytes();
        let got8 = float8(b).map(f64::to_bits);
        assert_eq!(got8, reference8(b), "float8 {v:?}");
        assert_eq!(float4(b).map(f32::to_bits), reference4(b), "float4 {v:?}");
        got8.is_some()
    }

    #[test]
    fn edge_spellings_agree_with_the_admission_check_and_the_parser() {
        let accepted = [
            "0",
            "-0",
            "-0.0e-999",
            "0e999",
            "00.000",
            "175",
            "1.5e-3",
            "1.5E+3",
            "62.010581332908046",
            "0.0000002625324200780241",
            "-2.876430863416608",
            "9007199254740992",
            "9007199254740993",
            "18014398509481985",
            "16777216",
            "16777217",
            "1e22",
            "1e23",
            "1e-22",
            "1e-23",
            "123456789012345678901234",
            "0.1234567890123456789012345678901234567",
            "1.7976931348623157e308",
            "2.2250738585072014e-308",
            "3.4028235e38",
            "1.17549435e-38",
            "1e10",
            "1e11",
            "1e-10",
            "1e-11",
            "4.5e15",
            "0.000001e-300",
            "9999999999999999999",
            "10000000000000000000",
            "99999999999999999999e-5",
        ];
        for v in accepted {
            assert!(agree(v), "{v} should be taken");
        }
        let refused = [
            "",
            "-",
            "+1",
            " 1.5",
            "1.5 ",
            "1.",
            ".5",
            "-.5",
            "1e",
            "1e+",
            "1e-",
            "1e1234",
            "1e400",
            "-1e400",
            "1e-400",
            "1.7976931348623159e308",
            "2.2250738585072011e-308",
            "4.9e-324",
            "1e-310",
            "NaN",
            "nan",
            "Infinity",
            "-Infinity",
            "inf",
            "0x1p3",
            "1_0",
            "1.2.3",
            "--1",
            "1e5e5",
            "１",
            "0.00000000000000000000000000000000000000001",
        ];
        for v in refused {
            assert!(!agree(v), "{v} should be deferred");
        }
        // float4's own limits.
        for v in ["3.5e38", "1e-40", "1e-38", "3.4028236e38"] {
            agree(v);
            assert_eq!(float4(v.as_bytes()), None, "{v}");
        }
    }

    #[test]
    fn random_values_agree_with_the_admission_check_and_the_parser() {
        let mut next = crate::testing::xorshift(0x2545_F491_4F6C_DD1Du64);
        let mut taken = 0;
        for k in 0..50_000 {
            let v = match k % 3 {
                // Shortest round-trip spellings of any finite double, both notations.
                0 => {
                    let x = f64::from_bits(next());
                    if !x.is_finite() {
                        continue;
                    }
                    if next() % 2 == 0 {
                        format!("{x:e}")
                    } else {
                        format!("{x}")
                    }
                }
                // Digit strings around the exact limits: 1 to 25 digits, a point
                // anywhere, an exponent around ±22 and ±308.
                _ => {
                    let n = 1 + (next() % 25) as usize;
                    let mut s = String::new();
                    if next() % 4 == 0 {
                        s.push('-');
                    }
                    let point = (next() % (n as u64 + 1)) as usize;
                    for i in 0..n {
                        if i == point && i > 0 {
                            s.push('.');
                        }
                        let zeroish = next() % 3 == 0;
                        s.push((b'0' + if zeroish { 0 } else { (next() % 10) as u8 }) as char);
                    }
                    match next() % 4 {
                        0 => {}
                        1 => s.push_str(&format!("e{}", (next() % 50) as i64 - 25)),
                        2 => s.push_str(&format!("E+{}", next() % 12)),
                        _ => s.push_str(&format!("e{}", (next() % 700) as i64 - 350)),
                    }
                    s
                }
            };
            taken += agree(&v) as usize;
        }
        assert!((20_000..50_000).contains(&taken), "{taken} taken");
    }
}
