//! Deterministic CSV datasets for demos, tests and benchmarks.
//!
//! The same `(dataset, rows, seed)` always gives the same bytes (rand's `StdRng` seeded
//! with [`SeedableRng::seed_from_u64`], pinned by `Cargo.lock`), so a test can regenerate a
//! file instead of storing it, and a benchmark measures the same input every run.
//!
//! * [`Dataset::Accounts`]: `id,balance`, the bank tutorial's table.
//! * [`Dataset::Wide`]: ten columns of mixed types, with the awkward cases a loader must
//!   survive: quoted fields with commas, quotes, newlines, backslashes and non-ASCII text,
//!   timestamps with various UTC offsets, an empty quoted string (`""`, not NULL) and empty
//!   unquoted fields that mean NULL.

use std::fmt;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, Timelike};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

use crate::error::{Error, Result};

pub use crate::output::write_through;

/// Which table shape to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dataset {
    /// `accounts (id UUID PRIMARY KEY, balance INT8)`: small rows, a random primary key.
    Accounts,
    /// Ten mixed-type columns exercising quoting, NULLs and every common type.
    Wide,
}

impl Dataset {
    /// Every dataset, for listings and help texts.
    pub const ALL: [Dataset; 2] = [Dataset::Accounts, Dataset::Wide];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Dataset::Accounts => "accounts",
            Dataset::Wide => "wide",
        }
    }

    /// The CSV header, which is also the table's column list.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Dataset::Accounts => &["id", "balance"],
            Dataset::Wide => &[
                "id",
                "account",
                "amount",
                "rate",
                "created_at",
                "day",
                "active",
                "note",
                "category",
                "comment",
            ],
        }
    }
}

impl fmt::Display for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Dataset {
    type Err = Error;

    fn from_str(s: &str) -> Result<Dataset> {
        Dataset::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                Error::usage(format!("unknown dataset {s:?}: expected accounts or wide"))
            })
    }
}

/// The `CREATE TABLE` statement matching a dataset, valid on PostgreSQL and CockroachDB.
///
/// `table` is inserted as given, so it may be schema-qualified or quoted by the caller.
pub fn ddl(ds: Dataset, table: &str) -> String {
    match ds {
        Dataset::Accounts => format!("CREATE TABLE {table} (id UUID PRIMARY KEY, balance INT8)"),
        Dataset::Wide => format!(
            "CREATE TABLE {table} (\n    \
             id INT8 PRIMARY KEY,\n    \
             account UUID NOT NULL,\n    \
             amount NUMERIC(12,2) NOT NULL,\n    \
             rate FLOAT8 NOT NULL,\n    \
             created_at TIMESTAMPTZ NOT NULL,\n    \
             day DATE NOT NULL,\n    \
             active BOOL NOT NULL,\n    \
             note TEXT NOT NULL,\n    \
             category TEXT NOT NULL,\n    \
             comment TEXT\n)"
        ),
    }
}

/// `chunkload gen -o PATH`: [`generate`] into `path` via [`write_through`], which writes
/// into symlinks' targets, FIFOs and devices as they are, and replaces a regular file
/// atomically.
pub fn generate_to(ds: Dataset, rows: u64, seed: u64, path: &Path) -> Result<()> {
    write_through(path, |w| generate(ds, rows, seed, w))
}

/// Writes `rows` data rows of `ds` as CSV (with a header line) to `w`.
///
/// Deterministic for a given `seed`. Output is buffered internally; rows end in `\n`.
pub fn generate(ds: Dataset, rows: u64, seed: u64, w: impl Write) -> io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 16, w);
    w.write_all(ds.columns().join(",").as_bytes())?;
    w.write_all(b"\n")?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut line = Vec::with_capacity(512);
    for i in 0..rows {
        line.clear();
        match ds {
            Dataset::Accounts => accounts_row(&mut rng, &mut line),
            Dataset::Wide => wide_row(&mut rng, i + 1, &mut line),
        }
        w.write_all(&line)?;
    }
    w.flush()
}

fn push_uuid(rng: &mut StdRng, out: &mut Vec<u8>) {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    out.extend_from_slice(id.hyphenated().encode_lower(&mut buf).as_bytes());
}

