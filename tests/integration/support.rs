//! Shared test harness: one throwaway server per test binary, one database per test.

use crate::proxy::{Faults, Proxy};
use chunkload::cluster::{ClusterOptions, LocalCluster};
use chunkload::standin::{self, StandIn};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The server all tests of this binary share; stopped by its watchdog when the binary exits.
pub fn cluster() -> &'static LocalCluster {
    static CLUSTER: OnceLock<LocalCluster> = OnceLock::new();
    CLUSTER.get_or_init(own_cluster)
}

/// A server of the test's own, for tests that restart or stop it (fsync off: it is
/// thrown away, and the OS does not crash under it).
pub fn own_cluster() -> LocalCluster {
    LocalCluster::start_with(&ClusterOptions {
        durable: false,
        ..ClusterOptions::default()
    })
    .expect("start a throwaway PostgreSQL server")
}

/// A proxy in front of the shared server that misbehaves as `faults` says.
pub fn proxy(faults: Faults) -> Proxy {
    Proxy::start(([127, 0, 0, 1], cluster().port()).into(), faults)
}

/// `url` through `proxy` (its port replaced by the proxy's).
pub fn via(url: &str, proxy: &Proxy) -> String {
    let port = proxy.addr().port();
    let own: u16 = url
        .rsplit(':')
        .next()
        .and_then(|p| p.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("a URL with a port");
    url.replace(&format!(":{own}/"), &format!(":{port}/"))
}

/// A fresh, empty database named after the test; returns its URL.
pub fn fresh_db(test: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!("t{}_{}", N.fetch_add(1, Ordering::SeqCst), test);
    cluster()
        .create_database(&name)
        .expect("create test database")
}

/// The strict CockroachDB stand-in of this test binary: a pgwire proxy in front of the
/// shared server that refuses what CockroachDB refuses, and any statement the CockroachDB
/// flavour sends that is not on the reviewed list.
pub fn standin() -> &'static StandIn {
    static STANDIN: OnceLock<StandIn> = OnceLock::new();
    STANDIN.get_or_init(|| {
        StandIn::start(
            ([127, 0, 0, 1], cluster().port()).into(),
            standin::Options {
                reviewed_only: true,
            },
        )
        .expect("start the CockroachDB stand-in")
    })
}

/// A fresh database of the CockroachDB stand-in at [`chunkload::cluster::COCKROACH_VERSION`],
/// named after the test; returns its URL through the strict stand-in. [`client`] on that URL
/// talks to PostgreSQL directly (for set-up and checks the loader does not send).
pub fn fresh_cockroach_db(test: &str) -> String {
    fresh_cockroach_db_at(test, chunkload::cluster::COCKROACH_VERSION)
}

/// As [`fresh_cockroach_db`], with `version()` answering `version`.
pub fn fresh_cockroach_db_at(test: &str, version: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!("c{}_{}", N.fetch_add(1, Ordering::SeqCst), test);
    cluster()
        .create_cockroach_database_as(&name, version)
        .expect("create a CockroachDB stand-in database");
    standin().url_for(&name)
}

/// `url` with the stand-in's port replaced by the server's: the same database, direct.
pub fn direct(url: &str) -> String {
    let from = format!(":{}/", standin().addr().port());
    url.replace(&from, &format!(":{}/", cluster().port()))
}

/// A plain client on `url`; on a stand-in URL, directly on the server behind it.
pub fn client(url: &str) -> postgres::Client {
    postgres::Client::connect(&direct(url), postgres::NoTls).expect("connect to test database")
}

/// `SHOW CREATE TABLE table` through the strict stand-in at `url`: CockroachDB's text.
pub fn show_create(url: &str, table: &str) -> String {
    let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect to the stand-in");
    c.simple_query(&format!("SHOW CREATE TABLE {table}"))
        .expect("SHOW CREATE TABLE")
        .iter()
        .find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => r.get("create_statement").map(str::to_string),
            _ => None,
        })
        .expect("a create_statement")
}

