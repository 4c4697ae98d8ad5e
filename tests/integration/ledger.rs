//! The byte-range ledger: a load killed at random moments and rerun with other chunk
//! sizes, methods and worker counts ends with the source exactly once, for a plain file,
//! a gzip file and stdin.

use crate::support::{
    accounts_file, assert_exact, client, command, fresh_db, killed_and_rerun_with_other_options,
    pieces, run, target_and_reference,
};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

const ROWS: i64 = 30_000;

#[test]
fn ledger_sigkill_reruns_with_other_options_plain_file() {
    let dir = tempfile::tempdir().unwrap();
    let csv = accounts_file(dir.path(), ROWS as u64, 21);
    let f = csv.to_str().unwrap().to_string();
    killed_and_rerun_with_other_options(&fresh_db("ledger_plain"), &f, &csv, ROWS, 1);
}

#[test]
fn ledger_sigkill_reruns_with_other_options_gzip_file() {
    let dir = tempfile::tempdir().unwrap();
    let csv = accounts_file(dir.path(), ROWS as u64, 22);
    let gz = dir.path().join("accounts.csv.gz");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&std::fs::read(&csv).unwrap()).unwrap();
    std::fs::write(&gz, e.finish().unwrap()).unwrap();
    let g = gz.to_str().unwrap().to_string();
    killed_and_rerun_with_other_options(&fresh_db("ledger_gzip"), &g, &csv, ROWS, 2);
}

#[test]
fn ledger_sigkill_reruns_with_other_options_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let csv = accounts_file(dir.path(), ROWS as u64, 23);
    killed_and_rerun_with_other_options(&fresh_db("ledger_stdin"), "-", &csv, ROWS, 3);
}

#[test]
fn ledger_unwritable_reject_file_commits_nothing_and_bookkeeping_stays_in_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    let csv = accounts_file(dir.path(), 2_000, 24);
    let url = fresh_db("ledger_reject_unwritable");
    target_and_reference(&url, &csv);
    let f = csv.to_str().unwrap();
    let bad = dir.path().join("no such dir").join("rejects.csv");
    let o = crate::cli::chunkload(&[
        "load",
        f,
        "--table",
        "accounts",
        "--url",
        &url,
        "--max-errors",
        "5",
        "--reject-file",
        bad.to_str().unwrap(),
    ]);
    let err = crate::cli::stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("reject file") && err.contains("nothing was loaded"),
        "{err}"
    );
    assert_eq!(crate::support::count(&url, "accounts"), 0);
    // A good reject path: the load goes through, and its bookkeeping is not in public.
    let good = dir.path().join("rejects.csv");
    let o = crate::cli::chunkload(&[
        "load",
        f,
        "--table",
        "accounts",
        "--url",
        &url,
        "--max-errors",
        "5",
        "--reject-file",
        good.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", crate::cli::stderr(&o));
    assert!(!good.exists(), "no bad rows, no reject file left behind");
    assert_exact(&url, 2_000);
    let tables: Vec<(String, String)> = client(&url)
        .query(
            "SELECT table_schema::text, table_name::text FROM information_schema.tables
             WHERE table_name LIKE 'chunkload%' ORDER BY 1, 2",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        tables,
        [
            ("chunkload".to_string(), "chunkload_deferred".to_string()),
            ("chunkload".to_string(), "chunkload_ledger".to_string()),
            ("chunkload".to_string(), "chunkload_loads".to_string()),
            ("chunkload".to_string(), "chunkload_rejects".to_string())
        ]
    );
}

#[test]
fn ledger_rerun_of_a_finished_load_says_so_and_warns_of_an_emptied_table_even_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let csv = accounts_file(dir.path(), 3_000, 25);
    let url = fresh_db("ledger_loud_rerun");
    target_and_reference(&url, &csv);
    let f = csv.to_str().unwrap();
    let load = |extra: &[&str]| {
        let mut a = vec!["load", f, "--table", "accounts", "--url", &url];
        a.extend_from_slice(extra);
        crate::cli::chunkload(&a)
    };
    let o = load(&["--chunk-bytes", "16K"]);
    assert!(o.status.success(), "{}", crate::cli::stderr(&o));
    // Under --quiet nothing to do prints nothing.
    let o = load(&["--quiet", "--chunk-bytes", "64K", "--method", "insert"]);
    assert!(o.status.success() && o.stderr.is_empty(), "{o:?}");
    let o = load(&["--chunk-bytes", "64K", "--method", "insert"]);
    let err = crate::cli::stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("already loaded completely at")
            && err.contains("3000 rows into")
            && err.contains("nothing to do; --fresh loads it again"),
        "{err}"
    );
    assert!(!err.contains("emptied"), "{err}");
    assert_exact(&url, 3_000);
    client(&url).batch_execute("TRUNCATE accounts").unwrap();
    let o = load(&["--quiet"]);
    let err = crate::cli::stderr(&o);
    assert!(o.status.success(), "{err}");
    // A table that changed since is a warning: said under --quiet too.
    assert!(
        err.starts_with("warning: already loaded completely")
            && err.contains("now holds 0 rows")
            && err.contains("emptied or truncated"),
        "{err}"
    );
    assert!(err.contains("--fresh loads it again"), "{err}");
    assert_eq!(crate::support::count(&url, "accounts"), 0);
}

