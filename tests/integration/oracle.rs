//! Correctness oracle: chunkload must load exactly what PostgreSQL's own CSV COPY loads.
//!
//! - `encoder_agrees_with_the_server_on_common_inputs`: every value in a list of common
//!   spellings per type either converts client-side to the very bytes the server's
//!   `typsend` gives for it, or is rejected by both.
//! - `encoder_defers_what_it_cannot_be_certain_of`: spellings the server reads that the
//!   fast path leaves to it.
//! - the session and benchmark tests; the random-file oracle is `oracle_table`.

use crate::oracle_table::{connector, missing};
use crate::support::{client, fresh_db};
use chunkload::encode::insert::RawParam;
use chunkload::encode::{Column, EncodedRows, Encoder, Format};
use chunkload::load::{run, LoadConfig, Method};

/// A database whose sessions default to UTC and ISO, MDY dates.
fn utc_db(name: &str) -> String {
    settings_db(name, "UTC", "ISO, MDY")
}

/// A database whose sessions default to `timezone` and `datestyle`.
pub fn settings_db(name: &str, timezone: &str, datestyle: &str) -> String {
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
    ("timestamptz", "2024-01-31 12:34:56 PST"),
    ("timestamptz", "2024-01-31 12:34:56 Europe/Paris"),
    ("date", "2024 01 31"),
    ("time", "T12:34:56"),
    ("interval", "1d2h"),
    ("int4", "\u{b}5"),
    ("float8", "1.5\u{b}"),
    ("numeric(7,2)", "9.99994e4"),
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

/// The examples: in a New York / DMY database, every method stores what `\copy`
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
            cfg.method = Some(method);
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

/// An interval restricted to fields reads a bare `5` or `1:30` by its fields, as COPY's
/// input function with the column's typmod does; `--method insert`/`upsert` must store the
/// same (and the typmods chunkload derives from the type's name are the catalog's).
#[test]
fn interval_fields_under_insert_and_upsert_store_what_copy_stores() {
    let url = fresh_db("oracle_interval_fields");
    let forms = [
        "year",
        "month",
        "day",
        "hour",
        "minute",
        "second",
        "year to month",
        "day to hour",
        "day to minute",
        "day to second",
        "hour to minute",
        "hour to second",
        "minute to second",
        "second(3)",
        "day to second(2)",
    ];
    let cols: Vec<String> = (0..forms.len())
        .map(|i| format!("c{i} interval {}", forms[i]))
        .collect();
    let mut c = client(&url);
    for t in ["via_copy", "via_insert", "via_upsert"] {
        c.batch_execute(&format!(
            "CREATE TABLE {t} (id int PRIMARY KEY, {})",
            cols.join(", ")
        ))
        .unwrap();
    }
    for i in 0..forms.len() {
        let row = c
            .query_one(
                "SELECT atttypmod, format_type(atttypid, atttypmod) FROM pg_attribute
                  WHERE attrelid = 'via_copy'::regclass AND attname = $1",
                &[&format!("c{i}")],
            )
            .unwrap();
        let (typmod, name): (i32, String) = (row.get(0), row.get(1));
        assert_eq!(
            chunkload::encode::insert::interval_typmod(&name),
            Some(typmod),
            "{name}"
        );
    }
    let values = [
        "5",
        "-7",
        "1.5",
        "1:30",
        "1:30:15",
        "1-2",
        "3 4:05:06",
        "12:34:56.789",
        "2 10",
        "1 year 2 mons 3 days 04:05:06.789",
    ];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("iv.csv");
    let header: Vec<String> = (0..forms.len()).map(|i| format!("c{i}")).collect();
    let mut csv = format!("id,{}\n", header.join(","));
    for (id, v) in values.iter().enumerate() {
        let fields = vec![format!("\"{v}\""); forms.len()];
        csv.push_str(&format!("{id},{}\n", fields.join(",")));
        // One COPY per row: a row the server refuses refuses only itself.
        let mut w = c
            .copy_in("COPY via_copy FROM STDIN (FORMAT csv, HEADER)")
            .unwrap();
        use std::io::Write;
        w.write_all(format!("id,{}\n{id},{}\n", header.join(","), fields.join(",")).as_bytes())
            .unwrap();
        let _ = w.finish();
    }
    std::fs::write(&file, &csv).unwrap();
    let rows = |c: &mut postgres::Client, t: &str| -> Vec<String> {
        c.query(&format!("SELECT (t.*)::text FROM {t} t ORDER BY id"), &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    let reference = rows(&mut c, "via_copy");
    assert!(reference.len() >= 5, "most rows load: {reference:?}");
    for (t, method) in [("via_insert", "insert"), ("via_upsert", "upsert")] {
        let out = crate::cli::chunkload(&[
            "load",
            file.to_str().unwrap(),
            "--table",
            t,
            "--url",
            &url,
            "--method",
            method,
            "--max-errors",
            "100",
            "--reject-file",
            dir.path().join(format!("{t}.rejects")).to_str().unwrap(),
            "--quiet",
        ]);
        assert!(
            matches!(out.status.code(), Some(0) | Some(3)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(rows(&mut c, t), reference, "{method}");
    }
}
