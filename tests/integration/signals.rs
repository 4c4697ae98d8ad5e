//! Signals end every command within seconds: a load stops between chunks, says what is
//! committed in one line, exits 128 + the signal, and its rerun ends exact.

use crate::support::{
    client, command, count, fresh_db, own_cluster, spawn, stderr_of, wait_bounded,
};
use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

const ROWS: i64 = 3000;

/// `id,v` rows `1..=rows`.
pub(crate) fn numbers_file(dir: &Path, rows: i64) -> String {
    let path = dir.join("numbers.csv");
    let mut s = String::from("id,v\n");
    for i in 1..=rows {
        s.push_str(&format!("{i},row-{i}\n"));
    }
    std::fs::write(&path, s).unwrap();
    path.display().to_string()
}

/// A table without a key (a duplicate would show) whose every statement naps, so a load
/// of a few hundred small chunks takes seconds.
pub(crate) fn slow_table(url: &str) {
    client(url)
        .batch_execute(
            "CREATE TABLE slow (id int8, v text);
             CREATE FUNCTION nap() RETURNS trigger LANGUAGE plpgsql
               AS $$ BEGIN PERFORM pg_sleep(0.02); RETURN NULL; END $$;
             CREATE TRIGGER nap AFTER INSERT ON slow
               FOR EACH STATEMENT EXECUTE FUNCTION nap();",
        )
        .unwrap();
}

/// `slow` holds every id of `1..=rows` once, nothing else.
pub(crate) fn assert_exact(url: &str, rows: i64) {
    let row = client(url)
        .query_one(
            "SELECT count(*), count(DISTINCT id), coalesce(sum(id), 0)::int8 FROM slow",
            &[],
        )
        .unwrap();
    let (n, distinct, sum): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!((n, distinct, sum), (rows, rows, rows * (rows + 1) / 2));
}

fn interrupted_load_resumes_exactly(test: &str, signal: i32, code: i32) {
    let url = fresh_db(test);
    slow_table(&url);
    let dir = tempfile::tempdir().unwrap();
    let file = numbers_file(dir.path(), ROWS);
    let args = [
        "--url",
        &url,
        "load",
        &file,
        "--table",
        "slow",
        "--chunk-rows",
        "10",
        "-q",
    ];
    let mut child = spawn(&args);
    let start = Instant::now();
    while count(&url, "slow") == 0 && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(count(&url, "slow") > 0, "the load never started");
    // SAFETY: signalling the child we started.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    let status = wait_bounded(&mut child, Duration::from_secs(10)).expect("stopped in time");
    let err = stderr_of(&mut child);
    assert_eq!(status.code(), Some(code), "{err}");
    let lines: Vec<&str> = err.trim_end().lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    let committed = count(&url, "slow");
    assert!(committed < ROWS, "stopped before the end: {committed}");
    // The command that resumes is the one that started the load.
    let bin = env!("CARGO_BIN_EXE_chunkload");
    let same = format!("{bin} {}", args.join(" "));
    assert!(
        lines[0].starts_with("interrupted: ")
            && lines[0].contains(" of 300 chunks committed (")
            && lines[0].ends_with(&format!(" ({committed} rows); to resume, run: {same}")),
        "{err}"
    );
    let mut rerun = spawn(&args);
    let status = wait_bounded(&mut rerun, Duration::from_secs(60)).expect("rerun ends");
    assert!(status.success(), "{}", stderr_of(&mut rerun));
    assert_exact(&url, ROWS);
}

#[test]
fn signals_sigint_mid_load_exits_130_and_the_rerun_ends_exact() {
    interrupted_load_resumes_exactly("sig_int", libc::SIGINT, 130);
}

#[test]
fn signals_sigterm_mid_load_exits_143_and_the_rerun_ends_exact() {
    interrupted_load_resumes_exactly("sig_term", libc::SIGTERM, 143);
}

/// A local listener that accepts and never answers; returns its URL.
fn silent_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Holds the connections it accepts until the test binary ends.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().take(8) {
            held.push(s);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    format!("postgres://u@127.0.0.1:{port}/db?connect_timeout=60")
}

/// Runs `command` against a silent server and sends `signal` after a second: it must end
/// within 3 s of its start, with `code`.
fn blocked_command_ends_soon_after(command: &str, signal: i32, code: i32) {
    let url = silent_server();
    let start = Instant::now();
    let mut child = spawn(&["--url", &url, command]);
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        child.try_wait().unwrap().is_none(),
        "{command} waits on the server"
    );
    // SAFETY: signalling the child we started.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    let status = wait_bounded(&mut child, Duration::from_secs(5)).expect("command ended");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(status.code(), Some(code), "{}", stderr_of(&mut child));
}

#[test]
fn signals_status_blocked_on_a_silent_server_ends_soon_after_sigint() {
    blocked_command_ends_soon_after("status", libc::SIGINT, 130);
}

#[test]
fn signals_init_blocked_on_a_silent_server_ends_soon_after_sighup_with_129() {
    blocked_command_ends_soon_after("init", libc::SIGHUP, 129);
}

#[test]
fn signals_workers_beyond_the_servers_connections_are_capped_and_the_load_is_exact() {
    let cluster = own_cluster();
    let url = cluster.create_database("workers_cap").unwrap();
    let max: i64 = client(&url)
        .query_one("SELECT current_setting('max_connections')::int8", &[])
        .unwrap()
        .get(0);
    let dir = tempfile::tempdir().unwrap();
    let file = numbers_file(dir.path(), ROWS);
    client(&url)
        .batch_execute("CREATE TABLE slow (id int8, v text)")
        .unwrap();
    let mut child = command(&[
        "--url",
        &url,
        "load",
        &file,
        "--table",
        "slow",
        "--chunk-rows",
        "10",
        "--workers",
        "500",
        "--json",
    ])
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let status = wait_bounded(&mut child, Duration::from_secs(60)).expect("load ends");
    let err = stderr_of(&mut child);
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(status.success(), "{err}");
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("--workers 500"))
        .collect();
    assert_eq!(warnings.len(), 1, "{err}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    let used = summary["workers"].as_i64().unwrap();
    // At most half of those free: the server keeps room for others.
    assert!(used >= 1 && used <= max / 2, "{used} of {max}");
    assert!(warnings[0].ends_with(&format!("using {used}")), "{err}");
    assert_exact(&url, ROWS);
}

#[test]
fn signals_load_blocked_on_its_first_connection_ends_by_the_watchdog_with_the_line() {
    let url = silent_server();
    let dir = tempfile::tempdir().unwrap();
    let file = numbers_file(dir.path(), ROWS);
    let mut child = spawn(&["--url", &url, "load", &file, "--table", "t", "-q"]);
    std::thread::sleep(Duration::from_millis(500));
    let start = Instant::now();
    // SAFETY: signalling the child we started.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let status = wait_bounded(&mut child, Duration::from_secs(10)).expect("load ended");
    assert!(
        start.elapsed() < Duration::from_secs(7),
        "{:?}",
        start.elapsed()
    );
    let err = stderr_of(&mut child);
    assert_eq!(status.code(), Some(143), "{err}");
    let bin = env!("CARGO_BIN_EXE_chunkload");
    assert_eq!(
        err.trim_end(),
        format!(
            "interrupted: 0 chunks committed (0 rows); to resume, run: {bin} --url '{url}' \
             load {file} --table t -q"
        )
    );
}
