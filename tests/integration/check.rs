//! `load --check`: the whole load against the real table, nothing committed. Each test
//! compares a check with a real load of the same file into an identical fresh table: the
//! same rows rejected (line and raw record), the same counts, the same exit code; and
//! after the check the table is as it was and no ledger exists.

use crate::cli::stderr;
use crate::support::{client, fresh_db, load_args};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

/// NOT NULL, CHECK, a primary key, a foreign key, an int and a date column, and one row
/// already there.
const SCHEMA: &str = "
    CREATE TABLE cats (name text PRIMARY KEY);
    INSERT INTO cats VALUES ('a'), ('b');
    CREATE TABLE items (
        id int PRIMARY KEY,
        qty int NOT NULL CHECK (qty >= 0),
        day date,
        cat text REFERENCES cats (name)
    );
    INSERT INTO items VALUES (1000, 5, '2024-01-01', 'a');";

/// With `--chunk-rows 3`: a type error (client-side, `x7`), a NULL in `qty`, a CHECK
/// failure, a date only the server can read and refuse, an unknown category, a key that
/// is already in the table, and id 3 twice, in chunks 0 and 3.
const FILE: &str = "id,qty,day,cat
1,1,2024-01-02,a
2,2,2024-01-03,b
3,3,2024-01-04,a
4,x7,2024-01-05,a
5,,2024-01-06,a
6,-1,2024-01-07,b
7,7,Feb 30 2024,a
8,8,2024-01-09,zz
9,9,2024-01-10,a
1000,10,2024-01-11,a
11,11,2024-01-12,b
3,12,2024-01-13,a
13,13,2024-01-14,a
14,14,2024-01-15,b
";

/// A real load with one writer takes the chunks in file order then, as a check does.
fn run(args: &[&str]) -> Output {
    crate::cli::chunkload_in_order(args)
}

fn load(url: &str, file: &Path, rejects: &Path, extra: &[&str]) -> Output {
    let rejects = ["--reject-file", rejects.to_str().unwrap()];
    let small = ["--chunk-rows", "3", "--json", "--quiet"];
    run(&load_args(file, "items", url, &[&rejects, &small, extra]))
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("JSON on stdout ({e}): {}", stderr(out)))
}

/// The table's rows as text, in key order.
fn items(url: &str) -> Vec<String> {
    client(url)
        .query("SELECT t::text FROM items t ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Whether the ledger's schema exists.
fn has_ledger(url: &str) -> bool {
    client(url)
        .query_one(
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'chunkload'",
            &[],
        )
        .unwrap()
        .get::<_, i64>(0)
        > 0
}

/// The reject file's records as a multiset of (line, raw record); the error text is
/// left out (it names the file and, for INSERT, no column).
fn rejected(path: &Path) -> BTreeMap<(u64, String), usize> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut lines = text.lines();
    if let Some(header) = lines.next() {
        assert_eq!(header, "id,qty,day,cat,chunkload_line,chunkload_error");
    }
    let mut out = BTreeMap::new();
    for l in lines {
        // The test's records hold no quotes: four fields, the line, then the error.
        let f: Vec<&str> = l.splitn(6, ',').collect();
        let line: u64 = f[4]
            .parse()
            .unwrap_or_else(|_| panic!("line number in {l}"));
        *out.entry((line, f[..4].join(","))).or_insert(0) += 1;
    }
    out
}

fn db_with_items(test: &str) -> String {
    let url = fresh_db(test);
    client(&url).batch_execute(SCHEMA).unwrap();
    url
}

#[test]
fn check_rejects_what_a_real_load_rejects_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("items.csv");
    std::fs::write(&file, FILE).unwrap();
    for method in ["copy", "insert"] {
        let checked = db_with_items(&format!("check_{method}"));
        let before = items(&checked);
        let check_rejects = dir.path().join(format!("check-{method}.rejects.csv"));
        // Two workers asked for: a check on PostgreSQL uses one.
        let extra = ["--method", method, "--max-errors", "20", "--check"];
        let c = load(&checked, &file, &check_rejects, &extra);
        let cs = json(&c);
        assert_eq!(items(&checked), before, "{method}: the table is unchanged");
        assert!(!has_ledger(&checked), "{method}: no ledger schema");
        assert_eq!(cs["check"], true);
        assert_eq!(cs["workers"], 1, "{method}");

        let loaded = db_with_items(&format!("real_{method}"));
        let real_rejects = dir.path().join(format!("real-{method}.rejects.csv"));
        let extra = ["--method", method, "--max-errors", "20", "--workers", "1"];
        let r = load(&loaded, &file, &real_rejects, &extra);
        let rs = json(&r);
        assert_eq!(c.status.code(), r.status.code(), "{method}: exit code");
        assert_eq!(c.status.code(), Some(0), "{method}: rows rejected");
        assert_eq!(cs["rows"], rs["rows"], "{method}: rows");
        assert_eq!(cs["rejected"], rs["rejected"], "{method}: rejected");
        assert_eq!(cs["chunks"], rs["chunks"], "{method}: chunks");
        assert_eq!(
            (cs["rows"].as_u64(), cs["rejected"].as_u64()),
            (Some(7), Some(7))
        );
        let expected = rejected(&real_rejects);
        assert_eq!(
            rejected(&check_rejects),
            expected,
            "{method}: reject records"
        );
        let lines: Vec<u64> = expected.keys().map(|(l, _)| *l).collect();
        // x7, NULL qty, CHECK, Feb 30, zz, 1000 (in the table), the second 3.
        assert_eq!(lines, [5, 6, 7, 8, 9, 11, 13], "{method}");
        assert_eq!(items(&loaded).len(), 8, "{method}: the real load loaded");
    }
}

