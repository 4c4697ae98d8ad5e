//! The CockroachDB path through the strict stand-in, once per supported release line
//! (`COCKROACH_VERSIONS`: 23.2, 24.3, 25.2, 25.4, 26.1), each with its line's refusals:
//! the savepoint-rollback bugs, DDL autocommitting inside a transaction from 25.1, COPY
//! over the extended protocol, named arguments, the catalog's NULLs and hidden columns.
//! Every statement the flavour sends must be on the reviewed list (support::standin).
//! Each step ends with the table equal to its source: the everyday steps, `--defer-indexes`
//! (indexes read from `SHOW CREATE TABLE`, dropped, rebuilt identical), and every file of
//! the shipped `data/` loaded as the README says.

use crate::cli::{chunkload, stderr};
use crate::cockroach::flaky_with_cockroach_messages;
use crate::cockroach_ddl::lines_of;
use crate::support::{
    accounts_file, assert_exact, assert_same_rows, client, fresh_cockroach_db_at,
    killed_and_rerun_with_other_options, load_accounts, load_args, show_create, summary,
    target_and_reference,
};
use chunkload::cluster::COCKROACH_VERSIONS;
use std::fmt::Write as _;
use std::path::Path;

fn load(url: &str, file: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["--retry-base-ms", "1", "--json"];
    args.extend_from_slice(extra);
    load_accounts(url, file, &args)
}

fn ok(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", stderr(out));
    summary(out)
}

/// Rows of `table` equal to a row of `reference` (ids compared as text: a created table
/// may type them otherwise).
fn matching_reference(url: &str, table: &str) -> i64 {
    client(url)
        .query_one(
            &format!(
                "SELECT count(*) FROM {table} t JOIN reference r
                   ON t.id::text = r.id::text AND t.balance = r.balance"
            ),
            &[],
        )
        .unwrap()
        .get(0)
}

