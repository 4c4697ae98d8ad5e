//! `chunkload import` touches only what it was asked to: `--serve` hands out the shards of
//! this import and nothing else, a re-import leaves no stale shards, no shard is empty.

use std::fs;
use std::io::Read;
use std::path::Path;

use chunkload::import::{prepare, ImportOptions};

use crate::cli::{chunkload, stderr};
use crate::import::{raw_status, spawn_serving, stdout};

/// The file names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn rows(n: usize) -> String {
    let body: String = (0..n).map(|i| format!("{i},v{i}\n")).collect();
    format!("id,v\n{body}")
}

fn import_args<'a>(input: &'a Path, out: &'a Path, shards: &'a str) -> Vec<&'a str> {
    vec![
        "import",
        input.to_str().unwrap(),
        "--table",
        "t",
        "--shards",
        shards,
        "--out",
        out.to_str().unwrap(),
    ]
}

#[test]
fn reshard_into_fewer_shards_needs_force_and_leaves_exactly_the_new_shards() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    fs::write(&input, rows(100)).unwrap();
    let out = dir.path().join("shards");
    // Another table's shards and an unrelated file stay as they are.
    fs::create_dir(&out).unwrap();
    fs::write(out.join("u.1.csv"), "other table\n").unwrap();
    fs::write(out.join("notes.txt"), "mine\n").unwrap();

    let o = chunkload(&import_args(&input, &out, "5"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let first: Vec<String> = (1..=5).map(|i| format!("t.{i}.csv")).collect();
    assert!(first.iter().all(|f| out.join(f).is_file()));

    let o = chunkload(&import_args(&input, &out, "2"));
    let se = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{se}");
    assert!(
        se.contains("earlier import") && se.contains("--force"),
        "{se}"
    );
    assert!(
        first.iter().all(|f| out.join(f).is_file()),
        "a refused import removes nothing"
    );

    let mut args = import_args(&input, &out, "2");
    args.push("--force");
    let o = chunkload(&args);
    let se = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{se}");
    assert!(se.contains("removed 5 shards"), "{se}");
    assert_eq!(
        listing(&out),
        ["import.sql", "notes.txt", "t.1.csv", "t.2.csv", "u.1.csv"]
    );
    let mut data = fs::read_to_string(out.join("t.1.csv")).unwrap();
    data.push_str(&fs::read_to_string(out.join("t.2.csv")).unwrap());
    assert_eq!(format!("id,v\n{data}"), rows(100));
    assert_eq!(
        fs::read_to_string(out.join("u.1.csv")).unwrap(),
        "other table\n"
    );
    let sql = fs::read_to_string(out.join("import.sql")).unwrap();
    assert!(sql.contains("t.2.csv") && !sql.contains("t.3.csv"), "{sql}");
}

#[test]
fn more_shards_than_records_writes_no_empty_file_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    fs::write(&input, rows(3)).unwrap();
    let out = dir.path().join("shards");
    let o = chunkload(&import_args(&input, &out, "1000"));
    let se = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{se}");
    assert!(se.contains("note: wrote 3 shards instead of 1000"), "{se}");
    let files: Vec<String> = listing(&out)
        .into_iter()
        .filter(|f| f.ends_with(".csv"))
        .collect();
    assert_eq!(files, ["t.1.csv", "t.2.csv", "t.3.csv"]);
    for f in &files {
        assert!(fs::metadata(out.join(f)).unwrap().len() > 0, "{f} is empty");
    }
    // The library says the same, and an input without records writes nothing.
    let plan = prepare(&ImportOptions::new(&input, "x", 50, dir.path().join("lib"))).unwrap();
    assert_eq!(plan.shards().len(), 3);
    assert!(plan.shards().iter().all(|s| s.records == 1));
    assert!(plan.shard_note().unwrap().contains("instead of 50"));
    let empty = dir.path().join("empty.csv");
    fs::write(&empty, "id,v\n").unwrap();
    let err = prepare(&ImportOptions::new(&empty, "e", 4, dir.path().join("e"))).unwrap_err();
    assert_eq!(err.outcome(), chunkload::error::Outcome::Usage, "{err}");
    assert_eq!(listing(&dir.path().join("e")), Vec::<String>::new());
}

