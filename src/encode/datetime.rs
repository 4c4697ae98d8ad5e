//! Dates, times and timestamps: a port of the parts of PostgreSQL's datetime parser that
//! common inputs reach (ISO, MDY and month-name spellings, zones, eras, 12-hour clocks).

use crate::encode::scalar::{is_space, syntax, trim, ParseResult};

pub(super) const USECS_PER_SEC: i64 = 1_000_000;
pub(super) const USECS_PER_MINUTE: i64 = 60 * USECS_PER_SEC;
pub(super) const USECS_PER_HOUR: i64 = 60 * USECS_PER_MINUTE;
pub(super) const USECS_PER_DAY: i64 = 24 * USECS_PER_HOUR;
pub(super) const POSTGRES_EPOCH_JDATE: i64 = 2_451_545;
/// Julian day 0 is the first valid date; dates end before this Julian day.
const DATE_END_JULIAN: i64 = 2_147_483_494;
const MIN_TIMESTAMP: i64 = -211_813_488_000_000_000;
const END_TIMESTAMP: i64 = 9_223_371_331_200_000_000;

/// PostgreSQL's `date2j`: Julian day of a proleptic Gregorian date (astronomical year).
pub(super) fn date2j(y: i64, m: i64, d: i64) -> i64 {
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

pub(super) fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A cursor over ASCII date/time text.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
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
pub(super) fn fraction_usecs(digits: &[u8]) -> i64 {
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
fn parse_ymd(c: &mut Cursor<'_>) -> Option<(i64, i64, i64)> {
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
fn parse_month_name(c: &mut Cursor<'_>) -> Option<i64> {
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
fn date_sep(c: &mut Cursor<'_>) -> bool {
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
fn parse_date_fields(c: &mut Cursor<'_>) -> Option<(i64, i64, i64)> {
    let start = c.i;
    if let Some(r) = parse_ymd(c) {
        return Some(r);
    }
    c.i = start;
    let end_of_number = |c: &Cursor<'_>| !c.peek().is_some_and(|b| b.is_ascii_digit());
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
fn parse_meridiem(c: &mut Cursor<'_>, clock_start: usize, t: i64) -> Result<i64, DateTimeError> {
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
    let hour = Cursor {
        s: c.s,
        i: clock_start,
    }
    .number(2)
    .map_or(0, |(h, _)| h);
    if hour > 12 {
        return Err(DateTimeError::Field);
    }
    let half = 12 * USECS_PER_HOUR;
    Ok(match (pm, hour == 12) {
        (false, true) => t - half,
        (true, false) => t + half,
        _ => t,
    })
}

/// Optional ` BC`/` AD` suffix.
fn parse_era(c: &mut Cursor<'_>) -> Option<bool> {
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
fn julian(y: i64, m: i64, d: i64, bc: bool) -> Result<i64, DateTimeError> {
    if y == 0 || !(1..=12).contains(&m) || d < 1 {
        return Err(DateTimeError::Field);
    }
    let y = if bc { 1 - y } else { y };
    if d > days_in_month(y, m) {
        return Err(DateTimeError::Field);
    }
    // IS_VALID_JULIAN
    if y < -4713 || (y == -4713 && m < 11) || y > 5_874_898 || (y == 5_874_898 && m >= 6) {
        return Err(DateTimeError::Range);
    }
    Ok(date2j(y, m, d))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateTimeError {
    Syntax,
    Field,
    Range,
    Zone,
}

fn datetime_error(e: DateTimeError, ty: &str) -> String {
    match e {
        DateTimeError::Syntax => syntax(ty),
        DateTimeError::Field => String::from("date/time field value out of range"),
        DateTimeError::Range => format!("{ty} out of range"),
        DateTimeError::Zone => String::from(
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

pub(super) fn parse_date(v: &[u8]) -> ParseResult<i32> {
    let s = trim(v);
    match special_day(s) {
        Some(1) => return Ok(i32::MAX),
        Some(-1) => return Ok(i32::MIN),
        Some(_) => return Ok((date2j(1970, 1, 1) - POSTGRES_EPOCH_JDATE) as i32),
        None => {}
    }
    let mut c = Cursor { s, i: 0 };
    let (y, m, d) = parse_date_fields(&mut c).ok_or_else(|| syntax("date"))?;
    let mut bc = parse_era(&mut c).unwrap_or(false);
    if !c.at_end() {
        // A timestamp's text: PostgreSQL keeps the date and drops time and zone.
        let sep = c.eat(b'T') || c.eat(b't') || c.skip_ws();
        if !(sep && c.peek().is_some_and(|b| b.is_ascii_digit())) {
            return Err(syntax("date"));
        }
        let clock_start = c.i;
        let t = parse_clock(&mut c).map_err(|e| datetime_error(e, "date"))?;
        parse_meridiem(&mut c, clock_start, t).map_err(|e| datetime_error(e, "date"))?;
        parse_zone(&mut c).map_err(|e| datetime_error(e, "date"))?;
        bc |= parse_era(&mut c).unwrap_or(false);
        if !c.at_end() {
            return Err(syntax("date"));
        }
    }
    let j = julian(y, m, d, bc).map_err(|e| datetime_error(e, "date"))?;
    if !(0..DATE_END_JULIAN).contains(&j) {
        return Err(datetime_error(DateTimeError::Range, "date"));
    }
    Ok((j - POSTGRES_EPOCH_JDATE) as i32)
}

/// `H[H]:M[M][:S[S][.fff]]` → microseconds since midnight (hour up to 24, seconds up to
/// 60 like PostgreSQL; the total may not pass 24:00:00).
fn parse_clock(c: &mut Cursor<'_>) -> Result<i64, DateTimeError> {
    let (h, _) = c.number(2).ok_or(DateTimeError::Syntax)?;
    if !c.eat(b':') {
        return Err(DateTimeError::Syntax);
    }
    let (mi, _) = c.number(2).ok_or(DateTimeError::Syntax)?;
    let mut sec = 0;
    let mut fsec = 0;
    if c.eat(b':') {
        sec = c.number(2).ok_or(DateTimeError::Syntax)?.0;
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
        return Err(DateTimeError::Syntax);
    }
    if mi > 59 || sec > 60 || h > 24 || (h == 24 && (mi > 0 || sec > 0 || fsec > 0)) {
        return Err(DateTimeError::Field);
    }
    let t = ((h * 60 + mi) * 60 + sec) * USECS_PER_SEC + fsec;
    if t > USECS_PER_DAY {
        return Err(DateTimeError::Field);
    }
    Ok(t)
}

/// An optional zone: `Z`, `UTC`, `GMT`, `+HH`, `+HHMM`, `+HH:MM[:SS]` (PostgreSQL's
/// `DecodeTimezone` rules). Returns seconds east of UTC.
fn parse_zone(c: &mut Cursor<'_>) -> Result<Option<i64>, DateTimeError> {
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
    let (mut hr, n) = c.number(9).ok_or(DateTimeError::Syntax)?;
    let mut min = 0;
    let mut sec = 0;
    if c.eat(b':') {
        min = c.number(9).ok_or(DateTimeError::Syntax)?.0;
        if c.eat(b':') {
            sec = c.number(9).ok_or(DateTimeError::Syntax)?.0;
        }
    } else if n > 2 {
        min = hr % 100;
        hr /= 100;
    }
    if c.peek()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b':' || b == b'.')
    {
        return Err(DateTimeError::Syntax);
    }
    debug_assert!(c.i > start);
    if hr > 15 || min >= 60 || sec >= 60 {
        return Err(DateTimeError::Zone);
    }
    let tz = (hr * 60 + min) * 60 + sec;
    Ok(Some(if neg { -tz } else { tz }))
}

/// Unknown zone names (letters where a zone could be) get their own message.
fn zone_name_follows(c: &Cursor<'_>) -> bool {
    let mut k = c.i;
    while c.s.get(k).copied().is_some_and(is_space) {
        k += 1;
    }
    c.s.get(k).is_some_and(|b| b.is_ascii_alphabetic())
}

pub(super) fn parse_timestamp(v: &[u8], with_tz: bool) -> ParseResult<i64> {
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
        let mut c = Cursor { s, i: 0 };
        let (y, m, d) = parse_date_fields(&mut c).ok_or(DateTimeError::Syntax)?;
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
                DateTimeError::Zone
            } else {
                DateTimeError::Syntax
            });
        }
        let j = julian(y, m, d, bc)?;
        let mut t = (j - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY + time;
        if with_tz {
            // No zone means UTC (the loader's session time zone).
            t -= zone.unwrap_or(0) * USECS_PER_SEC;
        }
        if !(MIN_TIMESTAMP..END_TIMESTAMP).contains(&t) {
            return Err(DateTimeError::Range);
        }
        Ok(t)
    })();
    r.map_err(|e| datetime_error(e, ty))
}

pub(super) fn parse_time(v: &[u8]) -> ParseResult<i64> {
    let s = trim(v);
    let r = (|| {
        let mut c = Cursor { s, i: 0 };
        let clock_start = c.i;
        let t = parse_clock(&mut c)?;
        let t = parse_meridiem(&mut c, clock_start, t)?;
        // time without time zone validates and ignores a zone.
        let zone = parse_zone(&mut c)?;
        if !c.at_end() {
            return Err(if zone.is_none() && zone_name_follows(&c) {
                DateTimeError::Zone
            } else {
                DateTimeError::Syntax
            });
        }
        Ok(t)
    })();
    r.map_err(|e| datetime_error(e, "time"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::test_util::*;
    use proptest::prelude::*;

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

    proptest! {
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
