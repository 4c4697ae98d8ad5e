//! The progress bar as a terminal shows it: the binary runs under a pseudo-terminal
//! (python3's `pty` module) with its window set to 80 and 40 columns, and every frame it
//! draws is checked: no wider than the window, no number cut.

use crate::support::{fresh_db, wait_bounded};
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Runs argv[2:] on a new pty of argv[1] columns; its output, as the terminal got it, on
/// stdout; exits with its code.
const PTY_RUN: &str = r#"
import fcntl, os, pty, struct, sys, termios
cols, argv = int(sys.argv[1]), sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
    os.execv(argv[0], argv)
out = b""
while True:
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    out += data
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
"#;

/// What a terminal of `cols` columns received from a load of `file`, and the exit code.
fn load_on_a_terminal(cols: u16, url: &str, file: &str, table: &str) -> (String, Option<i32>) {
    let bin = env!("CARGO_BIN_EXE_chunkload");
    let mut child = Command::new("python3")
        .args([
            "-c",
            PTY_RUN,
            &cols.to_string(),
            bin,
            "load",
            file,
            "--table",
            table,
        ])
        .args(["--url", url, "--chunk-rows", "400", "--workers", "1"])
        .env_remove("DATABASE_URL")
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut out = Vec::new();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        stdout.read_to_end(&mut out).unwrap();
        out
    });
    let status = wait_bounded(&mut child, Duration::from_secs(120)).expect("the load ends");
    let out = reader.join().unwrap();
    (String::from_utf8_lossy(&out).into_owned(), status.code())
}

/// The lines a terminal shows: split at carriage returns and newlines, escape sequences
/// (cursor moves, erasing) taken out.
fn rendered(raw: &str) -> Vec<String> {
    let csi = regex::Regex::new(r"\x1b\[[0-9;?]*[A-Za-z]").unwrap();
    csi.replace_all(raw, "")
        .split(['\r', '\n'])
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn terminal_bar_frames_fit_80_and_40_columns_and_cut_no_number() {
    let url = fresh_db("terminal_bar");
    crate::support::client(&url)
        .batch_execute(
            "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN PERFORM pg_sleep(0.02); RETURN NULL; END $$;
             CREATE TABLE t80 (id int8, name text); CREATE TABLE t40 (id int8, name text);
             CREATE TRIGGER slow BEFORE INSERT ON t80 FOR EACH STATEMENT EXECUTE FUNCTION slow();
             CREATE TRIGGER slow BEFORE INSERT ON t40 FOR EACH STATEMENT EXECUTE FUNCTION slow();",
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // 100 chunks of 400 rows, each 20 ms longer by a trigger: at least 2 s, 10 frames.
    let file = dir.path().join("slow.csv");
    let mut csv = String::from("id,name\n");
    for i in 0..40_000 {
        csv.push_str(&format!("{i},name number {i}\n"));
    }
    std::fs::write(&file, csv).unwrap();
    let spinner = regex::Regex::new(r"^[|/\\-] ").unwrap();
    let bare_number_at_end = regex::Regex::new(r"[0-9,]$").unwrap();
    for (cols, table) in [(80u16, "t80"), (40, "t40")] {
        let (raw, code) = load_on_a_terminal(cols, &url, file.to_str().unwrap(), table);
        assert_eq!(code, Some(0), "{raw}");
        let lines = rendered(&raw);
        let frames: Vec<&String> = lines.iter().filter(|l| spinner.is_match(l)).collect();
        assert!(
            frames.len() >= 3,
            "{cols} columns: a few frames drawn: {lines:#?}"
        );
        for f in &frames {
            // indicatif fills the bar's line with spaces to the last column, the cursor
            // then waiting there: the text stays short of it, the line one line.
            let (drawn, text) = (f.chars().count(), f.trim_end().chars().count());
            assert!(
                drawn <= usize::from(cols),
                "{cols} columns, {drawn} drawn: {f:?}"
            );
            assert!(
                text < usize::from(cols),
                "{cols} columns, {text} of text: {f:?}"
            );
            let f = f.trim_end();
            assert!(
                !bare_number_at_end.is_match(f),
                "{cols} columns, cut: {f:?}"
            );
            assert!(
                f.contains(" rows"),
                "{cols} columns, the row count shown: {f:?}"
            );
        }
        if cols == 80 {
            assert!(
                frames.iter().any(|f| f.contains("[=")),
                "80 columns keep a bar: {frames:#?}"
            );
        }
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("loaded 40000 rows into")),
            "{cols} columns: the summary follows: {lines:#?}"
        );
    }
}
