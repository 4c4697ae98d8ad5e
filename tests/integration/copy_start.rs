//! A COPY the server fails before it reads any data. The client sent Sync after Execute
//! and sends another after CopyDone (or CopyFail): an error raised at COPY start (a
//! statement trigger, a permission check) answers both with ReadyForQuery, one more than
//! the client library expects, so the connection's next statement would read the answer
//! of the one before. The loader must neither take a shifted answer for its own (a
//! ROLLBACK TO SAVEPOINT, a COMMIT) nor stop on it: it retries the 40001, isolates the
//! bad row and reports the permission error as the server gave it.
//!
//! CockroachDB never gets a COPY (it refuses one over the extended protocol,
//! cockroach#41120): there the same refusals reach the chunk's first INSERT, which the
//! CockroachDB flavour rides out the same way (the stand-in's version restarts the whole
//! transaction; no savepoint is rolled back to).

use crate::cli::{chunkload, stderr};
use crate::support::{
    accounts_file, assert_exact, client, count, fresh_cockroach_db, fresh_db, load_accounts,
    load_args, summary, target_and_reference,
};
use std::path::Path;

/// A statement trigger on `accounts` that raises 40001 before COPY reads a row, on the
/// first of every two statements (a sequence counts them, whatever rolls back).
fn refuse_every_other_statement(url: &str) {
    refuse_every_other_statement_on(url, "accounts")
}

/// [`refuse_every_other_statement`] on `table`.
fn refuse_every_other_statement_on(url: &str, table: &str) {
    client(url)
        .batch_execute(&format!(
            "CREATE SEQUENCE statements;
             CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               IF nextval('statements') % 2 = 1 THEN
                 RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE =
                   'restart transaction: TransactionRetryWithProtoRefreshError: RETRY_SERIALIZABLE';
               END IF;
               RETURN NULL;
             END $$;
             CREATE TRIGGER refuse BEFORE INSERT ON {table}
               FOR EACH STATEMENT EXECUTE FUNCTION refuse();"
        ))
        .unwrap();
}

/// One COPY writer, chunks of a few rows, a JSON summary: the loads of this file.
const ONE_COPY_WRITER: [&str; 7] = [
    "--json",
    "--method",
    "copy",
    "--chunk-bytes",
    "16K",
    "--workers",
    "1",
];

/// [`ONE_COPY_WRITER`] with CockroachDB's default method, insert (COPY is refused there).
const ONE_INSERT_WRITER: [&str; 5] = ["--json", "--chunk-bytes", "16K", "--workers", "1"];

fn retried_at_copy_start(url: &str, file: &Path, rows: i64, writer: &[&str]) {
    target_and_reference(url, file);
    refuse_every_other_statement(url);
    let out = load_accounts(url, file, &[writer, &["--retry-base-ms", "1"]].concat());
    let s = summary(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    let chunks = s["chunks"].as_u64().unwrap();
    assert!(chunks >= 10, "{s}");
    assert!(
        s["retries"].as_u64().unwrap() >= chunks,
        "every chunk was refused once at COPY start and retried: {s}\n{}",
        stderr(&out)
    );
    assert_eq!(
        s["reconnects"].as_u64(),
        Some(0),
        "a refused COPY did not commit: nothing to look up in the ledger: {s}"
    );
    assert_exact(url, rows);
}

#[test]
fn copy_start_40001_is_retried_and_the_table_ends_exact() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 5_000, 31);
    retried_at_copy_start(
        &fresh_db("copy_start_retry"),
        &file,
        5_000,
        &ONE_COPY_WRITER,
    );
}

#[test]
fn copy_start_40001_on_cockroach_reaches_the_insert_and_ends_exact() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 5_000, 32);
    let url = fresh_cockroach_db("copy_start_retry");
    retried_at_copy_start(&url, &file, 5_000, &ONE_INSERT_WRITER);
}

