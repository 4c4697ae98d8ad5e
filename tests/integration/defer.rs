//! `--defer-indexes`: keys and indexes dropped for the load come back identical; a kill
//! after the drop, or duplicate keys at rebuild time, leave a ledger that a rerun finishes.

use crate::cli::{chunkload, stderr};
use crate::support::{client, count, fresh_db, load_args};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A table with every kind of deferred object: a uuid primary key, a unique constraint, a
/// unique and a plain index, a partial index, and a foreign key of another table to it.
const SCHEMA: &str = "
CREATE TABLE people (
    id uuid PRIMARY KEY,
    email text NOT NULL CONSTRAINT people_email_key UNIQUE,
    n int8 NOT NULL,
    note text
);
CREATE UNIQUE INDEX people_n_idx ON people (n);
CREATE INDEX people_note_idx ON people (lower(note)) WHERE note IS NOT NULL;
CREATE TABLE pets (name text, owner uuid REFERENCES people (id));
CREATE TABLE reference (LIKE people);";

/// Definitions of every index and constraint of the database's public schema.
fn definitions(url: &str) -> Vec<String> {
    let mut c = client(url);
    let mut defs: Vec<String> = c
        .query(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    defs.extend(
        c.query(
            "SELECT conname || ' ON ' || conrelid::regclass::text || ': ' || pg_get_constraintdef(oid)
             FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0)),
    );
    defs
}

/// `rows` people; `dup` makes the record on line `dup.1` repeat the id of line `dup.0`.
fn people_file(dir: &Path, rows: u64, dup: Option<(u64, u64)>) -> String {
    let id = |i: u64| format!("{:08x}-0000-4000-8000-{:012x}", i * 7919, i);
    let mut s = String::from("id,email,n,note\n");
    for i in 1..=rows {
        let line = i + 1;
        let who = match dup {
            Some((first, again)) if line == again => first - 1,
            _ => i,
        };
        let note = if i % 3 == 0 {
            String::new()
        } else {
            format!("Note {i}")
        };
        s.push_str(&format!("{},p{i}@example.org,{i},{note}\n", id(who)));
    }
    let path = dir.join("people.csv");
    std::fs::write(&path, s).unwrap();
    path.display().to_string()
}

fn setup(test: &str, file: &str) -> String {
    let url = fresh_db(test);
    let mut c = client(&url);
    c.batch_execute(SCHEMA).unwrap();
    let mut w = c
        .copy_in("COPY reference FROM STDIN (FORMAT csv, HEADER)")
        .unwrap();
    std::io::Write::write_all(&mut w, &std::fs::read(file).unwrap()).unwrap();
    w.finish().unwrap();
    url
}

fn assert_same_rows(url: &str, rows: i64) {
    let q = "SELECT (SELECT count(*) FROM (TABLE people EXCEPT ALL TABLE reference) a)
                  + (SELECT count(*) FROM (TABLE reference EXCEPT ALL TABLE people) b)";
    let diff: i64 = client(url).query_one(q, &[]).unwrap().get(0);
    assert_eq!((count(url, "people"), diff), (rows, 0));
}

fn load(url: &str, file: &str, extra: &[&str]) -> std::process::Output {
    let deferred = ["--defer-indexes", "--chunk-rows", "50"];
    chunkload(&load_args(
        Path::new(file),
        "people",
        url,
        &[&deferred, extra],
    ))
}

