//! The order of a date's numeric fields (`13/01/2024` is DMY, `01/13/2024` MDY), and
//! such dates rewritten into ISO order before they are encoded.
//!
//! Rewritten on the client, a date means the same over every path (COPY binary, COPY
//! text, INSERT parameters, CockroachDB) and whatever the session's `DateStyle` (a
//! `PGDATESTYLE` or a database default): the server only ever sees `YYYY-MM-DD`.

use std::fmt;
use std::str::FromStr;

use super::scalar::is_space;
use crate::Error;

/// How a date whose fields are all numbers is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DateOrder {
    /// Day, month, year: `13/01/2024`, `13.01.2024`, `13-01-2024`.
    Dmy,
    /// Month, day, year: `01/13/2024` (PostgreSQL's default `DateStyle`).
    Mdy,
    /// Year, month, day: `2024/01/13`, `2024.01.13`; a day or month first is not read.
    Ymd,
}

impl DateOrder {
    /// The lowercase name `--date-order` takes.
    pub fn name(self) -> &'static str {
        match self {
            DateOrder::Dmy => "dmy",
            DateOrder::Mdy => "mdy",
            DateOrder::Ymd => "ymd",
        }
    }

    /// How a person writes a date in this order.
    pub fn pattern(self) -> &'static str {
        match self {
            DateOrder::Dmy => "DD/MM/YYYY",
            DateOrder::Mdy => "MM/DD/YYYY",
            DateOrder::Ymd => "YYYY/MM/DD",
        }
    }
}

impl fmt::Display for DateOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DateOrder {
    type Err = Error;

    fn from_str(s: &str) -> Result<DateOrder, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dmy" => Ok(DateOrder::Dmy),
            "mdy" => Ok(DateOrder::Mdy),
            "ymd" => Ok(DateOrder::Ymd),
            _ => Err(Error::usage(format!(
                "--date-order must be dmy, mdy or ymd, got {s:?}"
            ))),
        }
    }
}