/// Loads 3 000 accounts into `url` (which takes `file`): the row of line 1234 is refused
/// at COPY start, and only it.
fn isolated_at_copy_start(url: &str, file: &Path, dir: &Path, writer: &[&str]) {
    let url = url.to_string();
    target_and_reference(&url, file);
    // Refuses, before COPY reads a row, any piece whose ledger row (written first in the
    // same transaction) covers line 1234: only the data can tell which row is bad, so the
    // loader halves the piece down to that line. The transaction's rows are those of its
    // xid or later (a savepoint's subtransaction takes a later one; one worker writes).
    client(&url)
        .batch_execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               IF EXISTS (SELECT 1 FROM chunkload.chunkload_ledger
                          WHERE xmin::text::int8 >= pg_current_xact_id()::text::int8
                            AND 1234 BETWEEN first_line AND last_line) THEN
                 RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'line 1234 is refused';
               END IF;
               RETURN NULL;
             END $$;
             CREATE TRIGGER refuse BEFORE INSERT ON accounts
               FOR EACH STATEMENT EXECUTE FUNCTION refuse();",
        )
        .unwrap();
    let rejects = dir.join("rejects.csv");
    let out = load_accounts(
        &url,
        file,
        &[
            writer,
            &[
                "--max-errors",
                "5",
                "--reject-file",
                rejects.to_str().unwrap(),
            ],
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s = summary(&out);
    assert_eq!(s["rejected"].as_u64(), Some(1), "{s}");
    let text = std::fs::read_to_string(&rejects).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[1].contains(",1234,") && lines[1].contains("line 1234 is refused"),
        "{text}"
    );
    assert_eq!(count(&url, "accounts"), 2_999);
    client(&url)
        .batch_execute("DELETE FROM reference WHERE id NOT IN (SELECT id FROM accounts)")
        .unwrap();
    assert_exact(&url, 2_999);
}

#[test]
fn copy_start_data_error_is_isolated_to_its_row() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 3_000, 33);
    let url = fresh_db("copy_start_isolate");
    isolated_at_copy_start(&url, &file, dir.path(), &ONE_COPY_WRITER);
}

#[test]
fn copy_start_data_error_on_cockroach_is_isolated_to_its_row_with_inserts() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 3_000, 35);
    let url = fresh_cockroach_db("copy_start_isolate");
    isolated_at_copy_start(&url, &file, dir.path(), &ONE_INSERT_WRITER);
}

/// A role of `url`'s database that may create the ledger and read `accounts`, but not
/// insert into it: COPY fails at its start, before the server asks for data. Returns the
/// URL that connects as that role.
fn reader_role(url: &str) -> String {
    let db: String = client(url)
        .query_one("SELECT current_database()", &[])
        .unwrap()
        .get(0);
    client(url)
        .batch_execute(&format!(
            "CREATE ROLE {db}_reader LOGIN;
             GRANT CREATE ON DATABASE {db} TO {db}_reader;
             GRANT USAGE ON SCHEMA public TO {db}_reader;
             GRANT SELECT ON accounts TO {db}_reader;"
        ))
        .unwrap();
    let reader = url.replacen("postgres@", &format!("{db}_reader@"), 1);
    assert_ne!(reader, url);
    reader
}

#[test]
fn copy_start_permission_error_is_reported_as_the_server_gave_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 2_000, 34);
    let url = fresh_db("copy_start_permission");
    target_and_reference(&url, &file);
    let reader = reader_role(&url);
    let out = chunkload(&[
        "load",
        file.to_str().unwrap(),
        "--table",
        "accounts",
        "--url",
        &reader,
        "--method",
        "copy",
    ]);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("permission denied"), "{err}");
    assert!(!err.contains("unexpected message"), "{err}");
    assert_eq!(count(&url, "accounts"), 0);
}

/// The JSON error object of a failed `--json` run.
fn error_of(out: &std::process::Output) -> serde_json::Value {
    summary(out)["error"].clone()
}

