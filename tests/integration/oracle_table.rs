//! The table oracle: seeded random CSV files (see `oracle_gen`) loaded by chunkload and by
//! PostgreSQL's own `COPY ... (FORMAT csv)`, one row at a time, into twin tables. For every
//! file, method and chunk size both refuse the same rows and store the same text
//! (`t::text`, compared as multisets), in a UTC/`ISO, MDY` and a New York/`ISO, DMY`
//! database. `CHUNKLOAD_DIFF_FILES=N` loads N files per test instead of one.

use crate::oracle::settings_db;
use crate::oracle_gen::{header, row, write_csv, BINARY_DDL, MOOD, OTHER_DDL};
use crate::support::client;
use chunkload::load::{run, LoadConfig, Method};
use chunkload::source::Dialect;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::sync::Arc;

/// Connections a test opens itself: any closure is a [`chunkload::connect::Connect`].
pub fn connector(url: &str) -> Arc<dyn chunkload::connect::Connect> {
    let url = url.to_string();
    Arc::new(move |_: usize, _: u32| {
        postgres::Client::connect(&url, postgres::NoTls).map_err(chunkload::Error::from)
    })
}

/// Rows of `a` missing from `b`, as row text (json has no equality operator).
pub fn missing(c: &mut postgres::Client, a: &str, b: &str) -> i64 {
    c.query_one(
        &format!(
            "SELECT count(*) FROM ((SELECT x::text FROM {a} x) EXCEPT ALL (SELECT x::text FROM {b} x)) d"
        ),
        &[],
    )
    .unwrap()
    .get(0)
}

/// The rejects of chunkload that COPY stored, with chunkload's reason.
fn wrongly_rejected(
    c: &mut postgres::Client,
    twin: &str,
    rejects: &std::path::Path,
) -> Vec<String> {
    let Ok(mut r) = csv::ReaderBuilder::new().from_path(rejects) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for rec in r.records().flatten() {
        let id = rec.get(0).unwrap_or("").trim().trim_start_matches('+');
        let Ok(id) = id.parse::<i64>() else { continue };
        let stored: i64 = c
            .query_one(
                &format!("SELECT count(*) FROM {twin} WHERE id = $1"),
                &[&id],
            )
            .unwrap()
            .get(0);
        if stored > 0 {
            let why = rec.get(rec.len() - 1).unwrap_or("");
            out.push(format!("COPY stored row id {id}; chunkload: {why}"));
        }
    }
    out
}

struct Case {
    null: &'static str,
    eol: &'static str,
    /// (chunk bytes, chunk rows, workers): one-row chunks (each row on the fast path when
    /// it can be) and chunks of many rows (one odd value sends the whole chunk as text).
    loads: &'static [(usize, usize, usize)],
}

