//! Issue 25: `s3://` inputs read from a real S3-compatible server (moto, started by
//! `moto.rs`) through presigned GETs: exact loads, gzip, prefixes and globs listed in key
//! order, a rerun that seeks with a ranged GET, connections cut mid-object (through the
//! TCP proxy) resumed, a changed object refused, a missing object
//! or bucket failing at once, and the secret key in no output and not in the ledger.

use crate::cli::stderr;
use crate::moto::{Moto, SECRET};
use crate::proxy::{Faults, Proxy};
use crate::support::{accounts_file, assert_exact, client, fresh_db, pieces, target_and_reference};
use std::process::Output;
use std::time::{Duration, Instant};

fn load(s3: &Moto, input: &str, db: &str, extra: &[&str]) -> Output {
    let mut args = vec!["load", input, "--table", "accounts", "--url", db, "--json"];
    args.extend_from_slice(extra);
    s3.run(&args)
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", stderr(o)))
}

/// The secret is in none of the loader's outputs nor the ledger's `files`.
fn assert_no_secret(o: &Output, db: &str) {
    let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(o));
    assert!(!all.contains(SECRET), "{all}");
    assert!(!all.contains("X-Amz-Signature"), "{all}");
    let mut c = client(db);
    let ledger = c
        .query_opt("SELECT to_regclass('chunkload.chunkload_loads')::text", &[])
        .unwrap()
        .and_then(|r| r.get::<_, Option<String>>(0));
    if ledger.is_some() {
        for row in c
            .query(
                "SELECT files, fingerprint FROM chunkload.chunkload_loads",
                &[],
            )
            .unwrap()
        {
            let (files, print): (String, String) = (row.get(0), row.get(1));
            let names: Vec<String> = serde_json::from_str(&files).unwrap();
            assert!(names.iter().all(|f| f.starts_with("s3://")), "{files}");
            assert!(
                !files.contains('?') && !print.contains(SECRET),
                "{files} {print}"
            );
        }
    }
}

