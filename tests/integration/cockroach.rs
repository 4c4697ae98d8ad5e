//! The CockroachDB path end to end against the stand-in: a database of the throwaway
//! PostgreSQL that answers `SELECT version()` like CockroachDB v23.2.4, so chunkload takes
//! its CockroachDB flavour (multi-row INSERTs, never COPY; whole-transaction retries, as
//! that version's savepoint rollback is broken; the intent-budget probe) against a real
//! server. CockroachDB's errors are raised by triggers with its SQLSTATEs and messages.

use crate::cli::stderr;
use crate::support::{
    accounts_file, assert_exact, client, cluster, cutting_proxy, fresh_cockroach_db,
    killed_and_rerun_with_other_options, load_accounts, load_through_cuts, summary,
    target_and_reference,
};
use chunkload::Flavour;
use std::path::Path;

fn load(url: &str, file: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["--retry-base-ms", "2"];
    args.extend_from_slice(extra);
    load_accounts(url, file, &args)
}

/// Every statement that committed rows into `accounts`, as the server saw it.
fn seen_statements(url: &str) -> Vec<String> {
    client(url)
        .query("SELECT q FROM seen", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Raises 40001 with CockroachDB's messages at the first row of every third attempt
/// (counted by a sequence, which survives rollback) and logs each statement's text and
/// transaction. A row trigger, as CockroachDB refuses while writing.
pub(crate) fn flaky_with_cockroach_messages(url: &str) {
    client(url)
        .batch_execute(
            "CREATE TABLE seen (q text);
             CREATE SEQUENCE attempts;
             CREATE FUNCTION flaky() RETURNS trigger LANGUAGE plpgsql AS $$
             DECLARE n int8;
             BEGIN
               IF coalesce(current_setting('chunkload.attempt', true), '') <> '' THEN
                 RETURN NEW;
               END IF;
               -- First row of this attempt (a rollback resets the setting).
               PERFORM set_config('chunkload.attempt', 'on', true);
               n := nextval('attempts');
               IF n % 6 = 1 THEN
                 RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE =
                   'restart transaction: TransactionRetryWithProtoRefreshError: WriteTooOldError: write for key /Table/104/1 at timestamp 1.0 too old; must write at or above 2.0: RETRY_WRITE_TOO_OLD';
               ELSIF n % 6 = 4 THEN
                 RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE =
                   'restart transaction: TransactionRetryWithProtoRefreshError: ReadWithinUncertaintyIntervalError: read at time 1.0 encountered previous write with future timestamp 1.5 within uncertainty interval: RETRY_SERIALIZABLE';
               END IF;
               INSERT INTO seen VALUES (current_query());
               RETURN NEW;
             END $$;
             CREATE TRIGGER flaky BEFORE INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION flaky();",
        )
        .unwrap();
}

#[test]
fn cockroach_stand_in_answers_like_cockroachdb() {
    let url = fresh_cockroach_db("standin");
    let mut c = client(&url);
    assert_eq!(Flavour::detect(&mut c).unwrap(), Flavour::Cockroach);
    let v: String = c.query_one("SELECT version()", &[]).unwrap().get(0);
    assert_eq!(v, chunkload::cluster::COCKROACH_VERSION);
    assert!(
        c.simple_query("SHOW CLUSTER SETTING kv.transaction.max_intents_bytes")
            .is_err(),
        "no cluster settings, as for a user without VIEWCLUSTERSETTING"
    );
    let mut plain = client(&cluster().url());
    assert_eq!(Flavour::detect(&mut plain).unwrap(), Flavour::Postgres);
}

#[test]
fn cockroach_load_rides_out_40001s_with_inserts_never_copy() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 40_000, 21);
    let url = fresh_cockroach_db("load");
    target_and_reference(&url, &file);
    flaky_with_cockroach_messages(&url);
    // No --json: an admin reads the intent budget, so no warning shows.
    let out = load(&url, &file, &["--chunk-bytes", "64K", "--workers", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(!err.lines().any(|l| l.starts_with("warning:")), "{err}");
    // CockroachDB refuses COPY over the extended protocol (cockroach#41120): every chunk
    // went as multi-row INSERTs with bind parameters, none as COPY.
    let statements = seen_statements(&url);
    assert!(statements.len() >= 10, "chunks: {}", statements.len());
    for q in &statements {
        assert!(q.starts_with("INSERT INTO \"public\".\"accounts\""), "{q}");
        assert!(q.contains("$1"), "bind parameters: {q}");
        assert!(!q.to_uppercase().contains("COPY"), "{q}");
    }
    assert!(
        client(&url)
            .query_one("SELECT last_value FROM attempts", &[])
            .unwrap()
            .get::<_, i64>(0)
            > statements.len() as i64,
        "some attempts were refused and retried"
    );
    assert_exact(&url, 40_000);
}

#[test]
fn cockroach_intent_budget_is_read_by_an_admin_and_falls_back_to_4_mib_for_others() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 150_000, 22);
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(size > 4 << 20, "{size}");
    let wide_open = ["--chunk-bytes", "64M", "--chunk-rows", "1000000", "--json"];

    // An admin reads the setting as CockroachDB shows it (`256 KiB`): chunks of half.
    let url = fresh_cockroach_db("budget_admin");
    target_and_reference(&url, &file);
    client(&url)
        .batch_execute(
            "UPDATE crdb_compat.cluster_settings SET value = '256 KiB'
              WHERE name = 'kv.transaction.max_intents_bytes'",
        )
        .unwrap();
    let s = summary(&load(&url, &file, &wide_open));
    assert!(
        s["chunks"].as_u64().unwrap() >= size / (128 << 10),
        "chunks capped under the 256 KiB budget read: {s}"
    );
    assert_exact(&url, 150_000);

    // A role without VIEWCLUSTERSETTING: one warning, and half the 4 MiB default.
    let url = fresh_cockroach_db("budget_plain");
    target_and_reference(&url, &file);
    let db = url.rsplit('/').next().unwrap().to_string();
    client(&url)
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS budget_loader; CREATE ROLE budget_loader LOGIN;
             GRANT ALL ON DATABASE \"{db}\" TO budget_loader;
             GRANT ALL ON SCHEMA public TO budget_loader;
             GRANT ALL ON accounts TO budget_loader;"
        ))
        .unwrap();
    let as_loader = url.replace("postgres@", "budget_loader@");
    let out = load(&as_loader, &file, &wide_open[..4]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning:")).collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(
        warnings[0].contains("kv.transaction.max_intents_bytes") && warnings[0].contains("4 MiB"),
        "{err}"
    );
    let s = summary(&load(&as_loader, &file, &wide_open));
    assert_eq!(s["rows"], 0, "finished: {s}");
    assert_exact(&url, 150_000);
}