const CASES: &[Case] = &[
    Case {
        null: "NA",
        eol: "\n",
        loads: &[
            (256 * 1024, 1, 3),
            (1024, 10_000, 1),
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

/// Rows per file.
const ROWS: usize = 120;

const UTC: (&str, &str) = ("UTC", "ISO, MDY");
const NEW_YORK: (&str, &str) = ("America/New_York", "ISO, DMY");

/// Files per test: one (the tests of a table and database alternate the cases), or
/// `CHUNKLOAD_DIFF_FILES`.
fn files() -> usize {
    std::env::var("CHUNKLOAD_DIFF_FILES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .map_or(1, |n| n.max(1))
}

/// Every file of the oracle, loaded by chunkload and by COPY in a database whose sessions
/// default to `settings` (TimeZone, DateStyle): both refuse the same rows and store the
/// same rows.
fn oracle(seed: u64, other: bool, method: Method, settings: (&str, &str)) {
    let zone_tag: String = settings
        .0
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let table_kind = if other { "text" } else { "binary" };
    let url = settings_db(
        &format!(
            "oracle_{table_kind}_{}_{}",
            method.name(),
            zone_tag.to_ascii_lowercase()
        ),
        settings.0,
        settings.1,
    );
    let mut c = client(&url);
    c.batch_execute(MOOD).unwrap();
    let ddl = if other { OTHER_DDL } else { BINARY_DDL };
    let header = header(ddl);
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut k = 0;
    let (mut total_rows, mut total_refused, mut total_loads) = (0usize, 0u64, 0usize);
    for ci in 0..files() {
        let case = &CASES[(ci + seed as usize) % CASES.len()];
        let rows: Vec<_> = (0..ROWS)
            .map(|i| row(&mut rng, &header, i, i % 50 == 17))
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
        // The odd spellings are a minority: most rows load.
        assert!(
            refused < ROWS as u64 / 2,
            "PostgreSQL refused {refused} rows of {}",
            path.display()
        );
        let expected = crate::support::count(&url, &twin);
        assert_eq!(expected as u64 + refused, rows.len() as u64);
        total_rows += rows.len();
        total_refused += refused;
        for &(bytes, chunk_rows, workers) in case.loads {
            k += 1;
            total_loads += 1;
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
            cfg.method = Some(method);
            cfg.chunk_bytes = Some(bytes);
            cfg.chunk_rows = Some(chunk_rows);
            cfg.workers = workers;
            cfg.max_errors = rows.len() as u64;
            let rejects = dir.path().join(format!("rejects{k}.csv"));
            cfg.reject_file = Some(rejects.to_str().unwrap().to_string());
            let what = format!(
                "{table_kind} table, {}, null {:?}, eol {:?}, chunk {bytes} B / {chunk_rows} rows, \
                 {workers} workers, file {ci} of seed {seed}, in {settings:?}",
                method.name(),
                case.null,
                case.eol,
            );
            let keep = || {
                // The failing file outlives the test's temporary directory.
                let kept = std::env::temp_dir().join(format!(
                    "chunkload-oracle-{table_kind}-{}-{zone_tag}-{seed}-{ci}.csv",
                    method.name()
                ));
                std::fs::copy(&path, &kept).unwrap();
                kept.display().to_string()
            };
            let summary = run(&cfg, connector(&url))
                .unwrap_or_else(|e| panic!("{what}: {e} (file kept as {})", keep()));
            let (a, b) = (
                missing(&mut c, &twin, &target),
                missing(&mut c, &target, &twin),
            );
            if a + b > 0 || summary.rejected != refused {
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
                    "{what}: COPY refused {refused} rows, chunkload {}; {a} rows only in COPY's table, \
                     {b} only in chunkload's (file kept as {}):\n{}\n{}",
                    summary.rejected,
                    keep(),
                    diff.join("\n"),
                    wrongly_rejected(&mut c, &twin, &rejects).join("\n")
                );
            }
            assert_eq!(summary.rows, expected as u64, "{what}");
            assert_eq!(crate::support::count(&url, &target), expected, "{what}");
        }
    }
    eprintln!(
        "oracle {table_kind} {} {settings:?}: {} files, {total_rows} rows ({total_refused} refused by both), {total_loads} loads agree",
        method.name(),
        files()
    );
}

#[test]
fn oracle_utc_binary_copy() {
    oracle(11, false, Method::Copy, UTC);
}

#[test]
fn oracle_utc_binary_insert() {
    oracle(12, false, Method::Insert, UTC);
}

#[test]
fn oracle_utc_binary_upsert() {
    oracle(13, false, Method::Upsert, UTC);
}

#[test]
fn oracle_utc_text_copy() {
    oracle(21, true, Method::Copy, UTC);
}

#[test]
fn oracle_utc_text_insert() {
    oracle(22, true, Method::Insert, UTC);
}

#[test]
fn oracle_utc_text_upsert() {
    oracle(23, true, Method::Upsert, UTC);
}

#[test]
fn oracle_new_york_dmy_binary_copy() {
    oracle(31, false, Method::Copy, NEW_YORK);
}

#[test]
fn oracle_new_york_dmy_binary_insert() {
    oracle(32, false, Method::Insert, NEW_YORK);
}

#[test]
fn oracle_new_york_dmy_binary_upsert() {
    oracle(33, false, Method::Upsert, NEW_YORK);
}

#[test]
fn oracle_new_york_dmy_text_copy() {
    oracle(41, true, Method::Copy, NEW_YORK);
}

#[test]
fn oracle_new_york_dmy_text_insert() {
    oracle(42, true, Method::Insert, NEW_YORK);
}

#[test]
fn oracle_new_york_dmy_text_upsert() {
    oracle(43, true, Method::Upsert, NEW_YORK);
}