#[test]
fn an_s3_object_loads_exactly_and_gzip_and_globs_too() {
    let db = fresh_db("s3_exact");
    let dir = tempfile::tempdir().unwrap();
    let csv = accounts_file(dir.path(), 20_000, 1);
    target_and_reference(&db, &csv);
    let s3 = Moto::start();
    s3.create_bucket("data");
    let bytes = std::fs::read(&csv).unwrap();
    let url = s3.put("data", "accounts.csv", &bytes);
    let out = load(&s3, &url, &db, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_exact(&db, 20_000);
    let header = bytes.iter().position(|&b| b == b'\n').unwrap() as u64 + 1;
    let data = bytes.len() as u64 - header;
    assert_eq!(json(&out)["bytes"].as_u64(), Some(data), "{}", json(&out));
    assert_no_secret(&out, &db);
    let files: String = client(&db)
        .query_one("SELECT files FROM chunkload.chunkload_loads", &[])
        .unwrap()
        .get(0);
    assert_eq!(files, format!("[\"{url}\"]"));
    // One GET from byte 0: the dialect's sample, whose bytes serve the header's read and
    // the load's start, and whose open response the load goes on reading; the identity
    // in its headers: no one-byte GETs for the fingerprint and progress (five before).
    let log = s3.log();
    let gets = log
        .lines()
        .filter(|l| l.contains("\"GET /data/accounts.csv"))
        .count();
    assert_eq!(gets, 1, "{log}");

    // The same rows in two gzip objects under a prefix, found by a glob in key order;
    // a third object the glob does not match is left alone.
    let half = bytes.len() / 2;
    let cut = half + bytes[half..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let head = &bytes[..header as usize];
    let gz = |part: &[u8]| {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, part).unwrap();
        enc.finish().unwrap()
    };
    s3.put(
        "data",
        "2024/b.csv.gz",
        &gz(&[head, &bytes[cut..]].concat()),
    );
    s3.put("data", "2024/a.csv.gz", &gz(&bytes[..cut]));
    s3.put("data", "2024/notes.txt", b"not,csv\n");
    s3.put("data", "2024/deeper/c.csv.gz", &gz(head));
    client(&db).batch_execute("TRUNCATE accounts").unwrap();
    let out = load(&s3, "s3://data/2024/*.csv.gz", &db, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_exact(&db, 20_000);
    assert_no_secret(&out, &db);
    let files: String = client(&db)
        .query_one(
            "SELECT files FROM chunkload.chunkload_loads ORDER BY started_at DESC LIMIT 1",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(
        files.contains("s3://data/2024/a.csv.gz") && files.contains("s3://data/2024/b.csv.gz"),
        "{files}"
    );
    assert!(
        !files.contains("deeper") && !files.contains("notes"),
        "{files}"
    );

    // `schema` reads an object as it reads a file.
    let o = s3.run(&["schema", &url, "--table", "t"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("CREATE TABLE"));
    // Keys and region from a profile when the environment has none.
    let creds = dir.path().join("credentials");
    std::fs::write(
        &creds,
        "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = x\n\
         [dev]\naws_access_key_id = AKIAFROMPROFILE\naws_secret_access_key = y\n",
    )
    .unwrap();
    let config = dir.path().join("config");
    std::fs::write(&config, "[profile dev]\nregion = eu-west-3\n").unwrap();
    let o = s3
        .command(&["schema", &url, "--table", "t"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_REGION")
        .env("AWS_PROFILE", "dev")
        .env("AWS_SHARED_CREDENTIALS_FILE", &creds)
        .env("AWS_CONFIG_FILE", &config)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let log = s3.log();
    assert!(
        log.contains("X-Amz-Credential=AKIAFROMPROFILE/20") && log.contains("/eu-west-3/s3/"),
        "{log}"
    );
    // `import` cuts its shards from the object's records.
    let out = dir.path().join("shards");
    let o = s3.run(&[
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
    let mut shards = Vec::new();
    for i in 1..=2 {
        shards.extend(std::fs::read(out.join(format!("public.t.{i}.csv"))).unwrap());
    }
    assert!(
        shards == bytes[header as usize..],
        "shards differ from the object's rows"
    );
}

#[test]
fn a_rerun_after_a_kill_seeks_with_a_ranged_get() {
    let db = fresh_db("s3_seek");
    let dir = tempfile::tempdir().unwrap();
    let csv = accounts_file(dir.path(), 60_000, 2);
    target_and_reference(&db, &csv);
    let s3 = Moto::start();
    s3.create_bucket("data");
    let url = s3.put("data", "accounts.csv", &std::fs::read(&csv).unwrap());
    let opts = ["--chunk-bytes", "16K", "--workers", "1"];
    let mut args = vec!["load", url.as_str(), "--table", "accounts", "--url", &db];
    args.extend_from_slice(&opts);
    let mut child = s3
        .command(&args)
        .arg("--quiet")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut killed = false;
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        if pieces(&db) >= 20 {
            child.kill().unwrap(); // SIGKILL
            killed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.wait();
    assert!(killed, "the first run was to be killed");
    let before = s3.log().lines().count();
    args.push("--json");
    let out = s3.run(&args);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("resuming at byte"), "{err}");
    assert_exact(&db, 60_000);
    let seeked = json(&out)["bytes_seeked"].as_u64().unwrap();
    assert!(seeked > 0, "{}", json(&out));
    assert_no_secret(&out, &db);
    // The rerun asked for ranges (moto logs 206 for them; every GET asks for one, from
    // byte 0 for the header's, and moto's log does not say which range, so the seek
    // itself is shown by `bytes_seeked` and the note above).
    let log = s3.log();
    let ranged = log
        .lines()
        .skip(before)
        .filter(|l| l.contains("\"GET /data/accounts.csv") && l.contains("\" 206 "))
        .count();
    assert!(ranged > 0, "{log}");
}

#[test]
fn connections_cut_mid_object_are_resumed_with_a_fresh_signature() {
    let db = fresh_db("s3_cuts");
    let dir = tempfile::tempdir().unwrap();
    let csv = accounts_file(dir.path(), 100_000, 3);
    target_and_reference(&db, &csv);
    let s3 = Moto::start();
    s3.create_bucket("data");
    s3.put("data", "accounts.csv", &std::fs::read(&csv).unwrap());
    let port: u16 = s3.endpoint().rsplit(':').next().unwrap().parse().unwrap();
    let proxy = Proxy::start(
        ([127, 0, 0, 1], port).into(),
        Faults {
            // Every download is cut after 1 MiB, six times in all: the load's one GET
            // (the sniffer's, read on) is cut and resumed from where it stopped.
            cut_down_after_bytes: Some((1 << 20, 6)),
            seed: 25,
            ..Faults::default()
        },
    );
    // The loader reaches the store through the proxy: signatures are for its address.
    let mut cmd = s3.command(&[
        "load",
        "s3://data/accounts.csv",
        "--table",
        "accounts",
        "--url",
        &db,
        "--json",
        "--chunk-bytes",
        "32K",
        "--workers",
        "1",
        "--reconnect-timeout",
        "30",
    ]);
    cmd.env("AWS_ENDPOINT_URL", format!("http://{}", proxy.addr()));
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_exact(&db, 100_000);
    assert!(proxy.cuts.load(std::sync::atomic::Ordering::SeqCst) > 0);
    assert_no_secret(&out, &db);
}

#[test]
fn an_object_changed_between_runs_is_refused() {
    let db = fresh_db("s3_changed");
    client(&db)
        .batch_execute("CREATE TABLE accounts (id int8, n int8)")
        .unwrap();
    let mut csv = String::from("id,n\n");
    for i in 1..=5_000 {
        let n = if i == 4_000 {
            "oops".into()
        } else {
            i.to_string()
        };
        csv.push_str(&format!("{i},{n}\n"));
    }
    let s3 = Moto::start();
    s3.create_bucket("data");
    let url = s3.put("data", "t.csv", csv.as_bytes());
    let opts = ["--chunk-bytes", "4K", "--workers", "1"];
    let first = load(&s3, &url, &db, &opts);
    assert_eq!(first.status.code(), Some(3), "{}", stderr(&first));
    let committed = crate::support::count(&db, "accounts");
    assert!(committed > 0, "{}", stderr(&first));
    // Fixed and stored again: another ETag.
    s3.put(
        "data",
        "t.csv",
        csv.replace(",oops\n", ",4000\n").as_bytes(),
    );
    let again = load(&s3, &url, &db, &opts);
    let err = stderr(&again);
    assert_eq!(again.status.code(), Some(2), "{err}");
    assert!(err.contains("the input changed"), "{err}");
    assert_eq!(crate::support::count(&db, "accounts"), committed);
    assert_no_secret(&again, &db);
}

#[test]
fn a_missing_object_or_bucket_fails_at_once_with_exit_2_and_no_secret() {
    let db = fresh_db("s3_missing");
    client(&db)
        .batch_execute("CREATE TABLE accounts (id int8)")
        .unwrap();
    let s3 = Moto::start();
    s3.create_bucket("data");
    for (input, code) in [
        ("s3://data/missing.csv", "NoSuchKey"),
        ("s3://nobucket/a.csv", "NoSuchBucket"),
        ("s3://nobucket/2024/*.csv", "NoSuchBucket"),
    ] {
        let started = Instant::now();
        let out = load(&s3, input, &db, &["--reconnect-timeout", "60"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{input}: {err}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{input}: retried"
        );
        let bucket = &input[..input[5..].find('/').unwrap() + 6];
        assert!(err.contains(code) && err.contains(bucket), "{input}: {err}");
        assert_no_secret(&out, &db);
    }
    // A bucket is no object (its root answers with a listing).
    let out = load(&s3, "s3://data", &db, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("not an object"), "{}", stderr(&out));
    // A glob that matches nothing is a usage error, as for local files.
    let out = load(&s3, "s3://data/*.csv", &db, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no object matches"),
        "{}",
        stderr(&out)
    );
}