#[test]
fn check_stops_on_a_copy_refused_for_a_permission_as_a_real_load_does() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 2_000, 36);
    let url = fresh_db("copy_start_check_permission");
    target_and_reference(&url, &file);
    let reader = reader_role(&url);
    let run = |extra: &[&str]| {
        let mut args = vec!["--json", "--method", "copy", "--max-errors", "5"];
        args.extend_from_slice(extra);
        load_accounts(&reader, &file, &args)
    };
    let (checked, real) = (run(&["--check"]), run(&[]));
    let (c, r) = (error_of(&checked), error_of(&real));
    assert_eq!(checked.status.code(), real.status.code(), "{c}\n{r}");
    assert_eq!(checked.status.code(), Some(1), "{c}");
    assert_eq!(c["kind"], r["kind"], "{c}\n{r}");
    let msg = c["message"].as_str().unwrap();
    assert!(msg.contains("permission denied"), "{c}");
    assert!(msg.ends_with("(--check: nothing was written)"), "{c}");
    assert!(!msg.contains("unexpected message"), "{c}");
    assert_eq!(c["rows_committed"], 0, "{c}");
    assert_eq!(count(&url, "accounts"), 0);
}

#[test]
fn check_on_cockroach_runs_a_chunk_refused_at_its_first_insert_again() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 5_000, 37);
    let url = fresh_cockroach_db("copy_start_check_retry");
    target_and_reference(&url, &file);
    refuse_every_other_statement(&url);
    let out = load_accounts(
        &url,
        &file,
        &[&ONE_INSERT_WRITER[..], &["--check", "--retry-base-ms", "1"]].concat(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let s = summary(&out);
    assert_eq!(s["check"], true, "{s}");
    assert_eq!(
        (s["rows"].as_u64(), s["rejected"].as_u64()),
        (Some(5_000), Some(0)),
        "{s}"
    );
    let chunks = s["chunks"].as_u64().unwrap();
    assert!(chunks >= 10, "{s}");
    // Each chunk's transaction was refused once at its first INSERT, rolled back whole
    // and ran again.
    assert_eq!(s["retries"].as_u64(), Some(chunks), "{s}");
    assert_eq!(count(&url, "accounts"), 0, "nothing was written");
}

#[test]
fn check_on_postgres_stops_clearly_on_a_copy_refused_at_its_start() {
    let dir = tempfile::tempdir().unwrap();
    // An inet column has no binary encoder: the COPY is text, which the server refuses
    // before reading anything.
    let file = dir.path().join("hosts.csv");
    let mut text = String::from("id,addr\n");
    for i in 0..500 {
        text.push_str(&format!("{i},10.0.{}.{}\n", i / 250, i % 250));
    }
    std::fs::write(&file, text).unwrap();
    let load = |url: &str, extra: &[&str]| {
        let one = [
            "--json",
            "--method",
            "copy",
            "--chunk-rows",
            "100",
            "--workers",
            "1",
        ];
        let fast = ["--retry-base-ms", "1"];
        chunkload(&load_args(&file, "hosts", url, &[&one, &fast, extra]))
    };
    let url = fresh_db("copy_start_check_pg");
    client(&url)
        .batch_execute("CREATE TABLE hosts (id int PRIMARY KEY, addr inet)")
        .unwrap();
    refuse_every_other_statement_on(&url, "hosts");
    // The real load runs each refused chunk again on a new connection.
    let real = load(&url, &[]);
    assert!(real.status.success(), "{}", stderr(&real));
    assert_eq!(summary(&real)["retries"].as_u64(), Some(5));
    assert_eq!(count(&url, "hosts"), 500);
    client(&url).batch_execute("TRUNCATE hosts").unwrap();
    // The check's one transaction went with the connection: it stops, and says why.
    let checked = load(&url, &["--check", "--max-errors", "10"]);
    let e = error_of(&checked);
    assert_eq!(checked.status.code(), Some(1), "{e}");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("lines 2–101 (chunk 0): the server refused the COPY before it read any data"),
        "{e}"
    );
    // The server's error, unless the client library read the extra answer first (then
    // the refusal itself is lost, and the message says so).
    assert!(
        msg.contains(": restart transaction: TransactionRetryWithProtoRefreshError")
            || msg.contains("(the client library saw only its extra answer: "),
        "{e}"
    );
    assert!(msg.ends_with("(--check: nothing was written)"), "{e}");
    assert_eq!(count(&url, "hosts"), 0);
}