/// Decimal digits of `v`, without allocating.
fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// `v` zero-padded to `width` digits (for dates and fractions).
fn push_padded(out: &mut Vec<u8>, v: u32, width: usize) {
    let mut buf = [b'0'; 10];
    let mut v = v;
    for slot in buf[..width].iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.extend_from_slice(&buf[..width]);
}

fn accounts_row(rng: &mut StdRng, out: &mut Vec<u8>) {
    push_uuid(rng, out);
    out.push(b',');
    push_u64(out, rng.gen_range(0..=999_999u64));
    out.push(b'\n');
}

/// UTC offsets in seconds, weighted towards UTC; includes half- and three-quarter hours.
const OFFSETS: [i32; 10] = [
    0,
    0,
    0,
    0,
    3600,
    -5 * 3600,
    -8 * 3600,
    5 * 3600 + 1800,
    -(3 * 3600 + 1800),
    12 * 3600 + 2700,
];

const CATEGORIES: [&str; 8] = [
    "retail",
    "wholesale",
    "online",
    "refund",
    "transfer",
    "fee",
    "interest",
    "adjustment",
];

/// Notes with the characters that break naive CSV and COPY encoders.
const AWKWARD_NOTES: [&str; 14] = [
    "he said \"hello\"",
    "one, two, three",
    "first line\nsecond line",
    "windows\r\nline end",
    "café au lait",
    "Zürich → Genève",
    "日本語のメモ",
    "rocket 🚀 launch",
    "back\\slash C:\\temp\\x",
    "tab\tseparated",
    "\"quoted\", with comma\nand newline",
    "  padded  ",
    "",
    "N",
];

const WORDS: [&str; 12] = [
    "order",
    "shipped",
    "paid",
    "pending",
    "invoice",
    "customer",
    "batch",
    "delivered",
    "review",
    "priority",
    "standard",
    "express",
];

