//! Issue 4's fault tests: nothing lost, nothing duplicated, whatever happens to the
//! connection, the server or the loader. Each is deterministic (seeded) and bounded.

use crate::cli::{chunkload, stderr};
use crate::support::{
    accounts_file, assert_exact, client, command, count, cutting_proxy, fresh_db, load_accounts,
    load_through_cuts, own_cluster, summary as json_summary, target_and_reference,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::time::Duration;

/// A `--json` load of `accounts` (see [`load_accounts`]).
fn load(url: &str, file: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    load_accounts(url, file, &args)
}

#[test]
fn faults_1_proxy_cuts_connections_including_during_commit() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 200_000, 11);
    let url = fresh_db("faults_proxy");
    target_and_reference(&url, &file);
    let proxy = cutting_proxy(6, 7, 42);
    load_through_cuts(&url, &file, 200_000, &proxy);
    let cuts = proxy.cuts.load(std::sync::atomic::Ordering::SeqCst);
    assert!(cuts >= 3, "the proxy did cut connections: {cuts}");
}

#[test]
fn faults_2_sigkill_five_times_then_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 100_000, 12);
    let url = fresh_db("faults_kill");
    target_and_reference(&url, &file);
    crate::support::slow_statements(&url, "accounts");
    let mut rng = StdRng::seed_from_u64(7);
    let args = [
        "load",
        file.to_str().unwrap(),
        "--table",
        "accounts",
        "--url",
        &url,
        "--quiet",
        "--chunk-bytes",
        "16K",
        "--workers",
        "2",
    ];
    // Five kill moments, as row counts the table must have reached (seeded): each run is
    // killed mid-load whatever the machine's speed, never after it finished.
    let mut targets: Vec<i64> = (0..5).map(|_| rng.gen_range(5_000..90_000)).collect();
    targets.sort_unstable();
    let mut killed = 0;
    for target in targets {
        let mut child = command(&args)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
            if count(&url, "accounts") >= target {
                child.kill().unwrap(); // SIGKILL
                killed += 1;
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        child.wait().unwrap();
    }
    assert!(
        killed >= 4,
        "the loader was killed mid-load: {killed} of 5 times"
    );
    let partial = count(&url, "accounts");
    assert!(
        partial < 100_000,
        "some work was left for the rerun: {partial}"
    );
    let out = load(&url, &file, &["--chunk-bytes", "16K", "--workers", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let s = json_summary(&out);
    assert!(s["chunks_resumed"].as_u64().unwrap() > 0, "{s}");
    assert_exact(&url, 100_000);
}

#[test]
fn faults_3_server_raised_40001_on_30_percent_of_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 50_000, 13);
    let url = fresh_db("faults_40001");
    target_and_reference(&url, &file);
    client(&url)
        .batch_execute(
            "CREATE SEQUENCE chunk_tx;
             CREATE FUNCTION flaky() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               IF nextval('chunk_tx') % 10 < 3 THEN
                 RAISE EXCEPTION USING ERRCODE = '40001',
                   MESSAGE = 'restart transaction: TransactionRetryWithProtoRefreshError: RETRY_SERIALIZABLE';
               END IF;
               RETURN NULL;
             END $$;
             CREATE TRIGGER flaky BEFORE INSERT ON accounts FOR EACH STATEMENT EXECUTE FUNCTION flaky();",
        )
        .unwrap();
    for method in ["copy", "insert"] {
        client(&url).batch_execute("TRUNCATE accounts").unwrap();
        let out = load(
            &url,
            &file,
            &[
                "--method",
                method,
                "--chunk-bytes",
                "32K",
                "--fresh",
                "--retry-base-ms",
                "2",
                "--max-attempts",
                "20",
            ],
        );
        assert!(out.status.success(), "{method}: {}", stderr(&out));
        let s = json_summary(&out);
        let (chunks, retries) = (
            s["chunks"].as_u64().unwrap(),
            s["retries"].as_u64().unwrap(),
        );
        assert!(
            retries * 10 >= chunks,
            "{method}: about 30% of {chunks} chunks retried, got {retries}"
        );
        assert_exact(&url, 50_000);
    }
}

