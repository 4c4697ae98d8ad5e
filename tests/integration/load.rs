//! `chunkload load` as a user runs it: every option of issue 3 against the throwaway
//! server, through the binary (exit codes, messages, stdout/stderr).

use crate::cli::{chunkload, stderr};
use crate::support::{client, count, fresh_db};
use chunkload::bank::DBINIT_SQL;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn accounts_csv() -> String {
    format!("{}/data/accounts.csv", env!("CARGO_MANIFEST_DIR"))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `chunkload load --url URL --quiet ARGS...`, which must succeed.
fn load_ok(url: &str, args: &[&str]) -> Output {
    let mut all = vec!["load", "--url", url, "--quiet"];
    all.extend_from_slice(args);
    let o = chunkload(&all);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    o
}

/// The same, expected to fail with exit code 1.
fn load_fails(url: &str, args: &[&str]) -> String {
    let mut all = vec!["load", "--url", url, "--quiet"];
    all.extend_from_slice(args);
    let o = chunkload(&all);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
    err
}

/// The same for a load that may have committed chunks before it stopped: exit code 3
/// (partial) when it did, 1 when nothing was committed.
fn load_stops(url: &str, args: &[&str]) -> (String, i32) {
    let mut all = vec!["load", "--url", url, "--quiet"];
    all.extend_from_slice(args);
    let o = chunkload(&all);
    let err = stderr(&o);
    let code = o.status.code().expect("exited");
    assert!(code == 1 || code == 3, "{args:?}: {err}");
    (err, code)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p: PathBuf = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_string()
}

/// All rows of a query as text, one string per row, in the query's order.
fn rows(url: &str, sql: &str) -> Vec<String> {
    client(url)
        .query(&format!("SELECT x::text FROM ({sql}) x"), &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn db_with(name: &str, ddl: &str) -> String {
    let url = fresh_db(name);
    client(&url).batch_execute(ddl).unwrap();
    url
}

#[test]
fn load_accounts_with_each_method_gives_the_same_table() {
    let mut tables = Vec::new();
    for method in ["copy", "insert", "upsert"] {
        let url = db_with(&format!("load_accounts_{method}"), DBINIT_SQL);
        load_ok(
            &url,
            &[&accounts_csv(), "--table", "accounts", "--method", method],
        );
        assert_eq!(count(&url, "accounts"), 10_000, "{method}");
        tables.push(rows(&url, "SELECT id, balance FROM accounts ORDER BY id"));
        if method == "upsert" {
            // Upsert again with new balances: same keys, rows updated, none added.
            let dir = tempfile::tempdir().unwrap();
            let text = std::fs::read_to_string(accounts_csv()).unwrap();
            let mut out = String::from("id,balance\n");
            for line in text.lines().skip(1).take(100) {
                let id = line.split(',').next().unwrap();
                out.push_str(&format!("{id},-1\n"));
            }
            let f = write(dir.path(), "upd.csv", out.as_bytes());
            load_ok(&url, &[&f, "--table", "accounts", "--method", "upsert"]);
            assert_eq!(count(&url, "accounts"), 10_000);
            assert_eq!(count(&url, "accounts WHERE balance = -1"), 100);
        }
    }
    assert_eq!(tables[0], tables[1], "copy and insert differ");
    assert_eq!(tables[0].len(), 10_000);
    // The loaded table is the file.
    let text = std::fs::read_to_string(accounts_csv()).unwrap();
    let mut expected: Vec<(String, i64)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let (id, b) = l.split_once(',').unwrap();
            (id.to_string(), b.parse().unwrap())
        })
        .collect();
    expected.sort();
    let expected: Vec<String> = expected
        .iter()
        .map(|(id, b)| format!("({id},{b})"))
        .collect();
    assert_eq!(tables[0], expected);
}

const PEOPLE: &str =
    "CREATE TABLE people (id int4 PRIMARY KEY, name text, \"Amount\" numeric(10,2));";

#[test]
fn load_maps_header_columns_by_name_in_any_order_and_case() {
    let url = db_with("load_header_order", PEOPLE);
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "p.csv", b"NAME,amount,Id\nann,1.5,1\nbob,,2\n");
    load_ok(&url, &[&f, "--table", "people"]);
    assert_eq!(
        rows(&url, "SELECT * FROM people ORDER BY id"),
        ["(1,ann,1.50)", "(2,bob,)"]
    );
}