#[test]
fn cockroach_proxy_cuts_connections_on_the_savepoint_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 100_000, 23);
    let url = fresh_cockroach_db("proxy");
    target_and_reference(&url, &file);
    let proxy = cutting_proxy(4, 5, 7);
    load_through_cuts(&url, &file, 100_000, &proxy);
}

#[test]
fn cockroach_sigkill_reruns_with_other_options_end_exact() {
    let dir = tempfile::tempdir().unwrap();
    let csv = accounts_file(dir.path(), 30_000, 27);
    let f = csv.to_str().unwrap().to_string();
    killed_and_rerun_with_other_options(&fresh_cockroach_db("sigkill"), &f, &csv, 30_000, 4);
}

#[test]
fn cockroach_rerun_of_a_finished_load_says_already_loaded_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 3_000, 28);
    let url = fresh_cockroach_db("rerun");
    target_and_reference(&url, &file);
    let o = load(&url, &file, &["--chunk-bytes", "16K", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Other options, same data: the same load, already complete: it says so in one line,
    // and warns of nothing.
    let o = load(&url, &file, &["--chunk-bytes", "64K", "--method", "insert"]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let said: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("already loaded"))
        .collect();
    assert_eq!(said.len(), 1, "{err}");
    assert!(
        said[0].starts_with("already loaded completely at")
            && said[0].contains("3000 rows into")
            && said[0].ends_with("nothing to do; --fresh loads it again"),
        "{err}"
    );
    assert!(!err.contains("warning"), "{err}");
    assert_exact(&url, 3_000);
}

/// Raises `sqlstate`/`message` once a transaction has written more than 20 000 bytes.
fn size_limit(url: &str, sqlstate: &str, message: &str) {
    client(url)
        .batch_execute(&format!(
            "CREATE FUNCTION budget() RETURNS trigger LANGUAGE plpgsql AS $$
             DECLARE total int8;
             BEGIN
               total := coalesce(nullif(current_setting('chunkload.tx_bytes', true), ''), '0')::int8
                        + octet_length(NEW::text);
               PERFORM set_config('chunkload.tx_bytes', total::text, true);
               IF total > 20000 THEN
                 RAISE EXCEPTION USING ERRCODE = '{sqlstate}', MESSAGE = '{message}';
               END IF;
               RETURN NEW;
             END $$;
             CREATE TRIGGER budget BEFORE INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION budget();"
        ))
        .unwrap();
}

#[test]
fn cockroach_size_limits_split_the_chunk_and_lower_the_chunk_size() {
    let cases = [
        ("53400", "the transaction is locking too many rows and exceeded its lock-tracking memory budget; lock spans: 4194500 bytes > budget: 4194304 bytes. Request pertains to 40000 rows"),
        ("XX000", "command is too large: 70000000 bytes (max: 67108864)"),
        ("40001", "restart transaction: TransactionRetryWithProtoRefreshError: TransactionRetryError: retry txn (RETRY_COMMIT_DEADLINE_EXCEEDED - txn timestamp pushed too much; deadline exceeded by 1.1s)"),
        ("XX000", "transaction is too large to complete; try splitting into pieces"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 4_000, 24);
    for (i, (state, msg)) in cases.iter().enumerate() {
        let url = fresh_cockroach_db(&format!("limit{i}"));
        target_and_reference(&url, &file);
        size_limit(&url, state, msg);
        let out = load(&url, &file, &["--chunk-bytes", "1M", "--json"]);
        let s = summary(&out);
        assert!(s["too_large_splits"].as_u64().unwrap() >= 1, "{msg}: {s}");
        assert_eq!(
            s["retries"].as_u64().unwrap(),
            0,
            "split, not retried: {msg}: {s}"
        );
        let lowered = s["lowered_chunk_rows"]
            .as_u64()
            .expect("chunk size lowered");
        assert!(lowered * 50 <= 20_000, "{msg}: {lowered} rows");
        assert_exact(&url, 4_000);
    }
}

#[test]
fn cockroach_ambiguous_commit_is_resolved_by_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 5_000, 25);
    let url = fresh_cockroach_db("ambiguous");
    target_and_reference(&url, &file);
    // At COMMIT (after RELEASE), the first transaction answers 40003 and rolls back.
    client(&url)
        .batch_execute(
            "CREATE SEQUENCE commits;
             CREATE FUNCTION ambiguous() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               IF nextval('commits') = 1 THEN
                 RAISE EXCEPTION USING ERRCODE = '40003', MESSAGE = 'result is ambiguous: error=rpc error: code = Unavailable';
               END IF;
               RETURN NULL;
             END $$;
             CREATE CONSTRAINT TRIGGER ambiguous AFTER INSERT ON accounts
               DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ambiguous();",
        )
        .unwrap();
    let out = load(&url, &file, &["--chunk-bytes", "16K", "--json"]);
    let s = summary(&out);
    assert!(s["reconnects"].as_u64().unwrap() >= 1, "{s}");
    assert_eq!(
        s["retries"].as_u64().unwrap(),
        0,
        "never retried blindly: {s}"
    );
    assert_exact(&url, 5_000);
}

