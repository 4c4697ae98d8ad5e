//! The command line as a user meets it: exit codes, one-line errors, no secrets.

use crate::support::fresh_db;
use std::process::{Command, Output};

pub fn chunkload(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chunkload"))
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run chunkload")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn cli_unreachable_server_fails_in_one_line_with_code_2_and_no_secret() {
    let o = chunkload(&["--url", "postgres://u:secret@127.0.0.1:1/db", "bank"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        !err.contains("secret") && err.contains("u:***@127.0.0.1:1"),
        "{err}"
    );
    assert!(!String::from_utf8_lossy(&o.stdout).contains("secret"));
}

#[test]
fn cli_malformed_url_is_a_usage_error() {
    let o = chunkload(&["--url", "mysql://u:secret@h/db", "bank"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!stderr(&o).contains("secret"), "{}", stderr(&o));
}

#[test]
fn cli_init_and_bank_leave_95_accounts() {
    let url = fresh_db("cli_bank");
    let o = chunkload(&["--url", &url, "init"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = chunkload(&["bank", "--url", &url, "--seed", "5"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.matches("Created new account with id ").count(), 100);
    assert!(out.contains("95 accounts remain"), "{out}");
}

#[test]
fn cli_create_table_infers_the_schema_and_explains_a_late_misfit() {
    let url = fresh_db("cli_create");
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("trips.csv");
    std::fs::write(
        &good,
        "Trip Id,fare,when,ok\n1,12.50,2024-01-02,true\n2,7,2024-01-03,false\n",
    )
    .unwrap();
    let o = chunkload(&[
        "load",
        good.to_str().unwrap(),
        "--table",
        "trips",
        "--url",
        &url,
        "--create-table",
        "--primary-key",
        "Trip Id",
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let types: Vec<(String, String)> = crate::support::client(&url)
        .query(
            "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute
             WHERE attrelid = 'trips'::regclass AND attnum > 0 ORDER BY attnum",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        types,
        [
            ("Trip Id", "bigint"),
            ("fare", "numeric"),
            ("when", "date"),
            ("ok", "boolean")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(crate::support::count(&url, "trips"), 2);
    // A value that does not fit the type inferred from the first rows.
    let late = dir.path().join("late.csv");
    let mut text = String::from("id,n\n");
    for i in 0..20 {
        text.push_str(&format!("{i},{i}\n"));
    }
    text.push_str("20,twenty\n");
    std::fs::write(&late, text).unwrap();
    let o = chunkload(&[
        "load",
        late.to_str().unwrap(),
        "--table",
        "late",
        "--url",
        &url,
        "--create-table",
        "--infer-rows",
        "5",
        "-q",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("line 22") && err.contains("column \"n\"") && err.contains("bigint"),
        "{err}"
    );
    assert!(err.contains("--infer-rows all"), "{err}");
    // `schema` prints what --create-table would create.
    let o = chunkload(&["schema", late.to_str().unwrap(), "--infer-rows", "all"]);
    assert!(o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("\"n\" text"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn cli_demo_runs_the_bank_app_and_a_chunked_load_on_its_own_server() {
    let o = chunkload(&["demo", "--seed", "1"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        out.contains("Connection string (sql/tcp): postgres://"),
        "{out}"
    );
    assert_eq!(out.matches("Created new account with id ").count(), 100);
    assert!(out.contains("= 10095 rows in accounts"), "{out}");
    assert!(stderr(&o).contains("throwaway server stopped and removed"));
}

#[test]
fn cli_completions_and_help_examples() {
    let o = chunkload(&["completions", "bash"]);
    assert!(o.status.success());
    let script = String::from_utf8_lossy(&o.stdout);
    assert!(
        script.contains("chunkload") && script.contains("--chunk-bytes"),
        "bash completion lists load's flags"
    );
    for sub in [
        "init",
        "bank",
        "load",
        "status",
        "schema",
        "gen",
        "demo",
        "completions",
    ] {
        let o = chunkload(&[sub, "--help"]);
        let help = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success() && help.contains("Example"),
            "{sub} --help shows an example:\n{help}"
        );
    }
}

#[test]
fn cli_missing_input_is_a_usage_error_and_empty_input_names_line_1() {
    let url = fresh_db("cli_missing");
    crate::support::client(&url)
        .batch_execute(chunkload::bank::DBINIT_SQL)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.csv");
    let o = chunkload(&[
        "load",
        missing.to_str().unwrap(),
        "--table",
        "accounts",
        "--url",
        &url,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("nope.csv"), "{}", stderr(&o));
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let o = chunkload(&[
        "load",
        empty.to_str().unwrap(),
        "--table",
        "accounts",
        "--url",
        &url,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("empty.csv: line 1") && stderr(&o).contains("no header"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn cli_dry_run_without_a_server_infers_the_types() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.csv");
    std::fs::write(&f, "id,when,note\n1,2024-01-02,a\n2,2024-01-03,\n3,x,c\n").unwrap();
    let o = chunkload(&[
        "load",
        f.to_str().unwrap(),
        "--table",
        "t",
        "--dry-run",
        "--method",
        "insert",
        "--not-null",
        "id",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        out.contains("INSERT INTO \"public\".\"t\" (\"id\",\"when\",\"note\")"),
        "{out}"
    );
    assert!(out.contains("would load 3 rows"), "{out}");
}

/// `chunkload gen accounts --rows 50 --seed 5 -o PATH`.
fn gen_to(path: &std::path::Path) -> Output {
    chunkload(&[
        "gen",
        "accounts",
        "--rows",
        "50",
        "--seed",
        "5",
        "-o",
        path.to_str().unwrap(),
    ])
}

fn gen_bytes() -> Vec<u8> {
    let mut v = Vec::new();
    chunkload::dataset::generate(chunkload::dataset::Dataset::Accounts, 50, 5, &mut v).unwrap();
    v
}

#[test]
fn cli_gen_writes_through_a_symlink_and_into_a_fifo() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    std::fs::create_dir(&data_dir).unwrap();
    let target = data_dir.join("real.csv");
    std::fs::write(&target, "old").unwrap();
    let link = dir.path().join("link.csv");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let o = gen_to(&link);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read_link(&link).unwrap(), target);
    assert_eq!(std::fs::read(&target).unwrap(), gen_bytes());
    // The temp file went next to the target, and is gone.
    assert_eq!(std::fs::read_dir(&data_dir).unwrap().count(), 1);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);

    let fifo = dir.path().join("pipe");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo(3) on a NUL-terminated path we own.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let o = gen_to(&fifo);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(reader.join().unwrap(), gen_bytes());
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
}

#[test]
fn cli_gen_replaces_a_regular_file_atomically() {
    use std::io::Read;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    std::fs::write(&path, "old contents").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let before = std::fs::metadata(&path).unwrap().ino();
    // A reader holding the old file keeps seeing it whole: the new one is a new inode.
    let mut held = std::fs::File::open(&path).unwrap();
    let o = gen_to(&path);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let after = std::fs::metadata(&path).unwrap();
    assert_ne!(after.ino(), before, "renamed into place, not rewritten");
    assert_eq!(after.permissions().mode() & 0o777, 0o640, "mode kept");
    assert_eq!(std::fs::read(&path).unwrap(), gen_bytes());
    let mut old = String::new();
    held.read_to_string(&mut old).unwrap();
    assert_eq!(old, "old contents");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left"
    );
    // A new path in a missing directory: the error names the path, nothing is created.
    let missing = dir.path().join("nodir/x.csv");
    let o = gen_to(&missing);
    assert!(!o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(missing.to_str().unwrap()),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains(".chunkload-gen-"), "{}", stderr(&o));
}

#[test]
fn cli_demo_refuses_a_url_and_schema_from_stdin_needs_a_table() {
    // The demo never runs in a database the user named: an explicit --url is refused, and
    // nothing is started or touched.
    let o = chunkload(&["demo", "--url", "postgres://u@127.0.0.1:1/db"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("never touches another database"));
    assert!(!stderr(&o).contains("starting a throwaway"));

    // `schema -` would name the table "-".
    let mut child = Command::new(env!("CARGO_BIN_EXE_chunkload"))
        .args(["schema", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run chunkload");
    drop(child.stdin.take());
    let o = child.wait_with_output().expect("wait");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--table"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());

    let mut child = Command::new(env!("CARGO_BIN_EXE_chunkload"))
        .args(["schema", "-", "--table", "t"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run chunkload");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"a,b\n1,x\n").unwrap();
    let o = child.wait_with_output().expect("wait");
    assert!(o.status.success());
    let sql = String::from_utf8_lossy(&o.stdout);
    assert!(sql.starts_with("CREATE TABLE \"t\""), "{sql}");
}
