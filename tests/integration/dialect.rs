//! Issue 24, points 1 and 3: the dialect found from the file when the flags leave it open
//! (tabs, semicolons, pipes, with and without a header; flags win; an unconvincing file
//! stops; a rerun resumes), and headers as people write them (created columns, and the
//! cells that do not fit an existing table).

use crate::cli::{chunkload, stderr};
use crate::support::{client, fresh_db, load_args, ok_summary};
use std::path::Path;

/// The table's columns in order.
fn columns(url: &str, table: &str) -> Vec<String> {
    client(url)
        .query(
            "SELECT attname::text FROM pg_attribute
             WHERE attrelid = $1::text::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            &[&table],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Every row as its columns' text (NULL as `∅`), joined by `|`, in the table's order.
fn rows(url: &str, table: &str) -> Vec<String> {
    let cols: Vec<String> = columns(url, table)
        .iter()
        .map(|c| format!("coalesce({}::text, '∅')", chunkload::sql::quote_ident(c)))
        .collect();
    let sql = format!(
        "SELECT concat_ws('|', {}) FROM {table} ORDER BY 1",
        cols.join(", ")
    );
    client(url)
        .query(&sql, &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn tsv_semicolon_and_pipe_files_load_into_their_columns() {
    let url = fresh_db("dialect_kinds");
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "t_tsv",
            "id\tname\tscore\n1\tann, jr\t2.5\n2\tbob\t3\n",
            "tab",
            true,
        ),
        (
            "t_semi",
            "id;name;score\n1;\"ann; jr\";2.5\n2;bob;3\n",
            "';'",
            true,
        ),
        ("t_pipe", "id|name|score\n1|ann|2.5\n2|bob|3\n", "'|'", true),
        ("t_tsv_nh", "1\tann, jr\t2.5\n2\tbob\t3\n", "tab", false),
        ("t_semi_nh", "1;ann;2.5\n2;bob;3\n", "';'", false),
        ("t_pipe_nh", "1|ann|2.5\n2|\"b|ob\"|3\n", "'|'", false),
    ];
    for (table, text, delim, header) in cases {
        let file = write(dir.path(), &format!("{table}.txt"), text);
        let out = chunkload(&load_args(
            &file,
            table,
            &url,
            &[&["--create-table", "--json"]],
        ));
        ok_summary(&out);
        let err = stderr(&out);
        let said = format!("dialect found from 3 of the first 3 rows: delimiter {delim}");
        let said = match header {
            true => said,
            false => said.replace("3 of the first 3", "2 of the first 2"),
        };
        assert!(err.contains(&said), "{table}: {err}");
        let names = match header {
            true => ["id", "name", "score"],
            false => ["col1", "col2", "col3"],
        };
        assert_eq!(columns(&url, table), names, "{table}");
        let second = match table {
            "t_semi" => "ann; jr",
            "t_pipe_nh" => "b|ob",
            "t_semi_nh" | "t_pipe" => "ann",
            _ => "ann, jr",
        };
        let mut want = vec![format!("1|{second}|2.5"), "2|bob|3".to_string()];
        if table == "t_pipe_nh" {
            want = vec!["1|ann|2.5".into(), "2|b|ob|3".into()];
        }
        assert_eq!(rows(&url, table), want, "{table}");
    }
}

#[test]
fn an_unconvincing_file_stops_and_names_the_delimiters() {
    let url = fresh_db("dialect_unconvincing");
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "ragged.csv",
        "a;b\n1;2;3\n4;5;6;7\n8\n9;1;2;3;4\n",
    );
    let out = chunkload(&load_args(&file, "t", &url, &[&["--create-table"]]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("cannot tell the CSV dialect"), "{err}");
    assert!(
        err.contains("';' (in 4 of 5 rows, 1 to 5 fields a row)"),
        "{err}"
    );
    assert!(err.contains("--delimiter ';'"), "{err}");
    let exists: bool = client(&url)
        .query_one("SELECT to_regclass('t') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    assert!(!exists, "nothing is created");
}

#[test]
fn given_flags_win_over_what_the_file_shows() {
    let url = fresh_db("dialect_flags");
    let dir = tempfile::tempdir().unwrap();
    // `;` and `|` both split it in two; the flags pick `|` and no header.
    let file = write(dir.path(), "f.csv", "a;b|c\n1;2|3\n");
    let flags = [
        "--create-table",
        "--json",
        "--delimiter",
        "|",
        "--quote",
        "'",
        "--escape",
        "'",
        "--no-header",
    ];
    let out = chunkload(&load_args(&file, "t", &url, &[&flags]));
    ok_summary(&out);
    assert!(!stderr(&out).contains("dialect found"), "{}", stderr(&out));
    assert_eq!(columns(&url, "t"), ["col1", "col2"]);
    assert_eq!(rows(&url, "t"), ["1;2|3", "a;b|c"]);
    // One flag given, the rest found: the line marks the given part.
    let out = chunkload(&load_args(
        &file,
        "u",
        &url,
        &[&["--create-table", "--json", "--delimiter", ";"]],
    ));
    ok_summary(&out);
    let err = stderr(&out);
    assert!(err.contains("delimiter ';' (given), quote '\"', escape '\"', a header (the first row is text over typed columns)"), "{err}");
    assert_eq!(rows(&url, "u"), ["1|2|3"]);
}

#[test]
fn a_rerun_of_a_sniffed_load_resumes_it() {
    let url = fresh_db("dialect_rerun");
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("id\tname\n");
    for i in 0..2000 {
        text.push_str(&format!("{i}\tname {i}\n"));
    }
    let file = write(dir.path(), "r.tsv", &text);
    let run = || {
        chunkload(&load_args(
            &file,
            "t",
            &url,
            &[&["--create-table", "--json", "--chunk-bytes", "4K"]],
        ))
    };
    let first = ok_summary(&run());
    assert_eq!(first["rows"], 2000, "{first}");
    let out = run();
    let second = ok_summary(&out);
    assert_eq!(first["load_id"], second["load_id"]);
    assert!(
        stderr(&out).contains("already loaded completely"),
        "{}",
        stderr(&out)
    );
    assert_eq!(crate::support::count(&url, "t"), 2000);
}

#[test]
fn messy_headers_make_valid_columns_and_load_again() {
    let url = fresh_db("dialect_messy");
    let dir = tempfile::tempdir().unwrap();
    let long = "é".repeat(40);
    let text = format!(" id,Amount ,,a,a,{long}\n1,2.5,x,y,z,w\n2,3,,p,q,r\n");
    let file = write(dir.path(), "m.csv", &text);
    let run = || {
        chunkload(&load_args(
            &file,
            "m",
            &url,
            &[&["--create-table", "--json"]],
        ))
    };
    let out = run();
    let first = ok_summary(&out);
    let err = stderr(&out);
    let cut = "é".repeat(31);
    assert_eq!(
        columns(&url, "m"),
        ["id", "Amount", "column_3", "a", "a_2", cut.as_str()]
    );
    for line in [
        r#"m.csv: header cell 2 "Amount " is column "Amount" (spaces trimmed)"#,
        r#"header cell 3 "" is column "column_3" (the cell is empty)"#,
        r#"header cell 5 "a" is column "a_2" ("a" came before)"#,
        "(cut to 63 bytes)",
    ] {
        assert!(err.contains(line), "{line}: {err}");
    }
    assert_eq!(rows(&url, "m"), ["1|2.5|x|y|z|w", "2|3|∅|p|q|r"]);
    // The rerun maps the header onto the same columns: the same load, already done.
    let again = run();
    assert_eq!(ok_summary(&again)["load_id"], first["load_id"]);
}

#[test]
fn a_header_that_does_not_fit_an_existing_table_names_each_cell() {
    let url = fresh_db("dialect_misfit");
    client(&url)
        .batch_execute("CREATE TABLE t (id int8, amount numeric, x text, y text)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "h.csv", "id,Amount ,x,X,\n1,2,3,4,\n");
    let out = chunkload(&load_args(&file, "t", &url, &[]));
    // As any header naming what the table lacks: exit 1, nothing loaded.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    for part in [
        "h.csv: line 1: the header does not fit table \"public\".\"t\"",
        r#"header cell 2 "Amount " has a trailing space; the table has "amount""#,
        r#"column "x" appears twice in the header (cells 3 and 4)"#,
        "header cell 5 is empty (a delimiter at the end of the line?)",
        "the table's columns: id, amount, x, y",
    ] {
        assert!(err.contains(part), "{part}: {err}");
    }
    assert_eq!(crate::support::count(&url, "t"), 0);
}

#[test]
fn schema_and_import_find_the_dialect_too() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "s.tsv", "id\tname\n1\tann\n");
    let f = file.to_str().unwrap();
    let out = chunkload(&["schema", f]);
    assert!(out.status.success(), "{}", stderr(&out));
    let sql = String::from_utf8_lossy(&out.stdout);
    assert!(sql.contains("\"id\" int8,\n    \"name\" text"), "{sql}");
    assert!(stderr(&out).contains("delimiter tab"), "{}", stderr(&out));
    let shards = dir.path().join("shards");
    let out = chunkload(&[
        "import",
        f,
        "--table",
        "t",
        "--shards",
        "1",
        "--out",
        shards.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("delimiter tab"), "{}", stderr(&out));
    let stmt = std::fs::read_to_string(shards.join("import.sql")).unwrap();
    assert!(stmt.contains("delimiter = e'\\t'"), "{stmt}");
}

/// A `;` file from a European Excel: `--decimal-comma` reads `12,5` as 12.5,
/// `1.234,5` as 1234.5 and `1.234` as 1234, in created and existing number columns alike; without it the
/// sniffer finds it; with `--no-decimal-comma` the column is text, nothing misread.
#[test]
fn decimal_commas_load_as_numbers_when_asked() {
    use crate::cli::{chunkload, stderr};
    let url = crate::support::fresh_db("decimal_comma");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prices.csv");
    std::fs::write(
        &path,
        "id;price;label\n1;12,5;a,b\n2;1.234,5;c\n3;-3;d\n4;0,25;e\n5;1.234;f\n",
    )
    .unwrap();
    let file = path.to_str().unwrap();
    let load = |table: &str, extra: &[&str]| {
        let mut args = vec!["load", file, "--table", table, "--url", &url];
        args.extend_from_slice(extra);
        chunkload(&args)
    };
    let o = load("prices", &["--create-table", "--decimal-comma"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut c = crate::support::client(&url);
    let rows: Vec<(i64, String, String)> = c
        .query("SELECT id, price::text, label FROM prices ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let want = [
        (1, "12.5", "a,b"),
        (2, "1234.5", "c"),
        (3, "-3", "d"),
        (4, "0.25", "e"),
        (5, "1234", "f"),
    ];
    let got: Vec<(i64, &str, &str)> = rows
        .iter()
        .map(|(i, p, l)| (*i, p.as_str(), l.as_str()))
        .collect();
    assert_eq!(got, want, "text columns keep their commas");
    let ty: String = c
        .query_one(
            "SELECT data_type::text FROM information_schema.columns
             WHERE table_name = 'prices' AND column_name = 'price'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(ty, "numeric");
    // Into an existing table of another number type, over the insert method too.
    c.batch_execute("CREATE TABLE p2 (id int8, price float8, label text)")
        .unwrap();
    let o = load("p2", &["--decimal-comma", "--method", "insert"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let sum: f64 = c
        .query_one("SELECT sum(price) FROM p2", &[])
        .unwrap()
        .get(0);
    assert!((sum - 2478.25).abs() < 1e-9, "{sum}");
    let price_type = |c: &mut postgres::Client, table: &str| -> String {
        c.query_one(
            "SELECT data_type::text FROM information_schema.columns
             WHERE table_name = $1 AND column_name = 'price'",
            &[&table],
        )
        .unwrap()
        .get(0)
    };
    // Without the flag the found `;` and the commas in numbers turn it on, and say so.
    let o = load("found", &["--create-table"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("decimal comma"), "{}", stderr(&o));
    assert_eq!(price_type(&mut c, "found"), "numeric");
    // --no-decimal-comma: the commas are not numbers, the created column is text.
    let o = load("as_text", &["--create-table", "--no-decimal-comma"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(price_type(&mut c, "as_text"), "text");
}

/// Stdin is sniffed too: the bytes the sniffer read are read again by the load, so a TSV
/// piped in loads into its columns, every row once.
#[test]
fn a_tsv_on_stdin_is_sniffed_and_loads_every_row() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let url = crate::support::fresh_db("sniff_stdin");
    let mut text = String::from("id\tname\tscore\n");
    for i in 1..=5000 {
        text.push_str(&format!("{i}\tname {i}\t{}.5\n", i % 97));
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_chunkload"))
        .args([
            "load",
            "-",
            "--table",
            "piped",
            "--create-table",
            "--url",
            &url,
        ])
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("delimiter tab"), "{err}");
    let mut c = crate::support::client(&url);
    let (n, names): (i64, i64) = {
        let r = c
            .query_one("SELECT count(*), count(DISTINCT name) FROM piped", &[])
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!((n, names), (5000, 5000));
    let sum: f64 = c
        .query_one("SELECT sum(score)::float8 FROM piped", &[])
        .unwrap()
        .get(0);
    let want: f64 = (1..=5000).map(|i| (i % 97) as f64 + 0.5).sum();
    assert!((sum - want).abs() < 1e-6, "{sum} {want}");
}