#[test]
fn cockroach_chunks_commit_under_read_committed_too() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 20_000, 26);
    let name = "read_committed";
    let url = fresh_cockroach_db(name);
    let db: String = client(&url)
        .query_one("SELECT current_database()", &[])
        .unwrap()
        .get(0);
    client(&url)
        .batch_execute(&format!(
            "ALTER DATABASE {db} SET default_transaction_isolation = 'read committed'"
        ))
        .unwrap();
    target_and_reference(&url, &file);
    flaky_with_cockroach_messages(&url);
    let iso: String = client(&url)
        .query_one("SHOW transaction_isolation", &[])
        .unwrap()
        .get(0);
    assert_eq!(iso, "read committed");
    let out = load(&url, &file, &["--chunk-bytes", "64K", "--json"]);
    let s = summary(&out);
    assert!(
        s["retries"].as_u64().unwrap() >= 1,
        "40001 under READ COMMITTED: {s}"
    );
    assert_exact(&url, 20_000);
}

#[test]
fn cockroach_server_as_cockroachdb_prints_a_stand_in_url() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_chunkload"))
        .args(["server", "--as-cockroachdb"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run chunkload server");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim();
    assert!(
        url.starts_with("postgres://") && url.contains("127.0.0.1"),
        "{url}"
    );
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let flavour = Flavour::detect(&mut c);
    // Served through the strict stand-in: COPY over the extended protocol is refused.
    let copy = c.copy_in("COPY pg_catalog.pg_class FROM STDIN").map(|_| ());
    let code = copy.unwrap_err().code().map(|c| c.code().to_string());
    drop(child.stdin.take()); // closing stdin stops the server
    let status = child.wait().unwrap();
    assert_eq!(flavour.unwrap(), Flavour::Cockroach, "{url}");
    assert_eq!(code.as_deref(), Some("08P01"));
    assert!(status.success());
}

/// Whether the ledger's schema exists: a load that wrote anything made it.
fn has_ledger_schema(url: &str) -> bool {
    client(url)
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'chunkload')",
            &[],
        )
        .unwrap()
        .get(0)
}

