//! Correctness oracle: chunkload must load exactly what PostgreSQL's own CSV COPY loads.
//!
//! - `encoder_agrees_with_the_server_on_common_inputs`: every value in a list of common
//!   spellings per type either converts client-side to the very bytes the server's
//!   `typsend` gives for it, or is rejected by both.
//! - the `oracle_*` tests: seeded random nasty CSV files, loaded by chunkload (each method,
//!   tiny and normal chunks, 1 and 3 workers) and by `COPY ... (FORMAT csv)` into a twin
//!   table; the two tables must hold the same rows.

use crate::support::{client, fresh_db};
use chunkload::encode::insert::RawParam;
use chunkload::encode::{Column, EncodedRows, Encoder, Format};

/// A database whose sessions default to UTC and ISO, MDY dates.
fn utc_db(name: &str) -> String {
    settings_db(name, "UTC", "ISO, MDY")
}

/// A database whose sessions default to `timezone` and `datestyle`.
fn settings_db(name: &str, timezone: &str, datestyle: &str) -> String {
    let url = fresh_db(name);
    let mut c = client(&url);
    let db: String = c
        .query_one("SELECT current_database()", &[])
        .unwrap()
        .get(0);
    c.batch_execute(&format!(
        "ALTER DATABASE \"{db}\" SET timezone = '{timezone}'; ALTER DATABASE \"{db}\" SET datestyle = '{datestyle}'"
    ))
    .unwrap();
    url
}