#[test]
fn ledger_resuming_an_unfinished_load_says_how_much_is_committed() {
    let dir = tempfile::tempdir().unwrap();
    let csv = accounts_file(dir.path(), ROWS as u64, 26);
    let url = fresh_db("ledger_resume_note");
    target_and_reference(&url, &csv);
    let f = csv.to_str().unwrap().to_string();
    let killed = run(
        &url,
        &f,
        &[],
        &["--chunk-bytes", "8K", "--workers", "1"],
        Some(3),
    );
    assert!(killed, "the first run was killed mid-load");
    let o = crate::cli::chunkload(&["load", &f, "--table", "accounts", "--url", &url]);
    let err = crate::cli::stderr(&o);
    assert!(o.status.success(), "{err}");
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("resuming load accounts-") && first.contains("already committed"),
        "{err}"
    );
    assert_exact(&url, ROWS);
}

#[test]
fn ledger_reject_file_holds_each_bad_row_once_over_runs_and_loads_back_fixed() {
    let url = fresh_db("ledger_rejects_once");
    client(&url)
        .batch_execute("CREATE TABLE t (id int8, n int8)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.csv");
    let bad = [700u64, 9_000, 9_001, 17_000];
    let mut csv = String::from("id,n\n");
    for i in 1..=20_000u64 {
        match bad.contains(&(i + 1)) {
            true => csv.push_str(&format!("{i},not a number\n")),
            false => csv.push_str(&format!("{i},{i}\n")),
        }
    }
    std::fs::write(&file, csv).unwrap();
    let rejects = dir.path().join("rejects.csv");
    let run = |max: &str, opts: &[&str]| {
        let mut a = vec![
            "load",
            file.to_str().unwrap(),
            "--table",
            "t",
            "--url",
            &url,
            "--json",
            "--max-errors",
            max,
            "--reject-file",
            rejects.to_str().unwrap(),
        ];
        a.extend_from_slice(opts);
        crate::cli::chunkload(&a)
    };
    let o = run("2", &["--chunk-bytes", "16K", "--workers", "1"]);
    assert_eq!(o.status.code(), Some(3), "{}", crate::cli::stderr(&o));
    let o = run("3", &["--chunk-bytes", "4K", "--method", "insert"]);
    assert_eq!(o.status.code(), Some(0), "{}", crate::cli::stderr(&o));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let lines_in_file = || -> Vec<u64> {
        let mut v: Vec<u64> = csv::Reader::from_path(&rejects)
            .unwrap()
            .records()
            .map(|r| r.unwrap()[2].parse().unwrap())
            .collect();
        v.sort_unstable();
        v
    };
    assert_eq!(lines_in_file(), bad, "each bad row once, over both runs");
    assert_eq!(s["rejected"].as_u64(), Some(bad.len() as u64), "{s}");
    assert_eq!(crate::support::count(&url, "t"), 20_000 - bad.len() as i64);
    // The fixed reject file loads as it is, to the exact table.
    let text = std::fs::read_to_string(&rejects).unwrap();
    let fixed: String = text
        .lines()
        .map(|l| match l.split_once(",not a number,") {
            Some((id, rest)) => format!("{id},{id},{rest}\n"),
            None => format!("{l}\n"),
        })
        .collect();
    let fixed_path = dir.path().join("fixed.csv");
    std::fs::write(&fixed_path, fixed).unwrap();
    let o = crate::cli::chunkload(&[
        "load",
        fixed_path.to_str().unwrap(),
        "--table",
        "t",
        "--url",
        &url,
    ]);
    assert!(o.status.success(), "{}", crate::cli::stderr(&o));
    let (n, distinct, ok): (i64, i64, bool) = {
        let r = client(&url)
            .query_one(
                "SELECT count(*), count(DISTINCT id), bool_and(id = n) FROM t",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!((n, distinct, ok), (20_000, 20_000, true));
}

#[test]
fn ledger_fresh_with_a_name_restarts_that_name() {
    let dir = tempfile::tempdir().unwrap();
    let csv = accounts_file(dir.path(), 2_000, 27);
    let url = fresh_db("ledger_fresh_name");
    target_and_reference(&url, &csv);
    let f = csv.to_str().unwrap();
    let load = |extra: &[&str]| {
        let mut a = vec![
            "load",
            f,
            "--table",
            "accounts",
            "--url",
            &url,
            "--load-id",
            "nightly",
            "--json",
        ];
        a.extend_from_slice(extra);
        crate::cli::chunkload(&a)
    };
    let o = load(&["--chunk-bytes", "16K"]);
    assert!(o.status.success(), "{}", crate::cli::stderr(&o));
    let o = load(&["--fresh", "--truncate"]);
    let err = crate::cli::stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("forgot") && err.contains("earlier load nightly"),
        "{err}"
    );
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["load_id"], "nightly", "{s}");
    assert_exact(&url, 2_000);
    // A later --load-id nightly is the new run, already complete.
    let o = load(&[]);
    let err = crate::cli::stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("already loaded completely") && err.contains("load id nightly"),
        "{err}"
    );
    assert_exact(&url, 2_000);
}

