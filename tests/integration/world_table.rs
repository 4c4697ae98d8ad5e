//! Issue 22, points 1 to 3: the table and the file changed between runs. A rerun whose
//! table was dropped and created again, truncated, emptied, or renamed with another created
//! under its name loads every row again and says so in one line before anything commits;
//! one whose table lost some rows stops and says how to go on. A failed `--create-table`
//! that committed nothing leaves no table and no load behind. A file fixed after a load
//! that committed nothing just loads; one that committed rows is refused with the lines
//! that are committed and the choices. On PostgreSQL (as a role without superuser) and on
//! the CockroachDB stand-in, rerun with other chunk, method and worker options.

use crate::cli::{chunkload_in_order as chunkload, stderr};
use crate::support::{client, count, fresh_cockroach_db, fresh_db, summary};
use std::path::Path;
use std::process::Output;

const ROWS: i64 = 200;
/// The id whose value the table refuses (`x` for an int8) in [`bad_file`].
const BAD: i64 = 150;

/// `id,v` rows `1..=ROWS`, the id of [`BAD`] spelled `x`.
fn bad_file(dir: &Path) -> String {
    let path = dir.join("drift.csv");
    let mut s = String::from("id,v\n");
    for i in 1..=ROWS {
        match i {
            BAD => s.push_str("x,bad\n"),
            _ => s.push_str(&format!("{i},row-{i}\n")),
        }
    }
    std::fs::write(&path, s).unwrap();
    path.display().to_string()
}

/// A role without superuser that may create the ledger's schema; on the stand-in, the
/// superuser (the stand-in's database is set up by it).
const ROLE: &str = "world_loader";

fn role() {
    crate::support::login_role(ROLE);
}

/// Where a test loads: PostgreSQL as [`ROLE`] (the URL it loads through, and the
/// superuser's for set-up), or the CockroachDB stand-in.
struct Db {
    url: String,
    admin: String,
}

impl Db {
    fn postgres(test: &str) -> Db {
        role();
        let admin = fresh_db(test);
        let db = admin.rsplit('/').next().unwrap().to_string();
        client(&admin)
            .batch_execute(&format!(
                "GRANT CREATE ON DATABASE \"{db}\" TO {ROLE};
                 GRANT CREATE, USAGE ON SCHEMA public TO {ROLE};"
            ))
            .unwrap();
        let url = crate::support::as_role(&admin, ROLE);
        assert_ne!(url, admin);
        Db { url, admin }
    }

    fn cockroach(test: &str) -> Db {
        let url = fresh_cockroach_db(test);
        Db {
            admin: url.clone(),
            url,
        }
    }

    /// Runs `sql` as the user who owns the table would (the role on PostgreSQL).
    fn user_sql(&self, sql: &str) {
        let mut c = client(&self.admin);
        if self.url != self.admin {
            c.batch_execute(&format!("SET ROLE {ROLE}")).unwrap();
        }
        c.batch_execute(sql).unwrap();
    }

    fn load(&self, file: &str, extra: &[&str]) -> Output {
        let mut args = vec!["load", file, "--table", "t", "--url", &self.url, "--json"];
        args.extend_from_slice(extra);
        chunkload(&args)
    }

