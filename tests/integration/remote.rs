//! Issue 25: inputs read over HTTP from a real nginx on loopback: exact loads, a rerun
//! that seeks with a ranged GET, a changed object refused, connections cut mid-object
//! and resumed, a 404 that fails at once, compressed objects.

use crate::cli::{chunkload, stderr};
use crate::nginx::Nginx;
use crate::proxy::{Faults, Proxy};
use crate::support::{accounts_file, assert_exact, fresh_db, run, target_and_reference};
use std::time::{Duration, Instant};

/// `chunkload load URL --table accounts --url DB --json` with `extra`.
fn load(url: &str, db: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["load", url, "--table", "accounts", "--url", db, "--json"];
    args.extend_from_slice(extra);
    chunkload(&args)
}

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", stderr(o)))
}

#[test]
fn an_http_object_loads_exactly_and_a_gzip_one_too() {
    let db = fresh_db("http_exact");
    let dir = tempfile::tempdir().unwrap();
    let csv = accounts_file(dir.path(), 20_000, 1);
    target_and_reference(&db, &csv);
    let web = Nginx::start();
    let url = web.serve(&csv, "accounts.csv");
    let out = load(&url, &db, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_exact(&db, 20_000);
    // Every byte of the object after the header went into a chunk.
    let text = std::fs::read_to_string(&csv).unwrap();
    let header = text.find('\n').unwrap() as u64 + 1;
    let data = text.len() as u64 - header;
    assert_eq!(json(&out)["bytes"].as_u64(), Some(data), "{}", json(&out));
    // One GET from byte 0: the sniffer's, whose sample serves the header's read and the
    // load's start, and whose open response the load goes on reading. No resume.
    let log = web.log();
    let ranges: Vec<&str> = log.iter().map(|l| l.range.as_str()).collect();
    assert_eq!(ranges, ["bytes=0-"], "{log:?}");

    // gzip, under a name that does not say so: detected from the bytes, as for files.
    let gz = dir.path().join("accounts.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, &std::fs::read(&csv).unwrap()).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let url = web.serve(&gz, "accounts-data");
    crate::support::client(&db)
        .batch_execute("TRUNCATE accounts")
        .unwrap();
    let out = load(&url, &db, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_exact(&db, 20_000);
}

#[test]
fn a_rerun_after_a_kill_seeks_with_a_ranged_get() {
    let db = fresh_db("http_seek");
    let dir = tempfile::tempdir().unwrap();
    let csv = accounts_file(dir.path(), 60_000, 2);
    let size = std::fs::metadata(&csv).unwrap().len();
    target_and_reference(&db, &csv);
    let web = Nginx::start();
    let url = web.serve(&csv, "accounts.csv");
    let opts = ["--chunk-bytes", "16K", "--workers", "1"];
    assert!(
        run(&db, &url, &[], &opts, Some(20)),
        "the first run was to be killed"
    );
    let before = web.log().len();
    let mut args = vec!["load", url.as_str(), "--table", "accounts", "--url", &db];
    args.extend_from_slice(&opts);
    args.push("--json");
    let out = chunkload(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("resuming at byte"),
        "{}",
        stderr(&out)
    );
    assert_exact(&db, 60_000);
    let seeked = json(&out)["bytes_seeked"].as_u64().unwrap();
    assert!(seeked > 0, "{}", json(&out));
    // The rerun asked for the rest only, and nginx sent fewer bytes than the object.
    let rerun: Vec<_> = web.log()[before..]
        .iter()
        .filter(|l| l.method == "GET" && l.path == "/accounts.csv")
        .cloned()
        .collect();
    let ranged: Vec<_> = rerun.iter().filter(|l| l.resumed_at().is_some()).collect();
    assert!(!ranged.is_empty(), "{rerun:?}");
    assert!(ranged.iter().all(|l| l.status == 206), "{rerun:?}");
    // No GET for the identity alone: the rerun's fingerprint is the header GET's.
    assert!(rerun.iter().all(|l| l.range != "bytes=0-0"), "{rerun:?}");
    let ranged_sent: u64 = ranged.iter().map(|l| l.sent).sum();
    assert!(ranged_sent < size, "{ranged_sent} of {size}: {rerun:?}");
    // Where the rerun started: the byte it said it resumed at.
    let note = stderr(&out);
    let at = ranged[0].resumed_at().unwrap();
    assert!(note.contains(&format!("resuming at byte {at}")), "{note}");
}

#[test]
fn an_object_changed_between_runs_is_refused() {
    let db = fresh_db("http_changed");
    crate::support::client(&db)
        .batch_execute("CREATE TABLE accounts (id int8, n int8)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("id,n\n");
    for i in 1..=5_000 {
        let n = if i == 4_000 {
            "oops".into()
        } else {
            i.to_string()
        };
        csv.push_str(&format!("{i},{n}\n"));
    }
    let file = dir.path().join("t.csv");
    std::fs::write(&file, &csv).unwrap();
    let web = Nginx::start();
    let url = web.serve(&file, "t.csv");
    let opts = ["--chunk-bytes", "4K", "--workers", "1"];
    let first = load(&url, &db, &opts);
    assert_eq!(first.status.code(), Some(3), "{}", stderr(&first));
    let committed = crate::support::count(&db, "accounts");
    assert!(committed > 0, "{}", stderr(&first));
    // The object is replaced: the bad row fixed, another size, so another ETag (nginx's
    // is the modification second and the size).
    std::fs::write(&file, csv.replace(",oops\n", ",40000\n")).unwrap();
    web.serve(&file, "t.csv");
    let again = load(&url, &db, &opts);
    let err = stderr(&again);
    assert_eq!(again.status.code(), Some(2), "{err}");
    assert!(err.contains("the input changed"), "{err}");
    assert_eq!(crate::support::count(&db, "accounts"), committed);
}

#[test]
fn connections_cut_mid_object_resume_where_they_stopped() {
    let db = fresh_db("http_cuts");
    let dir = tempfile::tempdir().unwrap();
    let csv = accounts_file(dir.path(), 200_000, 3);
    target_and_reference(&db, &csv);
    let web = Nginx::start();
    web.serve(&csv, "accounts.csv");
    let proxy = Proxy::start(
        ([127, 0, 0, 1], web.port()).into(),
        Faults {
            // Every download is cut after 1 MiB, six times in all: the 8 MB body is cut
            // mid-way however fast the machine reads it.
            cut_down_after_bytes: Some((1 << 20, 6)),
            seed: 25,
            ..Faults::default()
        },
    );
    let url = format!("http://{}/accounts.csv", proxy.addr());
    // Throttled to one worker and small chunks, so the GET is open through the cuts.
    let out = load(
        &url,
        &db,
        &[
            "--chunk-bytes",
            "32K",
            "--workers",
            "1",
            "--reconnect-timeout",
            "30",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_exact(&db, 200_000);
    let cuts = proxy.cuts.load(std::sync::atomic::Ordering::SeqCst);
    assert!(cuts > 0);
    // A GET was resumed past the start (nginx logs the ranges asked for).
    let resumed: Vec<_> = web
        .log()
        .into_iter()
        .filter(|l| l.method == "GET" && l.status == 206 && l.resumed_at().is_some())
        .collect();
    assert!(!resumed.is_empty(), "{cuts} cuts, log {:?}", web.log());
}

#[test]
fn a_missing_object_fails_at_once_with_exit_2() {
    let db = fresh_db("http_404");
    crate::support::client(&db)
        .batch_execute("CREATE TABLE accounts (id int8)")
        .unwrap();
    let web = Nginx::start();
    let url = format!("{}?X-Amz-Signature=s3cr3t", web.url("missing.csv"));
    let started = Instant::now();
    let out = load(&url, &db, &["--reconnect-timeout", "60"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10), "not retried");
    assert!(err.contains("404"), "{err}");
    assert!(!err.contains("s3cr3t"), "{err}");
}

#[test]
fn schema_and_import_read_an_http_object_as_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.csv");
    std::fs::write(&file, "id,name,at\n1,a,2024-01-02\n2,b,2024-03-04\n3,c,\n").unwrap();
    let web = Nginx::start();
    let url = web.serve(&file, "in.csv");
    let o = chunkload(&["schema", &url, "--table", "t"]);
    let ddl = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        ddl.contains("\"id\" int8") && ddl.contains("\"at\" date"),
        "{ddl}"
    );
    let out = dir.path().join("shards");
    let o = chunkload(&[
        "import",
        &url,
        "--table",
        "public.t",
        "--shards",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--base-url",
        "http://127.0.0.1:1/imp",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut data = String::new();
    for i in 1..=2 {
        let shard = out.join(format!("public.t.{i}.csv"));
        data.push_str(&std::fs::read_to_string(shard).unwrap());
    }
    assert_eq!(data, "1,a,2024-01-02\n2,b,2024-03-04\n3,c,\n");
}

/// The GETs of `path` in nginx's log from line `from` on.
fn gets(web: &Nginx, from: usize, path: &str) -> Vec<crate::nginx::Logged> {
    web.log()[from..]
        .iter()
        .filter(|l| l.method == "GET" && l.path == path)
        .cloned()
        .collect()
}

#[test]
fn the_identity_comes_with_the_body_get() {
    let db = fresh_db("http_requests");
    let dir = tempfile::tempdir().unwrap();
    let csv = accounts_file(dir.path(), 2_000, 4);
    target_and_reference(&db, &csv);
    let web = Nginx::start();
    let url = web.serve(&csv, "accounts.csv");
    let out = load(&url, &db, &["--workers", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_exact(&db, 2_000);
    // One GET in all: the dialect's sample, whose bytes serve the header's read and the
    // load's start, and whose open response the load goes on reading. None for the
    // identity alone (earlier versions sent five: three reads from byte 0 and two
    // one-byte GETs for the fingerprint and for progress).
    let got = gets(&web, 0, "/accounts.csv");
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got.iter().all(|l| l.range == "bytes=0-" && l.status == 206),
        "{got:?}"
    );
    // The fingerprint is the one a one-byte GET gives, as earlier versions kept it: their
    // ledgers still match.
    let one = ureq::get(&url).set("Range", "bytes=0-0").call().unwrap();
    let total = one
        .header("Content-Range")
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let (etag, modified) = (one.header("ETag").unwrap(), one.header("Last-Modified"));
    let print = format!("http:{total}:{etag}:{}", modified.unwrap());
    let kept: String = crate::support::client(&db)
        .query_one("SELECT fingerprint FROM chunkload.chunkload_loads", &[])
        .unwrap()
        .get(0);
    assert_eq!(kept, print);
}
