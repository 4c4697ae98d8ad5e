//! Issue 24, points 4 and 5: files as they come. Other encodings store exactly what
//! PostgreSQL's own `COPY ... (ENCODING ...)` stores; bzip2, xz and zip archives load
//! exactly (a zip member by member, resumed once after an interrupt); formats not read
//! are named; `--create-table` from stdin infers from a sample and loads it too.

use crate::cli::{chunkload, stderr};
use crate::signals::{assert_exact, numbers_file, slow_table};
use crate::support::{client, command, count, fresh_db, stderr_of, wait_bounded};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// `(id, v)` of table `t`, in id order.
fn rows(url: &str, table: &str) -> Vec<(i32, String)> {
    client(url)
        .query(&format!("SELECT id, v FROM {table} ORDER BY id"), &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Loads `bytes` with chunkload (`--encoding enc`, none for `None`) into `t`, and with the
/// server's COPY (`ENCODING pg_enc`) into `reference`; the two must hold the same.
fn same_as_copy(url: &str, bytes: &[u8], enc: Option<&str>, pg_enc: &str) {
    let mut c = client(url);
    c.batch_execute(
        "DROP TABLE IF EXISTS t, reference;
         CREATE TABLE t (id int4, v text); CREATE TABLE reference (id int4, v text);",
    )
    .unwrap();
    let mut w = c
        .copy_in(&format!(
            "COPY reference FROM STDIN (FORMAT csv, HEADER, ENCODING '{pg_enc}')"
        ))
        .unwrap();
    w.write_all(bytes).unwrap();
    w.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.csv");
    std::fs::write(&file, bytes).unwrap();
    let f = file.to_str().unwrap();
    let mut args = vec!["load", f, "--table", "t", "--url", url, "--fresh"];
    if let Some(e) = enc {
        args.extend(["--encoding", e]);
    }
    let out = chunkload(&args);
    assert!(out.status.success(), "{enc:?}: {}", stderr(&out));
    let (got, want) = (rows(url, "t"), rows(url, "reference"));
    assert!(!want.is_empty());
    assert_eq!(got, want, "{enc:?} against COPY ... ENCODING '{pg_enc}'");
}

/// A row per byte of `high` (each between two ASCII letters), plus a quoted field.
fn single_byte_file(high: impl Iterator<Item = u8>) -> Vec<u8> {
    let mut f = b"id,v\n".to_vec();
    for (i, b) in high.enumerate() {
        f.extend_from_slice(format!("{i},a").as_bytes());
        f.extend_from_slice(&[b, b'z', b'\n']);
    }
    f.extend_from_slice(b"1000,\"q, \xe9\"\"\"\n");
    f
}

#[test]
fn inputs_other_encodings_store_what_postgres_copy_stores() {
    let url = fresh_db("inputs_encodings");
    // PostgreSQL's WIN125x have no character at these bytes (WHATWG maps them to C1).
    let undefined_1252 = [0x81, 0x8d, 0x8f, 0x90, 0x9d];
    for (enc, pg, high) in [
        ("LATIN1", "LATIN1", (0x80..=0xff).collect::<Vec<u8>>()),
        ("iso-8859-1", "LATIN1", (0x80..=0xff).collect()),
        ("LATIN9", "LATIN9", (0xa0..=0xff).collect()),
        ("LATIN5", "LATIN5", (0x80..=0xff).collect()),
        (
            "WIN1252",
            "WIN1252",
            (0x80..=0xff)
                .filter(|b| !undefined_1252.contains(b))
                .collect(),
        ),
        (
            "windows-1251",
            "WIN1251",
            (0x80..=0xff).filter(|&b| b != 0x98).collect(),
        ),
    ] {
        same_as_copy(&url, &single_byte_file(high.into_iter()), Some(enc), pg);
    }
    let jp = "id,v\n1,日本\n2,\"日本語, ﾃｽﾄ\"\n3,x\n";
    let (sjis, _, lossy) = encoding_rs::SHIFT_JIS.encode(jp);
    assert!(!lossy);
    same_as_copy(&url, &sjis, Some("SJIS"), "SJIS");
    let (eucjp, _, _) = encoding_rs::EUC_JP.encode(jp);
    same_as_copy(&url, &eucjp, Some("EUC_JP"), "EUC_JP");
    // UTF-16 by its byte order mark, no flag; a UTF-8 byte order mark is skipped.
    let text = "id,v\n1,café 日本 😀\n2,\"a, \"\"b\"\"\"\n";
    let utf16le: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let utf16be: Vec<u8> = [0xfe, 0xff]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
        .collect();
    let mut utf8_bom = b"\xef\xbb\xbf".to_vec();
    utf8_bom.extend_from_slice(text.as_bytes());
    let mut c = client(&url);
    for file in [utf16le, utf16be, utf8_bom] {
        same_as_copy(&url, text.as_bytes(), None, "UTF8");
        let want = rows(&url, "reference");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u.csv");
        std::fs::write(&path, &file).unwrap();
        c.batch_execute("TRUNCATE t").unwrap();
        let out = chunkload(&[
            "load",
            path.to_str().unwrap(),
            "--table",
            "t",
            "--url",
            &url,
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(rows(&url, "t"), want);
    }
}

#[test]
fn inputs_a_file_not_in_utf8_names_file_line_byte_and_the_flag() {
    let url = fresh_db("inputs_not_utf8");
    client(&url)
        .batch_execute("CREATE TABLE t (id int4, v text)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.csv");
    std::fs::write(&path, b"id,v\n1,plain\n2,caf\xe9\n").unwrap();
    let p = path.to_str().unwrap();
    let out = chunkload(&["load", p, "--table", "t", "--url", &url]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for part in [
        p,
        "line 3",
        "invalid UTF-8 at byte 18",
        "not UTF-8 (byte 0xe9)",
        "LATIN1 or WIN1252",
        "--encoding",
    ] {
        assert!(err.contains(part), "{part:?} in {err}");
    }
    assert_eq!(count(&url, "t"), 0);
    // A name that is no encoding is a usage error that lists some that are.
    let out = chunkload(&[
        "load",
        p,
        "--table",
        "t",
        "--url",
        &url,
        "--encoding",
        "latin-99",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("WIN1252"), "{}", stderr(&out));
}

/// `id,v` rows `from..=to`.
fn numbers(from: i64, to: i64) -> Vec<u8> {
    let mut s = String::from("id,v\n");
    for i in from..=to {
        s.push_str(&format!("{i},row-{i}\n"));
    }
    s.into_bytes()
}

/// A zip of `members` (name, bytes), deflated.
fn zip_file(path: &Path, members: &[(&str, &[u8])]) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        z.start_file(*name, opts).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
}

#[test]
fn inputs_bzip2_xz_and_a_zip_of_two_csv_members_load_exactly() {
    let url = fresh_db("inputs_formats");
    let dir = tempfile::tempdir().unwrap();
    let csv = numbers(1, 3000);
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    bz.write_all(&csv).unwrap();
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 1);
    xz.write_all(&csv).unwrap();
    // Misnamed on purpose: the first bytes decide.
    let bz_path = dir.path().join("n.csv");
    std::fs::write(&bz_path, bz.finish().unwrap()).unwrap();
    let xz_path = dir.path().join("n.csv.xz");
    std::fs::write(&xz_path, xz.finish().unwrap()).unwrap();
    let zip_path = dir.path().join("n.zip");
    zip_file(
        &zip_path,
        &[
            ("part2.csv", &numbers(1501, 3000)),
            ("README.md", b"# not a CSV file\n"),
            ("dir/part1.csv", &numbers(1, 1500)),
        ],
    );
    for (i, path) in [bz_path, xz_path, zip_path].iter().enumerate() {
        let table = format!("n{i}");
        client(&url)
            .batch_execute(&format!("CREATE TABLE {table} (id int8, v text)"))
            .unwrap();
        let out = chunkload(&[
            "load",
            path.to_str().unwrap(),
            "--table",
            &table,
            "--url",
            &url,
        ]);
        let err = stderr(&out);
        assert!(out.status.success(), "{err}");
        let row = client(&url)
            .query_one(
                &format!(
                    "SELECT count(*), count(DISTINCT id), sum(id)::int8, \
                     count(*) FILTER (WHERE v = 'row-' || id) FROM {table}"
                ),
                &[],
            )
            .unwrap();
        let got: (i64, i64, i64, i64) = (row.get(0), row.get(1), row.get(2), row.get(3));
        assert_eq!(got, (3000, 3000, 3000 * 3001 / 2, 3000), "{path:?}");
        if i == 2 {
            assert!(err.contains("not the 1 other member (README.md)"), "{err}");
            // The ledger keys each member as a file of the load.
            let files: i64 = client(&url)
                .query_one(
                    "SELECT count(DISTINCT file)::int8 FROM chunkload.chunkload_ledger",
                    &[],
                )
                .unwrap()
                .get(0);
            assert_eq!(files, 2);
        }
    }
    // One member named alone loads alone.
    let member = format!("{}!/part2.csv", dir.path().join("n.zip").display());
    let out = chunkload(&[
        "load",
        &member,
        "--table",
        "n0",
        "--url",
        &url,
        "--truncate",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(count(&url, "n0"), 1500);
}

#[test]
fn inputs_an_interrupted_zip_load_resumes_exactly_once() {
    const ROWS: i64 = 3000;
    let url = fresh_db("inputs_zip_resume");
    slow_table(&url);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("numbers.zip");
    zip_file(
        &path,
        &[
            ("a.csv", &numbers(1, 1000)),
            ("b.csv", &numbers(1001, ROWS)),
        ],
    );
    let p = path.to_str().unwrap();
    let args = [
        "--url",
        &url,
        "load",
        p,
        "--table",
        "slow",
        "--chunk-rows",
        "10",
        "-q",
    ];
    let mut child = command(&args).spawn().unwrap();
    let start = Instant::now();
    // Stopped once the second member has begun, so both members have committed pieces.
    while count(&url, "slow") <= 1100 && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: signalling the child we started.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let status = wait_bounded(&mut child, Duration::from_secs(10)).expect("stopped in time");
    let err = stderr_of(&mut child);
    assert_eq!(status.code(), Some(130), "{err}");
    let committed = count(&url, "slow");
    assert!(committed > 1000 && committed < ROWS, "{committed}: {err}");
    let mut rerun = command(&args).spawn().unwrap();
    let status = wait_bounded(&mut rerun, Duration::from_secs(60)).expect("rerun ends");
    assert!(status.success(), "{}", stderr_of(&mut rerun));
    assert_exact(&url, ROWS);
}

#[test]
fn inputs_a_format_not_read_is_named_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes, what) in [
        (
            "a.7z",
            &b"7z\xbc\xaf\x27\x1c\x00\x04rest"[..],
            "a 7-Zip archive",
        ),
        ("a.rar", b"Rar!\x1a\x07\x01\x00rest", "a RAR archive"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = chunkload(&["schema", path.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(what) && err.contains("does not read"), "{err}");
    }
    // A zip with no CSV member says what it holds.
    let path = dir.path().join("book.xlsx");
    zip_file(&path, &[("xl/workbook.xml", b"<x/>")]);
    let out = chunkload(&["load", path.to_str().unwrap(), "--table", "t", "--dry-run"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no CSV member") && err.contains("xl/workbook.xml"),
        "{err}"
    );
}

#[test]
fn inputs_create_table_from_stdin_infers_from_a_sample_and_loads_all() {
    let url = fresh_db("inputs_stdin_create");
    let dir = tempfile::tempdir().unwrap();
    let file = numbers_file(dir.path(), 30_000);
    let mut child = command(&[
        "load",
        "-",
        "--table",
        "piped",
        "--create-table",
        "--url",
        &url,
        "--load-id",
        "p",
    ])
    .stdin(std::fs::File::open(&file).unwrap())
    .spawn()
    .unwrap();
    let status = wait_bounded(&mut child, Duration::from_secs(60)).expect("ends");
    let err = stderr_of(&mut child);
    assert!(status.success(), "{err}");
    assert!(
        err.contains(
            "stdin is read once: the column types come from a sample of its first 10000 rows"
        ),
        "{err}"
    );
    let row = client(&url)
        .query_one(
            "SELECT count(*), sum(id)::int8, pg_typeof(min(id))::text FROM piped",
            &[],
        )
        .unwrap();
    let got: (i64, i64, String) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(got, (30_000, 30_000 * 30_001 / 2, "bigint".to_string()));
}
