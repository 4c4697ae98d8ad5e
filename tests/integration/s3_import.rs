//! Issue 25 point 3: `import --out s3://bucket/prefix/` against a real S3-compatible
//! server (moto, `moto.rs`): shards byte-equal to a local `--out` (plain, gzip, and one
//! uploaded in several parts), the statement's URLs and their redaction, `import.sql`
//! local and 0600, `--force` deleting only this table's shards, a failed multipart upload
//! aborted with nothing left, a refused key failing at once, and the flags that need
//! local files refused before anything is uploaded.
//!
//! The stand-in fetches IMPORT files over http(s) only, so the statement is checked by
//! its text, not run.

use crate::cli::stderr;
use crate::moto::{Moto, KEY_ID, SECRET};
use crate::support::{accounts_file, fresh_db};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

fn import(s3: &Moto, file: &Path, sql: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "import",
        file.to_str().unwrap(),
        "--table",
        "accounts",
        "--sql-out",
        sql.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    s3.run(&args)
}

fn local(file: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec![
        "import",
        file.to_str().unwrap(),
        "--table",
        "accounts",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_chunkload"))
        .args(&args)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

fn no_secret(o: &Output) {
    let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(o));
    assert!(!all.contains(SECRET), "{all}");
    assert!(!all.contains("X-Amz-Signature"), "{all}");
}

/// Every file of `dir` equals the object of the same name under `data/<prefix>`.
fn same_as_local(s3: &Moto, dir: &Path, prefix: &str, names: &[&str]) {
    for name in names {
        let want = std::fs::read(dir.join(name)).unwrap();
        let got = s3.get("data", &format!("{prefix}{name}"));
        assert!(
            got == want,
            "{prefix}{name}: {} vs {} bytes",
            got.len(),
            want.len()
        );
    }
}

#[test]
fn uploaded_shards_equal_local_ones_and_the_statement_names_them() {
    let dir = tempfile::tempdir().unwrap();
    // About 7 MB: over one 5 MiB part.
    let csv = accounts_file(dir.path(), 150_000, 3);
    let s3 = Moto::start();
    s3.create_bucket("data");
    let sql = dir.path().join("import.sql");

    let out = import(
        &s3,
        &csv,
        &sql,
        &["--shards", "3", "--out", "s3://data/imp"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    no_secret(&out);
    let names = ["accounts.1.csv", "accounts.2.csv", "accounts.3.csv"];
    local(&csv, &dir.path().join("plain"), &["--shards", "3"]);
    same_as_local(&s3, &dir.path().join("plain"), "imp/", &names);
    // The statement: the objects, with the keys and endpoint as CockroachDB's IMPORT
    // reads them; the terminal shows the secret as ***, import.sql (0600) holds it.
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let query = format!(
        "?AUTH=specified&AWS_ACCESS_KEY_ID={KEY_ID}&AWS_SECRET_ACCESS_KEY={{}}&\
         AWS_REGION=us-east-1&AWS_ENDPOINT=http%3A%2F%2F127.0.0.1%3A{}",
        s3.endpoint().rsplit(':').next().unwrap()
    );
    for n in names {
        let shown = format!("'s3://data/imp/{n}{}'", query.replace("{}", "***"));
        assert!(stdout.contains(&shown), "{shown} not in {stdout}");
    }
    let text = std::fs::read_to_string(&sql).unwrap();
    let real = format!(
        "'s3://data/imp/accounts.1.csv{}'",
        query.replace("{}", SECRET)
    );
    assert!(text.contains(&real), "{text}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&sql).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        stderr(&out).contains("wrote 3 shards") && stderr(&out).contains("s3://data/imp/"),
        "{}",
        stderr(&out)
    );
    // The nodes read the objects with the keys in the URLs: the admin role that http(s)://
    // and nodelocal:// URLs need is not asked for, on the terminal or in import.sql.
    let err = stderr(&out);
    assert!(
        err.contains("caveat: IMPORT INTO takes the table offline"),
        "{err}"
    );
    assert!(
        !err.contains("admin role") && !text.contains("admin role"),
        "{err}"
    );

    // One shard over two parts of 5 MiB: multipart, and still the same bytes.
    let one = import(
        &s3,
        &csv,
        &sql,
        &[
            "--shards",
            "1",
            "--out",
            "s3://data/one/",
            "--part-size",
            "5242880",
        ],
    );
    assert!(one.status.success(), "{}", stderr(&one));
    assert!(s3.log().contains("partNumber=2"), "not multipart");
    local(&csv, &dir.path().join("one"), &["--shards", "1"]);
    same_as_local(&s3, &dir.path().join("one"), "one/", &["accounts.1.csv"]);

    // gzip shards, as a local --out writes them; nodes' own credentials: no key in the
    // URLs, and a secret with / and + is percent-encoded when it is given.
    let gz = import(
        &s3,
        &csv,
        &sql,
        &[
            "--shards",
            "2",
            "--out",
            "s3://data/gz/",
            "--compress",
            "gzip",
            "--out-auth",
            "implicit",
        ],
    );
    assert!(gz.status.success(), "{}", stderr(&gz));
    local(
        &csv,
        &dir.path().join("gz"),
        &["--shards", "2", "--compress", "gzip"],
    );
    same_as_local(
        &s3,
        &dir.path().join("gz"),
        "gz/",
        &["accounts.1.csv.gz", "accounts.2.csv.gz"],
    );
    let text = std::fs::read_to_string(&sql).unwrap();
    assert!(
        text.contains("accounts.2.csv.gz?AUTH=implicit&AWS_REGION=us-east-1&AWS_ENDPOINT="),
        "{text}"
    );
    assert!(
        !text.contains(KEY_ID) && text.contains("decompress = 'gzip'"),
        "{text}"
    );
    // With the nodes' own credentials, the caveat for implicit authentication.
    let implicit = "with AUTH=implicit (the nodes' own credentials) needs the admin role";
    assert!(stderr(&gz).contains(implicit), "{}", stderr(&gz));
    assert!(
        text.contains(implicit) && !text.contains("http(s)://"),
        "{text}"
    );
    let odd = s3
        .command(&[
            "import",
            csv.to_str().unwrap(),
            "--table",
            "accounts",
            "--shards",
            "1",
            "--out",
            "s3://data/odd/",
            "--sql-out",
            sql.to_str().unwrap(),
        ])
        .env("AWS_SECRET_ACCESS_KEY", "a/b+c=d")
        .output()
        .unwrap();
    assert!(odd.status.success(), "{}", stderr(&odd));
    let text = std::fs::read_to_string(&sql).unwrap();
    assert!(
        text.contains("AWS_SECRET_ACCESS_KEY=a%2Fb%2Bc%3Dd&"),
        "{text}"
    );
    assert!(!String::from_utf8_lossy(&odd.stdout).contains("a/b+c"));
}

#[test]
fn force_replaces_only_this_tables_shards_under_the_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let csv = accounts_file(dir.path(), 3_000, 4);
    let s3 = Moto::start();
    s3.create_bucket("data");
    let foreign = [
        "imp/notes.txt",
        "imp/other.1.csv",
        "imp/accounts.csv",
        "imp/sub/accounts.1.csv",
        "elsewhere/accounts.1.csv",
    ];
    for k in foreign {
        s3.put("data", k, k.as_bytes());
    }
    let sql = dir.path().join("import.sql");
    let first = import(
        &s3,
        &csv,
        &sql,
        &["--shards", "3", "--out", "s3://data/imp/"],
    );
    assert!(first.status.success(), "{}", stderr(&first));
    // Again without --force: refused, exit 2, nothing touched.
    let before = s3.keys("data");
    let again = import(
        &s3,
        &csv,
        &sql,
        &["--shards", "2", "--out", "s3://data/imp/"],
    );
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("already holds 3 shards of accounts"),
        "{}",
        stderr(&again)
    );
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));
    assert_eq!(s3.keys("data"), before);
    // With --force: two new shards, the third old one gone, every other object intact.
    let forced = import(
        &s3,
        &csv,
        &sql,
        &["--shards", "2", "--out", "s3://data/imp/", "--force"],
    );
    assert!(forced.status.success(), "{}", stderr(&forced));
    let mut want: Vec<String> = foreign.iter().map(|k| k.to_string()).collect();
    want.extend(["imp/accounts.1.csv".into(), "imp/accounts.2.csv".into()]);
    want.sort();
    assert_eq!(s3.keys("data"), want);
    for k in foreign {
        assert_eq!(s3.get("data", k), k.as_bytes(), "{k}");
    }
    local(&csv, &dir.path().join("two"), &["--shards", "2"]);
    same_as_local(
        &s3,
        &dir.path().join("two"),
        "imp/",
        &["accounts.1.csv", "accounts.2.csv"],
    );
}