#[test]
fn defer_indexes_come_back_identical_and_the_rows_exact() {
    let dir = tempfile::tempdir().unwrap();
    let file = people_file(dir.path(), 500, None);
    let url = setup("defer_identical", &file);
    let before = definitions(&url);
    assert!(before.len() >= 7, "{before:?}");
    let o = load(&url, &file, &["--workers", "3"]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("--defer-indexes: dropped 2 constraints, 2 indexes, 1 foreign key"),
        "{err}"
    );
    assert!(
        err.contains("rebuilt 2 constraints, 2 indexes, 1 foreign key"),
        "{err}"
    );
    assert_eq!(definitions(&url), before);
    assert_same_rows(&url, 500);
    let pending: i64 = client(&url)
        .query_one(
            "SELECT count(*) FROM chunkload.chunkload_deferred WHERE NOT rebuilt",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(pending, 0);
}

#[test]
fn defer_indexes_killed_after_the_drop_rerun_finishes_with_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let file = people_file(dir.path(), 2000, None);
    let url = setup("defer_killed", &file);
    let before = definitions(&url);
    // Every chunk naps, so the load is still running when it is killed.
    client(&url)
        .batch_execute(
            "CREATE FUNCTION nap() RETURNS trigger LANGUAGE plpgsql
               AS $$ BEGIN PERFORM pg_sleep(0.02); RETURN NULL; END $$;
             CREATE TRIGGER nap AFTER INSERT ON people FOR EACH STATEMENT EXECUTE FUNCTION nap();",
        )
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_chunkload"))
        .args([
            "load",
            &file,
            "--table",
            "people",
            "--url",
            &url,
            "--defer-indexes",
            "--chunk-rows",
            "10",
            "--workers",
            "1",
            "--quiet",
        ])
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(30);
    let mut c = client(&url);
    loop {
        assert!(Instant::now() < end, "the load never got going");
        assert!(child.try_wait().unwrap().is_none(), "the load ended early");
        let n: i64 = c
            .query_one("SELECT count(*) FROM people", &[])
            .unwrap()
            .get(0);
        if n >= 100 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let keys: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'people'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(keys, 0, "the indexes were dropped for the load");
    assert!(count(&url, "people") < 2000);
    c.batch_execute("DROP TRIGGER nap ON people").unwrap();
    // The rerun needs no --defer-indexes: the ledger says what is owed.
    let o = chunkload(&["load", &file, "--table", "people", "--url", &url]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("deferred indexes and constraints"), "{err}");
    assert_eq!(definitions(&url), before);
    assert_same_rows(&url, 2000);
}

#[test]
fn defer_indexes_duplicate_keys_are_named_with_lines_and_the_fixed_rerun_finishes() {
    let dir = tempfile::tempdir().unwrap();
    // Line 9 repeats the id of line 4.
    let file = people_file(dir.path(), 300, Some((4, 9)));
    let url = setup("defer_dup", &file);
    let before = definitions(&url);
    let o = load(&url, &file, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(4), "{err}");
    let key = "00005ccd-0000-4000-8000-000000000003";
    assert!(
        err.contains(&format!(
            "duplicate key (id)=({key}) in 2 rows, at {file}:4, {file}:9"
        )),
        "{err}"
    );
    assert!(err.contains("constraint people_pkey"), "{err}");
    assert!(err.contains("rerun the same command"), "{err}");
    assert!(
        err.contains(
            "ALTER TABLE \"public\".\"people\" ADD CONSTRAINT \"people_pkey\" PRIMARY KEY (id);"
        ),
        "{err}"
    );
    // Loaded, the other indexes rebuilt, the key (and the foreign key needing it) not.
    assert_same_rows(&url, 300);
    let now = definitions(&url);
    assert!(now.iter().any(|d| d.contains("people_n_idx")), "{now:?}");
    assert!(!now.iter().any(|d| d.contains("people_pkey")), "{now:?}");
    // Fix the row, rerun the same command: it finishes the rebuild.
    client(&url)
        .batch_execute("DELETE FROM people WHERE n = 8")
        .unwrap();
    let o = load(&url, &file, &[]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(definitions(&url), before);
    assert_eq!(count(&url, "people"), 299);
}

#[test]
fn defer_indexes_refuses_upsert_and_a_non_empty_table() {
    let dir = tempfile::tempdir().unwrap();
    let file = people_file(dir.path(), 20, None);
    let url = setup("defer_refuse", &file);
    let before = definitions(&url);
    let o = load(&url, &file, &["--method", "upsert"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--defer-indexes cannot go with --method upsert"),
        "{}",
        stderr(&o)
    );
    client(&url)
        .batch_execute("INSERT INTO people SELECT * FROM reference LIMIT 1")
        .unwrap();
    let o = load(&url, &file, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("is not empty"), "{err}");
    assert_eq!(definitions(&url), before);
    assert_eq!(count(&url, "people"), 1);
}

#[test]
fn defer_indexes_a_fresh_load_takes_over_what_an_earlier_one_left() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    let dup = people_file(&bad, 50, Some((2, 3)));
    let file = people_file(dir.path(), 50, None);
    let url = setup("defer_fresh", &file);
    let before = definitions(&url);
    let o = load(&url, &dup, &[]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    // Started over under a new load id: the key the first load owes still comes back.
    client(&url).batch_execute("TRUNCATE people").unwrap();
    let o = load(&url, &file, &["--fresh"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(definitions(&url), before);
    assert_same_rows(&url, 50);
}