#[test]
fn faults_4_transaction_too_large_splits_and_lowers_the_chunk_size() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 30_000, 14);
    let url = fresh_db("faults_too_large");
    target_and_reference(&url, &file);
    // Sums the bytes a transaction writes in a transaction-local setting; past 100 000 it
    // fails the way CockroachDB v2 did.
    client(&url)
        .batch_execute(
            "CREATE FUNCTION budget() RETURNS trigger LANGUAGE plpgsql AS $$
             DECLARE total int8;
             BEGIN
               total := coalesce(nullif(current_setting('chunkload.tx_bytes', true), ''), '0')::int8
                        + octet_length(NEW::text);
               PERFORM set_config('chunkload.tx_bytes', total::text, true);
               IF total > 100000 THEN
                 RAISE EXCEPTION USING ERRCODE = '54000',
                   MESSAGE = 'transaction is too large to complete; try splitting into pieces';
               END IF;
               RETURN NEW;
             END $$;
             CREATE TRIGGER budget BEFORE INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION budget();",
        )
        .unwrap();
    let out = load(&url, &file, &["--chunk-bytes", "1M", "--workers", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let s = json_summary(&out);
    assert!(s["too_large_splits"].as_u64().unwrap() >= 1, "{s}");
    let lowered = s["lowered_chunk_rows"]
        .as_u64()
        .expect("chunk size lowered");
    assert!(
        lowered * 50 <= 100_000,
        "pieces now fit the budget: {lowered} rows"
    );
    assert_exact(&url, 30_000);
}

#[test]
fn faults_5_server_restart_mid_load() {
    // Its own server: a restart would cut every other test's connections.
    let server = own_cluster();
    let url = server.create_database("restart").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 150_000, 15);
    target_and_reference(&url, &file);
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let server = &server;
    let restarter = std::thread::scope(|s| {
        let url = &url;
        let h = s.spawn(move || {
            // Restart once a third of the rows are in, whatever the machine's speed.
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while done_rx.try_recv().is_err() && std::time::Instant::now() < deadline {
                if count(url, "accounts") >= 50_000 {
                    server.restart().unwrap();
                    return true;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            false
        });
        let out = load(url, &file, &["--chunk-bytes", "16K", "--workers", "2"]);
        let _ = done_tx.send(());
        let restarted = h.join().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        (restarted, json_summary(&out))
    });
    let (restarted, s) = restarter;
    assert!(restarted, "the server restarted mid-load");
    assert!(s["reconnects"].as_u64().unwrap() >= 1, "{s}");
    assert_exact(&url, 150_000);
}

#[test]
fn faults_6_one_percent_bad_rows_go_to_the_reject_file_and_load_after_fixing() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_db("faults_rejects");
    client(&url)
        .batch_execute(
            "CREATE TABLE items (id int8 PRIMARY KEY, qty int8 NOT NULL, day date, note text)",
        )
        .unwrap();
    // 20 000 rows; every 100th is bad in one of four ways.
    let path = dir.path().join("items.csv");
    let mut csv = String::from("id,qty,day,note\n");
    let mut bad_lines = Vec::new();
    for i in 1..=20_000u64 {
        let line = i + 1;
        let row = match (i % 100 == 50).then_some((i / 100) % 4) {
            Some(0) => format!("{i},12x,2024-01-02,bad number\n"),
            Some(1) => format!("{i},7,2024-13-45,bad date\n"),
            Some(2) => format!("{},7,2024-01-02,duplicate key\n", i - 1),
            Some(_) => format!("{i},,2024-01-02,null into not null\n"),
            None => format!("{i},{},2024-01-{:02},\"note, {i}\"\n", i * 3, i % 28 + 1),
        };
        if i % 100 == 50 {
            bad_lines.push(line);
        }
        csv.push_str(&row);
    }
    std::fs::write(&path, &csv).unwrap();
    let rejects = dir.path().join("rejects.csv");
    let out = chunkload(&[
        "load",
        path.to_str().unwrap(),
        "--table",
        "items",
        "--url",
        &url,
        "--json",
        "--workers",
        "1",
        "--max-errors",
        "100000",
        "--reject-file",
        rejects.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "rejects within --max-errors: {}",
        stderr(&out)
    );
    let s = json_summary(&out);
    assert_eq!(s["rejected"].as_u64().unwrap(), 200, "{s}");
    assert_eq!(count(&url, "items"), 19_800, "every good row loaded");
    // The reject file: original records with their line numbers and errors.
    let mut r = csv::Reader::from_path(&rejects).unwrap();
    let headers = r.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        [
            "id",
            "qty",
            "day",
            "note",
            "chunkload_line",
            "chunkload_error"
        ]
    );
    let mut fixed = csv::Writer::from_path(dir.path().join("fixed.csv")).unwrap();
    fixed.write_record(&headers).unwrap();
    let mut lines = Vec::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        let line: u64 = rec[4].parse().unwrap();
        lines.push(line);
        let i = line - 1;
        assert!(!rec[5].is_empty(), "an error message");
        match rec[3].as_ref() {
            "duplicate key" => assert!(rec[5].contains("duplicate key"), "{}", &rec[5]),
            "bad number" => assert!(
                rec[5].contains("qty") && rec[5].contains("12x"),
                "{}",
                &rec[5]
            ),
            "bad date" => assert!(rec[5].contains("day"), "{}", &rec[5]),
            _ => assert!(
                rec[5].contains("NULL") || rec[5].contains("null"),
                "{}",
                &rec[5]
            ),
        }
        // The fix: the id the line should have had, and valid values.
        let (id, qty, day) = (i.to_string(), (i * 3).to_string(), "2024-01-02".to_string());
        fixed
            .write_record([&id, &qty, &day, "fixed", &rec[4], &rec[5]])
            .unwrap();
    }
    fixed.flush().unwrap();
    lines.sort();
    assert_eq!(
        lines, bad_lines,
        "every bad row, with its right line number"
    );
    let out = chunkload(&[
        "load",
        dir.path().join("fixed.csv").to_str().unwrap(),
        "--table",
        "items",
        "--url",
        &url,
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        count(&url, "items"),
        20_000,
        "the corrected reject file completes the table"
    );
}

#[test]
fn faults_7_ledger_creation_still_in_flight_elsewhere_is_waited_for() {
    // A lost connection's attempt that the server still runs: the ledger's DDL, not yet
    // committed. The next attempt's `IF NOT EXISTS` does not see it, and the catalog's
    // unique index makes it wait, then refuse: it must run again and succeed.
    let url = fresh_db("faults_ddl_race");
    let mut first = client(&url);
    let mut tx = first.transaction().unwrap();
    let schema = chunkload::ledger::LedgerSchema::default();
    let mut ddl = format!("CREATE SCHEMA {};", schema.quoted());
    for (_, table) in chunkload::ledger::tables(&schema) {
        ddl.push_str(&table);
        ddl.push(';');
    }
    tx.batch_execute(&ddl).unwrap();
    let u = url.clone();
    let second = std::thread::spawn(move || chunkload::ledger::ensure(&mut client(&u), &schema));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let waiting: i64 = client(&url)
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                  WHERE datname = current_database() AND wait_event_type = 'Lock'",
                &[],
            )
            .unwrap()
            .get(0);
        if waiting > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the second creation never waited"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    tx.commit().unwrap();
    second
        .join()
        .unwrap()
        .expect("the ledger exists once the first creation committed");
    assert_eq!(crate::support::pieces(&url), 0);
}

