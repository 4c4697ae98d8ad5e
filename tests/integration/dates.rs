//! Issue 24: dates written day first (`13/01/2024`) found by inference and loaded as the
//! dates they are, over every path, whatever the session's DateStyle; `;` files whose
//! numbers have a decimal comma read as numbers without being told.

use crate::cli::stderr;
use crate::support::{client, fresh_cockroach_db, fresh_db};
use std::path::Path;
use std::process::{Command, Output};

/// A `;` file from a European Excel: decimal commas and day-first dates, with times.
const EUROPEAN: &str = "\
id;price;day;at
1;12,5;13/01/2024;13/01/2024 10:30
2;1.234,5;01/02/2024;01/02/2024 23:59:59
3;-3;31.12.1999;31-12-1999 00:00
";

/// The rows of [`EUROPEAN`] as they must read back.
const WANT: [(i64, &str, &str, &str); 3] = [
    (1, "12.5", "2024-01-13", "2024-01-13 10:30:00"),
    (2, "1234.5", "2024-02-01", "2024-02-01 23:59:59"),
    (3, "-3", "1999-12-31", "1999-12-31 00:00:00"),
];

/// chunkload with `args` and the session settings libpq takes from the environment.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_chunkload"));
    c.args(args).env_remove("DATABASE_URL");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run chunkload")
}

fn load(file: &Path, table: &str, url: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut args = vec![
        "load",
        file.to_str().unwrap(),
        "--table",
        table,
        "--url",
        url,
    ];
    args.extend_from_slice(extra);
    let out = run(&args, env);
    assert!(out.status.success(), "{}", stderr(&out));
    out
}