    /// `(rows, distinct ids, sum of ids)` of `table`.
    fn held(&self, table: &str) -> (i64, i64, i64) {
        let row = client(&self.admin)
            .query_one(
                &format!(
                    "SELECT count(*), count(DISTINCT id), coalesce(sum(id), 0)::int8 FROM {table}"
                ),
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    }

    /// Every good row of [`bad_file`] once, nothing else.
    fn assert_every_good_row_once(&self, table: &str) {
        let good = ROWS - 1;
        assert_eq!(self.held(table), (good, good, ROWS * (ROWS + 1) / 2 - BAD));
    }
}

/// The first run: stops at [`BAD`] with the chunks before it committed (exit 3).
fn partial_load(db: &Db, file: &str) -> i64 {
    let o = db.load(file, &["--chunk-rows", "10", "--workers", "1"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let committed = count(&db.admin, "t");
    assert!(committed > 0 && committed < BAD, "{committed}");
    committed
}

/// What the user does to the table between the runs.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Change {
    DropAndCreate,
    Truncate,
    DeleteAll,
    DeleteSome,
    RenameAndCreate,
}

const CREATE: &str = "CREATE TABLE t (id int8, v text)";

fn change(db: &Db, change: Change) {
    match change {
        Change::DropAndCreate => db.user_sql(&format!("DROP TABLE t; {CREATE}")),
        Change::Truncate => db.user_sql("TRUNCATE t"),
        Change::DeleteAll => db.user_sql("DELETE FROM t"),
        Change::DeleteSome => db.user_sql("DELETE FROM t WHERE id <= 5"),
        Change::RenameAndCreate => db.user_sql(&format!("ALTER TABLE t RENAME TO t_old; {CREATE}")),
    }
}

/// Rerun options other than the first run's.
const OTHER: &[&str] = &["--max-errors", "5", "--chunk-rows", "7", "--workers", "2"];

fn table_changed_since_a_partial_load(db: &Db, what: Change) {
    db.user_sql(CREATE);
    let dir = tempfile::tempdir().unwrap();
    let file = bad_file(dir.path());
    let committed = partial_load(db, &file);
    change(db, what);
    let before = count(&db.admin, "t");
    let o = db.load(&file, OTHER);
    let err = stderr(&o);
    if what == Change::DeleteSome {
        // Which rows went is unknown: stop before anything commits, and say how to go on.
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!("holds {before} rows, fewer than the {committed}"))
                && err.contains("--fresh --truncate"),
            "{err}"
        );
        assert_eq!(count(&db.admin, "t"), before, "nothing loaded");
        // As it says: --fresh --truncate empties the table and loads every row.
        let mut again = vec!["--fresh", "--truncate"];
        again.extend_from_slice(OTHER);
        let o = db.load(&file, &again);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        db.assert_every_good_row_once("t");
        return;
    }
    // One line, before anything commits, says the rows are loaded again from the start.
    assert_eq!(o.status.code(), Some(0), "{what:?}: {err}");
    let said: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("loading every row again from the start"))
        .collect();
    assert_eq!(said.len(), 1, "{what:?}: {err}");
    assert!(said[0].contains(&committed.to_string()), "{}", said[0]);
    assert!(!err.contains("resuming"), "{err}");
    assert_eq!(summary(&o)["rows"], ROWS - 1, "{what:?}: {err}");
    db.assert_every_good_row_once("t");
    if what == Change::RenameAndCreate {
        assert_eq!(
            count(&db.admin, "t_old"),
            committed,
            "the renamed table keeps its rows"
        );
    }
    // Finished now: a rerun does nothing.
    let o = db.load(&file, OTHER);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("already loaded completely"),
        "{}",
        stderr(&o)
    );
    db.assert_every_good_row_once("t");
}

#[test]
fn world_table_dropped_and_created_again_reloads_from_the_start() {
    table_changed_since_a_partial_load(&Db::postgres("wt_drop"), Change::DropAndCreate);
    table_changed_since_a_partial_load(&Db::cockroach("wt_drop"), Change::DropAndCreate);
}

#[test]
fn world_table_truncated_reloads_from_the_start() {
    table_changed_since_a_partial_load(&Db::postgres("wt_truncate"), Change::Truncate);
    table_changed_since_a_partial_load(&Db::cockroach("wt_truncate"), Change::Truncate);
}

#[test]
fn world_table_emptied_by_delete_reloads_from_the_start() {
    table_changed_since_a_partial_load(&Db::postgres("wt_delete_all"), Change::DeleteAll);
    table_changed_since_a_partial_load(&Db::cockroach("wt_delete_all"), Change::DeleteAll);
}

#[test]
fn world_table_with_rows_deleted_by_hand_stops_and_says_how() {
    table_changed_since_a_partial_load(&Db::postgres("wt_delete_some"), Change::DeleteSome);
    table_changed_since_a_partial_load(&Db::cockroach("wt_delete_some"), Change::DeleteSome);
}

#[test]
fn world_table_renamed_and_another_created_reloads_into_the_new_one() {
    table_changed_since_a_partial_load(&Db::postgres("wt_rename"), Change::RenameAndCreate);
    table_changed_since_a_partial_load(&Db::cockroach("wt_rename"), Change::RenameAndCreate);
}

/// A ledger of an earlier build (no table identity) is upgraded, and its load, whose
/// table was dropped and created again, still reloads: the emptied table shows it.
fn old_ledger_without_identity(db: &Db) {
    db.user_sql(CREATE);
    let dir = tempfile::tempdir().unwrap();
    let file = bad_file(dir.path());
    partial_load(db, &file);
    client(&db.admin)
        .batch_execute("ALTER TABLE chunkload.chunkload_loads DROP COLUMN table_oid")
        .unwrap();
    change(db, Change::DropAndCreate);
    let o = db.load(&file, OTHER);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("loading every row again from the start"),
        "{err}"
    );
    db.assert_every_good_row_once("t");
    let oids: i64 = client(&db.admin)
        .query_one(
            "SELECT count(table_oid) FROM chunkload.chunkload_loads",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(oids, 1, "the upgraded row records the table");
}

#[test]
fn world_table_old_ledger_without_identity_is_upgraded_and_reloads() {
    old_ledger_without_identity(&Db::postgres("wt_old_ledger"));
    old_ledger_without_identity(&Db::cockroach("wt_old_ledger"));
}