/// Loads, reruns, truncates, upserts, checks, imports, reports and forgets on one version.
fn everyday_steps(version: &str, tag: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 12_000, 31);
    let url = fresh_cockroach_db_at(tag, version);
    target_and_reference(&url, &file);
    flaky_with_cockroach_messages(&url);

    // The default method (insert), through 40001s on a third of the attempts.
    let s = ok(&load(&url, &file, &["--chunk-bytes", "32K"]));
    assert_eq!(s["method"], "insert", "{s}");
    assert!(s["retries"].as_u64().unwrap() > 0, "{s}");
    assert_exact(&url, 12_000);
    // A rerun of the finished load sends nothing.
    let s = ok(&load(&url, &file, &[]));
    assert_eq!(s["rows"], 0, "{s}");
    // --fresh --truncate: the table emptied once, then loaded again, exact.
    ok(&load(
        &url,
        &file,
        &["--fresh", "--truncate", "--chunk-bytes", "64K"],
    ));
    assert_exact(&url, 12_000);
    // --method copy is refused before anything is written.
    let out = load(&url, &file, &["--fresh", "--method", "copy"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_exact(&url, 12_000);
    // --check sends everything and commits nothing.
    let out = load(&url, &file, &["--fresh", "--check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_exact(&url, 12_000);

    // Upsert into a keyed table, twice: the second run replaces, nothing doubles.
    client(&url)
        .batch_execute("CREATE TABLE keyed (id uuid PRIMARY KEY, balance int8)")
        .unwrap();
    for _ in 0..2 {
        let o = chunkload(&[
            "load",
            file.to_str().unwrap(),
            "--url",
            &url,
            "--table",
            "keyed",
            "--method",
            "upsert",
            "--fresh",
            "--json",
            "--retry-base-ms",
            "1",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(matching_reference(&url, "keyed"), 12_000);

    // A table without a key gets CockroachDB's hidden rowid: a headerless load fills only
    // the visible columns, and upsert is refused as for any keyless table.
    let o = chunkload(&[
        "load",
        file.to_str().unwrap(),
        "--url",
        &url,
        "--table",
        "plain",
        "--create-table",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(matching_reference(&url, "plain"), 12_000);
    let o = chunkload(&[
        "load",
        file.to_str().unwrap(),
        "--url",
        &url,
        "--table",
        "plain",
        "--method",
        "upsert",
        "--fresh",
    ]);
    assert!(!o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("hidden rowid"), "{}", stderr(&o));

    // IMPORT INTO, served by chunkload and fetched by the stand-in.
    client(&url)
        .batch_execute("CREATE TABLE imported (id uuid PRIMARY KEY, balance int8)")
        .unwrap();
    let out = dir.path().join("shards");
    let o = chunkload(&[
        "import",
        file.to_str().unwrap(),
        "--url",
        &url,
        "--table",
        "imported",
        "--shards",
        "3",
        "--out",
        out.to_str().unwrap(),
        "--serve",
        "127.0.0.1:0",
        "--execute",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(matching_reference(&url, "imported"), 12_000);

    // status and forget read and clear the ledger.
    let o = chunkload(&["status", "--url", &url]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = chunkload(&["forget", "--url", &url, "--finished"]);
    assert!(o.status.success(), "{}", stderr(&o));

    // The tutorial's bank app, on its own accounts table in a database of its own.
    let bank = fresh_cockroach_db_at(&format!("{tag}_bank"), version);
    for cmd in [
        &["init"][..],
        &["bank", "--accounts", "20", "--seed", "3"][..],
    ] {
        let mut args = cmd.to_vec();
        args.extend_from_slice(&["--url", &bank]);
        let o = chunkload(&args);
        assert!(o.status.success(), "{cmd:?}: {}", stderr(&o));
    }
}

/// `--defer-indexes` through 40001s: `accounts` with a secondary index STORING a column,
/// a unique index and a partial one; after the load `SHOW CREATE TABLE` prints the same
/// indexes again, none is owed, and the table equals its source.
fn defer_indexes_steps(version: &str, tag: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("id,balance,email,city\n");
    for i in 1..=6_000u64 {
        let _ = writeln!(
            csv,
            "{:08x}-0000-4000-8000-{i:012x},{},u{i}@example.org,city{}",
            i * 7919,
            (i * 104_729) % 1_000_000,
            i % 7
        );
    }
    let file = dir.path().join("accounts.csv");
    std::fs::write(&file, csv).unwrap();
    let url = fresh_cockroach_db_at(tag, version);
    let mut c = client(&url);
    c.batch_execute(
        "CREATE TABLE accounts (id uuid PRIMARY KEY, balance int8 NOT NULL, email text, city text);
         CREATE INDEX accounts_city_idx ON accounts (city) INCLUDE (balance, email);
         CREATE UNIQUE INDEX accounts_email_key ON accounts (email);
         CREATE INDEX accounts_balance_idx ON accounts (balance DESC) WHERE balance > 500000;
         CREATE TABLE reference (LIKE accounts);",
    )
    .unwrap();
    let mut w = c
        .copy_in("COPY reference FROM STDIN (FORMAT csv, HEADER)")
        .unwrap();
    std::io::Write::write_all(&mut w, &std::fs::read(&file).unwrap()).unwrap();
    w.finish().unwrap();
    flaky_with_cockroach_messages(&url);
    let shown = show_create(&url, "accounts");
    assert!(
        shown.contains("\tINDEX accounts_city_idx (city ASC) STORING (balance, email),\n")
            && shown.contains("\tUNIQUE INDEX accounts_email_key (email ASC),\n")
            && shown
                .contains("\tINDEX accounts_balance_idx (balance DESC) WHERE balance > 500000\n"),
        "{shown}"
    );
    let s = ok(&load(
        &url,
        &file,
        &["--defer-indexes", "--chunk-bytes", "32K", "--workers", "2"],
    ));
    assert!(s["retries"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(lines_of(&show_create(&url, "accounts")), lines_of(&shown));
    let r = c
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE NOT rebuilt) FROM chunkload.chunkload_deferred",
            &[],
        )
        .unwrap();
    let (deferred, owed): (i64, i64) = (r.get(0), r.get(1));
    assert_eq!(
        (deferred, owed),
        (3, 0),
        "3 indexes deferred, none still owed"
    );
    assert_same_rows(&url, "accounts", "reference", 6_000);
}

/// Every file of the shipped `data/`, as the README loads it: `chunkload init` (the
/// bundled dbinit.sql), then `chunkload load data/FILE.csv --table FILE`, through 40001s.
fn shipped_data_steps(version: &str, tag: &str) {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let mut files: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "data/ ships no file");
    let url = fresh_cockroach_db_at(tag, version);
    let o = chunkload(&["init", "--url", &url]);
    assert!(o.status.success(), "{}", stderr(&o));
    flaky_with_cockroach_messages(&url);
    for file in files {
        let table = file.file_stem().unwrap().to_str().unwrap().to_string();
        let mut c = client(&url);
        let exists: bool = c
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
            .unwrap()
            .get(0);
        assert!(
            exists,
            "{}: dbinit.sql creates no table {table}; say how the README loads it, here",
            file.display()
        );
        let reference = format!("reference_{table}");
        c.batch_execute(&format!("CREATE TABLE {reference} (LIKE {table})"))
            .unwrap();
        let mut w = c
            .copy_in(&format!("COPY {reference} FROM STDIN (FORMAT csv, HEADER)"))
            .unwrap();
        std::io::Write::write_all(&mut w, &std::fs::read(&file).unwrap()).unwrap();
        let rows = w.finish().unwrap() as i64;
        let o = chunkload(&load_args(
            &file,
            &table,
            &url,
            &[&["--json", "--retry-base-ms", "1", "--chunk-bytes", "64K"]],
        ));
        let s = ok(&o);
        assert!(s["retries"].as_u64().unwrap() > 0, "{s}");
        assert_same_rows(&url, &table, &reference, rows);
    }
}

macro_rules! on_every_version {
    ($($name:ident, $defer:ident, $data:ident: $i:expr,)*) => {$(
        #[test]
        fn $name() {
            everyday_steps(COCKROACH_VERSIONS[$i], stringify!($name));
        }

        #[test]
        fn $defer() {
            defer_indexes_steps(COCKROACH_VERSIONS[$i], stringify!($defer));
        }

        #[test]
        fn $data() {
            shipped_data_steps(COCKROACH_VERSIONS[$i], stringify!($data));
        }
    )*};
}

on_every_version! {
    crdb_v23_2_everyday_steps_end_exact, crdb_v23_2_defer_indexes_rebuilds_them_identical,
        crdb_v23_2_shipped_data_loads_exact: 0,
    crdb_v24_3_everyday_steps_end_exact, crdb_v24_3_defer_indexes_rebuilds_them_identical,
        crdb_v24_3_shipped_data_loads_exact: 1,
    crdb_v25_2_everyday_steps_end_exact, crdb_v25_2_defer_indexes_rebuilds_them_identical,
        crdb_v25_2_shipped_data_loads_exact: 2,
    crdb_v25_4_everyday_steps_end_exact, crdb_v25_4_defer_indexes_rebuilds_them_identical,
        crdb_v25_4_shipped_data_loads_exact: 3,
    crdb_v26_1_everyday_steps_end_exact, crdb_v26_1_defer_indexes_rebuilds_them_identical,
        crdb_v26_1_shipped_data_loads_exact: 4,
}

/// SIGKILL mid-load, then reruns with other options, on the oldest line and on the
/// newest (the two retry paths' extremes), through the strict stand-in.
#[test]
fn crdb_sigkill_reruns_end_exact_on_the_oldest_and_newest_lines() {
    for (i, version) in [COCKROACH_VERSIONS[0], COCKROACH_VERSIONS[4]]
        .iter()
        .enumerate()
    {
        let dir = tempfile::tempdir().unwrap();
        let csv = accounts_file(dir.path(), 20_000, 41 + i as u64);
        let f = csv.to_str().unwrap().to_string();
        let url = fresh_cockroach_db_at(&format!("crdb_kill{i}"), version);
        killed_and_rerun_with_other_options(&url, &f, &csv, 20_000, 5 + i as u64);
    }
}
