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
