//! Chunk commits that do not wait for the disk (`--synchronous-commit`): a crash loses only
//! what a rerun sends again, a load that reports success is on disk, and the setting
//! reaches the chunk transactions only where it should.

use crate::cli::{chunkload, stderr};
use crate::support::{
    accounts_file, assert_exact, client, count, load_args, ok_summary, target_and_reference,
};
use chunkload::cluster::{ClusterOptions, LocalCluster};
use std::path::Path;
use std::time::{Duration, Instant};

/// A server of the test's own (it is crashed) whose WAL writer sleeps 10 s between
/// rounds: the WAL of an asynchronous commit then stays in the server's buffers until
/// something flushes it, so a crash loses it. `synchronous_commit` is at its default.
fn lazy_wal_cluster() -> LocalCluster {
    LocalCluster::start_with(&ClusterOptions {
        durable: false,
        settings: vec![
            ("wal_writer_delay".into(), "10s".into()),
            ("synchronous_commit".into(), "on".into()),
        ],
        ..ClusterOptions::default()
    })
    .expect("start a throwaway PostgreSQL server")
}

fn load(url: &str, file: &Path, extra: &[&str]) -> std::process::Output {
    let small = ["--json", "--chunk-bytes", "16K"];
    chunkload(&load_args(file, "accounts", url, &[&small, extra]))
}

/// Runs `load` while a thread crashes the server once `at` rows are in (and, with
/// `start_again`, starts it at once); returns the load's output.
fn crash_during(
    server: &LocalCluster,
    url: &str,
    at: i64,
    start_again: bool,
    load: impl FnOnce() -> std::process::Output,
) -> std::process::Output {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let (crashed, out) = std::thread::scope(|s| {
        let h = s.spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            while done_rx.try_recv().is_err() && Instant::now() < deadline {
                if count(url, "accounts") >= at {
                    server.crash().unwrap();
                    if start_again {
                        server.start_again().unwrap();
                    }
                    return true;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            false
        });
        let out = load();
        let _ = done_tx.send(());
        (h.join().unwrap(), out)
    });
    assert!(crashed, "the server crashed mid-load: {}", stderr(&out));
    out
}

#[test]
fn durability_crash_mid_load_then_a_rerun_loads_the_source_exactly() {
    let server = lazy_wal_cluster();
    let url = server.create_database("crash").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 60_000, 21);
    target_and_reference(&url, &file);
    // The load gives up soon after the crash: the server stays down.
    let out = crash_during(&server, &url, 20_000, false, || {
        load(
            &url,
            &file,
            &["--reconnect-timeout", "1", "--synchronous-commit", "auto"],
        )
    });
    assert!(
        !out.status.success(),
        "the load cannot go on without its server"
    );
    server.start_again().unwrap();
    let survived = count(&url, "accounts");
    assert!(survived < 60_000, "{survived}");
    // The same command again: it sends exactly what the crash left out, commits lost
    // with their ledger rows included.
    let s = ok_summary(&load(&url, &file, &["--synchronous-commit", "auto"]));
    assert_eq!(s["rows"].as_u64().unwrap(), 60_000 - survived as u64, "{s}");
    if survived > 0 {
        assert!(s["chunks_resumed"].as_u64().unwrap() >= 1, "{s}");
    }
    assert_exact(&url, 60_000);
}

#[test]
fn durability_a_crash_the_load_reconnects_through_never_ends_in_a_false_success() {
    let server = lazy_wal_cluster();
    let url = server.create_database("through").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 60_000, 22);
    target_and_reference(&url, &file);
    let out = crash_during(&server, &url, 20_000, true, || {
        load(&url, &file, &["--synchronous-commit", "off"])
    });
    if !out.status.success() {
        // Commits lost in the crash: the load says so instead of reporting success.
        let err = stderr(&out);
        assert!(err.contains("sends only what is missing"), "{err}");
        let s = ok_summary(&load(&url, &file, &["--synchronous-commit", "off"]));
        assert!(s["rows"].as_u64().unwrap() >= 1, "{s}");
    }
    assert_exact(&url, 60_000);
}

