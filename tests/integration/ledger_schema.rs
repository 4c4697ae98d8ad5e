//! Where the ledger lives: `--ledger-schema` on every command that uses it, and a role
//! that may not create the schema or its tables (one error naming the privilege, with the
//! DDL an administrator runs, after which the same role loads).

use crate::cli::{chunkload, chunkload_in_order, stderr};
use crate::support::{as_role, client, count, fresh_db, load_args, login_role};
use std::path::Path;

/// The bookkeeping tables of a database: (schema, table).
pub fn ledger_tables(url: &str) -> Vec<(String, String)> {
    client(url)
        .query(
            "SELECT table_schema::text, table_name::text FROM information_schema.tables
             WHERE table_name LIKE 'chunkload%' ORDER BY 1, 2",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// `id,n` rows 1..=rows; the values of `bad` lines are not numbers.
pub fn numbers_csv(dir: &Path, rows: u64, bad: &[u64]) -> std::path::PathBuf {
    let mut csv = String::from("id,n\n");
    for i in 1..=rows {
        let line = i + 1;
        match bad.contains(&line) {
            true => csv.push_str(&format!("{i},not a number\n")),
            false => csv.push_str(&format!("{i},{i}\n")),
        }
    }
    let path = dir.join("numbers.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

#[test]
fn ledger_schema_option_keeps_every_table_there_and_status_resume_forget_use_it() {
    let url = fresh_db("ledger_schema_opt");
    client(&url)
        .batch_execute("CREATE TABLE t (id int8, n int8)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = numbers_csv(dir.path(), 3_000, &[2_001]);
    let load = |extra: &[&str]| {
        let small = [
            "--chunk-bytes",
            "4K",
            "--workers",
            "1",
            "--ledger-schema",
            "other",
        ];
        // One encoder thread: the chunk after the bad row cannot commit before it.
        chunkload_in_order(&load_args(&file, "t", &url, &[&small, extra]))
    };
    // Stops at the bad row with the chunks before it committed.
    let o = load(&[]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let committed = count(&url, "t");
    assert!(committed > 0 && committed < 2_000, "{committed}");
    let in_other = vec![
        ("other".to_string(), "chunkload_deferred".to_string()),
        ("other".to_string(), "chunkload_ledger".to_string()),
        ("other".to_string(), "chunkload_loads".to_string()),
        ("other".to_string(), "chunkload_rejects".to_string()),
    ];
    assert_eq!(
        ledger_tables(&url),
        in_other,
        "nothing in chunkload or public"
    );
    // status sees the load in that schema only.
    let status = |schema: &str| {
        let o = chunkload(&["status", "--url", &url, "--json", "--ledger-schema", schema]);
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let loads = status("other");
    assert_eq!(loads.as_array().unwrap().len(), 1, "{loads}");
    assert_eq!(loads[0]["rows"].as_i64(), Some(committed), "{loads}");
    assert_eq!(status("chunkload"), serde_json::json!([]));
    // A name that needs quoting is taken literally (and has no ledger yet).
    assert_eq!(status("Mixed \"q\" name"), serde_json::json!([]));
    // The rerun resumes from that schema's ledger: nothing twice.
    let o = load(&["--max-errors", "1"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "one row rejected: {err}");
    assert!(err.contains(&format!("{committed} rows")), "{err}");
    assert_eq!(count(&url, "t"), 2_999);
    let distinct: i64 = client(&url)
        .query_one("SELECT count(DISTINCT id) FROM t", &[])
        .unwrap()
        .get(0);
    assert_eq!(distinct, 2_999, "no duplicate");
    assert_eq!(ledger_tables(&url), in_other);
    // forget works on that schema too.
    let o = chunkload(&[
        "forget",
        "--finished",
        "--url",
        &url,
        "--ledger-schema",
        "other",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("forgot "));
    assert_eq!(status("other"), serde_json::json!([]));
}

/// A role that may log in and write the target table, and nothing else.
const ROLE: &str = "ledger_noddl";

fn unprivileged_role() {
    login_role(ROLE);
}

/// The DDL the error printed: the lines after the one that announces it.
fn printed_ddl(err: &str) -> String {
    let at = err
        .find("needs no CREATE privilege:\n")
        .unwrap_or_else(|| panic!("no DDL in: {err}"));
    err[at..].split_once('\n').unwrap().1.to_string()
}

#[test]
fn ledger_without_create_privilege_names_it_prints_the_ddl_and_loads_once_it_ran() {
    unprivileged_role();
    let url = fresh_db("ledger_noddl");
    client(&url)
        .batch_execute(&format!(
            "CREATE TABLE t (id int8, n int8);
             GRANT SELECT, INSERT ON t TO {ROLE};
             CREATE SCHEMA other2;
             GRANT USAGE ON SCHEMA other2 TO {ROLE};"
        ))
        .unwrap();
    let as_role = as_role(&url, ROLE);
    let dir = tempfile::tempdir().unwrap();
    let file = numbers_csv(dir.path(), 500, &[]);
    let load = |extra: &[&str]| chunkload(&load_args(&file, "t", &as_role, &[&["--json"], extra]));
    // No schema, no CREATE on the database.
    let o = load(&[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "role \"{ROLE}\" lacks the CREATE privilege on database"
        )),
        "{err}"
    );
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["error"]["kind"], "privilege", "{json}");
    let ddl = printed_ddl(&err);
    for part in [
        "CREATE SCHEMA IF NOT EXISTS \"chunkload\";",
        "CREATE TABLE IF NOT EXISTS \"chunkload\".\"chunkload_loads\"",
        "CREATE TABLE IF NOT EXISTS \"chunkload\".\"chunkload_ledger\"",
        "CREATE TABLE IF NOT EXISTS \"chunkload\".\"chunkload_rejects\"",
        &format!("GRANT USAGE ON SCHEMA \"chunkload\" TO \"{ROLE}\";"),
        "GRANT SELECT, INSERT, UPDATE, DELETE ON \"chunkload\".\"chunkload_loads\"",
    ] {
        assert!(ddl.contains(part), "{part} missing from: {ddl}");
    }
    assert_eq!(count(&url, "t"), 0, "nothing loaded");
    assert_eq!(ledger_tables(&url), vec![], "nothing created");
    // A schema the role may use but not create tables in.
    let o = load(&["--ledger-schema", "other2"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "role \"{ROLE}\" lacks the CREATE privilege on schema \"other2\""
        )),
        "{err}"
    );
    assert!(
        printed_ddl(&err).contains("CREATE TABLE IF NOT EXISTS \"other2\".\"chunkload_ledger\""),
        "{err}"
    );
    assert_eq!(count(&url, "t"), 0, "nothing loaded");
    // An administrator runs the printed DDL; then the role loads, resumes and lists.
    client(&url).batch_execute(&ddl).unwrap();
    let o = load(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(count(&url, "t"), 500);
    let o = load(&[]);
    assert!(
        stderr(&o).contains("already loaded completely"),
        "{}",
        stderr(&o)
    );
    assert_eq!(count(&url, "t"), 500);
    let o = chunkload(&["status", "--all", "--json", "--url", &as_role]);
    assert!(o.status.success(), "{}", stderr(&o));
    let loads: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(loads[0]["rows"].as_i64(), Some(500), "{loads}");
}

/// A ledger an earlier build made lacks the columns added since (`end_line`, `end_record`,
/// `owner`, `heartbeat`, `truncate_state`): a load adds them, and rows of that build (NULL
/// there) resume by reading, not seeking.
#[test]
fn ledger_of_an_earlier_build_is_upgraded_and_its_rows_resume_by_reading() {
    let url = fresh_db("ledger_upgrade");
    let mut c = client(&url);
    c.batch_execute("CREATE TABLE t (id int8, n int8)").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = numbers_csv(dir.path(), 3_000, &[2_001]);
    let load = |max: &str| {
        let small = [
            "--chunk-bytes",
            "4K",
            "--workers",
            "1",
            "--progress-lines",
            "60",
        ];
        let args = load_args(&file, "t", &url, &[&small, &["--max-errors", max]]);
        chunkload_in_order(&args)
    };
    let o = load("0");
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let committed = count(&url, "t");
    assert!(committed > 0 && committed < 3_000, "{committed}");
    // What the earlier build left: no such columns, so its rows have no line/record ends.
    c.batch_execute(
        "ALTER TABLE chunkload.chunkload_ledger DROP COLUMN end_line, DROP COLUMN end_record;
         ALTER TABLE chunkload.chunkload_loads DROP COLUMN owner, DROP COLUMN heartbeat,
           DROP COLUMN truncate_state;
         DROP TABLE chunkload.chunkload_deferred",
    )
    .unwrap();
    let o = load("5");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "one row rejected: {err}");
    assert!(
        !err.contains("resuming at byte"),
        "no seek without ends: {err}"
    );
    assert_eq!(count(&url, "t"), 2_999, "{err}");
    let columns: i64 = c
        .query_one(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'chunkload'
               AND column_name IN ('end_line', 'end_record', 'owner', 'heartbeat',
                                   'truncate_state')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(columns, 5, "the columns are back");
    // A third run of the finished load: nothing to do, nothing twice.
    let o = load("5");
    assert!(
        stderr(&o).contains("already loaded completely"),
        "{}",
        stderr(&o)
    );
    assert_eq!(count(&url, "t"), 2_999);
}