/// `table`'s rows, dates written out so that the reading session's DateStyle is moot.
fn rows(url: &str, table: &str) -> Vec<(i64, String, String, String)> {
    client(url)
        .query(
            &format!(
                "SELECT id, price::text, to_char(day, 'YYYY-MM-DD'),
                        to_char(at, 'YYYY-MM-DD HH24:MI:SS')
                 FROM {table} ORDER BY id"
            ),
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

fn assert_rows(url: &str, table: &str) {
    let got = rows(url, table);
    let got: Vec<(i64, &str, &str, &str)> = got
        .iter()
        .map(|(i, p, d, t)| (*i, p.as_str(), d.as_str(), t.as_str()))
        .collect();
    assert_eq!(got, WANT, "{table}");
}

fn types(url: &str, table: &str) -> Vec<String> {
    client(url)
        .query(
            "SELECT data_type::text FROM information_schema.columns
             WHERE table_name = $1 ORDER BY ordinal_position",
            &[&table],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

const OTHER_STYLE: [(&str, &str); 2] = [("PGDATESTYLE", "ISO, MDY"), ("PGTZ", "Asia/Tokyo")];

#[test]
fn day_first_dates_and_decimal_commas_are_found_and_loaded_on_postgres() {
    let url = fresh_db("dates_dmy");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("eu.csv");
    std::fs::write(&file, EUROPEAN).unwrap();
    let out = load(&file, "eu", &url, &["--create-table"], &[]);
    let err = stderr(&out);
    assert!(
        err.contains("decimal comma (numbers such as 12,5)"),
        "{err}"
    );
    assert!(
        err.contains("dates read as DD/MM/YYYY (--date-order dmy)"),
        "{err}"
    );
    assert_eq!(
        types(&url, "eu"),
        ["bigint", "numeric", "date", "timestamp without time zone"]
    );
    assert_rows(&url, "eu");
    // The same command again: the same load (the order found again), nothing to do.
    let again = load(&file, "eu", &url, &["--create-table"], &[]);
    assert!(stderr(&again).contains("already"), "{}", stderr(&again));
    assert_eq!(rows(&url, "eu").len(), 3);

    // A session that reads dates month first, in another zone: the same values.
    load(&file, "styled", &url, &["--create-table"], &OTHER_STYLE);
    assert_rows(&url, "styled");
    // INSERT instead of COPY.
    load(
        &file,
        "inserted",
        &url,
        &["--create-table", "--method", "insert"],
        &OTHER_STYLE,
    );
    assert_rows(&url, "inserted");

    // An existing table, the order given: COPY binary, and COPY text when a value only
    // the server reads (`Feb 1 2024`) sends its chunk as text.
    let mut c = client(&url);
    c.batch_execute(
        "CREATE TABLE given (id int8, price numeric, day date, at timestamp);
         CREATE TABLE texty (id int8, price numeric, day date, at timestamp);",
    )
    .unwrap();
    load(&file, "given", &url, &["--date-order", "dmy"], &OTHER_STYLE);
    assert_rows(&url, "given");
    let texty = dir.path().join("texty.csv");
    std::fs::write(
        &texty,
        EUROPEAN.replace("2;1.234,5;01/02/2024", "2;1.234,5;Feb 1 2024"),
    )
    .unwrap();
    load(
        &texty,
        "texty",
        &url,
        &["--date-order", "dmy"],
        &OTHER_STYLE,
    );
    assert_rows(&url, "texty");
}

#[test]
fn ambiguous_dates_stay_text_and_flags_win() {
    let url = fresh_db("dates_ambiguous");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("amb.csv");
    std::fs::write(&file, "id;price;day\n1;12,5;01/02/2024\n2;3,5;03/04/2024\n").unwrap();
    let out = load(&file, "amb", &url, &["--create-table"], &[]);
    let err = stderr(&out);
    assert!(
        err.contains("column \"day\" stays text: its dates (such as \"01/02/2024\") read alike"),
        "{err}"
    );
    assert_eq!(types(&url, "amb"), ["bigint", "numeric", "text"]);
    // Told the order, the column is a date column read that way; told no decimal comma,
    // the prices stay text.
    load(
        &file,
        "told",
        &url,
        &[
            "--create-table",
            "--date-order",
            "dmy",
            "--no-decimal-comma",
        ],
        &[],
    );
    assert_eq!(types(&url, "told"), ["bigint", "text", "date"]);
    let days: Vec<String> = client(&url)
        .query(
            "SELECT to_char(day, 'YYYY-MM-DD') FROM told ORDER BY id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(days, ["2024-02-01", "2024-04-03"]);
    let o = run(
        &["schema", file.to_str().unwrap(), "--date-order", "mdy"],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("dates read as MM/DD/YYYY"),
        "{}",
        stderr(&o)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("\"day\" date"));
}

#[test]
fn day_first_dates_load_through_the_cockroach_standin() {
    let url = fresh_cockroach_db("dates_dmy");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("eu.csv");
    std::fs::write(&file, EUROPEAN).unwrap();
    let out = load(&file, "eu", &url, &["--create-table"], &OTHER_STYLE);
    let err = stderr(&out);
    assert!(err.contains("dates read as DD/MM/YYYY"), "{err}");
    assert!(err.contains("decimal comma"), "{err}");
    // CockroachDB's hidden `rowid` comes last.
    assert_eq!(
        types(&url, "eu")[..4],
        ["bigint", "numeric", "date", "timestamp without time zone"]
    );
    assert_rows(&url, "eu");
}

/// `--create-table` from stdin into a table that exists (a rerun, another batch for
/// it): the dates are read in the order a sample of stdin shows, as a file's are, not
/// left to a session that reads them month first.
#[test]
fn stdin_into_an_existing_table_reads_its_dates_as_found() {
    use std::io::Write;
    let url = fresh_db("dates_stdin");
    client(&url)
        .batch_execute("CREATE TABLE piped (id int8, price numeric, day date, at timestamp)")
        .unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_chunkload"));
    c.args([
        "load",
        "-",
        "--table",
        "piped",
        "--create-table",
        "--url",
        &url,
    ])
    .env_remove("DATABASE_URL")
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    for (k, v) in OTHER_STYLE {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(EUROPEAN.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("-: dates read as DD/MM/YYYY (--date-order dmy)"),
        "{err}"
    );
    assert_rows(&url, "piped");
}
