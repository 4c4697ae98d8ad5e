//! DDL on the CockroachDB path, against the stand-in (see `cockroach`): `--truncate`
//! empties the table as a step of its own before any chunk, recorded in the ledger, so it
//! happens once per load however often the load is killed and rerun, and never inside a
//! transaction (CockroachDB's TRUNCATE is not transactional; from v25.1 one inside a
//! transaction commits what came before it).
//!
//! The stand-in is PostgreSQL: it would accept a TRUNCATE inside a chunk's transaction, so
//! these tests look at what was sent instead: an `AFTER TRUNCATE` statement trigger logs
//! each TRUNCATE's query text, whether it ran alone (its transaction started with it) and
//! the load's recorded state at that moment.

use crate::cli::stderr;
use crate::support::{
    accounts_file, assert_exact, client, count, fresh_cockroach_db, load_accounts, load_args,
    pieces, run, show_create, spawn, stderr_of, target_and_reference, wait_bounded,
};
use std::path::Path;
use std::time::{Duration, Instant};

/// What the TRUNCATE trigger saw, one entry per TRUNCATE of `accounts`.
#[derive(Debug, PartialEq)]
struct Seen {
    query: String,
    /// The statement started its transaction: no BEGIN (nor anything else) before it.
    alone: bool,
    /// `truncate_state` of the load rows then.
    state: String,
}

/// `accounts` and `reference` for `file`, rows in `accounts` that no load of `file` has
/// (a truncate must remove them), and the TRUNCATE log.
fn setup(test: &str, file: &Path) -> String {
    let url = fresh_cockroach_db(test);
    target_and_reference(&url, file);
    client(&url)
        .batch_execute(
            "INSERT INTO accounts
               SELECT md5(i::text)::uuid, -i FROM generate_series(1, 100) i;
             CREATE TABLE truncs (q text, alone bool, state text);
             CREATE FUNCTION log_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               INSERT INTO truncs VALUES (
                 current_query(),
                 transaction_timestamp() = statement_timestamp(),
                 (SELECT coalesce(string_agg(coalesce(truncate_state, '-'), ',' ORDER BY started_at), '')
                    FROM chunkload.chunkload_loads));
               RETURN NULL;
             END $$;
             CREATE TRIGGER log_truncate AFTER TRUNCATE ON accounts
               FOR EACH STATEMENT EXECUTE FUNCTION log_truncate();",
        )
        .unwrap();
    url
}

fn truncates(url: &str) -> Vec<Seen> {
    client(url)
        .query("SELECT q, alone, state FROM truncs", &[])
        .unwrap()
        .iter()
        .map(|r| Seen {
            query: r.get(0),
            alone: r.get(1),
            state: r.get(2),
        })
        .collect()
}