/// Appends `s` as a CSV field, quoting when needed. Empty strings are quoted so they are
/// not read back as NULL.
fn push_text(out: &mut Vec<u8>, s: &str) {
    let needs_quotes = s.is_empty() || s.bytes().any(|b| matches!(b, b'"' | b',' | b'\n' | b'\r'));
    if !needs_quotes {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    out.push(b'"');
    for &b in s.as_bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

fn push_signed_cents(out: &mut Vec<u8>, cents: i64) {
    if cents < 0 {
        out.push(b'-');
    }
    let c = cents.unsigned_abs();
    push_u64(out, c / 100);
    out.push(b'.');
    push_padded(out, (c % 100) as u32, 2);
}

fn push_date(out: &mut Vec<u8>, d: NaiveDate) {
    push_padded(out, d.year() as u32, 4);
    out.push(b'-');
    push_padded(out, d.month(), 2);
    out.push(b'-');
    push_padded(out, d.day(), 2);
}

fn wide_row(rng: &mut StdRng, id: u64, out: &mut Vec<u8>) {
    // id
    push_u64(out, id);
    out.push(b',');
    // account
    push_uuid(rng, out);
    out.push(b',');
    // amount NUMERIC(12,2): up to ±100 000 000.00
    push_signed_cents(out, rng.gen_range(-10_000_000_000i64..=10_000_000_000));
    out.push(b',');
    // rate FLOAT8: shortest round-trip text
    let rate: f64 = match rng.gen_range(0..10u8) {
        0 => -rng.gen::<f64>() * 10.0,
        1 => rng.gen::<f64>() * 1e-6,
        2 => rng.gen_range(0..1000u32) as f64,
        _ => rng.gen::<f64>() * 100.0,
    };
    write!(out, "{rate}").expect("writing to a Vec cannot fail");
    out.push(b',');
    // created_at TIMESTAMPTZ between 2000-01-01 and 2030-01-01, microseconds, an offset
    let secs = rng.gen_range(946_684_800i64..1_893_456_000);
    let micros = rng.gen_range(0..1_000_000u32);
    let offset = OFFSETS[rng.gen_range(0..OFFSETS.len())];
    let local = DateTime::from_timestamp(secs + i64::from(offset), 0)
        .expect("timestamp within chrono's range")
        .naive_utc();
    push_date(out, local.date());
    out.push(b'T');
    push_padded(out, local.hour(), 2);
    out.push(b':');
    push_padded(out, local.minute(), 2);
    out.push(b':');
    push_padded(out, local.second(), 2);
    out.push(b'.');
    push_padded(out, micros, 6);
    out.push(if offset < 0 { b'-' } else { b'+' });
    let off = offset.unsigned_abs();
    push_padded(out, off / 3600, 2);
    out.push(b':');
    push_padded(out, off % 3600 / 60, 2);
    out.push(b',');
    // day DATE between 1900-01-01 and 2099-12-31
    let day = NaiveDate::from_num_days_from_ce_opt(rng.gen_range(693_596..766_645))
        .expect("day within chrono's range");
    push_date(out, day);
    out.push(b',');
    // active BOOL
    out.extend_from_slice(if rng.gen_bool(0.5) { b"true" } else { b"false" });
    out.push(b',');
    // note TEXT NOT NULL: mostly plain words, one row in five awkward
    if rng.gen_range(0..5u8) == 0 {
        push_text(out, AWKWARD_NOTES[rng.gen_range(0..AWKWARD_NOTES.len())]);
    } else {
        for k in 0..rng.gen_range(1..=4usize) {
            if k > 0 {
                out.push(b' ');
            }
            out.extend_from_slice(WORDS[rng.gen_range(0..WORDS.len())].as_bytes());
        }
        out.push(b' ');
        push_u64(out, rng.gen_range(0..100_000u64));
    }
    out.push(b',');
    // category TEXT NOT NULL
    out.extend_from_slice(CATEGORIES[rng.gen_range(0..CATEGORIES.len())].as_bytes());
    out.push(b',');
    // comment TEXT, NULL (empty, unquoted) one row in four
    match rng.gen_range(0..8u8) {
        0 | 1 => {}
        2 => push_text(out, "reviewed, ok"),
        3 => push_text(out, "see \"ticket\""),
        _ => {
            out.extend_from_slice(b"ticket #");
            push_u64(out, rng.gen_range(1..10_000u64));
        }
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gen(ds: Dataset, rows: u64, seed: u64) -> Vec<u8> {
        let mut v = Vec::new();
        generate(ds, rows, seed, &mut v).unwrap();
        v
    }

    fn records(bytes: &[u8]) -> Vec<csv::ByteRecord> {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(bytes);
        r.byte_records().map(|r| r.unwrap()).collect()
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        for ds in Dataset::ALL {
            assert_eq!(gen(ds, 500, 7), gen(ds, 500, 7), "{ds}");
            assert_ne!(gen(ds, 500, 7), gen(ds, 500, 8), "{ds}");
        }
    }

    #[test]
    fn shorter_run_is_a_prefix_of_a_longer_one() {
        let short = gen(Dataset::Wide, 100, 3);
        let long = gen(Dataset::Wide, 200, 3);
        assert!(long.starts_with(&short));
    }

    #[test]
    fn header_and_row_count() {
        for ds in Dataset::ALL {
            let out = gen(ds, 1234, 42);
            let text = std::str::from_utf8(&out).unwrap();
            let header = text.lines().next().unwrap();
            assert_eq!(header, ds.columns().join(","));
            assert_eq!(records(&out).len(), 1234, "{ds}");
            assert_eq!(gen(ds, 0, 1), format!("{header}\n").as_bytes());
        }
        // Accounts has no embedded newlines: one line per row.
        let out = gen(Dataset::Accounts, 1000, 1);
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1001);
    }

    #[test]
    fn accounts_rows_are_uuid_v4_and_balances_in_range() {
        let out = gen(Dataset::Accounts, 5000, 42);
        let recs = records(&out);
        let mut ids = std::collections::HashSet::new();
        for r in &recs {
            assert_eq!(r.len(), 2);
            let id = uuid::Uuid::parse_str(std::str::from_utf8(&r[0]).unwrap()).unwrap();
            assert_eq!(id.get_version_num(), 4);
            assert!(ids.insert(id), "duplicate id {id}");
            let b: i64 = std::str::from_utf8(&r[1]).unwrap().parse().unwrap();
            assert!((0..=999_999).contains(&b), "{b}");
        }
        // The range is actually used, not just a corner of it.
        let balances: Vec<i64> = recs
            .iter()
            .map(|r| std::str::from_utf8(&r[1]).unwrap().parse().unwrap())
            .collect();
        assert!(balances.iter().any(|&b| b < 100_000));
        assert!(balances.iter().any(|&b| b > 900_000));
    }

    #[test]
    fn wide_parses_with_ten_typed_fields() {
        for seed in [1, 2, 3] {
            let out = gen(Dataset::Wide, 3000, seed);
            let recs = records(&out);
            assert_eq!(recs.len(), 3000);
            let (mut nulls, mut quoted_empty, mut multiline, mut non_ascii) = (0, 0, 0, 0);
            for (i, r) in recs.iter().enumerate() {
                assert_eq!(r.len(), 10, "row {i}");
                let f = |k: usize| std::str::from_utf8(&r[k]).unwrap();
                assert_eq!(f(0).parse::<u64>().unwrap(), i as u64 + 1);
                assert_eq!(uuid::Uuid::parse_str(f(1)).unwrap().get_version_num(), 4);
                let (units, cents) = f(2).split_once('.').unwrap();
                assert_eq!(cents.len(), 2);
                assert!(units.trim_start_matches('-').len() <= 10);
                assert!(f(3).parse::<f64>().unwrap().is_finite());
                DateTime::parse_from_rfc3339(f(4)).unwrap();
                NaiveDate::parse_from_str(f(5), "%Y-%m-%d").unwrap();
                assert!(matches!(f(6), "true" | "false"));
                assert!(CATEGORIES.contains(&f(8)));
                if r[9].is_empty() {
                    nulls += 1;
                }
                if r[7].is_empty() {
                    quoted_empty += 1;
                }
                if f(7).contains('\n') {
                    multiline += 1;
                }
                if !f(7).is_ascii() {
                    non_ascii += 1;
                }
            }
            assert!(nulls > 0 && quoted_empty > 0 && multiline > 0 && non_ascii > 0);
        }
    }

    #[test]
    fn wide_empty_note_is_quoted_and_null_comment_is_not() {
        let out = gen(Dataset::Wide, 3000, 1);
        let text = String::from_utf8(out).unwrap();
        // An empty note is written `""`, a NULL comment as nothing before the newline.
        assert!(text.contains(",\"\","));
        assert!(text.lines().any(|l| l.ends_with(',')));
        assert!(!text.contains(",\"\"\n"));
    }

    #[test]
    fn wide_offsets_and_timestamps_are_consistent() {
        let out = gen(Dataset::Wide, 2000, 9);
        let recs = records(&out);
        let mut offsets = std::collections::HashSet::new();
        for r in &recs {
            let ts = DateTime::parse_from_rfc3339(std::str::from_utf8(&r[4]).unwrap()).unwrap();
            offsets.insert(ts.offset().local_minus_utc());
            let utc = ts.timestamp();
            assert!((946_684_800..1_893_456_000).contains(&utc), "{ts}");
        }
        assert_eq!(offsets.len(), 7, "{offsets:?}");
    }

    #[test]
    fn push_helpers() {
        let mut v = Vec::new();
        push_u64(&mut v, 0);
        v.push(b' ');
        push_u64(&mut v, u64::MAX);
        v.push(b' ');
        push_padded(&mut v, 7, 3);
        v.push(b' ');
        push_signed_cents(&mut v, -5);
        v.push(b' ');
        push_signed_cents(&mut v, 123_456);
        v.push(b' ');
        push_text(&mut v, "a\"b");
        v.push(b' ');
        push_text(&mut v, "");
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "0 18446744073709551615 007 -0.05 1234.56 \"a\"\"b\" \"\""
        );
    }

    #[test]
    fn ddl_lists_every_column() {
        assert_eq!(
            ddl(Dataset::Accounts, "accounts"),
            "CREATE TABLE accounts (id UUID PRIMARY KEY, balance INT8)"
        );
        let wide = ddl(Dataset::Wide, "public.wide");
        assert!(wide.starts_with("CREATE TABLE public.wide ("));
        for c in Dataset::Wide.columns() {
            assert!(wide.contains(&format!("\n    {c} ")), "{c}");
        }
        assert!(wide.contains("comment TEXT\n)"));
    }

    #[test]
    fn dataset_names_round_trip() {
        for ds in Dataset::ALL {
            assert_eq!(ds.name().parse::<Dataset>().unwrap(), ds);
        }
        assert_eq!("WIDE".parse::<Dataset>().unwrap(), Dataset::Wide);
        assert!("nope".parse::<Dataset>().is_err());
    }

    #[test]
    fn committed_sample_matches_the_generator() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/accounts.csv");
        let committed = std::fs::read(path).unwrap();
        assert_eq!(committed, gen(Dataset::Accounts, 10_000, 42));
    }
}