#[test]
fn durability_a_load_that_succeeded_survives_a_crash_right_after() {
    let server = lazy_wal_cluster();
    let url = server.create_database("after").unwrap();
    // Every session of the database commits without waiting (and the default
    // `--synchronous-commit on` keeps that), chunkload's bookkeeping connections too: only
    // its durable end can put the load on disk.
    client(&url)
        .batch_execute("ALTER DATABASE after SET synchronous_commit = off")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 30_000, 23);
    target_and_reference(&url, &file);
    let s = ok_summary(&load(&url, &file, &[]));
    assert_eq!(s["rows"].as_u64().unwrap(), 30_000, "{s}");
    // No checkpoint, no WAL writer round: only the load's final durable commit put the
    // chunks' asynchronous commits on disk.
    server.crash().unwrap();
    server.start_again().unwrap();
    assert_exact(&url, 30_000);
    let s = ok_summary(&load(&url, &file, &[]));
    assert_eq!(s["rows"].as_u64().unwrap(), 0, "finished: nothing to send");
}

/// The `synchronous_commit` each chunk's COPY ran under, as a statement trigger saw it.
fn settings_seen(url: &str, file: &Path, extra: &[&str]) -> Vec<String> {
    let mut c = client(url);
    c.batch_execute("TRUNCATE accounts, seen").unwrap();
    let mut args = vec!["--fresh"];
    args.extend_from_slice(extra);
    ok_summary(&load(url, file, &args));
    let rows = c.query("SELECT DISTINCT setting FROM seen", &[]).unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

const SEEN_SQL: &str = "
    CREATE TABLE accounts (id uuid, balance int8);
    CREATE TABLE seen (setting text);
    CREATE FUNCTION note() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO seen VALUES (current_setting('synchronous_commit')); RETURN NULL; END $$;
    CREATE TRIGGER note AFTER INSERT ON accounts FOR EACH STATEMENT EXECUTE FUNCTION note();";

#[test]
fn durability_chunks_skip_the_flush_unless_the_session_chose_or_on_cockroachdb() {
    let server = lazy_wal_cluster();
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 3_000, 24);
    let url = server.create_database("settings").unwrap();
    client(&url).batch_execute(SEEN_SQL).unwrap();
    assert_eq!(settings_seen(&url, &file, &[]), ["on"]);
    assert_eq!(
        settings_seen(&url, &file, &["--synchronous-commit", "auto"]),
        ["off"]
    );
    assert_eq!(
        settings_seen(&url, &file, &["--synchronous-commit", "off"]),
        ["off"]
    );
    assert_eq!(
        settings_seen(&url, &file, &["--synchronous-commit", "on"]),
        ["on"]
    );
    // Chosen for the session (as PGOPTIONS would): auto keeps it, off overrides it.
    let chosen = format!("{url}?options=-c%20synchronous_commit%3Dremote_write");
    assert_eq!(settings_seen(&chosen, &file, &[]), ["remote_write"]);
    assert_eq!(
        settings_seen(&chosen, &file, &["--synchronous-commit", "auto"]),
        ["remote_write"]
    );
    assert_eq!(
        settings_seen(&chosen, &file, &["--synchronous-commit", "off"]),
        ["off"]
    );
    // CockroachDB has no such setting: never sent, and refused when asked for.
    let direct = server.create_cockroach_database("settings_crdb").unwrap();
    client(&direct).batch_execute(SEEN_SQL).unwrap();
    let standin = chunkload::standin::StandIn::start(
        ([127, 0, 0, 1], server.port()).into(),
        chunkload::standin::Options {
            reviewed_only: true,
        },
    )
    .unwrap();
    let crdb = standin.url_for("settings_crdb");
    ok_summary(&load(&crdb, &file, &["--synchronous-commit", "auto"]));
    let seen: Vec<String> = client(&direct)
        .query("SELECT DISTINCT setting FROM seen", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(seen, ["on"]);
    let out = load(&crdb, &file, &["--synchronous-commit", "off"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("no such setting"), "{}", stderr(&out));
}