#[test]
fn ledger_status_lists_unfinished_loads_and_forget_removes_entries() {
    let dir = tempfile::tempdir().unwrap();
    let good = accounts_file(dir.path(), 2_000, 28);
    let url = fresh_db("ledger_status_forget");
    target_and_reference(&url, &good);
    let bad = dir.path().join("bad.csv");
    let mut text = std::fs::read_to_string(&good).unwrap();
    text.push_str("not-a-uuid,1\n");
    std::fs::write(&bad, text).unwrap();
    let load = |f: &Path| {
        crate::cli::chunkload(&[
            "load",
            f.to_str().unwrap(),
            "--table",
            "accounts",
            "--url",
            &url,
            "--chunk-bytes",
            "16K",
        ])
    };
    assert!(load(&good).status.success());
    assert!(!load(&bad).status.success(), "the bad row stops the load");
    let status = |extra: &[&str]| -> Vec<serde_json::Value> {
        let mut a = vec!["status", "--url", &url, "--json"];
        a.extend_from_slice(extra);
        let o = crate::cli::chunkload(&a);
        assert!(o.status.success(), "{}", crate::cli::stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v.as_array().unwrap().clone()
    };
    let unfinished = status(&[]);
    assert_eq!(unfinished.len(), 1, "{unfinished:?}");
    assert_eq!(unfinished[0]["finished"], false);
    assert!(
        unfinished[0]["rows"].as_i64().unwrap() > 0,
        "{unfinished:?}"
    );
    assert_eq!(status(&["--all"]).len(), 2);
    let o = crate::cli::chunkload(&["forget", "--finished", "--url", &url]);
    assert!(o.status.success(), "{}", crate::cli::stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 1);
    assert_eq!(status(&["--all"]).len(), 1);
    let id = unfinished[0]["load_id"].as_str().unwrap().to_string();
    let o = crate::cli::chunkload(&["forget", &id, "--url", &url]);
    assert!(o.status.success(), "{}", crate::cli::stderr(&o));
    assert!(status(&["--all"]).is_empty());
    let o = crate::cli::chunkload(&["forget", "--older-than", "30d", "--url", &url]);
    assert!(o.status.success(), "{}", crate::cli::stderr(&o));
}

#[test]
fn ledger_a_second_concurrent_run_of_a_load_refuses_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 20_000, 21);
    let url = fresh_db("ledger_lease");
    target_and_reference(&url, &file);
    // Slow statements keep the first run busy for a few seconds.
    client(&url)
        .batch_execute(
            "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN PERFORM pg_sleep(0.1); RETURN NULL; END $$;
             CREATE TRIGGER slow BEFORE INSERT ON accounts
               FOR EACH STATEMENT EXECUTE FUNCTION slow();",
        )
        .unwrap();
    let path = file.to_str().unwrap();
    let args = |extra: &'static str| {
        command(&[
            "load",
            path,
            "--table",
            "accounts",
            "--url",
            &url,
            "--quiet",
            "--chunk-rows",
            extra,
            "--workers",
            "1",
        ])
    };
    let first = args("500").spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while pieces(&url) == 0 {
        assert!(Instant::now() < deadline, "the first run never committed");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Other options, same data: the same load, so it must not run beside the first.
    let second = args("2000").output().unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{err}");
    assert!(err.contains("being run by another chunkload"), "{err}");
    assert!(err.contains(&format!("process {}", first.id())), "{err}");
    let first = first.wait_with_output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_exact(&url, 20_000);
    // The lease ends with its run: the next run of the load starts (and has nothing to do).
    let again = args("2000").output().unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_exact(&url, 20_000);
}