/// The table equals `reference` as a multiset of rows, with `rows` rows.
pub fn assert_same_rows(url: &str, table: &str, reference: &str, rows: i64) {
    let mut c = client(url);
    let q = |c: &mut postgres::Client, sql: &str| -> i64 { c.query_one(sql, &[]).unwrap().get(0) };
    assert_eq!(
        q(&mut c, &format!("SELECT count(*) FROM {table}")),
        rows,
        "{table}: rows"
    );
    for (a, b) in [(table, reference), (reference, table)] {
        assert_eq!(
            q(
                &mut c,
                &format!("SELECT count(*) FROM (TABLE {a} EXCEPT ALL TABLE {b}) x")
            ),
            0,
            "rows of {a} not in {b}"
        );
    }
}

/// `SELECT count(*)` of a table.
pub fn count(url: &str, table: &str) -> i64 {
    client(url)
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .unwrap()
        .get(0)
}

/// A generated accounts file in a temp dir.
pub fn accounts_file(dir: &Path, rows: u64, seed: u64) -> PathBuf {
    let path = dir.join(format!("accounts-{rows}-{seed}.csv"));
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    chunkload::dataset::generate(chunkload::dataset::Dataset::Accounts, rows, seed, &mut w)
        .unwrap();
    std::io::Write::flush(&mut w).unwrap();
    path
}

/// A table without a primary key, so a duplicated row would show instead of failing, and
/// the source loaded by PostgreSQL's own COPY as the reference.
pub fn target_and_reference(url: &str, file: &Path) {
    let mut c = client(url);
    c.batch_execute(
        "CREATE TABLE accounts (id uuid, balance int8);
         CREATE TABLE reference (id uuid, balance int8);",
    )
    .unwrap();
    let mut w = c
        .copy_in("COPY reference FROM STDIN (FORMAT csv, HEADER)")
        .unwrap();
    std::io::Write::write_all(&mut w, &std::fs::read(file).unwrap()).unwrap();
    w.finish().unwrap();
}

/// Each statement into `table` takes 5 ms more: a load lasts long enough for a watcher to
/// kill it mid-way however busy the machine is (on a loaded 2-core machine a run could
/// otherwise end before the watcher saw its rows).
pub fn slow_statements(url: &str, table: &str) {
    client(url)
        .batch_execute(&format!(
            "CREATE OR REPLACE FUNCTION slow_statement() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN PERFORM pg_sleep(0.005); RETURN NULL; END $$;
             CREATE TRIGGER slow_statement AFTER INSERT ON {table}
               FOR EACH STATEMENT EXECUTE FUNCTION slow_statement();"
        ))
        .unwrap();
}