#[test]
fn load_unknown_header_column_lists_the_table_columns() {
    let url = db_with("load_unknown_col", PEOPLE);
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "p.csv", b"id,nmae\n1,ann\n");
    let err = load_fails(&url, &[&f, "--table", "people"]);
    assert!(err.contains("nmae"), "{err}");
    assert!(err.contains("id, name, Amount"), "{err}");
    assert_eq!(count(&url, "people"), 0);
}

#[test]
fn load_columns_option_with_and_without_header() {
    let url = db_with("load_columns", PEOPLE);
    let dir = tempfile::tempdir().unwrap();
    // With a header, --columns picks and orders the header columns to load.
    let f = write(dir.path(), "h.csv", b"junk,name,id\nx,ann,1\ny,bob,2\n");
    load_ok(&url, &[&f, "--table", "people", "--columns", "id,name"]);
    // Without a header, --columns names the fields in file order.
    let g = write(dir.path(), "n.csv", b"3.25,3,cy\n");
    load_ok(
        &url,
        &[
            &g,
            "--table",
            "people",
            "--no-header",
            "--columns",
            "amount,id,name",
        ],
    );
    // Without a header or --columns, the fields are the table's columns in order.
    let h = write(dir.path(), "t.csv", b"4,dee,4.5\n");
    load_ok(&url, &[&h, "--table", "people", "--no-header"]);
    assert_eq!(
        rows(&url, "SELECT * FROM people ORDER BY id"),
        ["(1,ann,)", "(2,bob,)", "(3,cy,3.25)", "(4,dee,4.50)"]
    );
}

#[test]
fn load_dialect_options_skip_lines_delimiters_bom() {
    let url = db_with("load_dialect", PEOPLE);
    let dir = tempfile::tempdir().unwrap();
    let skip = write(
        dir.path(),
        "skip.csv",
        b"exported by X\n\"note, with a \"\"quote\"\"\"\nid,name\n1,ann\n",
    );
    load_ok(&url, &[&skip, "--table", "people", "--skip-lines", "2"]);
    let tab = write(dir.path(), "tab.tsv", b"id\tname\n2\t\"b,o\tb\"\n");
    load_ok(&url, &[&tab, "--table", "people", "--delimiter", "\\t"]);
    let pipe = write(dir.path(), "pipe.csv", b"id|name|amount\n3|c,y|NA\n");
    load_ok(
        &url,
        &[
            &pipe,
            "--table",
            "people",
            "--delimiter",
            "|",
            "--null",
            "NA",
        ],
    );
    let bom = write(
        dir.path(),
        "bom.csv",
        b"\xEF\xBB\xBFid,name\r\n4,d\xC3\xA9e\r\n",
    );
    load_ok(&url, &[&bom, "--table", "people"]);
    assert_eq!(
        rows(&url, "SELECT * FROM people ORDER BY id"),
        ["(1,ann,)", "(2,\"b,o\tb\",)", "(3,\"c,y\",)", "(4,dée,)"]
    );
}

