//! `interval`: PostgreSQL's SQL/postgres-style and ISO 8601 interval input.

use crate::encode::datetime::{
    fraction_usecs, USECS_PER_DAY, USECS_PER_HOUR, USECS_PER_MINUTE, USECS_PER_SEC,
};
use crate::encode::scalar::{is_space, syntax, ParseResult};

/// Fields being accumulated, like PostgreSQL 15's `pg_itm_in`.
#[derive(Default)]
struct IntervalFields {
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
enum IntervalError {
    Bad,
    Overflow,
}

type IntervalResult<T> = Result<T, IntervalError>;

fn or_overflow<T>(o: Option<T>) -> IntervalResult<T> {
    o.ok_or(IntervalError::Overflow)
}

impl IntervalFields {
    fn fract_usecs(&mut self, frac: f64, scale: i64) -> IntervalResult<()> {
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
        self.usec = or_overflow(self.usec.checked_add(usec))?;
        Ok(())
    }

    fn usecs(&mut self, val: i64, frac: f64, scale: i64) -> IntervalResult<()> {
        self.usec = or_overflow(
            val.checked_mul(scale)
                .and_then(|p| self.usec.checked_add(p)),
        )?;
        self.fract_usecs(frac, scale)
    }

    fn fract_days(&mut self, frac: f64, scale: i32) -> IntervalResult<()> {
        if frac == 0.0 {
            return Ok(());
        }
        let frac = frac * scale as f64;
        let extra = frac as i32;
        self.mday = or_overflow(self.mday.checked_add(extra))?;
        self.fract_usecs(frac - extra as f64, USECS_PER_DAY)
    }

    fn days(&mut self, val: i64, scale: i32) -> IntervalResult<()> {
        let v = or_overflow(i32::try_from(val).ok())?;
        self.mday = or_overflow(v.checked_mul(scale).and_then(|d| self.mday.checked_add(d)))?;
        Ok(())
    }

    fn months(&mut self, val: i64) -> IntervalResult<()> {
        let v = or_overflow(i32::try_from(val).ok())?;
        self.mon = or_overflow(self.mon.checked_add(v))?;
        Ok(())
    }

    fn years(&mut self, val: i64, scale: i32) -> IntervalResult<()> {
        let v = or_overflow(i32::try_from(val).ok())?;
        self.year = or_overflow(v.checked_mul(scale).and_then(|y| self.year.checked_add(y)))?;
        Ok(())
    }

    fn fract_years(&mut self, frac: f64, scale: i32) -> IntervalResult<()> {
        let extra = (frac * scale as f64 * 12.0).round_ties_even() as i32;
        self.mon = or_overflow(self.mon.checked_add(extra))?;
        Ok(())
    }

    fn apply(&mut self, unit: Unit, val: i64, fval: f64) -> IntervalResult<u32> {
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
            Unit::Invalid => return Err(IntervalError::Bad),
        })
    }

    fn finish(self) -> IntervalResult<(i64, i32, i32)> {
        let months = or_overflow(
            self.year
                .checked_mul(12)
                .and_then(|y| y.checked_add(self.mon)),
        )?;
        Ok((self.usec, self.mday, months))
    }
}

