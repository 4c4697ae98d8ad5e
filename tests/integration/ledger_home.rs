//! Where the bookkeeping lives without `--ledger-schema` (issue 22, point 7): an
//! application role of PostgreSQL 15+ (no CREATE on the database, its own schema) keeps it
//! beside its table, is told so, and reruns, `status` and `forget` find it there, on
//! PostgreSQL and through the CockroachDB stand-in; a role that may create nowhere gets the
//! DDL; a read-only database says it is read-only.

use crate::cli::{chunkload, chunkload_in_order, stderr};
use crate::ledger_schema::{ledger_tables, numbers_csv};
use crate::support::{as_role, client, count, fresh_cockroach_db, fresh_db, load_args, login_role};

/// An application role: owns its schema `app` and the table in it, nothing else.
const APP: &str = "ledger_home_app";
/// A role that may write a table of schema `app` and create nothing anywhere.
const NOWHERE: &str = "ledger_home_nowhere";

fn roles() {
    login_role(APP);
    login_role(NOWHERE);
}

/// The ledger's four tables, all in `schema`.
fn all_in(schema: &str) -> Vec<(String, String)> {
    [
        "chunkload_deferred",
        "chunkload_ledger",
        "chunkload_loads",
        "chunkload_rejects",
    ]
    .iter()
    .map(|t| (schema.to_string(), t.to_string()))
    .collect()
}