/// The `truncate_state` of every load row (`-` for NULL), none before the ledger exists.
fn states(url: &str) -> Vec<String> {
    let mut c = client(url);
    let exists: bool = c
        .query_one(
            "SELECT to_regclass('chunkload.chunkload_loads') IS NOT NULL",
            &[],
        )
        .unwrap()
        .get(0);
    if !exists {
        return Vec::new();
    }
    c.query(
        "SELECT coalesce(truncate_state, '-') FROM chunkload.chunkload_loads ORDER BY started_at",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

const ONE_TRUNCATE: &str = "TRUNCATE \"public\".\"accounts\"";

/// The one TRUNCATE a load sends: alone, after `pending` was committed.
fn assert_truncated_once_alone(url: &str) {
    assert_eq!(
        truncates(url),
        [Seen {
            query: ONE_TRUNCATE.into(),
            alone: true,
            state: "pending".into()
        }]
    );
}

/// Polls `done` every 10 ms for up to 30 s.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Backends of this database waiting on `wait_event` whose query starts with `prefix`.
fn waiting(url: &str, wait_event: &str, prefix: &str) -> Vec<i32> {
    client(url)
        .query(
            "SELECT pid FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event = $1 AND query LIKE $2 || '%'",
            &[&wait_event, &prefix],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn terminate(url: &str, pids: &[i32]) {
    let mut c = client(url);
    for pid in pids {
        c.execute("SELECT pg_terminate_backend($1)", &[pid])
            .unwrap();
    }
}

#[test]
fn cockroach_truncate_empties_the_table_once_alone_before_any_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 5_000, 41);
    let url = setup("crdb_truncate", &file);
    let o = load_accounts(&url, &file, &["--truncate", "--chunk-bytes", "16K"]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("--truncate: emptied \"public\".\"accounts\" before the first chunk"),
        "{err}"
    );
    assert_exact(&url, 5_000);
    assert_truncated_once_alone(&url);
    assert_eq!(states(&url), ["truncated"]);
    // A rerun, with other options and --truncate again: the load is done, nothing is
    // emptied or sent twice.
    let o = load_accounts(
        &url,
        &file,
        &["--truncate", "--method", "insert", "--workers", "1"],
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("already loaded completely"), "{err}");
    assert!(err.contains("not emptied again"), "{err}");
    assert_exact(&url, 5_000);
    assert_truncated_once_alone(&url);
    // --fresh starts a new load, which empties the table again, as on PostgreSQL.
    let o = load_accounts(&url, &file, &["--fresh", "--truncate", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_exact(&url, 5_000);
    let seen = truncates(&url);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen.iter().all(|s| s.query == ONE_TRUNCATE && s.alone),
        "{seen:?}"
    );
    assert_eq!(seen[1].state, "truncated,pending", "{seen:?}");
    assert_eq!(states(&url), ["truncated", "truncated"]);
}

/// Killed after the table was emptied, while the first chunk waited (a statement trigger
/// on `accounts` takes an advisory lock the test holds): the rerun, without --truncate and
/// with other options, loads everything and empties nothing.
#[test]
fn cockroach_truncate_killed_before_the_first_chunk_is_not_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 3_000, 42);
    let url = setup("crdb_truncate_kill_first", &file);
    let mut holder = client(&url);
    holder
        .batch_execute(
            "CREATE FUNCTION hold() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN PERFORM pg_advisory_xact_lock(4242); RETURN NULL; END $$;
             CREATE TRIGGER hold BEFORE INSERT ON accounts
               FOR EACH STATEMENT EXECUTE FUNCTION hold();
             SELECT pg_advisory_lock(4242);",
        )
        .unwrap();
    let opts: &[&str] = &["--truncate", "--workers", "1", "--chunk-bytes", "16K"];
    let mut child = spawn(&load_args(&file, "accounts", &url, &[opts]));
    wait_for("the first chunk to wait on the lock", || {
        !waiting(&url, "advisory", "").is_empty()
    });
    assert_eq!(states(&url), ["truncated"]);
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    terminate(&url, &waiting(&url, "advisory", ""));
    holder
        .batch_execute(
            "SELECT pg_advisory_unlock(4242); DROP TRIGGER hold ON accounts; DROP FUNCTION hold()",
        )
        .unwrap();
    assert_eq!((pieces(&url), count(&url, "accounts")), (0, 0));
    assert_truncated_once_alone(&url);
    let o = load_accounts(&url, &file, &["--method", "insert", "--chunk-bytes", "64K"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_exact(&url, 3_000);
    assert_truncated_once_alone(&url);
}

/// Killed (SIGKILL) a few pieces into a --truncate load, rerun with other options, with and
/// without --truncate: exact, and the table was emptied once.
#[test]
fn cockroach_truncate_killed_after_some_chunks_reruns_exact_and_truncates_once() {
    let dir = tempfile::tempdir().unwrap();
    let csv = accounts_file(dir.path(), 20_000, 43);
    let url = setup("crdb_truncate_kill_mid", &csv);
    let input = csv.to_str().unwrap();
    let data = std::fs::read(&csv).unwrap();
    let runs: [&[&str]; 3] = [
        &["--truncate", "--chunk-bytes", "16K", "--workers", "2"],
        &["--truncate", "--chunk-bytes", "32K", "--method", "insert"],
        &["--chunk-bytes", "8K", "--workers", "3"],
    ];
    let mut killed = 0;
    for opts in runs {
        let k = pieces(&url) + 3;
        killed += run(&url, input, &data, opts, Some(k)) as usize;
        assert_truncated_once_alone(&url);
    }
    assert!(killed >= 2, "killed mid-load {killed} of 3 times");
    assert!(!run(&url, input, &data, &["--truncate"], None));
    assert_exact(&url, 20_000);
    assert_truncated_once_alone(&url);
    assert_eq!(states(&url), ["truncated"]);
}

/// Killed after `pending` was recorded, while its TRUNCATE waited for a lock (and that
/// TRUNCATE then cancelled): the rerun, even without --truncate, empties the table first.
#[test]
fn cockroach_truncate_killed_while_pending_is_finished_by_the_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 2_000, 44);
    let url = setup("crdb_truncate_pending", &file);
    let mut locker = client(&url);
    let mut lock = locker.transaction().unwrap();
    lock.batch_execute("LOCK TABLE accounts IN ACCESS SHARE MODE")
        .unwrap();
    let mut child = spawn(&load_args(&file, "accounts", &url, &[&["--truncate"]]));
    wait_for("the TRUNCATE to wait on the lock", || {
        !waiting(&url, "relation", "TRUNCATE").is_empty()
    });
    assert_eq!(states(&url), ["pending"]);
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    terminate(&url, &waiting(&url, "relation", "TRUNCATE"));
    lock.rollback().unwrap();
    assert!(truncates(&url).is_empty());
    assert_eq!(count(&url, "accounts"), 100, "the TRUNCATE never ran");
    let mut child = spawn(&load_args(&file, "accounts", &url, &[&["--workers", "1"]]));
    let status = wait_bounded(&mut child, Duration::from_secs(90));
    let err = stderr_of(&mut child);
    assert!(status.is_some_and(|s| s.success()), "{err}");
    assert!(err.contains("had begun emptying"), "{err}");
    assert_exact(&url, 2_000);
    assert_truncated_once_alone(&url);
    assert_eq!(states(&url), ["truncated"]);
}

/// `--check` must commit nothing, and a TRUNCATE cannot be rolled back on CockroachDB:
/// `--check --truncate` is refused before anything is sent; a check without it runs.
#[test]
fn cockroach_check_with_truncate_is_refused_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 1_000, 45);
    let url = setup("crdb_check_truncate", &file);
    let o = load_accounts(&url, &file, &["--check", "--truncate"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--check --truncate cannot run on CockroachDB")
            && err.contains("not transactional"),
        "{err}"
    );
    assert!(truncates(&url).is_empty());
    assert_eq!(count(&url, "accounts"), 100);
    let o = load_accounts(&url, &file, &["--check"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(truncates(&url).is_empty());
    assert_eq!(count(&url, "accounts"), 100);
}

// --defer-indexes on CockroachDB reads `SHOW CREATE TABLE`, which the strict stand-in
// answers from the catalog in CockroachDB's format: the indexes are dropped and rebuilt
// from its text, each DROP and CREATE alone, outside any transaction; duplicates are named
// as on PostgreSQL; indexes a crashed run owed are rebuilt by the next.

/// `people` (a uuid key, a unique and an expression index), its indexes' definitions, and
/// an event trigger logging each DROP INDEX and CREATE INDEX: its text and whether it ran
/// alone (its transaction started with it).
fn people(test: &str) -> String {
    let url = fresh_cockroach_db(test);
    client(&url)
        .batch_execute(
            "CREATE TABLE people (id uuid PRIMARY KEY, email text NOT NULL, n int8 NOT NULL);
             CREATE UNIQUE INDEX people_n_idx ON people (n);
             CREATE INDEX people_email_idx ON people (lower(email)) WHERE n > 0;
             CREATE TABLE ddl_log (tag text, q text, alone bool);
             CREATE FUNCTION log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
             BEGIN
               INSERT INTO ddl_log VALUES
                 (tg_tag, current_query(), transaction_timestamp() = statement_timestamp());
             END $$;
             CREATE EVENT TRIGGER log_ddl ON ddl_command_start
               WHEN TAG IN ('DROP INDEX', 'CREATE INDEX') EXECUTE FUNCTION log_ddl();",
        )
        .unwrap();
    url
}

fn index_defs(url: &str) -> Vec<String> {
    client(url)
        .query(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'people' ORDER BY indexname",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// `rows` people; line `dup.1` repeats the `n` of line `dup.0`.
fn people_csv(dir: &Path, rows: u64, dup: Option<(u64, u64)>) -> std::path::PathBuf {
    let mut s = String::from("id,email,n\n");
    for i in 1..=rows {
        let n = match dup {
            Some((first, again)) if i + 1 == again => first - 1,
            _ => i,
        };
        s.push_str(&format!(
            "{:08x}-0000-4000-8000-{i:012x},p{i}@example.org,{n}\n",
            i * 7919
        ));
    }
    let path = dir.join("people.csv");
    std::fs::write(&path, s).unwrap();
    path
}

/// What an earlier CockroachDB run of a load of `people` recorded before it died, in the
/// window between recording and dropping: the two secondary indexes, as the stand-in
/// (PostgreSQL) spells them. The ledger exists after a first small load elsewhere.
fn owe_indexes(url: &str, dir: &Path) {
    let scratch = dir.join("scratch.csv");
    std::fs::write(&scratch, "a\n1\n").unwrap();
    client(url)
        .batch_execute("CREATE TABLE scratch (a int8)")
        .unwrap();
    let o = crate::cli::chunkload(&load_args(&scratch, "scratch", url, &[&["--quiet"]]));
    assert!(o.status.success(), "{}", stderr(&o));
    client(url)
        .batch_execute(
            "INSERT INTO chunkload.chunkload_deferred
               (load_id, ord, table_name, kind, name, create_sql, drop_sql, key_columns) VALUES
             ('earlier', 0, '\"public\".\"people\"', 'index', 'people_n_idx',
              'CREATE UNIQUE INDEX people_n_idx ON \"public\".\"people\" (n)',
              'DROP INDEX IF EXISTS \"public\".\"people_n_idx\"', '{n}'),
             ('earlier', 1, '\"public\".\"people\"', 'index', 'people_email_idx',
              'CREATE INDEX people_email_idx ON \"public\".\"people\" (lower(email)) WHERE n > 0',
              'DROP INDEX IF EXISTS \"public\".\"people_email_idx\"', NULL)",
        )
        .unwrap();
}

/// The logged DDL: (tag, query, alone), sorted.
fn ddl(url: &str) -> Vec<(String, String, bool)> {
    let mut v: Vec<(String, String, bool)> = client(url)
        .query("SELECT tag, q, alone FROM ddl_log", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    v.sort();
    v
}

/// The lines of a `SHOW CREATE TABLE` text, sorted: CockroachDB prints indexes by their
/// ID, which a rebuild renews (and the rebuild builds in parallel).
pub(crate) fn lines_of(show_create: &str) -> Vec<String> {
    let mut v: Vec<String> = show_create
        .lines()
        .map(|l| l.trim_end_matches(',').to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn cockroach_defer_indexes_rebuilds_what_show_create_prints() {
    let dir = tempfile::tempdir().unwrap();
    let file = people_csv(dir.path(), 100, None);
    let url = people("crdb_defer_show");
    let before = index_defs(&url);
    let shown = show_create(&url, "people");
    assert_eq!(
        shown,
        "CREATE TABLE public.people (
\tid UUID NOT NULL,
\temail STRING NOT NULL,
\tn INT8 NOT NULL,
\tCONSTRAINT people_pkey PRIMARY KEY (id ASC),
\tUNIQUE INDEX people_n_idx (n ASC),
\tINDEX people_email_idx (lower(email) ASC) WHERE n > 0
)"
    );
    let o = crate::cli::chunkload(&load_args(
        &file,
        "people",
        &url,
        &[&["--defer-indexes", "--chunk-rows", "20"]],
    ));
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("left in place on \"public\".\"people\"")
            && err.contains("primary key people_pkey"),
        "{err}"
    );
    assert!(err.contains("dropped 2 indexes"), "{err}");
    assert!(err.contains("rebuilt 2 indexes"), "{err}");
    assert_eq!(count(&url, "people"), 100);
    assert_eq!(index_defs(&url), before);
    assert_eq!(lines_of(&show_create(&url, "people")), lines_of(&shown));
    // Rebuilt from CockroachDB's text, each statement alone.
    let created: Vec<String> = client(&url)
        .query(
            "SELECT create_sql FROM chunkload.chunkload_deferred WHERE rebuilt ORDER BY ord",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        created,
        [
            "CREATE UNIQUE INDEX people_n_idx ON \"public\".\"people\" (n ASC)",
            "CREATE INDEX people_email_idx ON \"public\".\"people\" (lower(email) ASC) WHERE n > 0",
        ]
    );
    let log = ddl(&url);
    let tags: Vec<&str> = log.iter().map(|(t, ..)| t.as_str()).collect();
    assert_eq!(
        tags,
        ["CREATE INDEX", "CREATE INDEX", "DROP INDEX", "DROP INDEX"]
    );
    assert!(log.iter().all(|(_, _, alone)| *alone), "{log:?}");
}

#[test]
fn cockroach_owed_indexes_are_dropped_and_rebuilt_each_alone() {
    let dir = tempfile::tempdir().unwrap();
    let file = people_csv(dir.path(), 500, None);
    let url = people("crdb_defer_owed");
    let before = index_defs(&url);
    owe_indexes(&url, dir.path());
    // A load of the table (any options) takes over what is owed: drops, loads, rebuilds.
    let o = crate::cli::chunkload(&load_args(
        &file,
        "people",
        &url,
        &[&["--chunk-rows", "50"]],
    ));
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("has 2 deferred indexes and constraints"),
        "{err}"
    );
    assert!(err.contains("rebuilt 2 indexes"), "{err}");
    assert_eq!(count(&url, "people"), 500);
    assert_eq!(index_defs(&url), before);
    let q = |s: &str| s.to_string();
    assert_eq!(
        ddl(&url),
        [
            (
                q("CREATE INDEX"),
                q("CREATE INDEX people_email_idx ON \"public\".\"people\" (lower(email)) WHERE n > 0"),
                true
            ),
            (
                q("CREATE INDEX"),
                q("CREATE UNIQUE INDEX people_n_idx ON \"public\".\"people\" (n)"),
                true
            ),
            (
                q("DROP INDEX"),
                q("DROP INDEX IF EXISTS \"public\".\"people_email_idx\""),
                true
            ),
            (
                q("DROP INDEX"),
                q("DROP INDEX IF EXISTS \"public\".\"people_n_idx\""),
                true
            ),
        ]
    );
}

/// The unique-index caveat, as on PostgreSQL: a rebuild the data refuses leaves the rows
/// loaded and the index owed (exit 4), names the duplicate key and its lines; fixing the
/// rows and rerunning finishes the rebuild.
#[test]
fn cockroach_a_unique_index_refused_by_duplicates_is_named_and_rebuilt_after_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    // Line 9 repeats the n of line 4.
    let file = people_csv(dir.path(), 300, Some((4, 9)));
    let url = people("crdb_defer_dup");
    let before = index_defs(&url);
    owe_indexes(&url, dir.path());
    let args = load_args(&file, "people", &url, &[&["--chunk-rows", "50"]]);
    let o = crate::cli::chunkload(&args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(4), "{err}");
    let f = file.display();
    assert!(
        err.contains(&format!("duplicate key (n)=(3) in 2 rows, at {f}:4, {f}:9")),
        "{err}"
    );
    assert!(err.contains("index people_n_idx"), "{err}");
    assert_eq!(count(&url, "people"), 300);
    assert!(!index_defs(&url).iter().any(|d| d.contains("people_n_idx")));
    client(&url)
        .batch_execute("DELETE FROM people WHERE email = 'p8@example.org'")
        .unwrap();
    let o = crate::cli::chunkload(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(index_defs(&url), before);
    assert!(
        ddl(&url).iter().all(|(_, _, alone)| *alone),
        "{:?}",
        ddl(&url)
    );
}

/// As on PostgreSQL (where chunk 0 truncates), --defer-indexes refuses a non-empty table
/// even with --truncate: the table is emptied only after that check, so nothing is lost.
#[test]
fn cockroach_truncate_with_defer_indexes_on_a_non_empty_table_empties_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = accounts_file(dir.path(), 500, 46);
    let url = setup("crdb_truncate_defer", &file);
    let o = load_accounts(&url, &file, &["--truncate", "--defer-indexes", "--quiet"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("is not empty"), "{err}");
    assert!(truncates(&url).is_empty());
    assert_eq!(count(&url, "accounts"), 100);
    assert_eq!(states(&url), ["-"]);
}