/// The table equals the reference: same rows, same multiplicities, no duplicate key.
pub fn assert_exact(url: &str, rows: i64) {
    let mut c = client(url);
    let q = |c: &mut postgres::Client, sql: &str| -> i64 { c.query_one(sql, &[]).unwrap().get(0) };
    assert_eq!(
        q(&mut c, "SELECT count(*) FROM accounts"),
        rows,
        "row count"
    );
    assert_eq!(
        q(&mut c, "SELECT count(DISTINCT id) FROM accounts"),
        rows,
        "no duplicates"
    );
    assert_eq!(
        q(
            &mut c,
            "SELECT count(*) FROM (TABLE accounts EXCEPT ALL TABLE reference) x"
        ),
        0
    );
    assert_eq!(
        q(
            &mut c,
            "SELECT count(*) FROM (TABLE reference EXCEPT ALL TABLE accounts) x"
        ),
        0
    );
    let sums: (i64, String, String) = {
        let r = c
            .query_one(
                "SELECT (SELECT sum(balance) FROM accounts)::int8 - (SELECT sum(balance) FROM reference)::int8,
                        (SELECT md5(string_agg(id::text || balance, ',' ORDER BY id)) FROM accounts),
                        (SELECT md5(string_agg(id::text || balance, ',' ORDER BY id)) FROM reference)",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!(sums.0, 0, "balance checksum");
    assert_eq!(sums.1, sums.2, "content checksum");
}

/// The chunkload binary with `args`, `DATABASE_URL` unset, stdout discarded and stderr
/// piped (read it with [`stderr_of`]); adjust before spawning.
pub fn command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_chunkload"));
    c.args(args)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// Starts chunkload with `args` (see [`command`]).
pub fn spawn(args: &[&str]) -> Child {
    command(args).spawn().expect("start chunkload")
}

/// Waits at most `limit` for `child`; kills it (and returns None) past that.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if let Some(status) = child.try_wait().expect("wait for chunkload") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// What a spawned chunkload wrote to stderr (after it ended).
pub fn stderr_of(child: &mut Child) -> String {
    let mut s = String::new();
    child.stderr.take().unwrap().read_to_string(&mut s).unwrap();
    s
}

/// The arguments of `chunkload load FILE --table TABLE --url URL`, then each of
/// `options` in turn (a test's fixed ones, then a run's): one spelling of a load for the
/// tests, whichever way they run it.
pub fn load_args<'a>(
    file: &'a Path,
    table: &'a str,
    url: &'a str,
    options: &[&[&'a str]],
) -> Vec<&'a str> {
    let file = file.to_str().expect("a UTF-8 path");
    let mut args = vec!["load", file, "--table", table, "--url", url];
    for o in options {
        args.extend_from_slice(o);
    }
    args
}

/// The summary of a `--json` run that must have succeeded.
pub fn ok_summary(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    summary(out)
}

/// The JSON summary a `--json` load printed, or a panic showing what it printed instead.
pub fn summary(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "summary JSON ({e}), exit {:?}: {}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// `chunkload load FILE --table accounts --url URL`, riding out lost connections for up
/// to a minute, with `extra` options.
pub fn load_accounts(url: &str, file: &Path, extra: &[&str]) -> std::process::Output {
    let ride_out = ["--reconnect-timeout", "60"];
    crate::cli::chunkload(&load_args(file, "accounts", url, &[&ride_out, extra]))
}

/// Committed pieces of every load in the database (0 before the ledger exists).
pub fn pieces(url: &str) -> i64 {
    let mut c = client(url);
    let exists: bool = c
        .query_one(
            "SELECT to_regclass('chunkload.chunkload_ledger') IS NOT NULL",
            &[],
        )
        .unwrap()
        .get(0);
    match exists {
        true => c
            .query_one("SELECT count(*) FROM chunkload.chunkload_ledger", &[])
            .unwrap()
            .get(0),
        false => 0,
    }
}

/// Runs one load of `input` into `accounts` (`-`: `data` on stdin) with `opts`; with
/// `kill_after`, kills it with SIGKILL once the ledger holds that many pieces. Returns
/// whether it was killed; a run that was not must succeed within 90 s.
pub fn run(url: &str, input: &str, data: &[u8], opts: &[&str], kill_after: Option<i64>) -> bool {
    let mut args = load_args(Path::new(input), "accounts", url, &[&["--quiet"], opts]);
    if input == "-" {
        args.extend_from_slice(&["--load-id", "from-stdin"]);
    }
    let mut cmd = command(&args);
    if input == "-" {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().expect("start chunkload");
    let feeder = child.stdin.take().map(|mut w| {
        let data = data.to_vec();
        // A killed loader closes the pipe: the write error is expected then.
        std::thread::spawn(move || {
            let _ = w.write_all(&data);
        })
    });
    let mut killed = false;
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        if kill_after.is_some_and(|k| pieces(url) >= k) {
            child.kill().unwrap(); // SIGKILL
            killed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    if !killed && child.try_wait().unwrap().is_none() {
        child.kill().unwrap();
        panic!("the load did not finish in time: {args:?}");
    }
    let out = child.wait_with_output().unwrap();
    if let Some(f) = feeder {
        f.join().unwrap();
    }
    if !killed {
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    killed
}

/// Four runs of a load of `input` (the source `csv`, `rows` records) into a new
/// `accounts` of `url` (see [`target_and_reference`]), each with other chunk sizes, methods and
/// worker counts and SIGKILLed a few pieces in (seeded), then a last run to the end: the
/// table must equal the source as a multiset.
pub fn killed_and_rerun_with_other_options(
    url: &str,
    input: &str,
    csv: &Path,
    rows: i64,
    seed: u64,
) {
    target_and_reference(url, csv);
    slow_statements(url, "accounts");
    let data = std::fs::read(if input == "-" { csv } else { Path::new(input) }).unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let runs: [&[&str]; 4] = [
        &["--chunk-bytes", "16K", "--method", "copy", "--workers", "2"],
        &[
            "--chunk-bytes",
            "48K",
            "--method",
            "insert",
            "--workers",
            "1",
        ],
        &["--chunk-bytes", "8K", "--method", "copy", "--workers", "3"],
        &[
            "--chunk-bytes",
            "24K",
            "--method",
            "insert",
            "--workers",
            "2",
        ],
    ];
    // CockroachDB refuses COPY (cockroach#41120): there every run goes by INSERT.
    let crdb =
        chunkload::Flavour::detect(&mut client(url)).unwrap() == chunkload::Flavour::Cockroach;
    let method = |o: &[&'static str]| -> Vec<&'static str> {
        o.iter()
            .map(|&a| if crdb && a == "copy" { "insert" } else { a })
            .collect()
    };
    let mut killed = 0;
    for opts in runs {
        let k = pieces(url) + rng.gen_range(2..8);
        killed += run(url, input, &data, &method(opts), Some(k)) as usize;
    }
    assert!(killed >= 2, "killed mid-load {killed} of 4 times");
    let partial = count(url, "accounts");
    assert!(partial < rows, "work was left for the last run: {partial}");
    let last = method(&["--chunk-bytes", "1M", "--method", "copy", "--workers", "4"]);
    assert!(!run(url, input, &data, &last, None));
    assert_exact(url, rows);
}

/// A proxy in front of the shared server that cuts every connection at seeded random
/// moments (150–600 ms apart, at most `random_cuts` times) and right after forwarding
/// every `commit_every`th COMMIT, so that commit's answer is lost.
pub fn cutting_proxy(random_cuts: u64, commit_every: u64, seed: u64) -> Proxy {
    proxy(Faults {
        random_every_ms: Some((150, 600)),
        max_random_cuts: random_cuts,
        cut_after_commit_every: Some(commit_every),
        only_after_copy: false,
        seed,
        cut_down_after_bytes: None,
    })
}

/// Loads `file` (`rows` records) into `url`'s `accounts` through `proxy` in 64 KiB chunks
/// with 2 workers: it must succeed, reconnect, find a commit whose answer was cut in the
/// ledger, and end exact. Returns the summary.
pub fn load_through_cuts(url: &str, file: &Path, rows: i64, proxy: &Proxy) -> serde_json::Value {
    let out = load_accounts(
        &via(url, proxy),
        file,
        &[
            "--json",
            "--chunk-bytes",
            "64K",
            "--workers",
            "2",
            "--retry-base-ms",
            "5",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = summary(&out);
    assert!(s["reconnects"].as_u64().unwrap() >= 1, "{s}");
    assert!(
        s["commits_confirmed"].as_u64().unwrap() >= 1,
        "a commit whose answer was cut was found in the ledger, not sent again: {s}"
    );
    assert_exact(url, rows);
    s
}

/// Creates login role `name` once per cluster (no superuser, no CREATEDB, no CREATEROLE):
/// an application role, whatever else a test grants it.
pub fn login_role(name: &str) {
    static MADE: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    if made.iter().any(|r| r == name) {
        return;
    }
    client(&cluster().url())
        .batch_execute(&format!(
            "DO $$ BEGIN
               IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN
                 CREATE ROLE {name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
               END IF;
             END $$;"
        ))
        .unwrap();
    made.push(name.to_string());
}

/// `url` (the administrator's) as `role`.
pub fn as_role(url: &str, role: &str) -> String {
    url.replace("postgres://postgres@", &format!("postgres://{role}@"))
}
