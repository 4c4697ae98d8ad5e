//! Whether a sample's numbers are written with a decimal comma (`12,5`, `1.234,5`), as a
//! `;`-separated file from a European Excel has them: the sniffer then turns
//! `--decimal-comma` on. Only when nothing contradicts it: one number that reads only
//! with a decimal point (`12.5`, `1,234.5`, `1,234,567`) anywhere keeps it off.

/// What one value says about the decimal mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// A number with a decimal comma: `12,5`, `-0,25`, `1.234,5`, `1,5e3`.
    Comma,
    /// A number that reads only with a decimal point: `12.5`, `1,234.5`, `1,234,567`.
    Point,
    /// Not a number, or one that reads alike either way (`12`, `1.234`, `1.234.567`).
    Neither,
}

fn digits(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(u8::is_ascii_digit)
}

/// `1`, `12`, `123`, then groups of three after `sep`: `1.234.567`.
fn grouped(s: &[u8], sep: u8) -> bool {
    let mut groups = s.split(|&b| b == sep);
    let first = groups.next().unwrap_or_default();
    digits(first) && first.len() <= 3 && groups.all(|g| g.len() == 3 && digits(g))
}

/// `1.234`, `-1.234.567`: a whole number whose dots group thousands. With a decimal
/// comma that is what it means (1234), though it holds no comma; `0.123` and `1.5`,
/// which no thousands separator makes, are not.
pub(crate) fn thousands_grouped(v: &[u8]) -> bool {
    let t = v.trim_ascii();
    let t = t
        .strip_prefix(b"-")
        .or_else(|| t.strip_prefix(b"+"))
        .unwrap_or(t);
    t.contains(&b'.') && t.first() != Some(&b'0') && grouped(t, b'.')
}

fn mark(v: &[u8]) -> Mark {
    let t = v.trim_ascii();
    let t = t
        .strip_prefix(b"-")
        .or_else(|| t.strip_prefix(b"+"))
        .unwrap_or(t);
    // An exponent's digits say nothing about the mark.
    let t = match t.iter().position(|&b| b == b'e' || b == b'E') {
        Some(e) => {
            let x = &t[e + 1..];
            match digits(
                x.strip_prefix(b"-")
                    .or_else(|| x.strip_prefix(b"+"))
                    .unwrap_or(x),
            ) {
                true => &t[..e],
                false => return Mark::Neither,
            }
        }
        None => t,
    };
    if !t.first().is_some_and(u8::is_ascii_digit) || !t.iter().all(|b| b"0123456789.,".contains(b))
    {
        return Mark::Neither;
    }
    let commas = t.iter().filter(|&&b| b == b',').count();
    let last_comma = t.iter().rposition(|&b| b == b',');
    let last_dot = t.iter().rposition(|&b| b == b'.');
    match (commas, last_comma, last_dot) {
        (0, _, None) => Mark::Neither,
        // `1.234` and `1.234.567`: thousands either way; `12.5`: a decimal point.
        (0, _, Some(_)) if grouped(t, b'.') => Mark::Neither,
        (0, _, Some(_)) if t.iter().filter(|&&b| b == b'.').count() == 1 => Mark::Point,
        (0, _, Some(_)) => Mark::Neither,
        // One comma after any dots, which group thousands: `12,5`, `1.234,5`.
        (1, Some(c), dot) if dot.is_none_or(|d| d < c) => {
            match grouped(&t[..c], b'.') || (dot.is_none() && digits(&t[..c])) {
                true if digits(&t[c + 1..]) => Mark::Comma,
                _ => Mark::Neither,
            }
        }
        // `1,234.5`, `1,234,567`: commas that group thousands.
        (_, Some(c), Some(d)) if d > c && grouped(&t[..d], b',') && digits(&t[d + 1..]) => {
            Mark::Point
        }
        (_, _, None) if grouped(t, b',') => Mark::Point,
        _ => Mark::Neither,
    }
}

/// Whether the values of `rows` (data rows, not a header) hold a number with a decimal
/// comma and none that reads only with a decimal point.
pub(super) fn decimal_commas(rows: &[Vec<Vec<u8>>]) -> bool {
    let mut comma = false;
    for v in rows.iter().flatten() {
        match mark(v) {
            Mark::Comma => comma = true,
            Mark::Point => return false,
            Mark::Neither => {}
        }
    }
    comma
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_says_what_it_can() {
        for v in [
            "12,5",
            "-0,25",
            "1.234,5",
            "1.234.567,89",
            "1,5e3",
            " 3,0 ",
            "1,234",
        ] {
            assert_eq!(mark(v.as_bytes()), Mark::Comma, "{v}");
        }
        for v in ["12.5", "-0.25", "1,234.5", "1,234,567", "3.14159", "1.5E-3"] {
            assert_eq!(mark(v.as_bytes()), Mark::Point, "{v}");
        }
        for v in [
            "12",
            "1.234",
            "1.234.567",
            "13.01.2024",
            "1.2.3",
            "a,b",
            "12,5 kg",
            ",5",
            "",
            "12:30",
            "1,2,3",
        ] {
            assert_eq!(mark(v.as_bytes()), Mark::Neither, "{v}");
        }
    }

    fn rows(csv: &[&[&str]]) -> Vec<Vec<Vec<u8>>> {
        csv.iter()
            .map(|r| r.iter().map(|v| v.as_bytes().to_vec()).collect())
            .collect()
    }

    #[test]
    fn whole_numbers_grouped_by_dots() {
        for v in ["1.234", "-1.234.567", " 12.345 ", "+999.000"] {
            assert!(thousands_grouped(v.as_bytes()), "{v}");
        }
        for v in [
            "1234", "1.5", "0.123", "1.2345", "1234.567", "1,234", "", ".",
        ] {
            assert!(!thousands_grouped(v.as_bytes()), "{v}");
        }
    }

    #[test]
    fn one_point_number_anywhere_keeps_it_off() {
        assert!(decimal_commas(&rows(&[
            &["1", "12,5", "a,b"],
            &["2", "1.234", "c"]
        ])));
        assert!(!decimal_commas(&rows(&[&["1", "12,5"], &["2", "3.5"]])));
        assert!(!decimal_commas(&rows(&[&["1", "12"], &["2", "3"]])));
        assert!(!decimal_commas(&rows(&[&["1,234,567", "1,5"]])));
    }
}