#[test]
fn cockroach_method_copy_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 500, 29);
    let url = fresh_cockroach_db("copy_refused");
    target_and_reference(&url, &file);
    for extra in [
        &["--method", "copy"][..],
        &["--method", "copy", "--check"][..],
    ] {
        let o = load(&url, &file, extra);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {err}");
        for why in [
            "extended protocol",
            "cockroach#41120",
            "--method insert",
            "--method upsert",
        ] {
            assert!(err.contains(why), "{extra:?}: {why}: {err}");
        }
        assert!(
            !has_ledger_schema(&url),
            "{extra:?}: the ledger was created"
        );
        assert_eq!(crate::support::count(&url, "accounts"), 0);
    }
    // Nor is a missing table created for a load that cannot run.
    let o = load_accounts_into(
        &url,
        &file,
        "fresh_table",
        &["--method", "copy", "--create-table"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let made: bool = client(&url)
        .query_one("SELECT to_regclass('fresh_table') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    assert!(!made, "the table was created before the refusal");
    // The same file loads with the default method: insert.
    let s = summary(&load(&url, &file, &["--json"]));
    assert_eq!(s["method"], "insert", "{s}");
    assert_exact(&url, 500);
}

/// `chunkload load FILE --table TABLE` into `url` with `extra` options.
fn load_accounts_into(url: &str, file: &Path, table: &str, extra: &[&str]) -> std::process::Output {
    crate::cli::chunkload(&crate::support::load_args(file, table, url, &[extra]))
}

#[test]
fn cockroach_before_26_3_never_rolls_back_to_a_savepoint() {
    // The stand-in says v23.2.4: after ROLLBACK TO SAVEPOINT a prepared statement hits an
    // assertion failure (fixed in 26.3) and a ROLLBACK fails holding locks (fixed in
    // 25.4.4). Retries of a load and the isolation of bad rows by a check and a load must
    // restart the whole transaction instead; nothing is sent as COPY either.
    use std::sync::atomic::Ordering::SeqCst;
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_cockroach_db("no_savepoint_rollback");
    let proxy = crate::support::proxy(crate::proxy::Faults::default());
    let via = crate::support::via(&url, &proxy);
    // 40001s retried.
    let file = accounts_file(dir.path(), 5_000, 30);
    target_and_reference(&url, &file);
    flaky_with_cockroach_messages(&url);
    let s = summary(&load(&via, &file, &["--chunk-bytes", "16K", "--json"]));
    assert!(s["retries"].as_u64().unwrap() >= 1, "{s}");
    assert_exact(&url, 5_000);
    // Bad rows isolated, by a check and by a load.
    client(&url)
        .batch_execute("CREATE TABLE items (id int8 PRIMARY KEY, qty int8 CHECK (qty >= 0))")
        .unwrap();
    let items = dir.path().join("items.csv");
    let mut text = String::from("id,qty\n");
    for i in 0..300 {
        let qty = if i % 50 == 7 { -1 } else { i };
        text.push_str(&format!("{},{qty}\n", if i == 20 { 5 } else { i }));
    }
    std::fs::write(&items, text).unwrap();
    let rejects = dir.path().join("items.rejects.csv");
    for extra in [&["--check"][..], &[][..]] {
        let mut args = vec![
            "--json",
            "--max-errors",
            "20",
            "--chunk-rows",
            "100",
            "--retry-base-ms",
            "2",
            "--reject-file",
            rejects.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = crate::cli::chunkload(&crate::support::load_args(&items, "items", &via, &[&args]));
        let s = summary(&o);
        assert_eq!(o.status.code(), Some(0), "{extra:?}: {s}");
        // 6 negative quantities and the key 5 repeated in the same chunk.
        assert_eq!(
            (s["rows"].as_u64(), s["rejected"].as_u64()),
            (Some(293), Some(7)),
            "{extra:?}: {s}"
        );
    }
    assert_eq!(crate::support::count(&url, "items"), 293);
    assert_eq!(proxy.seen.savepoint_rollbacks.load(SeqCst), 0);
    assert_eq!(proxy.seen.copies.load(SeqCst), 0);
}
