//! The retry helper against a real server: 40001 raised by a trigger with CockroachDB's
//! message, and a real serialization conflict between two SERIALIZABLE transactions.

use crate::support::{client, count, fresh_db};
use chunkload::retry::{run_transaction, RetryPath, RetryPolicy};
use chunkload::{ErrorKind, Flavour, Server};
use std::sync::{Arc, Barrier};
use std::time::Duration;

const CRDB_MESSAGE: &str = "restart transaction: TransactionRetryWithProtoRefreshError: \
     ReadWithinUncertaintyIntervalError: read at time 1.0 encountered previous write: RETRY_SERIALIZABLE";

/// A table whose insert trigger raises 40001 while `nextval('attempts') <= n`; the
/// sequence counts attempts because nextval survives rollback.
fn flaky_table(url: &str, n: i64) {
    client(url)
        .batch_execute(&format!(
            "CREATE TABLE t (id int PRIMARY KEY);
             CREATE SEQUENCE attempts;
             CREATE FUNCTION flaky() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               IF nextval('attempts') <= {n} THEN
                 RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE = '{CRDB_MESSAGE}';
               END IF;
               RETURN NEW;
             END $$;
             CREATE TRIGGER flaky BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION flaky();"
        ))
        .unwrap();
}

fn fast_policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(20),
    }
}

/// Rides out three 40001s on `path`; returns the transaction id of each attempt (the
/// closure's side channel: a test's, not a loader's).
fn retries_server_raised_40001(path: RetryPath, db: &str) -> Vec<i64> {
    let url = fresh_db(db);
    flaky_table(&url, 3);
    let mut c = client(&url);
    let mut runs = 0;
    let mut txids = Vec::new();
    let done = run_transaction(&mut c, path, &fast_policy(10), |tx| {
        runs += 1;
        txids.push(tx.query_one("SELECT txid_current()", &[])?.get::<_, i64>(0));
        tx.execute("INSERT INTO t VALUES (1)", &[])?;
        Ok("inserted")
    })
    .expect("the helper rides out three 40001s");
    assert_eq!(done.value, "inserted");
    assert_eq!((runs, done.attempts), (4, 4), "closure ran N+1 times");
    assert_eq!(count(&url, "t"), 1, "committed exactly once");
    txids
}

#[test]
fn retry_postgres_protocol_rides_out_server_raised_40001() {
    let path = Server::from(Flavour::Postgres).retry_path();
    assert_eq!(path, RetryPath::Restart);
    retries_server_raised_40001(path, "retry_pg");
}

#[test]
fn retry_cockroach_savepoint_protocol_rides_out_server_raised_40001() {
    // PostgreSQL understands SAVEPOINT cockroach_restart / ROLLBACK TO / RELEASE too,
    // so the CockroachDB protocol runs for real here: every attempt in one transaction.
    let txids = retries_server_raised_40001(RetryPath::Savepoint, "retry_crdb");
    assert!(txids.windows(2).all(|w| w[0] == w[1]), "{txids:?}");
}

#[test]
fn retry_cockroach_before_26_3_restarts_the_whole_transaction() {
    // The stand-in's version (23.2.4) has every savepoint-rollback bug: each attempt runs
    // in a transaction of its own, never after a ROLLBACK TO SAVEPOINT.
    let server = Server::from_version(chunkload::cluster::COCKROACH_VERSION);
    assert_eq!(server.flavour, Flavour::Cockroach);
    assert_eq!(server.retry_path(), RetryPath::Restart);
    let txids = retries_server_raised_40001(server.retry_path(), "retry_crdb_restart");
    let mut distinct = txids.clone();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        4,
        "a new transaction per attempt: {txids:?}"
    );
}

#[test]
fn retry_gives_up_at_the_attempt_cap_with_count_and_server_message() {
    for path in [RetryPath::Restart, RetryPath::Savepoint] {
        let url = fresh_db("retry_cap");
        flaky_table(&url, 5);
        let mut c = client(&url);
        let mut runs = 0;
        let err = run_transaction(&mut c, path, &fast_policy(3), |tx| {
            runs += 1;
            tx.execute("INSERT INTO t VALUES (1)", &[])?;
            Ok(())
        })
        .expect_err("5 failures > 3 attempts");
        assert!(
            matches!(err.kind(), ErrorKind::RetriesExhausted { attempts: 3, .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("3 attempts"), "{msg}");
        assert!(msg.contains("RETRY_SERIALIZABLE"), "{msg}");
        assert!(msg.contains("40001"), "{msg}");
        assert_eq!(runs, 3);
        assert_eq!(count(&url, "t"), 0, "nothing committed");
    }
}

#[test]
fn retry_non_retryable_error_comes_back_at_once() {
    let url = fresh_db("retry_fail");
    client(&url)
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);")
        .unwrap();
    let mut c = client(&url);
    let mut runs = 0;
    let err = run_transaction(&mut c, RetryPath::Restart, &fast_policy(10), |tx| {
        runs += 1;
        tx.execute("INSERT INTO t VALUES (2)", &[])?;
        tx.execute("INSERT INTO t VALUES (1)", &[])?;
        Ok(())
    })
    .unwrap_err();
    assert_eq!(err.sqlstate(), Some("23505"));
    assert_eq!(runs, 1);
    assert_eq!(
        count(&url, "t"),
        1,
        "the failed transaction was rolled back"
    );
}

#[test]
fn retry_resolves_a_real_serialization_conflict() {
    let url = fresh_db("retry_ssi");
    client(&url)
        .batch_execute("CREATE TABLE t (who text, seen bigint)")
        .unwrap();
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|who| {
            let (url, barrier) = (url.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut c = client(&url);
                let done = run_transaction(&mut c, RetryPath::Restart, &fast_policy(10), |tx| {
                    tx.batch_execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")?;
                    let seen: i64 = tx.query_one("SELECT count(*) FROM t", &[])?.get(0);
                    if seen == 0 {
                        // Both read the empty table before either writes: write skew.
                        barrier.wait();
                    }
                    tx.execute("INSERT INTO t VALUES ($1, $2)", &[&who, &seen])?;
                    Ok(seen)
                })
                .expect("the helper resolves the conflict");
                (done.value, done.attempts)
            })
        })
        .collect();
    let results: Vec<(i64, u32)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let mut seen: Vec<i64> = results.iter().map(|r| r.0).collect();
    seen.sort();
    assert_eq!(
        seen,
        [0, 1],
        "serializable outcome: one saw the other's row"
    );
    assert!(
        results.iter().any(|r| r.1 >= 2),
        "one transaction was retried: {results:?}"
    );
    assert_eq!(count(&url, "t"), 2);
}

#[test]
fn retry_connection_lost_during_commit_is_commit_outcome_unknown() {
    use crate::proxy::Faults;
    let url = fresh_db("retry_ambiguous");
    client(&url)
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY)")
        .unwrap();
    let proxy = crate::support::proxy(Faults {
        cut_after_commit_every: Some(1),
        ..Faults::default()
    });
    let via_proxy = crate::support::via(&url, &proxy);
    let mut c = client(&via_proxy);
    let mut runs = 0;
    let err = run_transaction(&mut c, RetryPath::Restart, &fast_policy(10), |tx| {
        runs += 1;
        tx.execute("INSERT INTO t VALUES (1)", &[])?;
        Ok(())
    })
    .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::CommitUnknown { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("commit outcome unknown"), "{err}");
    assert_eq!(runs, 1, "an ambiguous commit is never retried blindly");
    assert_eq!(count(&url, "t"), 1, "here the server did commit");
}
