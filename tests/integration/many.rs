//! Issue 24, points 6 and 7: a directory or a glob, a table per file (`--table '{stem}'`),
//! each its own load, resumable as a whole; and what scripts see: `--quiet`, `--json`
//! (flag errors too, `files` the same in `load` and `status`), rejects within
//! `--max-errors` a success, a dry run's CREATE TABLE and its short first statement.

use crate::cli::{chunkload, stderr};
use crate::support::{count, fresh_db};
use std::io::Write;
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

fn gzip(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap();
    path.to_str().unwrap().to_string()
}

fn rows(n: u64) -> String {
    let mut s = String::from("id,name\n");
    for i in 1..=n {
        s.push_str(&format!("{i},name {i}\n"));
    }
    s
}

fn exists(url: &str, table: &str) -> bool {
    crate::support::client(url)
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .unwrap()
        .get(0)
}

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", String::from_utf8_lossy(&o.stdout), stderr(o)))
}

#[test]
fn many_a_directory_loads_a_table_per_file_and_a_rerun_finishes_the_rest() {
    let url = fresh_db("many_directory");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    write(&data, "a.csv", &rows(3));
    gzip(&data, "b.csv.gz", &rows(5));
    // An unterminated quote: the file fails, nothing of it stays.
    let bad = write(&data, "c.csv", "id,name\n1,\"open\n");
    write(&data, "notes.json", "{}");
    let d = data.to_str().unwrap();
    let args = [
        "load",
        d,
        "--table",
        "{stem}",
        "--create-table",
        "--url",
        &url,
    ];
    let o = chunkload(&args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "the worst code is c's: {err}");
    let lines: Vec<&str> = err.lines().collect();
    let a = format!("{d}/a.csv → a: loaded 3 rows in ");
    assert!(lines.iter().any(|l| l.starts_with(&a)), "{err}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("{d}/b.csv.gz → b: loaded 5 rows"))),
        "{err}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("chunkload: error: {bad}: "))),
        "{err}"
    );
    assert!(
        lines.contains(&format!("{bad} → c: failed (exit 1)").as_str()),
        "{err}"
    );
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("3 files: 2 loaded, 1 failed; 8 rows loaded, 0 rejected"),
        "{err}"
    );
    assert_eq!((count(&url, "a"), count(&url, "b")), (3, 5));
    assert!(
        !exists(&url, "c"),
        "a table created for a load that committed nothing is dropped"
    );
    // Each file is a load of its own; status lists its file as the summary does.
    let s = chunkload(&["status", "--all", "--json", "--url", &url]);
    let loads = json(&s);
    let mut files: Vec<String> = loads
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l["files"].as_array().unwrap()[0]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    files.sort();
    assert_eq!(
        files,
        [format!("{d}/a.csv"), format!("{d}/b.csv.gz")],
        "{loads}"
    );
    // Fixed, the same command: a and b are already loaded, c loads.
    write(&data, "c.csv", &rows(2));
    let o = chunkload(&[&args[..], &["--json"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    let status: Vec<&str> = v["loads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["status"].as_str().unwrap())
        .collect();
    assert_eq!(status, ["loaded", "loaded", "loaded"], "{v}");
    let first = &v["loads"][0];
    assert_eq!(first["table"], "a", "{v}");
    assert_eq!(first["summary"]["rows"], 0, "already loaded: {v}");
    assert_eq!(
        first["summary"]["files"],
        serde_json::json!([format!("{d}/a.csv")]),
        "{v}"
    );
    assert_eq!(v["loads"][2]["summary"]["rows"], 2, "{v}");
    assert_eq!(v["total"]["rows"], 2, "{v}");
    assert_eq!(v["total"]["exit_code"], 0, "{v}");
    assert_eq!(v["total"]["files"].as_array().unwrap().len(), 3, "{v}");
    assert_eq!(count(&url, "c"), 2);
    let load_ids: std::collections::HashSet<&str> = v["loads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["summary"]["load_id"].as_str().unwrap())
        .collect();
    assert_eq!(load_ids.len(), 3, "a load id each: {v}");
}

#[test]
fn many_a_quoted_glob_in_order_stops_at_the_first_failure_when_told() {
    let url = fresh_db("many_glob");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    write(dir.path(), "x2.csv", &rows(2));
    write(dir.path(), "x1.csv", "id,name\n1,\"open\n");
    write(dir.path(), "x3.csv", &rows(3));
    write(dir.path(), "y.csv", &rows(1));
    let pattern = format!("{d}/x*.csv");
    let base = [
        "load",
        &pattern,
        "--table",
        "g_{stem}",
        "--create-table",
        "--url",
        &url,
        "--json",
    ];
    let o = chunkload(&[&base[..], &["--stop-on-error"]].concat());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json(&o);
    let got: Vec<(&str, &str)> = v["loads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["table"].as_str().unwrap(), l["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [("g_x1", "failed"), ("g_x2", "skipped"), ("g_x3", "skipped")],
        "{v}"
    );
    assert_eq!(v["loads"][0]["error"]["kind"], "parse", "{v}");
    assert_eq!(v["loads"][0]["exit_code"], 1, "{v}");
    assert_eq!(
        (
            v["total"]["failed"].as_u64(),
            v["total"]["skipped"].as_u64()
        ),
        (Some(1), Some(2))
    );
    assert!(!exists(&url, "g_x2"));
    // Without --stop-on-error the others load.
    let o = chunkload(&base);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!((count(&url, "g_x2"), count(&url, "g_x3")), (2, 3));
    assert!(!exists(&url, "g_y"), "not matched");
}

#[test]
fn many_a_fixed_table_keeps_one_load_of_every_file() {
    let url = fresh_db("many_fixed");
    crate::support::client(&url)
        .batch_execute("CREATE TABLE t (id int8, name text)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.csv", &rows(3));
    let b = write(dir.path(), "b.csv", &rows(4));
    let d = dir.path().to_str().unwrap();
    let o = chunkload(&["load", d, "--table", "t", "--url", &url, "--json"]);
    let v = json(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(v["files"], serde_json::json!([a, b]), "{v}");
    assert_eq!(count(&url, "t"), 7);
    let s = json(&chunkload(&["status", "--all", "--json", "--url", &url]));
    assert_eq!(
        s[0]["files"], v["files"],
        "files means the same in status: {s}"
    );
}

#[test]
fn many_inputs_and_templates_that_cannot_work_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let a = write(dir.path(), "a.csv", &rows(1));
    write(dir.path(), "b.csv", &rows(1));
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let url = "postgres://u@127.0.0.1:1/db";
    let parquet = format!("{d}/*.parquet");
    let cases: [(Vec<&str>, &str); 6] = [
        (vec![d, "--table", "{file}"], "unknown placeholder"),
        (
            vec![d, "--table", "{stem}", "--reject-file", "r.csv"],
            "the same for every file",
        ),
        (vec!["-", "--table", "{stem}"], "stdin (-) has no file name"),
        (
            vec![empty.to_str().unwrap(), "--table", "t"],
            "holds no CSV-like file",
        ),
        (vec![&parquet, "--table", "t"], "no file matches"),
        (
            vec![&a, "--table", "t", "--load-id", "{stem}"],
            "one table for all files",
        ),
    ];
    for (args, said) in cases {
        let o = chunkload(&[&["load"][..], &args, &["--url", url, "--json"]].concat());
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(said), "{args:?}: {err}");
        assert_eq!(json(&o)["error"]["kind"], "usage", "{args:?}");
    }
}

#[test]
fn many_a_flag_error_under_json_is_json() {
    let o = chunkload(&["load", "a.csv", "--table", "t", "--json", "--no-such-flag"]);
    assert_eq!(o.status.code(), Some(2));
    let v = json(&o);
    let e = &v["error"];
    assert_eq!(
        (e["kind"].as_str(), e["status"].as_str()),
        (Some("usage"), Some("usage")),
        "{v}"
    );
    assert_eq!(e["exit_code"], 2, "{v}");
    assert!(
        e["message"].as_str().unwrap().contains("--no-such-flag"),
        "{v}"
    );
    assert!(
        stderr(&o).contains("--no-such-flag"),
        "clap's message stays on stderr"
    );
    // Without --json, nothing on stdout; --help is not an error.
    let o = chunkload(&["load", "a.csv", "--table", "t", "--no-such-flag"]);
    assert!(o.stdout.is_empty() && o.status.code() == Some(2));
    let o = chunkload(&["load", "--help", "--json"]);
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("Usage"));
}

#[test]
fn many_quiet_prints_nothing_and_rejects_within_the_limit_exit_0() {
    let url = fresh_db("many_quiet");
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "q.csv", &rows(20));
    let o = chunkload(&[
        "load",
        &f,
        "--table",
        "q",
        "--create-table",
        "--url",
        &url,
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stderr.is_empty() && o.stdout.is_empty(), "{}", stderr(&o));
    assert_eq!(count(&url, "q"), 20);
    // The rerun has nothing to do: quiet too.
    let o = chunkload(&["load", &f, "--table", "q", "--url", &url, "-q"]);
    assert!(o.status.success() && o.stderr.is_empty(), "{}", stderr(&o));
    // Two bad rows within --max-errors: done, exit 0, the summary counts them.
    crate::support::client(&url)
        .batch_execute("CREATE TABLE n (id int8, name int8)")
        .unwrap();
    let bad = write(dir.path(), "n.csv", "id,name\n1,2\n2,x\n3,4\n4,y\n");
    let run = |max: &str| {
        chunkload(&[
            "load",
            &bad,
            "--table",
            "n",
            "--url",
            &url,
            "--max-errors",
            max,
            "--json",
            "--fresh",
        ])
    };
    let o = run("2");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["rejected"], 2);
    assert!(
        stderr(&o).is_empty(),
        "--json without a terminal prints no progress: {}",
        stderr(&o)
    );
    let o = run("1");
    assert_eq!(o.status.code(), Some(3), "past the limit: {}", stderr(&o));
}

#[test]
fn many_dry_run_prints_the_create_table_and_a_short_first_statement() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "wide.csv", &rows(5_000));
    let o = chunkload(&[
        "load",
        &f,
        "--table",
        "w",
        "--dry-run",
        "--create-table",
        "--method",
        "insert",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        out.contains("-- --create-table would run, if w does not exist:\nCREATE TABLE"),
        "{out}"
    );
    let longest = out.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(longest < 700, "{longest} characters");
    assert!(
        out.lines()
            .any(|l| l.starts_with("INSERT INTO") && l.contains(" … (") && l.ends_with(" bytes)")),
        "{out}"
    );
    assert!(out.contains("dry run: would load 5000 rows"), "{out}");
}