/// `interval` input: PostgreSQL's own style (`1 day 02:03:04`, `3 hours`, `@ 1 hour ago`,
/// `1-2` years-months), and ISO 8601 designators (`P1Y2M3DT4H5M6S`). Returns
/// (microseconds, days, months), the binary layout.
pub(super) fn parse_interval(v: &[u8]) -> ParseResult<(i64, i32, i32)> {
    let r = match parse_interval_pg(v) {
        Err(IntervalError::Bad) if v.first() == Some(&b'P') => parse_interval_iso(v),
        r => r,
    };
    r.map_err(|e| match e {
        IntervalError::Bad => syntax("interval"),
        IntervalError::Overflow => String::from("interval field value out of range"),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldKind {
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

fn parse_interval_pg(v: &[u8]) -> IntervalResult<(i64, i32, i32)> {
    // Tokenize like ParseDateTime: (kind, negative, start, end).
    let mut tokens = [(FieldKind::Num, false, 0usize, 0usize); MAX_FIELDS];
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
                kind = FieldKind::Time;
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
                kind = FieldKind::Num;
            } else {
                kind = FieldKind::Num;
            }
        } else if c == b'.' {
            start = i;
            i += 1;
            while i < n && v[i].is_ascii_digit() {
                i += 1;
            }
            kind = FieldKind::Num;
        } else if c.is_ascii_alphabetic() {
            start = i;
            while i < n && v[i].is_ascii_alphabetic() {
                i += 1;
            }
            if i < n && (matches!(v[i], b'-' | b'/' | b'.' | b'+') || v[i].is_ascii_digit()) {
                return Err(IntervalError::Bad);
            }
            kind = FieldKind::Word;
        } else if c == b'+' || c == b'-' {
            neg = c == b'-';
            i += 1;
            while i < n && is_space(v[i]) {
                i += 1;
            }
            if !(i < n && v[i].is_ascii_digit()) {
                return Err(IntervalError::Bad);
            }
            start = i;
            while i < n && (v[i].is_ascii_digit() || matches!(v[i], b':' | b'.' | b'-')) {
                i += 1;
            }
            kind = FieldKind::Signed;
        } else if c.is_ascii_punctuation() {
            // '@' and other punctuation are ignored.
            i += 1;
            continue;
        } else {
            return Err(IntervalError::Bad);
        }
        if nf == MAX_FIELDS {
            return Err(IntervalError::Bad);
        }
        tokens[nf] = (kind, neg, start, i);
        nf += 1;
    }

    let mut fields = IntervalFields::default();
    let mut unit = Unit::Ignore;
    let mut fmask = 0u32;
    let mut is_before = false;
    for &(kind, neg, start, end) in tokens[..nf].iter().rev() {
        let f = &v[start..end];
        let tmask;
        let is_time = match kind {
            FieldKind::Time => true,
            FieldKind::Signed => f.contains(&b':'),
            _ => false,
        };
        if kind == FieldKind::Word {
            match interval_unit(f) {
                Some(Some(u)) => unit = u,
                Some(None) => {
                    is_before = true;
                    unit = Unit::Invalid;
                }
                None => return Err(IntervalError::Bad),
            }
            tmask = 0;
        } else if is_time && time_for_interval(f, &mut fields).is_ok() {
            if neg {
                fields.usec = or_overflow(fields.usec.checked_neg())?;
            }
            tmask = M_TIME;
            unit = Unit::Day;
        } else if kind == FieldKind::Time {
            return Err(time_for_interval(f, &mut fields)
                .err()
                .unwrap_or(IntervalError::Bad));
        } else {
            // A number: integer part, then a fraction or "-months".
            let mut k = 0;
            while k < f.len() && f[k].is_ascii_digit() {
                k += 1;
            }
            let mut val: i64 = 0;
            for &d in &f[..k] {
                val = or_overflow(
                    val.checked_mul(10)
                        .and_then(|x| x.checked_add((d - b'0') as i64)),
                )?;
            }
            if neg {
                val = -val;
            }
            let mut fval = 0.0;
            let rest = &f[k..];
            if let Some(months) = rest.strip_prefix(b"-") {
                if months.is_empty() || !months.iter().all(u8::is_ascii_digit) {
                    return Err(IntervalError::Bad);
                }
                let m: i64 = std::str::from_utf8(months)
                    .ok()
                    .and_then(|m| m.parse().ok())
                    .ok_or(IntervalError::Overflow)?;
                if m >= 12 {
                    return Err(IntervalError::Overflow);
                }
                unit = Unit::Month;
                val = or_overflow(
                    val.checked_mul(12)
                        .and_then(|x| x.checked_add(if neg { -m } else { m })),
                )?;
            } else if rest.first() == Some(&b'.') {
                if rest.len() > 1 {
                    fval = std::str::from_utf8(rest)
                        .ok()
                        .and_then(|r| r.parse::<f64>().ok())
                        .ok_or(IntervalError::Bad)?;
                }
                if neg {
                    fval = -fval;
                }
            } else if !rest.is_empty() || k == 0 {
                return Err(IntervalError::Bad);
            }
            tmask = fields.apply(unit, val, fval)?;
            if unit == Unit::Hour {
                unit = Unit::Day;
            }
        }
        if tmask & fmask != 0 {
            return Err(IntervalError::Bad);
        }
        fmask |= tmask;
    }
    if fmask == 0 {
        return Err(IntervalError::Bad);
    }
    if is_before {
        fields.usec = or_overflow(fields.usec.checked_neg())?;
        fields.mday = or_overflow(fields.mday.checked_neg())?;
        fields.mon = or_overflow(fields.mon.checked_neg())?;
        fields.year = or_overflow(fields.year.checked_neg())?;
    }
    fields.finish()
}

/// `h:m[:s[.f]]` or `m:s.f` inside an interval; *sets* the time part like PostgreSQL.
fn time_for_interval(f: &[u8], fields: &mut IntervalFields) -> IntervalResult<()> {
    let mut parts = f.splitn(3, |&b| b == b':');
    let num = |p: &[u8]| -> IntervalResult<i64> {
        if p.is_empty() || !p.iter().all(u8::is_ascii_digit) {
            return Err(IntervalError::Bad);
        }
        std::str::from_utf8(p)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(IntervalError::Overflow)
    };
    let split_frac = |p: &'_ [u8]| -> IntervalResult<(i64, i64)> {
        match p.iter().position(|&b| b == b'.') {
            None => Ok((num(p)?, 0)),
            Some(d) => {
                let frac = &p[d + 1..];
                if !frac.iter().all(u8::is_ascii_digit) {
                    return Err(IntervalError::Bad);
                }
                Ok((num(&p[..d])?, fraction_usecs(frac)))
            }
        }
    };
    let a = parts.next().ok_or(IntervalError::Bad)?;
    let b = parts.next().ok_or(IntervalError::Bad)?;
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
        return Err(IntervalError::Overflow);
    }
    fields.usec = or_overflow(
        hour.checked_mul(USECS_PER_HOUR)
            .and_then(|h| h.checked_add(min * USECS_PER_MINUTE + sec * USECS_PER_SEC + fsec)),
    )?;
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
fn parse_interval_iso(v: &[u8]) -> IntervalResult<(i64, i32, i32)> {
    if v.len() < 2 || v[0] != b'P' {
        return Err(IntervalError::Bad);
    }
    let mut fields = IntervalFields::default();
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
            return Err(IntervalError::Bad);
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
            return Err(IntervalError::Bad);
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
            .ok_or(IntervalError::Bad)?;
        if val.is_nan() || !(-1.0e15..=1.0e15).contains(&val) {
            return Err(IntervalError::Overflow);
        }
        let ipart = val.trunc() as i64;
        let fpart = val - ipart as f64;
        let unit = v.get(i).copied().ok_or(IntervalError::Bad)?;
        i += 1;
        match (datepart, unit) {
            (true, b'Y') => {
                fields.years(ipart, 1)?;
                fields.fract_years(fpart, 1)?;
            }
            (true, b'M') => {
                fields.months(ipart)?;
                fields.fract_days(fpart, 30)?;
            }
            (true, b'W') => {
                fields.days(ipart, 7)?;
                fields.fract_days(fpart, 7)?;
            }
            (true, b'D') => {
                fields.days(ipart, 1)?;
                fields.fract_usecs(fpart, USECS_PER_DAY)?;
            }
            (false, b'H') => fields.usecs(ipart, fpart, USECS_PER_HOUR)?,
            (false, b'M') => fields.usecs(ipart, fpart, USECS_PER_MINUTE)?,
            (false, b'S') => fields.usecs(ipart, fpart, USECS_PER_SEC)?,
            _ => return Err(IntervalError::Bad),
        }
    }
    fields.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::test_util::*;

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
}