const COMMON_INPUTS: &[(&str, &[&str])] = &[
    (
        "int2",
        &["32767", "-32768", " 12 ", "+7", "007", "32768", "1.5", ""],
    ),
    (
        "int4",
        &["42", " -42\t", "-0", "2147483647", "-2147483649", "4e3"],
    ),
    (
        "int8",
        &["9223372036854775807", "-9223372036854775808", " +0 "],
    ),
    (
        "numeric(20,6)",
        &[
            "1.50",
            ".5",
            "5.",
            "1e3",
            "-1.5E-3",
            " 12.3400 ",
            "NaN",
            "1.1234565",
            "-0.0000005",
            "99999999999999.999999",
            "1e15",
            "Infinity",
            "0.000000",
        ],
    ),
    (
        "numeric",
        &[
            "1.50",
            "1e-20",
            "-12345678901234567890.0987654321",
            "nan",
            "-inf",
            "+5",
        ],
    ),
    (
        "float8",
        &[
            "1.5",
            ".5",
            "5.",
            "1e300",
            "-Infinity",
            "inf",
            "NaN",
            "1e-310",
            " 3.14 ",
            "1e400",
            "-0",
            "1E5",
            "+2.5",
            "0.1",
        ],
    ),
    (
        "float4",
        &["3.4028235e38", "1e-40", "0.1", "3.5e38", "-nan", "16777217"],
    ),
    (
        "bool",
        &[
            "t", "TRUE", " yes ", "off", "1", "0", "n", "on", "o", "tr", "2",
        ],
    ),
    (
        "uuid",
        &[
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
            "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
            " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        ],
    ),
    (
        "date",
        &[
            "2024-01-31",
            "2024/01/31",
            " 2024-1-5 ",
            "20240131",
            "Jan 31 2024",
            "January 31, 2024",
            "31 Jan 2024",
            "2024-Jan-31",
            "1/31/2024",
            "2024-01-31 BC",
            "epoch",
            "infinity",
            "2024-01-31 12:34:56",
            "2024-02-30",
            "0001-01-01",
            "4713-11-24 BC",
        ],
    ),
    (
        "timestamp",
        &[
            "2024-01-31 12:34:56",
            "2024-01-31T12:34:56",
            "2024-01-31T12:34:56Z",
            "2024-01-31 12:34:56.1234567",
            "2024-01-31",
            "2024-01-31 12:34",
            "2024-01-31 24:00:00",
            "2024-01-31 12:34:56+02",
            "Jan 31 2024 12:34:56",
            "2024-01-31 01:02:03 PM",
            "2024-01-31 12:34:56.5 BC",
            "2024/01/31 12:34:56",
            "-infinity",
            "2024-01-31 25:00:00",
        ],
    ),
    (
        "timestamptz",
        &[
            "2024-01-31 12:34:56+02",
            "2024-01-31 12:34:56-05:30",
            "2024-01-31T12:34:56Z",
            "2024-01-31 12:34:56 UTC",
            "2024-01-31 12:34:56+0530",
            "2024-01-31 12:34:56",
            "2024-01-31T12:34:56.789+01:00",
            "2024-01-31 12:34:56+14",
        ],
    ),
    (
        "time",
        &[
            "12:34:56",
            "12:34",
            "01:02:03 PM",
            "12:34:56.1234567",
            "24:00:00",
            "12:34:56+02",
            "04:05 AM",
            "23:59:60",
            "12:60:00",
            "1:2:3",
        ],
    ),
    (
        "interval",
        &[
            "1 day 02:03:04",
            "3 hours",
            "@ 1 hour ago",
            "1-2",
            "P1Y2M3DT4H5M6S",
            "PT1.5S",
            "-1 day +02:00",
            "1.5 days",
            "00:00:00.5",
            "2 weeks",
            "1 mon",
            "1 year 2 mons 3 days 04:05:06.789",
            "10:00",
            "100",
            "1:30",
            "-1:30",
            "1 day -00:00:01",
            "P1W",
            "5 minutes 30 seconds",
            "1 hour 30 minutes ago",
        ],
    ),
    (
        "json",
        &[
            "{\"a\": [1, 2.5e3, null, true]}",
            " [] ",
            "\"\\u00e9\\ud83d\\ude00\"",
            "{\"a\":1,\"a\":2}",
            "{\"n\":\"\\u0000\"}",
            "{bad}",
            "1e400",
        ],
    ),
    (
        "jsonb",
        &[
            "{\"a\": [1, 2.5e3, null, true]}",
            " [] ",
            "\"\\u00e9\\ud83d\\ude00\"",
            "{\"a\":1,\"a\":2}",
            "{\"n\":\"\\u0000\"}",
            "1e400",
            "{\"b\": 1, \"a\": {}}",
        ],
    ),
    (
        "bytea",
        &[
            "\\xDEADbeef",
            "\\x de ad ",
            "hello",
            "a\\\\b",
            "\\001\\377",
            "\\x",
            "\\x0",
            "a\\b",
        ],
    ),
    ("text", &["", " spaced ", "héllo 😀", "tab\there"]),
    ("varchar(5)", &["abcde", "abcde  ", "abcdef"]),
    ("char(5)", &["ab", "abcde   ", "abcdef"]),
];

/// The spelled-out dates, 12-hour clocks and long YYYYMMDD forms the encoder reads like
/// PostgreSQL under `DateStyle 'ISO, MDY'`.
const MORE_INPUTS: &[(&str, &[&str])] = &[
    (
        "date",
        &[
            "Sept 5 2024",
            "jan. 31 2024",
            "31-Jan-2024",
            "2024 Jan 31",
            "Mar 1 2024 BC",
            "20240230",
            "2/29/2023",
            "2/29/2024",
            "12-31-2024",
            "12.31.2024",
            "31.12.2024",
            "1/2/2024",
            "2024-01-31T12:34:56+05",
            "2024-01-31 24:00:00",
            "2024-01-31 11:00 PM",
            "Janu 5 2024",
            "Jan 32 2024",
            "13/1/2024",
            "2024-13-01",
            "1240131",
            "107521017",
            "December 25, 2024",
            "25 december 2024",
            "Jun 5 0999",
        ],
    ),
    (
        "timestamp",
        &[
            "Jan 31, 2024 1:00 PM",
            "1/31/2024 12:00 AM",
            "1/31/2024 12:30 PM",
            "20240131 10:00",
            "2024-01-31 13:00 PM",
            "2024-01-31 00:30 am",
            "2024-01-31 12:00:00.5 pm",
            "107521017 03:09:50",
            "1240131 10:00",
            "Nov. 6 2055 17:57",
            "Nov 6 2055 17:57:19+02",
            "2024-01-31T10:00 PM",
        ],
    ),
    (
        "timestamptz",
        &[
            "Nov 6 2055 5:57:19 PM +02",
            "1/31/2024 12:30 PM Z",
            "20240131 10:00-03",
        ],
    ),
    (
        "time",
        &[
            "12:00 AM",
            "12:00:01 PM",
            "00:00 PM",
            "13:00 AM",
            "11:59:59.999999 PM",
            "10:00 pm +02",
            "12:59:59.9999999 pm",
        ],
    ),
];

/// Spellings PostgreSQL accepts that depend on the zone database, the session's
/// DateStyle or rare forms: the fast path leaves them to the server (deferred), never
/// refuses them.
const DEFERRED: &[(&str, &str)] = &[
    ("timestamptz", "2024-01-31 12:34:56 EST"),
    ("timestamptz", "2024-01-31 12:34:56 America/New_York"),
    ("timestamptz", "2024-01-31 12:34:56 EST5EDT"),
    ("timestamptz", "2024-07-01 12:00"),
    ("interval", "P0001-02-03T04:05:06"),
    ("interval", "1 day 02:00"),
    ("date", "1/31/24"),
    ("date", "today"),
    ("date", "J2451545"),
    ("date", "2024.01.31"),
    ("date", "2024-001"),
    ("date", "Wed Jan 31 2024"),
    ("time", "allballs"),
    ("time", "040506"),
    ("timestamp", "240131 10:00"),
    ("timestamp", "20240131T123456"),
    ("float8", "0x1p3"),
];

#[test]
fn encoder_defers_what_it_cannot_be_certain_of() {
    let url = utc_db("oracle_deferred");
    let mut c = client(&url);
    for (ty, v) in DEFERRED {
        c.query_one(&format!("SELECT $1::text::{ty}"), &[v])
            .unwrap_or_else(|e| panic!("server refuses {ty} {v:?}: {e}"));
        let enc = Encoder::new(vec![Column::new("v", *ty)], Format::Binary);
        let e = enc
            .encode_row([Some(v.as_bytes())], 0, &mut EncodedRows::new())
            .expect_err(v);
        assert!(e.deferred, "{ty} {v:?}: {}", e.msg);
    }
}

const DEFERRED_MSG: &str = "(deferred)";

#[test]
fn encoder_agrees_with_the_server_on_common_inputs() {
    let url = utc_db("oracle_values");
    let mut c = client(&url);
    let mut mismatches = Vec::new();
    for (ty, inputs) in COMMON_INPUTS.iter().chain(MORE_INPUTS) {
        let enc = Encoder::new(vec![Column::new("v", *ty)], Format::Binary);
        for v in *inputs {
            let server = c
                .query_one(&format!("SELECT $1::text::{ty}::text"), &[v])
                .map(|r| r.get::<_, String>(0))
                .map_err(|e| chunkload::error::db_message(&e));
            let mut rows = EncodedRows::new();
            let ours = enc
                .encode_row([Some(v.as_bytes())], 0, &mut rows)
                .map(|()| rows.field(0, 0).unwrap().to_vec())
                .map_err(|e| match e.deferred {
                    true => DEFERRED_MSG.to_string(),
                    false => e.msg,
                });
            // What the server makes of our bytes, through the column's typmod as COPY does.
            let ours = ours.and_then(|b| {
                c.query_one(
                    &format!("SELECT $1::{ty}::text"),
                    &[&RawParam::new(Some(&b), Format::Binary)],
                )
                .map(|r| r.get::<_, String>(0))
                .map_err(|e| {
                    format!(
                        "server refused our bytes: {}",
                        chunkload::error::db_message(&e)
                    )
                })
            });
            // A deferred value is the server's to convert: always the same. A converted
            // one must be exactly what the server makes of the text.
            let same = match (&server, &ours) {
                (_, Err(e)) if e == DEFERRED_MSG => true,
                (Ok(a), Ok(b)) => a == b,
                (Err(_), Err(_)) => true,
                _ => false,
            };
            if !same {
                mismatches.push(format!("{ty} {v:?}: server {server:?}, encoder {ours:?}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

// ---------------------------------------------------------------------------------------
// Table oracle: chunkload vs PostgreSQL's own CSV COPY
// ---------------------------------------------------------------------------------------

use chunkload::load::{run, LoadConfig, Method};
use chunkload::source::Dialect;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;

/// Columns with a binary encoder only: loaded with COPY BINARY / binary parameters.
const BINARY_DDL: &str = "id int8 PRIMARY KEY, i2 int2, i4 int4, n numeric(20,6), f4 float4, \
    f8 float8, b bool, t text, vc varchar(50), c5 char(5), u uuid, d date, ts timestamp, \
    tstz timestamptz, tm time, iv interval, j json, jb jsonb, by bytea";
/// The same plus an enum and an array: COPY text format and `::text::type` casts.
const OTHER_DDL: &str = "id int8 PRIMARY KEY, i2 int2, i4 int4, n numeric(20,6), f4 float4, \
    f8 float8, b bool, t text, vc varchar(50), c5 char(5), u uuid, d date, ts timestamp, \
    tstz timestamptz, tm time, iv interval, j json, jb jsonb, by bytea, e mood, arr int4[]";

fn pick<'a>(rng: &mut StdRng, v: &[&'a str]) -> &'a str {
    v[rng.gen_range(0..v.len())]
}

/// Spaces around a value whose type's input function trims them.
fn pad(v: String, rng: &mut StdRng) -> String {
    match rng.gen_range(0..8) {
        0 => format!(" {v}"),
        1 => format!("{v}  "),
        2 => format!("\t{v} "),
        _ => v,
    }
}

fn int_text(x: i64, rng: &mut StdRng) -> String {
    let s = match rng.gen_range(0..6) {
        0 if x >= 0 => format!("+{x}"),
        1 if x >= 0 => format!("00{x}"),
        _ => x.to_string(),
    };
    pad(s, rng)
}

fn int_in(rng: &mut StdRng, min: i64, max: i64) -> i64 {
    match rng.gen_range(0..10) {
        0 => min,
        1 => max,
        2 => 0,
        _ => rng.gen_range(min..=max),
    }
}

const PIECES: &[&str] = &[
    "a",
    "Z",
    "9",
    ",",
    "\"",
    "\"\"",
    "\n",
    "\r\n",
    "\r",
    " ",
    "  ",
    "\t",
    "\\",
    "\\N",
    "\\.",
    "é",
    "日本語",
    "😀",
    "👩‍👩‍👧",
    "NA",
    "na",
    "'",
    ";",
    "|",
    "\u{200B}",
    "\u{FEFF}",
    "ﷺ",
    "e\u{301}",
    "null",
    "NULL",
    "#",
    "x\u{7f}y",
];

fn nasty(rng: &mut StdRng, max_pieces: usize) -> String {
    let n = rng.gen_range(0..=max_pieces);
    (0..n).map(|_| pick(rng, PIECES)).collect()
}

fn long_text(rng: &mut StdRng) -> String {
    let mut s = String::with_capacity(110_000);
    while s.len() < 100_000 + rng.gen_range(0..10_000) {
        s.push_str(&nasty(rng, 8));
        s.push_str("lorem ipsum dolor sit amet ");
    }
    s
}

fn numeric_text(rng: &mut StdRng) -> String {
    let s = match rng.gen_range(0..12) {
        0 => "NaN".to_string(),
        1 => format!("{}e{}", rng.gen_range(-999..999), rng.gen_range(-3..6)),
        2 => format!(".{}", rng.gen_range(0..99_999_999u64)),
        3 => format!("{}.", rng.gen_range(0..99_999u64)),
        4 => "-0.0000005".to_string(),
        _ => {
            let digits = rng.gen_range(1..14);
            let int = rng.gen_range(0..10u64.pow(digits));
            let frac_len = rng.gen_range(0..9);
            let frac: String = (0..frac_len)
                .map(|_| char::from(b'0' + rng.gen_range(0..10)))
                .collect();
            let sign = pick(rng, &["", "-", "+"]);
            if frac.is_empty() {
                format!("{sign}{int}")
            } else {
                format!("{sign}{int}.{frac}")
            }
        }
    };
    pad(s, rng)
}

fn float_text(rng: &mut StdRng, single: bool) -> String {
    let s = match rng.gen_range(0..12) {
        0 => pick(rng, &["NaN", "Infinity", "-Infinity", "inf", "-inf", "nan"]).to_string(),
        1 if single => "1e-40".to_string(),
        1 => "1e-310".to_string(),
        2 => pick(rng, &["0", "-0", ".5", "5.", "+1.5", "1E5", "0.1"]).to_string(),
        3 if single => format!("{:e}", rng.gen::<f32>() * 1e30),
        3 => format!("{:e}", rng.gen::<f64>() * 1e300),
        _ if single => (rng.gen_range(-1e6f32..1e6)).to_string(),
        _ => (rng.gen_range(-1e12f64..1e12)).to_string(),
    };
    pad(s, rng)
}

fn uuid_text(rng: &mut StdRng) -> String {
    let u = uuid::Uuid::from_bytes(rng.gen());
    match rng.gen_range(0..4) {
        0 => u.hyphenated().to_string().to_uppercase(),
        1 => u.braced().to_string(),
        2 => u.simple().to_string(),
        _ => u.hyphenated().to_string(),
    }
}

fn date_parts(rng: &mut StdRng) -> (i32, u32, u32) {
    let y = match rng.gen_range(0..6) {
        0 => rng.gen_range(1..1000),
        1 => rng.gen_range(10_000..20_000),
        _ => rng.gen_range(1900..2100),
    };
    let m = rng.gen_range(1..=12);
    let dim = match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    (y, m, rng.gen_range(1..=dim))
}

const MONTHS: [&str; 12] = [
    "Jan", "February", "mar", "APR", "May", "June", "Jul", "August", "Sept", "oct", "Nov",
    "December",
];

/// The date spelled in one of the forms PostgreSQL reads under `DateStyle 'ISO, MDY'`.
fn spelled_date(rng: &mut StdRng, y: i32, m: u32, d: u32) -> String {
    let name = MONTHS[m as usize - 1];
    match rng.gen_range(0..7) {
        0 => format!("{y:04}{m:02}{d:02}"),
        1 => format!("{m}/{d}/{y:04}"),
        2 => format!("{name} {d} {y:04}"),
        3 => format!("{name} {d}, {y:04}"),
        4 => format!("{d} {name} {y:04}"),
        5 => format!("{d:02}-{name}-{y:04}"),
        _ => format!("{y:04}-{name}-{d:02}"),
    }
}

fn date_text(rng: &mut StdRng) -> String {
    let (y, m, d) = date_parts(rng);
    let s = match rng.gen_range(0..14) {
        10..=12 => spelled_date(rng, y, m, d),
        13 => format!("{y:04}-{m:02}-{d:02} {}", clock_text(rng)),
        0 => pick(rng, &["infinity", "-infinity", "epoch"]).to_string(),
        1 => format!("{y:04}/{m}/{d}"),
        2 if y < 4000 => format!("{y:04}-{m:02}-{d:02} BC"),
        _ => format!("{y:04}-{m:02}-{d:02}"),
    };
    pad(s, rng)
}

fn clock_text(rng: &mut StdRng) -> String {
    clock(rng, true)
}

/// A clock time; `ampm` allows the 12-hour spelling (not in intervals).
fn clock(rng: &mut StdRng, ampm: bool) -> String {
    if rng.gen_range(0..20) == 0 {
        return "24:00:00".to_string();
    }
    let (h, mi, s) = (
        rng.gen_range(0..24),
        rng.gen_range(0..60),
        rng.gen_range(0..60),
    );
    match rng.gen_range(0..7) {
        5 if ampm => {
            let h12 = if h % 12 == 0 { 12 } else { h % 12 };
            let ampm = pick(rng, &["AM", "am", "PM", "pm"]);
            format!("{h12}:{mi:02}:{s:02} {ampm}")
        }
        0 => format!("{h:02}:{mi:02}"),
        1 => format!("{h}:{mi:02}:{s:02}"),
        _ => {
            let digits = rng.gen_range(0..10);
            let frac: String = (0..digits)
                .map(|_| char::from(b'0' + rng.gen_range(0..10)))
                .collect();
            if frac.is_empty() {
                format!("{h:02}:{mi:02}:{s:02}")
            } else {
                format!("{h:02}:{mi:02}:{s:02}.{frac}")
            }
        }
    }
}

fn timestamp_text(rng: &mut StdRng, tz: bool) -> String {
    let (y, m, d) = date_parts(rng);
    let sep = pick(rng, &[" ", "T", "  "]);
    let zone = if tz || rng.gen_range(0..6) == 0 {
        pick(
            rng,
            &[
                "", "Z", "+02", "-05:30", "+0530", " UTC", "+00:00", "-11", " GMT",
            ],
        )
    } else {
        ""
    };
    let s = match rng.gen_range(0..12) {
        0 => pick(rng, &["infinity", "-infinity", "epoch"]).to_string(),
        1 => format!("{y:04}-{m:02}-{d:02}"),
        2 | 3 => format!("{} {}{zone}", spelled_date(rng, y, m, d), clock(rng, false)),
        _ => {
            let t = clock_text(rng);
            // A zone after AM/PM needs a space.
            let gap = if t.ends_with(['m', 'M']) && !zone.starts_with(' ') {
                " "
            } else {
                ""
            };
            format!("{y:04}-{m:02}-{d:02}{sep}{t}{gap}{zone}")
        }
    };
    pad(s, rng)
}

fn interval_text(rng: &mut StdRng) -> String {
    let n = |rng: &mut StdRng| rng.gen_range(-100..1000);
    let s = match rng.gen_range(0..9) {
        0 => format!(
            "{} years {} mons {} days {}",
            n(rng),
            n(rng),
            n(rng),
            clock(rng, false)
        ),
        1 => format!("@ {} hours {} minutes ago", n(rng), n(rng)),
        2 => format!("{}-{}", rng.gen_range(0..100), rng.gen_range(0..12)),
        3 => format!(
            "P{}Y{}M{}DT{}H{}M{}S",
            rng.gen_range(0..50),
            rng.gen_range(0..12),
            rng.gen_range(0..30),
            rng.gen_range(0..24),
            rng.gen_range(0..60),
            rng.gen_range(0..60)
        ),
        4 => format!("{}.{} days", n(rng), rng.gen_range(0..10)),
        5 => format!("{} weeks", n(rng)),
        6 => format!("-1 day +{}", clock(rng, false)),
        7 => format!("PT{}.{}S", rng.gen_range(0..100), rng.gen_range(0..1000)),
        _ => clock(rng, false),
    };
    // ISO 8601 intervals allow no surrounding spaces.
    if s.starts_with('P') {
        s
    } else {
        pad(s, rng)
    }
}

fn json_value(rng: &mut StdRng, depth: u32) -> serde_json::Value {
    use serde_json::Value;
    match rng.gen_range(0..if depth > 2 { 4 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.gen()),
        2 => serde_json::json!(rng.gen_range(-1e9f64..1e9)),
        3 => Value::String(nasty(rng, 5)),
        4 | 5 => Value::Array(
            (0..rng.gen_range(0..4))
                .map(|_| json_value(rng, depth + 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.gen_range(0..4))
                .map(|_| (nasty(rng, 2), json_value(rng, depth + 1)))
                .collect(),
        ),
    }
}

fn json_text(rng: &mut StdRng) -> String {
    let v = json_value(rng, 0);
    match rng.gen_range(0..4) {
        0 => serde_json::to_string_pretty(&v).unwrap(),
        1 => format!(" {} ", serde_json::to_string(&v).unwrap()),
        _ => serde_json::to_string(&v).unwrap(),
    }
}

fn bytea_text(rng: &mut StdRng, long: bool) -> String {
    let n = if long { 60_000 } else { rng.gen_range(0..20) };
    let bytes: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
    match rng.gen_range(0..4) {
        0 if !long => {
            // The escape format: printable bytes as they are, the rest as \ooo.
            let mut s = String::new();
            for b in bytes {
                match b {
                    b'\\' => s.push_str("\\\\"),
                    0x20..=0x7e => s.push(b as char),
                    _ => s.push_str(&format!("\\{b:03o}")),
                }
            }
            s
        }
        1 => format!("\\x{}", hex::encode_upper(&bytes)),
        2 if !long => {
            let pairs: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("\\x{}", pairs.join(" "))
        }
        _ => format!("\\x{}", hex::encode(&bytes)),
    }
}

fn array_text(rng: &mut StdRng) -> String {
    let v = match rng.gen_range(0..6) {
        0 => "{}".to_string(),
        1 => format!("{{NULL,{}}}", rng.gen_range(-9..9)),
        2 => format!("{{{{1,{}}},{{3,4}}}}", rng.gen::<i32>()),
        3 => format!(" {{ {} , \"{}\" }} ", rng.gen::<i16>(), rng.gen::<i16>()),
        _ => {
            let k = rng.gen_range(1..6);
            let items: Vec<String> = (0..k).map(|_| rng.gen::<i32>().to_string()).collect();
            format!("{{{}}}", items.join(","))
        }
    };
    v
}

/// One row of values (`None` is NULL), in the column order of the DDL.
fn row(rng: &mut StdRng, id: usize, other: bool, long: bool) -> Vec<Option<String>> {
    let mut v: Vec<Option<String>> = vec![
        Some(int_text(id as i64, rng)),
        Some(int_text(int_in(rng, i16::MIN as i64, i16::MAX as i64), rng)),
        Some(int_text(int_in(rng, i32::MIN as i64, i32::MAX as i64), rng)),
        Some(numeric_text(rng)),
        Some(float_text(rng, true)),
        Some(float_text(rng, false)),
        Some(pad(
            pick(
                rng,
                &[
                    "t", "f", "TRUE", "false", "yes", "No", "on", "OFF", "1", "0", "y",
                ],
            )
            .into(),
            rng,
        )),
        Some(if long { long_text(rng) } else { nasty(rng, 12) }),
        Some({
            let s: String = nasty(rng, 20).chars().take(50).collect();
            if rng.gen_range(0..5) == 0 {
                // Spaces past the limit are cut silently, as SQL says.
                format!("{s}{}   ", "x".repeat(50 - s.chars().count()))
            } else {
                s
            }
        }),
        Some(nasty(rng, 3).chars().take(5).collect()),
        Some(uuid_text(rng)),
        Some(date_text(rng)),
        Some(timestamp_text(rng, false)),
        Some(timestamp_text(rng, true)),
        Some(pad(clock_text(rng), rng)),
        Some(interval_text(rng)),
        Some(if long {
            let big: Vec<String> = (0..1500).map(|_| json_text(rng)).collect();
            format!("[{}]", big.join(","))
        } else {
            json_text(rng)
        }),
        Some(json_text(rng)),
        Some(bytea_text(rng, long)),
    ];
    if other {
        v.push(Some(
            pick(rng, &["happy", "sad", "so so", "ünï \"q\""]).to_string(),
        ));
        v.push(Some(array_text(rng)));
    }
    // NULLs anywhere but in the key.
    for f in v.iter_mut().skip(1) {
        if rng.gen_range(0..10) == 0 {
            *f = None;
        }
    }
    v
}

/// Writes `rows` as PostgreSQL CSV: NULL as the bare NULL string, quotes where needed
/// and at random elsewhere, sometimes only around part of a field.
fn write_csv(
    rng: &mut StdRng,
    header: &[&str],
    rows: &[Vec<Option<String>>],
    null: &str,
    eol: &str,
) -> Vec<u8> {
    let mut out = String::new();
    out.push_str(&header.join(","));
    out.push_str(eol);
    for r in rows {
        for (i, f) in r.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match f {
                None => out.push_str(null),
                Some(v) => {
                    let must = v.is_empty() && null.is_empty()
                        || v == null
                        || v.contains([',', '"', '\n', '\r']);
                    let q = v.replace('"', "\"\"");
                    if must || rng.gen_range(0..4) == 0 {
                        if rng.gen_range(0..4) == 0 && !v.is_empty() && v.is_char_boundary(1) {
                            // Quotes may open in the middle of a field.
                            let (a, b) = q.split_at(1);
                            if matches!(a, "\"" | "," | "\r" | "\n") {
                                out.push_str(&format!("\"{q}\""));
                            } else {
                                out.push_str(&format!("{a}\"{b}\""));
                            }
                        } else {
                            out.push_str(&format!("\"{q}\""));
                        }
                    } else {
                        out.push_str(v);
                    }
                }
            }
        }
        out.push_str(eol);
    }
    out.into_bytes()
}

fn connector(url: &str) -> chunkload::load::Connector {
    let url = url.to_string();
    Arc::new(move |_, _| {
        postgres::Client::connect(&url, postgres::NoTls).map_err(chunkload::Error::from)
    })
}

/// Rows of `a` missing from `b`, as row text (json has no equality operator).
fn missing(c: &mut postgres::Client, a: &str, b: &str) -> i64 {
    c.query_one(
        &format!(
            "SELECT count(*) FROM ((SELECT x::text FROM {a} x) EXCEPT ALL (SELECT x::text FROM {b} x)) d"
        ),
        &[],
    )
    .unwrap()
    .get(0)
}

struct Case {
    null: &'static str,
    eol: &'static str,
    /// (chunk bytes, chunk rows, workers)
    loads: &'static [(usize, usize, usize)],
}

const CASES: &[Case] = &[
    Case {
        null: "NA",
        eol: "\n",
        loads: &[
            (1024, 10_000, 1),
            (1024, 10_000, 3),
            (256 * 1024, 1, 1),
            (256 * 1024, 1, 3),
            (256 * 1024, 7, 1),
            (256 * 1024, 7, 3),
            (64 * 1024, 10_000, 3),
        ],
    },
    Case {
        null: "",
        eol: "\r\n",
        loads: &[(2048, 7, 3), (256 * 1024, 10_000, 1)],
    },
];

fn oracle(seed: u64, other: bool, method: Method) {
    oracle_in(seed, other, method, ("UTC", "ISO, MDY"));
}

/// Extra files per test when `CHUNKLOAD_DIFF_FILES` asks for a long run.
fn extra_rounds() -> usize {
    std::env::var("CHUNKLOAD_DIFF_FILES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .map_or(0, |n| n.div_ceil(CASES.len()).saturating_sub(1))
}

/// Every file of the oracle, loaded by chunkload and by COPY in a database whose sessions
/// default to `settings` (TimeZone, DateStyle): both refuse it, or both store the same
/// rows.
fn oracle_in(seed: u64, other: bool, method: Method, settings: (&str, &str)) {
    let zone_tag: String = settings
        .0
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let url = settings_db(
        &format!(
            "oracle_{}_{}_{}",
            if other { "text" } else { "binary" },
            method.name(),
            zone_tag.to_ascii_lowercase()
        ),
        settings.0,
        settings.1,
    );
    let mut c = client(&url);
    c.batch_execute("CREATE TYPE mood AS ENUM ('happy', 'sad', 'so so', 'ünï \"q\"')")
        .unwrap();
    let ddl = if other { OTHER_DDL } else { BINARY_DDL };
    let header: Vec<&str> = ddl
        .split(", ")
        .map(|d| d.split_whitespace().next().unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut k = 0;
    let rounds = 1 + extra_rounds();
    for (ci, case) in (0..rounds).flat_map(|_| CASES.iter()).enumerate() {
        let rows: Vec<_> = (0..120)
            .map(|i| row(&mut rng, i, other, i % 50 == 17))
            .collect();
        // One CSV per row, so COPY can judge each row on its own (the reference for
        // chunkload's isolation of bad rows); the file is their concatenation.
        let pieces: Vec<Vec<u8>> = rows
            .iter()
            .map(|r| {
                write_csv(
                    &mut rng,
                    &header,
                    std::slice::from_ref(r),
                    case.null,
                    case.eol,
                )
            })
            .collect();
        let head_len = header.join(",").len() + case.eol.len();
        let mut csv = pieces[0][..head_len].to_vec();
        for p in &pieces {
            csv.extend_from_slice(&p[head_len..]);
        }
        let path = dir.path().join(format!("in{ci}.csv"));
        std::fs::write(&path, &csv).unwrap();
        let twin = format!("twin{ci}");
        c.batch_execute(&format!("CREATE TABLE {twin} ({ddl})"))
            .unwrap();
        let mut refused = 0u64;
        for p in &pieces {
            let mut w = c
                .copy_in(&format!(
                    "COPY {twin} FROM STDIN (FORMAT csv, HEADER, NULL '{}')",
                    case.null
                ))
                .unwrap();
            std::io::Write::write_all(&mut w, p).unwrap();
            refused += u64::from(w.finish().is_err());
        }
        if settings.0 == "UTC" {
            assert_eq!(refused, 0, "PostgreSQL refused rows of {}", path.display());
        }
        let expected = crate::support::count(&url, &twin);
        assert_eq!(expected as u64 + refused, rows.len() as u64);
        for &(bytes, chunk_rows, workers) in case.loads {
            k += 1;
            let target = format!("t{k}");
            c.batch_execute(&format!(
                "CREATE TABLE {target} (LIKE {twin} INCLUDING ALL)"
            ))
            .unwrap();
            let mut cfg = LoadConfig::new(vec![path.to_str().unwrap().to_string()], &target);
            cfg.dialect = Dialect {
                null: case.null.as_bytes().to_vec(),
                ..Dialect::default()
            };
            cfg.method = method;
            cfg.chunk_bytes = Some(bytes);
            cfg.chunk_rows = Some(chunk_rows);
            cfg.workers = workers;
            let what = format!(
                "{} table, {}, null {:?}, eol {:?}, chunk {bytes} B / {chunk_rows} rows, {workers} workers ({})",
                if other { "text-format" } else { "binary" },
                method.name(),
                case.null,
                case.eol,
                path.display()
            );
            let what = format!("{what} in {settings:?}");
            cfg.max_errors = rows.len() as u64;
            let rejects = dir.path().join(format!("rejects{k}.csv"));
            cfg.reject_file = Some(rejects.to_str().unwrap().to_string());
            let summary = run(&cfg, connector(&url)).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(summary.rows, expected as u64, "{what}");
            assert_eq!(summary.rejected, refused, "{what}");
            assert_eq!(crate::support::count(&url, &target), expected, "{what}");
            let (a, b) = (
                missing(&mut c, &twin, &target),
                missing(&mut c, &target, &twin),
            );
            if a + b > 0 {
                let diff: Vec<String> = c
                    .query(
                        &format!(
                            "(SELECT 'copy' AS side, x::text FROM {twin} x EXCEPT ALL SELECT 'copy', x::text FROM {target} x) \
                             UNION ALL (SELECT 'chunkload', x::text FROM {target} x EXCEPT ALL SELECT 'chunkload', x::text FROM {twin} x) LIMIT 6"
                        ),
                        &[],
                    )
                    .unwrap()
                    .iter()
                    .map(|r| {
                        let s: String = r.get(1);
                        format!("{}: {}", r.get::<_, String>(0), s.chars().take(600).collect::<String>())
                    })
                    .collect();
                panic!(
                    "{what}: {a} rows only in COPY's table, {b} only in chunkload's:\n{}",
                    diff.join("\n")
                );
            }
        }
    }
}

#[test]
fn oracle_binary_types_copy() {
    oracle(11, false, Method::Copy);
}

#[test]
fn oracle_binary_types_insert() {
    oracle(12, false, Method::Insert);
}

#[test]
fn oracle_binary_types_upsert() {
    oracle(13, false, Method::Upsert);
}

#[test]
fn oracle_text_types_copy() {
    oracle(21, true, Method::Copy);
}

#[test]
fn oracle_text_types_insert() {
    oracle(22, true, Method::Insert);
}

#[test]
fn oracle_text_types_upsert() {
    oracle(23, true, Method::Upsert);
}

#[test]
fn oracle_new_york_dmy_binary_copy() {
    oracle_in(31, false, Method::Copy, ("America/New_York", "ISO, DMY"));
}

#[test]
fn oracle_new_york_dmy_binary_insert() {
    oracle_in(32, false, Method::Insert, ("America/New_York", "ISO, DMY"));
}

#[test]
fn oracle_new_york_dmy_text_copy() {
    oracle_in(33, true, Method::Copy, ("America/New_York", "ISO, DMY"));
}

/// The issue's examples: in a New York / DMY database, every method stores what `\copy`
/// stores, because writer sessions keep the database's settings.
#[test]
fn oracle_session_time_zone_and_date_style_are_followed() {
    let url = settings_db("oracle_session", "America/New_York", "ISO, DMY");
    let mut c = client(&url);
    c.batch_execute(
        "CREATE TABLE bin (id int4, tstz timestamptz, ts timestamp, d date);
         CREATE TABLE txt (id int4, tstz timestamptz, ts timestamp, d date, tt timetz);
         CREATE TABLE canon (id int4, tstz timestamptz, ts timestamp);",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "bin",
            "id,tstz,ts,d\n1,2024-07-01 12:00,01/02/2024 10:00,1/2/2024\n",
        ),
        (
            "txt",
            "id,tstz,ts,d,tt\n1,2024-07-01 12:00,01/02/2024 10:00,1/2/2024,10:00\n",
        ),
        (
            "canon",
            "id,tstz,ts\n1,2024-07-01 12:00:00-04,2024-02-01 10:00:00\n",
        ),
    ];
    for (table, csv) in files {
        let path = dir.path().join(format!("{table}.csv"));
        std::fs::write(&path, csv).unwrap();
        let twin = format!("{table}_copy");
        c.batch_execute(&format!("CREATE TABLE {twin} (LIKE {table})"))
            .unwrap();
        let mut w = c
            .copy_in(&format!("COPY {twin} FROM STDIN (FORMAT csv, HEADER)"))
            .unwrap();
        std::io::Write::write_all(&mut w, csv.as_bytes()).unwrap();
        w.finish().unwrap();
        for method in [Method::Copy, Method::Insert] {
            let mut cfg = LoadConfig::new(vec![path.to_str().unwrap().into()], table);
            cfg.method = method;
            cfg.fresh = true;
            cfg.truncate = true;
            let summary = run(&cfg, connector(&url)).unwrap();
            assert_eq!(
                summary.fallback_chunks,
                // Only the binary table falls back; the timetz table is text anyway.
                u64::from(table == "bin"),
                "{table} by {}",
                method.name()
            );
            let got = missing(&mut c, table, &twin) + missing(&mut c, &twin, table);
            assert_eq!(got, 0, "{table} by {}", method.name());
        }
    }
    let row = c
        .query_one(
            "SELECT tstz::text, ts::text, d::text, tt::text FROM txt",
            &[],
        )
        .unwrap();
    let got: (String, String, String, String) = (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(
        got,
        (
            "2024-07-01 12:00:00-04".into(),
            "2024-02-01 10:00:00".into(),
            "2024-02-01".into(),
            "10:00:00-05".into()
        )
    );
}

/// The benchmark datasets use canonical spellings: every chunk stays on the fast path.
#[test]
fn benchmark_datasets_need_no_fallback_chunk() {
    use chunkload::dataset::{ddl, generate_to, Dataset};
    let url = settings_db("oracle_bench_fast", "America/New_York", "ISO, DMY");
    let mut c = client(&url);
    let dir = tempfile::tempdir().unwrap();
    for ds in Dataset::ALL {
        let table = ds.name();
        c.batch_execute(&ddl(ds, table)).unwrap();
        let path = dir.path().join(format!("{table}.csv"));
        generate_to(ds, 20_000, 7, &path).unwrap();
        let mut cfg = LoadConfig::new(vec![path.to_str().unwrap().into()], table);
        cfg.chunk_rows = Some(2_000);
        let summary = run(&cfg, connector(&url)).unwrap();
        assert_eq!(summary.rows, 20_000, "{table}");
        assert_eq!(summary.fallback_chunks, 0, "{table}");
    }
}