#[test]
fn a_failed_multipart_upload_is_aborted_and_the_import_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // The first half compresses to almost nothing (one PUT), the second does not: its
    // gzip shard goes in parts of 1 MiB, which S3 refuses at completion (EntityTooSmall:
    // parts but the last must be 5 MiB), a refusal no retry mends.
    let csv = dir.path().join("skew.csv");
    let mut text = String::from("id,note\n");
    for i in 0..60_000 {
        text.push_str(&format!("{i},{}\n", "same".repeat(24)));
    }
    let mut x: u64 = 7;
    for i in 0..60_000 {
        let mut note = String::new();
        for _ in 0..6 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            note.push_str(&format!("{:016x}", x));
        }
        text.push_str(&format!("{},{note}\n", 60_000 + i));
    }
    std::fs::write(&csv, text).unwrap();
    let s3 = Moto::start();
    s3.create_bucket("data");
    s3.put("data", "imp/keep.txt", b"keep");
    let sql = dir.path().join("import.sql");
    let out = import(
        &s3,
        &csv,
        &sql,
        &[
            "--shards",
            "2",
            "--out",
            "s3://data/imp/",
            "--compress",
            "gzip",
            "--part-size",
            "1048576",
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("s3://data/imp/accounts.2.csv.gz") && err.contains("EntityTooSmall"),
        "{err}"
    );
    no_secret(&out);
    let log = s3.log();
    // The first shard was stored, then deleted again; the second's upload aborted.
    assert!(log.contains("\"PUT /data/imp/accounts.1.csv.gz?"), "{log}");
    assert!(
        log.contains("\"DELETE /data/imp/accounts.1.csv.gz?"),
        "{log}"
    );
    assert!(
        log.lines().any(|l| l.contains("\"DELETE /data/imp/accounts.2.csv.gz?") && l.contains("uploadId=")),
        "no abort: {log}"
    );
    assert_eq!(s3.keys("data"), vec!["imp/keep.txt".to_string()]);
    let uploads = s3.open_uploads("data");
    assert!(
        uploads.contains("ListMultipartUploadsResult") && !uploads.contains("<Upload>"),
        "{uploads}"
    );
    assert!(!sql.exists(), "import.sql written for a failed import");
}