#[test]
fn out_naming_a_file_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    fs::write(&input, rows(3)).unwrap();
    let out = dir.path().join("a-file");
    fs::write(&out, "keep me").unwrap();
    for extra in [&[][..], &["--serve", "127.0.0.1:0"]] {
        let mut args = import_args(&input, &out, "2");
        args.extend_from_slice(extra);
        let o = chunkload(&args);
        let se = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {se}");
        assert!(se.contains("is not a directory"), "{se}");
        assert!(!se.contains("os error"), "{se}");
    }
    assert_eq!(fs::read_to_string(&out).unwrap(), "keep me");
}

#[test]
fn emit_copy_prints_the_copy_statements_not_import_into() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    fs::write(&input, rows(10)).unwrap();
    let out = dir.path().join("shards");
    let mut args = import_args(&input, &out, "2");
    args.extend_from_slice(&["--emit", "copy"]);
    let o = chunkload(&args);
    let (so, se) = (stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{se}");
    assert_eq!(so.matches("COPY \"t\"").count(), 2, "{so}");
    assert!(!so.contains("IMPORT INTO"), "{so}");
    assert!(!se.contains("caveat"), "{se}");
    assert!(se.contains("pg_read_server_files"), "{se}");
}

#[test]
fn serve_hands_out_only_this_imports_shards_and_keeps_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    fs::write(&input, rows(300)).unwrap();
    fs::write(dir.path().join("x"), "outside").unwrap();
    let out = dir.path().join("shards");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("u.1.csv"), "another table's shard\n").unwrap();
    fs::write(out.join("notes.txt"), "private\n").unwrap();
    std::os::unix::fs::symlink(dir.path().join("x"), out.join("link.csv")).unwrap();
    let base = "s3://bkt/p?AUTH=specified&AWS_ACCESS_KEY_ID=AKIA1&AWS_SECRET_ACCESS_KEY=hunter2xyz";
    let srv = spawn_serving(&input, &out, &["--serve-once", "--base-url", base]);
    let addr = srv.addr.clone();

    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(out.join("import.sql"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "import.sql holds the secret key");
    assert!(fs::read_to_string(out.join("import.sql"))
        .unwrap()
        .contains("hunter2xyz"));

    for target in [
        "/import.sql",
        "/copy.sql",
        "/",
        "/../x",
        "/%2e%2e/x",
        "/u.1.csv",
        "/notes.txt",
        "/link.csv",
        "/t.4.csv",
        "/.",
    ] {
        assert_eq!(raw_status(addr.parse().unwrap(), target), 404, "{target}");
    }
    for target in ["/import.sql", "/", "/../x", "/u.1.csv"] {
        match ureq::get(&format!("http://{addr}{target}")).call() {
            Err(ureq::Error::Status(404, _)) => {}
            other => panic!("{target}: expected 404, got {other:?}"),
        }
    }
    let mut served = String::new();
    for name in ["t.1.csv", "t.2.csv", "t.3.csv"] {
        // A query string is ignored for the file and kept out of the log.
        let resp = ureq::get(&format!(
            "http://{addr}/{name}?AWS_SECRET_ACCESS_KEY=hunter2xyz"
        ))
        .call()
        .unwrap();
        assert_eq!(resp.status(), 200);
        let mut got = Vec::new();
        resp.into_reader().read_to_end(&mut got).unwrap();
        assert_eq!(got, fs::read(out.join(name)).unwrap(), "{name}");
        served.push_str(&String::from_utf8(got).unwrap());
    }
    assert_eq!(format!("id,v\n{served}"), rows(300));
    let (code, so, log) = srv.finish();
    assert_eq!(code, Some(0), "{log:?}");
    assert!(!so.contains("hunter2xyz"), "{so}");
    for line in &log {
        assert!(!line.contains("hunter2xyz"), "{line}");
        if line.starts_with("127.0.0.1:") {
            assert!(!line.contains('?'), "query string logged: {line}");
        }
    }
    assert!(
        log.iter()
            .any(|l| l.starts_with("127.0.0.1:") && l.contains("GET /t.2.csv 200")),
        "{log:?}"
    );
    assert!(
        log.iter().any(|l| l.contains("GET /import.sql 404")),
        "{log:?}"
    );
}