/// `status --all --json` of `url`: the loads.
fn loads(url: &str) -> Vec<serde_json::Value> {
    let o = crate::cli::chunkload(&["status", "--all", "--json", "--url", url]);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice::<serde_json::Value>(&o.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn table_exists(db: &Db, table: &str) -> bool {
    client(&db.admin)
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .unwrap()
        .get(0)
}

/// Point 2: `--create-table` that fails before any row commits leaves no table and no
/// load; fixed, the same command creates and loads. One that committed rows keeps the
/// table, and its rerun continues the load.
fn create_table_failure(db: &Db) {
    let dir = tempfile::tempdir().unwrap();
    let file = bad_file(dir.path());
    // Types inferred from the first 20 rows: int8, which `x` is not.
    let create = ["--create-table", "--infer-rows", "20"];
    let o = db.load(&file, &create);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!table_exists(db, "t"), "{err}");
    assert!(err.contains("dropped"), "{err}");
    assert_eq!(loads(&db.url), Vec::<serde_json::Value>::new(), "{err}");
    // Rows commit before the bad one: the table stays, the rerun continues the load.
    let mut chunked = create.to_vec();
    chunked.extend_from_slice(&["--chunk-rows", "10", "--workers", "1"]);
    let o = db.load(&file, &chunked);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let committed = count(&db.admin, "t");
    assert!(committed > 0, "{}", stderr(&o));
    let mut rerun = chunked.clone();
    rerun.extend_from_slice(&["--max-errors", "5"]);
    let o = db.load(&file, &rerun);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("resuming"), "{err}");
    assert_eq!(summary(&o)["rows"], ROWS - 1 - committed, "{err}");
    db.assert_every_good_row_once("t");
    // A load (of another file) that fails at once into a table it created: the table
    // goes, and the file, fixed, loads under the same command (nothing refused as changed).
    db.user_sql("DROP TABLE t");
    let other = dir.path().join("other.csv");
    std::fs::copy(&file, &other).unwrap();
    let other = other.display().to_string();
    let o = db.load(&other, &create);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!table_exists(db, "t"));
    let fixed = std::fs::read_to_string(&other)
        .unwrap()
        .replace("x,bad", &format!("{BAD},row-{BAD}"));
    std::fs::write(&other, fixed).unwrap();
    let o = db.load(&other, &create);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(db.held("t"), (ROWS, ROWS, ROWS * (ROWS + 1) / 2));
}

#[test]
fn world_create_table_that_commits_nothing_leaves_nothing_behind() {
    create_table_failure(&Db::postgres("wt_create"));
    create_table_failure(&Db::cockroach("wt_create"));
}

/// Point 3: a file fixed after a load that committed nothing just loads; after one that
/// committed rows, the refusal names the committed lines and the choices.
fn fixed_file(db: &Db) {
    db.user_sql(CREATE);
    let dir = tempfile::tempdir().unwrap();
    let file = bad_file(dir.path());
    let fix = || {
        let text = std::fs::read_to_string(&file).unwrap();
        let fixed = text.replace("x,bad", &format!("{BAD},row-{BAD}"));
        std::fs::write(&file, fixed).unwrap();
    };
    // Nothing commits: one chunk, refused whole.
    let o = db.load(&file, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(count(&db.admin, "t"), 0);
    fix();
    let o = db.load(&file, &["--workers", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(db.held("t"), (ROWS, ROWS, ROWS * (ROWS + 1) / 2));
    // Rows commit, then the file is fixed.
    db.user_sql("TRUNCATE t");
    let file2 = dir.path().join("again.csv");
    std::fs::copy(bad_file(dir.path()), &file2).unwrap();
    let file2 = file2.display().to_string();
    let committed = partial_load(db, &file2);
    let text = std::fs::read_to_string(&file2).unwrap();
    std::fs::write(&file2, text.replace("x,bad", &format!("{BAD},row-{BAD}"))).unwrap();
    let o = db.load(&file2, OTHER);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("the input changed since load")
            && err.contains(&format!("{committed} rows"))
            && err.contains(&format!("lines 2-{} of {file2}", committed + 1))
            && err.contains("--fresh --truncate")
            && err.contains("Restore the input as it was"),
        "{err}"
    );
    assert_eq!(count(&db.admin, "t"), committed, "nothing loaded");
    let mut fresh = vec!["--fresh", "--truncate"];
    fresh.extend_from_slice(OTHER);
    let o = db.load(&file2, &fresh);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(db.held("t"), (ROWS, ROWS, ROWS * (ROWS + 1) / 2));
}

#[test]
fn world_file_fixed_after_a_failed_load_loads_or_names_the_committed_lines() {
    fixed_file(&Db::postgres("wt_fixed"));
    fixed_file(&Db::cockroach("wt_fixed"));
}
