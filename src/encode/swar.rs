//! Several ASCII digits at a time in one machine word (SWAR): the fast paths' digit runs
//! are validated and converted with a few multiplies instead of a step per digit.

/// Whether the eight bytes of `w` (little-endian) are all ASCII digits.
#[inline]
pub(super) fn eight_digits(w: u64) -> bool {
    let hi = w & 0xF0F0_F0F0_F0F0_F0F0;
    let above_9 = (w.wrapping_add(0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0) >> 4;
    hi | above_9 == 0x3333_3333_3333_3333
}

/// The number written by eight ASCII digits (little-endian `w`), with three multiplies.
#[inline]
pub(super) fn parse_eight(w: u64) -> u64 {
    const MASK: u64 = 0x0000_00FF_0000_00FF;
    const MUL1: u64 = 0x000F_4240_0000_0064; // 100 + (1_000_000 << 32)
    const MUL2: u64 = 0x0000_2710_0000_0001; // 1 + (10_000 << 32)
    let v = w - 0x3030_3030_3030_3030;
    let v = v * 10 + (v >> 8);
    ((v & MASK).wrapping_mul(MUL1) + ((v >> 16) & MASK).wrapping_mul(MUL2)) >> 32
}

/// The number four ASCII digits write, in two multiplies instead of four steps.
#[inline]
pub(super) fn group4(d: [u8; 4]) -> u16 {
    let v = u32::from_le_bytes(d).wrapping_sub(0x3030_3030);
    // Bytes 0 and 2 now hold the two-digit pairs.
    let v = v.wrapping_mul(10).wrapping_add(v >> 8);
    ((v & 0xFF) * 100 + ((v >> 16) & 0xFF)) as u16
}

/// How many of the eight bytes of `w` (little-endian), from the first, are ASCII digits.
#[inline]
pub(super) fn leading_digits(w: u64) -> usize {
    // Per byte, non-zero unless the high nibble is 3 and the low one at most 9. A byte of
    // 0xFA or more carries into the next one, which only follows a non-digit.
    let high = (w & 0xF0F0_F0F0_F0F0_F0F0) ^ 0x3030_3030_3030_3030;
    let low =
        (w.wrapping_add(0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0) ^ 0x3030_3030_3030_3030;
    ((high | low).trailing_zeros() / 8) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_digits_at_a_time() {
        let w = |s: &[u8; 8]| u64::from_le_bytes(*s);
        assert_eq!(parse_eight(w(b"12345678")), 12_345_678);
        assert_eq!(parse_eight(w(b"00000000")), 0);
        assert_eq!(parse_eight(w(b"99999999")), 99_999_999);
        assert!(eight_digits(w(b"09876543")));
        for bad in [
            b"1234567.",
            b"/1234567",
            b":1234567",
            b"1234\xff678",
            b"12 45678",
        ] {
            assert!(!eight_digits(w(bad)), "{bad:?}");
        }
        // Every single-byte change of an all-digit word.
        for pos in 0..8 {
            for x in 0..=255u8 {
                let mut b = *b"55555555";
                b[pos] = x;
                assert_eq!(eight_digits(w(&b)), x.is_ascii_digit(), "{pos} {x}");
            }
        }
    }

    #[test]
    fn four_digit_groups() {
        for n in (0..10_000u16).step_by(7).chain([9999, 1000, 1, 10, 100]) {
            let s = format!("{n:04}");
            assert_eq!(group4(s.as_bytes().try_into().unwrap()), n, "{s}");
        }
    }

    #[test]
    fn leading_digits_counts_the_digit_run() {
        let w = |s: &[u8; 8]| u64::from_le_bytes(*s);
        assert_eq!(leading_digits(w(b"12345678")), 8);
        assert_eq!(leading_digits(w(b"517899+0")), 6);
        assert_eq!(leading_digits(w(b"+0000000")), 0);
        assert_eq!(leading_digits(w(b"1\xfa\xff45678")), 1);
        for pos in 0..8 {
            for x in 0..=255u8 {
                let mut b = *b"55555555";
                b[pos] = x;
                let want = if x.is_ascii_digit() { 8 } else { pos };
                assert_eq!(leading_digits(w(&b)), want, "{pos} {x}");
            }
        }
    }
}