#[test]
fn load_gzip_zstd_and_stdin() {
    let url = db_with("load_compressed", PEOPLE);
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"id,name\n1,gz\n").unwrap();
    let gz = write(dir.path(), "a.csv.gz", &gz.finish().unwrap());
    let zst = zstd::encode_all(&b"id,name\n2,zst\n"[..], 3).unwrap();
    let zst = write(dir.path(), "b.csv.zst", &zst);
    load_ok(&url, &[&gz, "--table", "people"]);
    load_ok(&url, &[&zst, "--table", "people"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_chunkload"))
        .args(["load", "-", "--table", "people", "--quiet", "--url", &url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"id,name\n3,stdin\n4,\"two\nlines\"\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        rows(&url, "SELECT id, name FROM people ORDER BY id"),
        ["(1,gz)", "(2,zst)", "(3,stdin)", "(4,\"two\nlines\")"]
    );
}

#[test]
fn load_several_files_into_one_table_and_truncate() {
    let url = db_with(
        "load_files",
        &format!("{PEOPLE} INSERT INTO people VALUES (99, 'old', 0);"),
    );
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.csv", b"id,name\n1,a1\n2,a2\n");
    // A later file may order its columns differently.
    let b = write(dir.path(), "b.csv", b"name,id\nb3,3\nb4,4\n");
    load_ok(&url, &[&a, &b, "--table", "people", "--truncate"]);
    assert_eq!(
        rows(&url, "SELECT id, name FROM people ORDER BY id"),
        ["(1,a1)", "(2,a2)", "(3,b3)", "(4,b4)"]
    );
    // A file that fills other columns cannot join them.
    let c = write(dir.path(), "c.csv", b"id,amount\n5,1\n");
    let err = load_fails(&url, &[&a, &c, "--table", "people", "--fresh"]);
    assert!(err.contains("same columns"), "{err}");
}

#[test]
fn load_schema_qualified_table_and_weird_identifiers() {
    let url = db_with(
        "load_idents",
        "CREATE SCHEMA \"My Schema\";
         CREATE TABLE \"My Schema\".\"Odd Table\" (\"Cost Total $\" numeric, \"select\" text, \"a\"\"b\" int4);
         CREATE SCHEMA s; CREATE TABLE s.t (id int4);",
    );
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "w.csv",
        b"\"Cost Total $\",select,\"a\"\"b\"\n1.5,x,1\n2.5,\"y,z\",2\n",
    );
    for method in ["copy", "insert", "upsert"] {
        if method == "upsert" {
            // No primary key: upsert is refused with a reason.
            let err = load_fails(
                &url,
                &[
                    &f,
                    "--table",
                    "\"My Schema\".\"Odd Table\"",
                    "--method",
                    method,
                ],
            );
            assert!(err.contains("primary key"), "{err}");
            continue;
        }
        load_ok(
            &url,
            &[
                &f,
                "--table",
                "\"My Schema\".\"Odd Table\"",
                "--method",
                method,
                "--truncate",
                "--fresh",
            ],
        );
        assert_eq!(
            rows(&url, "SELECT * FROM \"My Schema\".\"Odd Table\" ORDER BY 1"),
            ["(1.5,x,1)", "(2.5,\"y,z\",2)"],
            "{method}"
        );
    }
    let g = write(dir.path(), "s.csv", b"id\n7\n");
    load_ok(&url, &[&g, "--table", "s.t"]);
    assert_eq!(count(&url, "s.t"), 1);
}

#[test]
fn load_dry_run_prints_sql_and_writes_nothing() {
    let url = db_with("load_dry", DBINIT_SQL);
    let o = chunkload(&[
        "load",
        &accounts_csv(),
        "--table",
        "accounts",
        "--url",
        &url,
        "--dry-run",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("COPY \"public\".\"accounts\" (\"id\",\"balance\") FROM STDIN"),
        "{out}"
    );
    assert!(out.contains("10000"), "{out}");
    let o = chunkload(&[
        "load",
        &accounts_csv(),
        "--table",
        "accounts",
        "--url",
        &url,
        "--dry-run",
        "--method",
        "insert",
        "--chunk-rows",
        "2",
    ]);
    let out = stdout(&o);
    assert!(
        out.contains(
            "INSERT INTO \"public\".\"accounts\" (\"id\",\"balance\") VALUES ($1,$2),($3,$4)"
        ),
        "{out}"
    );
    assert_eq!(count(&url, "accounts"), 0);
    // Not even the ledger is created.
    let ledger: i64 = client(&url)
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'chunkload%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(ledger, 0);
}

#[test]
fn load_json_summary_fields() {
    let url = db_with("load_json", DBINIT_SQL);
    let o = chunkload(&[
        "load",
        &accounts_csv(),
        "--table",
        "accounts",
        "--url",
        &url,
        "--json",
        "--chunk-rows",
        "3000",
        "--workers",
        "3",
        "--method",
        "insert",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rows"], 10_000, "{v}");
    assert_eq!(v["chunks"], 4, "{v}");
    assert_eq!(v["rejected"], 0, "{v}");
    assert_eq!(v["method"], "insert", "{v}");
    assert_eq!(v["workers"], 3, "{v}");
    assert_eq!(v["files"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["table"], "\"public\".\"accounts\"", "{v}");
    assert_eq!(v["dry_run"], false, "{v}");
    assert_eq!(
        v["bytes"].as_u64().unwrap() + 11,
        std::fs::metadata(accounts_csv()).unwrap().len(),
        "bytes are the data records' bytes: {v}"
    );
    assert!(
        v["load_id"].as_str().unwrap().starts_with("accounts-"),
        "{v}"
    );
    assert!(v["rows_per_sec"].as_f64().unwrap() > 0.0, "{v}");
}

/// A file whose bad record is on line 6; with 2 rows per chunk, lines 6 and 7 share a
/// chunk, and line 7 must not be loaded either.
fn bad_file(bad: &[u8]) -> Vec<u8> {
    let mut v = b"id,name,amount\n1,a,1\n2,b,2\n3,c,3\n4,d,4\n".to_vec();
    v.extend_from_slice(bad);
    v.extend_from_slice(b"\n6,f,6\n");
    v
}

#[test]
fn load_malformed_input_fails_with_file_line_column_and_writes_nothing_of_its_chunk() {
    // Where: the exact line (and column) for what the client checks, and for what only
    // the server sees (numeric(10,2) overflow is its typmod check) when COPY names the row;
    // the chunk's line range when a multi-row INSERT cannot.
    let cases: [(&str, &[u8], &str, Option<&str>); 5] = [
        ("unterminated", b"5,\"e,5\n6,x,1", "line 6", None),
        ("fields", b"5,e", "line 6", Some("amount")),
        ("utf8", b"5,e\xff,5", "line 6", None),
        ("value", b"5,e,12x", "line 6", Some("Amount")),
        ("range", b"5,e,123456789012", "lines 6–7", None),
    ];
    for (what, bad, line, column) in cases {
        for method in ["copy", "insert"] {
            let url = db_with(&format!("load_bad_{what}_{method}"), PEOPLE);
            let dir = tempfile::tempdir().unwrap();
            let f = write(dir.path(), "bad.csv", &bad_file(bad));
            let (err, code) = load_stops(
                &url,
                &[
                    &f,
                    "--table",
                    "people",
                    "--chunk-rows",
                    "2",
                    "--workers",
                    "1",
                    "--method",
                    method,
                ],
            );
            let committed = rows(&url, "SELECT id FROM people").len();
            assert_eq!(code, if committed > 0 { 3 } else { 1 }, "{what}: {err}");
            assert_eq!(err.trim_end().lines().count(), 1, "{what}: {err}");
            let (line, column) = match (what, method) {
                ("range", "copy") => ("line 6", Some("Amount")),
                _ => (line, column),
            };
            assert!(err.contains(&format!("{f}: {line}")), "{what}: {err}");
            if let Some(c) = column {
                assert!(err.contains(&format!("column \"{c}\"")), "{what}: {err}");
            }
            let ids = rows(&url, "SELECT id FROM people ORDER BY id");
            assert!(
                !ids.contains(&"5".to_string()) && !ids.contains(&"6".to_string()),
                "{what} {method}: rows of the bad chunk were written: {ids:?}"
            );
        }
    }
}

#[test]
fn load_reads_the_header_once_with_one_row_per_chunk() {
    let url = db_with("load_header_once", PEOPLE);
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("id,name\n");
    for i in 1..=25 {
        text.push_str(&format!("{i},n{i}\n"));
    }
    let f = write(dir.path(), "p.csv", text.as_bytes());
    for (method, workers) in [("copy", "3"), ("insert", "1")] {
        load_ok(
            &url,
            &[
                &f,
                "--table",
                "people",
                "--chunk-rows",
                "1",
                "--workers",
                workers,
                "--method",
                method,
                "--truncate",
            ],
        );
        assert_eq!(count(&url, "people"), 25, "{method}");
        assert_eq!(count(&url, "people WHERE id = 1"), 1, "{method}");
    }
}

#[test]
fn load_record_larger_than_chunk_bytes_goes_alone_with_a_warning() {
    let url = db_with("load_oversized", PEOPLE);
    let dir = tempfile::tempdir().unwrap();
    let big = "x".repeat(5000);
    let text = format!("id,name\n1,a\n2,\"{big}\"\n3,c\n");
    let f = write(dir.path(), "big.csv", text.as_bytes());
    let o = chunkload(&[
        "load",
        &f,
        "--table",
        "people",
        "--url",
        &url,
        "--chunk-bytes",
        "1K",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("line 3") && err.contains("larger than --chunk-bytes"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rows"], 3);
    assert_eq!(v["chunks"], 3, "the big record is a chunk of its own: {v}");
    assert_eq!(count(&url, "people WHERE length(name) = 5000"), 1);
}

#[test]
fn load_server_rejected_row_is_named_by_line_and_value() {
    let url = db_with(
        "load_server_reject",
        "CREATE TABLE items (id int8 PRIMARY KEY, qty int8 CHECK (qty >= 0))",
    );
    let dir = tempfile::tempdir().unwrap();
    let dup = write(dir.path(), "dup.csv", b"id,qty\n1,5\n2,6\n1,7\n3,8\n");
    let err = load_fails(&url, &[&dup, "--table", "items"]);
    assert!(err.contains("dup.csv: line 4,"), "{err}");
    assert!(err.contains("Key (id)=(1) already exists"), "{err}");
    assert_eq!(count(&url, "items"), 0, "nothing of the chunk was written");
    let chk = write(dir.path(), "chk.csv", b"id,qty\n1,5\n2,-6\n3,8\n");
    let err = load_fails(&url, &[&chk, "--table", "items"]);
    assert!(
        err.contains("chk.csv: line 3,") && err.contains("items_qty_check"),
        "{err}"
    );
}