/// A store that refuses the key: ListObjectsV2 answers an empty listing, every write 403
/// with S3's error body (moto checks no key of a presigned request).
fn refusing_store() -> (String, std::thread::JoinHandle<()>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let addr = server.server_addr().to_ip().unwrap();
    let h = std::thread::spawn(move || {
        for _ in 0..20 {
            let Ok(Some(req)) = server.recv_timeout(Duration::from_secs(20)) else {
                return;
            };
            let (code, body) = if req.method() == &tiny_http::Method::Get {
                (200, "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>data</Name><Prefix>imp/</Prefix><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>")
            } else {
                (403, "<?xml version=\"1.0\"?><Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist in our records.</Message></Error>")
            };
            let _ = req.respond(tiny_http::Response::from_string(body).with_status_code(code));
        }
    });
    (format!("http://{addr}"), h)
}

#[test]
fn a_refused_key_fails_at_once_with_exit_2_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let csv = accounts_file(dir.path(), 2_000, 5);
    let s3 = Moto::start();
    let (endpoint, _server) = refusing_store();
    let sql = dir.path().join("import.sql");
    let started = Instant::now();
    let out = s3
        .command(&[
            "import",
            csv.to_str().unwrap(),
            "--table",
            "accounts",
            "--shards",
            "2",
            "--out",
            "s3://data/imp/",
            "--sql-out",
            sql.to_str().unwrap(),
        ])
        .env("AWS_ENDPOINT_URL", &endpoint)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "retried: {err}"
    );
    assert!(
        err.contains("s3://data/imp/accounts.1.csv: HTTP 403"),
        "{err}"
    );
    assert!(err.contains("InvalidAccessKeyId"), "{err}");
    no_secret(&out);
    assert!(!sql.exists());
}

#[test]
fn flags_that_need_local_files_are_refused_before_any_upload() {
    let dir = tempfile::tempdir().unwrap();
    let csv = accounts_file(dir.path(), 500, 6);
    let s3 = Moto::start();
    s3.create_bucket("data");
    let sql = dir.path().join("import.sql");
    let db = fresh_db("s3_import_flags");
    for (extra, says) in [
        (vec!["--emit", "copy"], "--emit copy"),
        (vec!["--serve", "127.0.0.1:0"], "--serve"),
        // PostgreSQL has no IMPORT INTO: refused on connecting, before the upload.
        (
            vec!["--execute", "--url", db.as_str()],
            "IMPORT INTO is a CockroachDB statement",
        ),
    ] {
        let mut args = vec!["--shards", "2", "--out", "s3://data/imp/"];
        args.extend(extra.iter().copied());
        let out = import(&s3, &csv, &sql, &args);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{extra:?}: {}", stderr(&out));
        assert!(s3.keys("data").is_empty(), "{extra:?} uploaded");
        assert!(!Path::new("s3:").exists());
    }
    // --sql-out is for s3:// output only.
    let out = import(
        &s3,
        &csv,
        &sql,
        &[
            "--shards",
            "2",
            "--out",
            dir.path().join("d").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