/// `status --all --json` as `url`'s role, without `--ledger-schema`.
fn status(url: &str) -> serde_json::Value {
    let o = chunkload(&["status", "--all", "--json", "--url", url]);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Schema `app` owned by [`APP`], with table `app.t` of its own: where `\copy` works. The
/// role has no CREATE on the database (PostgreSQL 15's default), checked here.
fn app_database(url: &str) -> String {
    roles();
    client(url)
        .batch_execute(&format!(
            "CREATE SCHEMA app AUTHORIZATION {APP};
             CREATE TABLE app.t (id int8, n int8);
             ALTER TABLE app.t OWNER TO {APP};"
        ))
        .unwrap();
    let role_url = as_role(url, APP);
    let (create_db, insert): (bool, bool) = client(&role_url)
        .query_one(
            "SELECT has_database_privilege(current_database(), 'CREATE'),
                    has_table_privilege('app.t', 'INSERT')",
            &[],
        )
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!(
        (create_db, insert),
        (false, true),
        "a PostgreSQL 15 app role"
    );
    role_url
}

/// The app role loads (stopped by a bad row), is told where the ledger went, finds it in
/// `status`, resumes exactly, and `forget` removes it; `url` is the administrator's (direct
/// or through the stand-in), `role_url` the role's.
fn app_role_loads_beside_its_table(url: &str, role_url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = numbers_csv(dir.path(), 3_000, &[2_001]);
    let load = |extra: &[&str]| {
        let small = ["--chunk-bytes", "4K", "--workers", "1"];
        chunkload_in_order(&load_args(&file, "app.t", role_url, &[&small, extra]))
    };
    let told = r#"keeping the bookkeeping in schema "app" beside the table"#;
    let o = load(&[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "stops at the bad row: {err}");
    assert_eq!(err.matches(told).count(), 1, "said once: {err}");
    assert!(
        err.contains(&format!(
            r#"not in schema "chunkload", which does not exist, and role "{APP}" lacks the CREATE privilege on database"#
        )),
        "{err}"
    );
    let committed = count(url, "app.t");
    assert!(committed > 0 && committed < 2_000, "{committed}");
    assert_eq!(ledger_tables(url), all_in("app"), "nothing elsewhere");
    // status finds it without --ledger-schema.
    let loads = status(role_url);
    assert_eq!(loads.as_array().unwrap().len(), 1, "{loads}");
    assert_eq!(loads[0]["rows"].as_i64(), Some(committed), "{loads}");
    assert_eq!(loads[0]["table"], "\"app\".\"t\"", "{loads}");
    // The rerun finds the ledger there and resumes: nothing twice.
    let o = load(&["--max-errors", "1"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "one row rejected: {err}");
    assert!(err.contains(told), "{err}");
    assert!(
        err.contains(&format!("{committed} rows in")),
        "resumed: {err}"
    );
    assert_eq!(count(url, "app.t"), 2_999);
    let distinct: i64 = client(url)
        .query_one("SELECT count(DISTINCT id) FROM app.t", &[])
        .unwrap()
        .get(0);
    assert_eq!(distinct, 2_999, "no duplicate");
    let loads = status(role_url);
    assert_eq!(loads[0]["finished"], true, "{loads}");
    assert_eq!(loads[0]["rows"].as_i64(), Some(2_999), "{loads}");
    // forget finds it there too.
    let o = chunkload(&["forget", "--finished", "--url", role_url]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("forgot "));
    assert_eq!(status(role_url), serde_json::json!([]));
    assert_eq!(ledger_tables(url), all_in("app"));
}

#[test]
fn ledger_home_app_role_keeps_it_beside_its_table_and_finds_it_again() {
    let url = fresh_db("ledger_home_app");
    let role_url = app_database(&url);
    app_role_loads_beside_its_table(&url, &role_url);
}

#[test]
fn ledger_home_app_role_through_the_cockroach_standin() {
    let url = fresh_cockroach_db("ledger_home_app");
    let role_url = app_database(&url);
    app_role_loads_beside_its_table(&url, &role_url);
}

/// A role that may write the table and create nothing: the DDL, exit 2, saying the table's
/// schema was no way out either; `status` and `forget` find nothing and create nothing.
#[test]
fn ledger_home_role_that_may_create_nowhere_gets_the_ddl() {
    roles();
    let url = fresh_db("ledger_home_nowhere");
    client(&url)
        .batch_execute(&format!(
            "CREATE SCHEMA app;
             GRANT USAGE ON SCHEMA app TO {NOWHERE};
             CREATE TABLE app.t (id int8, n int8);
             GRANT SELECT, INSERT ON app.t TO {NOWHERE};"
        ))
        .unwrap();
    let role_url = as_role(&url, NOWHERE);
    let dir = tempfile::tempdir().unwrap();
    let file = numbers_csv(dir.path(), 100, &[]);
    let o = chunkload(&load_args(&file, "app.t", &role_url, &[&["--json"]]));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["error"]["kind"], "privilege", "{json}");
    for part in [
        &format!("role \"{NOWHERE}\" lacks the CREATE privilege on database"),
        "and it may not keep it beside the table in schema \"app\" either (it lacks the CREATE \
         privilege there)",
        "CREATE SCHEMA IF NOT EXISTS \"chunkload\";",
        &format!("GRANT USAGE ON SCHEMA \"chunkload\" TO \"{NOWHERE}\";"),
    ] {
        assert!(err.contains(part), "{part} missing from: {err}");
    }
    assert_eq!(count(&url, "app.t"), 0, "nothing loaded");
    assert_eq!(ledger_tables(&url), vec![], "nothing created");
    assert_eq!(status(&role_url), serde_json::json!([]));
    let o = chunkload(&["forget", "--finished", "--url", &role_url]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("no load matched"), "{}", stderr(&o));
    assert_eq!(ledger_tables(&url), vec![], "forget created nothing");
}

/// `default_transaction_read_only` on the database: a load and a forget say the database is
/// read-only and that chunkload must write its bookkeeping, exit 2, not the server's
/// `cannot execute … in a read-only transaction`.
#[test]
fn ledger_home_read_only_database_says_so() {
    let url = fresh_db("ledger_home_read_only");
    client(&url)
        .batch_execute("CREATE TABLE t (id int8, n int8)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = numbers_csv(dir.path(), 100, &[]);
    let load = |extra: &[&str]| chunkload(&load_args(&file, "t", &url, &[&["--json"], extra]));
    // A first load, before the database turns read-only, leaves a ledger to forget.
    let o = load(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let db = url.rsplit('/').next().unwrap();
    client(&url)
        .batch_execute(&format!(
            "ALTER DATABASE \"{db}\" SET default_transaction_read_only = on"
        ))
        .unwrap();
    let read_only = |o: &std::process::Output| {
        let err = stderr(o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!("database \"{db}\" is read-only"))
                && err.contains("chunkload needs to write its bookkeeping"),
            "{err}"
        );
        assert!(!err.contains("cannot execute"), "{err}");
    };
    let o = load(&["--fresh"]);
    read_only(&o);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["error"]["kind"], "read_only", "{json}");
    assert_eq!(count(&url, "t"), 100, "nothing loaded");
    read_only(&chunkload(&["forget", "--finished", "--url", &url]));
    // status only reads: it still lists the load.
    assert_eq!(status(&url).as_array().unwrap().len(), 1);
}

/// A load begun beside the table stays there when the role may later create `chunkload`
/// (an administrator granted CREATE on the database): the rerun resumes from that ledger
/// instead of starting an empty one in `chunkload` and loading everything twice.
#[test]
fn ledger_home_a_load_begun_beside_the_table_stays_there() {
    let url = fresh_db("ledger_home_stays");
    let role_url = app_database(&url);
    let dir = tempfile::tempdir().unwrap();
    let file = numbers_csv(dir.path(), 3_000, &[2_001]);
    let load = |extra: &[&str]| {
        let small = ["--chunk-bytes", "4K", "--workers", "1"];
        chunkload_in_order(&load_args(&file, "app.t", &role_url, &[&small, extra]))
    };
    let o = load(&[]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let committed = count(&url, "app.t");
    let db = url.rsplit('/').next().unwrap();
    client(&url)
        .batch_execute(&format!("GRANT CREATE ON DATABASE \"{db}\" TO {APP}"))
        .unwrap();
    let o = load(&["--max-errors", "1"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "one row rejected: {err}");
    assert!(
        err.contains("began there: keeping the bookkeeping in schema \"app\""),
        "{err}"
    );
    assert!(
        err.contains(&format!("{committed} rows in")),
        "resumed: {err}"
    );
    assert_eq!(count(&url, "app.t"), 2_999, "nothing twice");
    assert_eq!(ledger_tables(&url), all_in("app"), "no second ledger");
    // A new load of that role now goes to chunkload, and status lists both ledgers.
    client(&url)
        .batch_execute("CREATE TABLE app.u (id int8, n int8)")
        .unwrap();
    client(&url)
        .batch_execute(&format!("ALTER TABLE app.u OWNER TO {APP}"))
        .unwrap();
    let o = chunkload(&load_args(
        &file,
        "app.u",
        &role_url,
        &[&["--max-errors", "1"]],
    ));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("keeping the bookkeeping"),
        "{}",
        stderr(&o)
    );
    let mut both = all_in("app");
    both.extend(all_in("chunkload"));
    assert_eq!(ledger_tables(&url), both);
    assert_eq!(status(&role_url).as_array().unwrap().len(), 2);
}