#[test]
fn ledger_lease_lapses_after_its_seconds_without_a_heartbeat() {
    // The lapse is `now() - $3::INT8 * INTERVAL '1 second'` (no make_interval, no named
    // argument: CockroachDB has neither); on both flavours of the stand-in.
    use chunkload::ledger::{self, lease, LedgerSchema};
    for url in [
        fresh_db("ledger_lapse"),
        crate::support::fresh_cockroach_db("ledger_lapse"),
    ] {
        let mut c = client(&url);
        let s = LedgerSchema::default();
        ledger::ensure(&mut c, &s).unwrap();
        let stale = |c: &mut postgres::Client, secs: i64| {
            c.execute(
                "INSERT INTO chunkload.chunkload_loads
                   (load_id, table_name, files, fingerprint, owner, heartbeat)
                 VALUES ('l', 't', 'f', 'x', 'elsewhere:1:x', now() - $1 * interval '1 second')
                 ON CONFLICT (load_id) DO UPDATE
                   SET owner = excluded.owner, heartbeat = excluded.heartbeat",
                &[&(secs as f64)],
            )
            .unwrap();
        };
        stale(&mut c, lease::LAPSE_SECS - 10);
        let e = lease::acquire(&mut c, &s, "l", "here:2:y")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("being run by another chunkload (process 1 on elsewhere"),
            "{e}"
        );
        stale(&mut c, lease::LAPSE_SECS + 10);
        lease::acquire(&mut c, &s, "l", "here:2:y").expect("a lapsed lease is taken over");
        let owner: String = c
            .query_one("SELECT owner FROM chunkload.chunkload_loads", &[])
            .unwrap()
            .get(0);
        assert_eq!(owner, "here:2:y");
    }
}