/// A run of `min..=max` digits at `at`, its value and where it ends.
fn number(t: &[u8], at: usize, min: usize, max: usize) -> Option<(u32, usize)> {
    let n = t[at.min(t.len())..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if n < min || n > max {
        return None;
    }
    let v = t[at..at + n]
        .iter()
        .fold(0u32, |v, b| v * 10 + (b - b'0') as u32);
    Some((v, at + n))
}

/// The three numbers of a date in `order` at the start of `t` (`a`, sep, `b`, the same
/// sep, `c`) and where the date ends; the year has four digits, the others one or two.
fn fields(t: &[u8], order: DateOrder) -> Option<((u32, u32, u32), usize)> {
    let (first, last) = match order {
        DateOrder::Ymd => ((4, 4), (1, 2)),
        _ => ((1, 2), (4, 4)),
    };
    let (a, i) = number(t, 0, first.0, first.1)?;
    let sep = *t.get(i)?;
    let seps: &[u8] = match order {
        // `2024-01-13` is ISO already (and `2024-1-13` read alike by every DateStyle).
        DateOrder::Ymd => b"/.",
        _ => b"/-.",
    };
    if !seps.contains(&sep) {
        return None;
    }
    let (b, i) = number(t, i + 1, 1, 2)?;
    if t.get(i) != Some(&sep) {
        return None;
    }
    let (c, i) = number(t, i + 1, last.0, last.1)?;
    // A time may follow (`13/01/2024 10:00`, `13/01/2024T10:00`), nothing else.
    match t.get(i) {
        None => {}
        Some(&b) if is_space(b) => {}
        Some(b'T' | b't') if t.get(i + 1).is_some_and(u8::is_ascii_digit) => {}
        Some(_) => return None,
    }
    Some(((a, b, c), i))
}

/// Year, month and day of a date written in `order` at the start of `v` (after blanks),
/// and the byte where the date part ends; `None` when `v` has not that shape. The
/// numbers are not checked against the calendar.
pub fn split_date(v: &[u8], order: DateOrder) -> Option<(u32, u32, u32, usize)> {
    let lead = v.iter().take_while(|&&b| is_space(b)).count();
    let ((a, b, c), end) = fields(&v[lead..], order)?;
    let (y, m, d) = match order {
        DateOrder::Dmy => (c, b, a),
        DateOrder::Mdy => (c, a, b),
        DateOrder::Ymd => (a, b, c),
    };
    Some((y, m, d, lead + end))
}

/// A date in `order` (with whatever follows it, a time) rewritten as `YYYY-MM-DD`, onto
/// `out`; false, with `out` as it was, when `v` has no such date. The calendar is the
/// encoder's to check (`2024-02-31` is refused as written).
pub fn iso_date(v: &[u8], order: DateOrder, out: &mut Vec<u8>) -> bool {
    let Some((y, m, d, end)) = split_date(v, order) else {
        return false;
    };
    // Written digit by digit: this runs for every date of a load (no allocation).
    let digit = |v: u32| b'0' + (v % 10) as u8;
    out.extend_from_slice(&[
        digit(y / 1000),
        digit(y / 100),
        digit(y / 10),
        digit(y),
        b'-',
        digit(m / 10),
        digit(m),
        b'-',
        digit(d / 10),
        digit(d),
    ]);
    out.extend_from_slice(&v[end..]);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(v: &str, order: DateOrder) -> Option<String> {
        let mut out = Vec::new();
        iso_date(v.as_bytes(), order, &mut out).then(|| String::from_utf8(out).unwrap())
    }

    #[test]
    fn each_order_becomes_iso() {
        use DateOrder::*;
        assert_eq!(iso("13/01/2024", Dmy).as_deref(), Some("2024-01-13"));
        assert_eq!(iso("01/02/2024", Dmy).as_deref(), Some("2024-02-01"));
        assert_eq!(iso("01/02/2024", Mdy).as_deref(), Some("2024-01-02"));
        assert_eq!(iso("1.2.2024", Dmy).as_deref(), Some("2024-02-01"));
        assert_eq!(iso("31-12-1999", Dmy).as_deref(), Some("1999-12-31"));
        assert_eq!(iso("2024/01/13", Ymd).as_deref(), Some("2024-01-13"));
        assert_eq!(iso("2024.1.3", Ymd).as_deref(), Some("2024-01-03"));
        // The time stays as written; blanks before the date go.
        assert_eq!(
            iso(" 13/01/2024 10:00:00+02", Dmy).as_deref(),
            Some("2024-01-13 10:00:00+02")
        );
        assert_eq!(
            iso("13/01/2024T10:00", Dmy).as_deref(),
            Some("2024-01-13T10:00")
        );
        // Out of the calendar: rewritten, for the encoder to refuse as written.
        assert_eq!(iso("31/02/2024", Dmy).as_deref(), Some("2024-02-31"));
    }

    #[test]
    fn other_shapes_are_left_alone() {
        use DateOrder::*;
        for v in [
            "2024-01-13",
            "13/01/24",
            "13/01-2024",
            "113/01/2024",
            "13/01/2024x",
            "Jan 13 2024",
            "",
        ] {
            assert_eq!(iso(v, Dmy), None, "{v}");
            assert_eq!(iso(v, Mdy), None, "{v}");
        }
        assert_eq!(iso("2024-01-13", Ymd), None);
        assert_eq!(iso("13/01/2024", Ymd), None);
    }

    #[test]
    fn parses_the_flag() {
        assert_eq!("DMY".parse::<DateOrder>().unwrap(), DateOrder::Dmy);
        assert_eq!("mdy".parse::<DateOrder>().unwrap(), DateOrder::Mdy);
        assert_eq!("ymd".parse::<DateOrder>().unwrap(), DateOrder::Ymd);
        assert!("iso".parse::<DateOrder>().is_err());
    }
}