#[test]
fn check_says_what_it_found_and_a_second_check_writes_the_same_reject_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("items.csv");
    std::fs::write(&file, FILE).unwrap();
    let url = db_with_items("check_twice");
    let rejects = dir.path().join("r.csv");
    let args = [
        "load",
        file.to_str().unwrap(),
        "--table",
        "items",
        "--url",
        &url,
        "--reject-file",
        rejects.to_str().unwrap(),
        "--chunk-rows",
        "3",
        "--max-errors",
        "20",
        // Accepted, so that the command without --check is the real load; no ledger.
        "--load-id",
        "items-2024",
        "--fresh",
        "--check",
    ];
    let first = run(&args);
    let text = stderr(&first);
    assert!(
        text.contains("check: 7 rows would load, 7 would be rejected; nothing was written"),
        "{text}"
    );
    assert_eq!(first.status.code(), Some(0), "{text}");
    let once = std::fs::read_to_string(&rejects).unwrap();
    // Replaced, not appended to.
    assert_eq!(run(&args).status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&rejects).unwrap(), once);
    assert_eq!(items(&url).len(), 1);
    assert!(!has_ledger(&url));
}

#[test]
fn check_over_max_errors_and_without_max_errors_exits_as_a_real_load_does() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("items.csv");
    std::fs::write(&file, FILE).unwrap();
    let checked = db_with_items("check_budget");
    let rejects = dir.path().join("r.csv");
    for extra in [&["--max-errors", "3"][..], &[]] {
        let loaded = db_with_items("real_budget");
        let with = |url: &str, check: bool| {
            let mut e = extra.to_vec();
            e.extend(["--workers", "1"]);
            if check {
                e.push("--check");
            }
            load(url, &file, &rejects, &e)
        };
        let c = with(&checked, true);
        let r = with(&loaded, false);
        let (ce, re) = (json(&c), json(&r));
        assert_eq!(ce["error"]["kind"], re["error"]["kind"], "{extra:?}");
        assert!(
            ce["error"]["message"]
                .as_str()
                .unwrap()
                .ends_with("(--check: nothing was written)"),
            "{ce}"
        );
        assert_eq!(ce["error"]["rows_committed"], 0);
        if extra.is_empty() {
            // The first bad row stops both; the real load had nothing committed yet.
            assert_eq!(c.status.code(), Some(1));
        } else {
            assert_eq!(ce["error"]["kind"], "too_many_rejects");
            assert_eq!(c.status.code(), r.status.code(), "{extra:?}");
        }
        assert_eq!(items(&checked).len(), 1);
        assert!(!has_ledger(&checked));
    }
    // Refused with --dry-run, before anything runs.
    let o = load(&checked, &file, &rejects, &["--check", "--dry-run"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--check and --dry-run exclude each other"));
}

#[test]
fn check_with_truncate_sees_an_empty_table_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("items.csv");
    std::fs::write(&file, FILE).unwrap();
    let url = db_with_items("check_truncate");
    let rejects = dir.path().join("r.csv");
    let extra = ["--check", "--truncate", "--max-errors", "20"];
    let s = json(&load(&url, &file, &rejects, &extra));
    // Key 1000 is no duplicate once the table is emptied.
    assert_eq!(
        (s["rows"].as_u64(), s["rejected"].as_u64()),
        (Some(8), Some(6))
    );
    assert_eq!(
        items(&url),
        ["(1000,5,2024-01-01,a)"],
        "the truncate rolled back"
    );
}

#[test]
fn check_on_the_cockroachdb_stand_in_leaves_the_table_unchanged() {
    let url = crate::support::fresh_cockroach_db("check_cockroach");
    client(&url).batch_execute(SCHEMA).unwrap();
    let before = items(&url);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("items.csv");
    std::fs::write(&file, FILE).unwrap();
    let rejects = dir.path().join("r.csv");
    let o = load(&url, &file, &rejects, &["--check", "--max-errors", "20"]);
    let s = json(&o);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(items(&url), before);
    assert!(!has_ledger(&url));
    // Per chunk: the second 3 (another chunk than the first) is not found; all else is.
    assert_eq!(
        (s["rows"].as_u64(), s["rejected"].as_u64()),
        (Some(8), Some(6))
    );
    let lines: Vec<u64> = rejected(&rejects).keys().map(|(l, _)| *l).collect();
    assert_eq!(lines, [5, 6, 7, 8, 9, 11]);
    // Inside one chunk, a repeated key is found.
    std::fs::write(&file, "id,qty,day,cat\n1,1,,a\n1,2,,a\n2,2,,b\n").unwrap();
    let s = json(&load(
        &url,
        &file,
        &rejects,
        &["--check", "--max-errors", "20"],
    ));
    assert_eq!(
        (s["rows"].as_u64(), s["rejected"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(
        rejected(&rejects).into_keys().collect::<Vec<_>>(),
        [(3, "1,2,,a".to_string())]
    );
    assert_eq!(items(&url), before);
    let o = load(&url, &file, &rejects, &["--check", "--truncate"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