#[test]
fn faults_8_a_cut_commit_still_running_when_the_ledger_is_asked_is_not_sent_twice() {
    // The first transaction's COMMIT takes 3 s (a deferred trigger naps); the proxy cuts
    // its connection after waiting 1 s for the answer. The loader asks the ledger while
    // that commit still runs ("not committed"), sends the piece again, and the ledger's
    // key waits for the first commit, then refuses the second: the ledger, asked again,
    // says committed. Nothing is duplicated, nothing fails.
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 2_000, 16);
    let url = fresh_db("faults_slow_commit");
    target_and_reference(&url, &file);
    client(&url)
        .batch_execute(
            "CREATE SEQUENCE commits;
             CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               IF nextval('commits') = 1 THEN PERFORM pg_sleep(3); END IF;
               RETURN NULL;
             END $$;
             CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON accounts
               DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit();",
        )
        .unwrap();
    let proxy = crate::support::proxy(crate::proxy::Faults {
        cut_after_commit_every: Some(1),
        // The piece's commit, not the bookkeeping's (the load's durable end is a COMMIT
        // too, and a connection cut at every COMMIT could never finish).
        only_after_copy: true,
        ..Default::default()
    });
    let out = load(
        &crate::support::via(&url, &proxy),
        &file,
        &[
            "--chunk-bytes",
            "1M",
            "--workers",
            "1",
            "--max-errors",
            "10",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let s = json_summary(&out);
    assert!(s["commits_confirmed"].as_u64().unwrap() >= 1, "{s}");
    assert_eq!(s["rejected"].as_u64(), Some(0), "{s}");
    assert_exact(&url, 2_000);
}
