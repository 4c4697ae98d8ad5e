//! The command line that resumes an interrupted load: the one that started it, changed as
//! the load's [`Rerun`] says (`--fresh` left out, `--truncate` left out once rows are
//! committed, `--load-id` added for a random id), its passwords masked, quoted for a
//! POSIX shell.

use chunkload::interrupt::{committed_text, Rerun};

/// The interrupted line: what is committed, and the command that resumes the load.
pub(crate) fn interrupted_line(e: &chunkload::Error) -> String {
    let chunkload::ErrorKind::Interrupted {
        chunks_committed,
        chunks_total,
        rows,
        rerun,
        ..
    } = e.kind()
    else {
        return e.to_string();
    };
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let (command, masked) = command(&argv, rerun, *rows);
    let mut notes = Vec::new();
    if rerun.stdin {
        notes.push("with the same input on stdin");
    }
    if masked {
        notes.push("with the password where *** stands (or in PGPASSWORD or ~/.pgpass)");
    }
    let notes = match notes.is_empty() {
        true => String::new(),
        false => format!(" {}", notes.join(" and ")),
    };
    format!(
        "interrupted: {}; to resume, run{notes}: {command}",
        committed_text(*chunks_committed, *chunks_total, *rows)
    )
}

/// `argv` (program first) changed as `rerun` says with `rows` committed, quoted; `true`
/// when a password was masked. Arguments after a bare `--` are file names and are kept.
fn command(argv: &[String], rerun: &Rerun, rows: u64) -> (String, bool) {
    let mut out: Vec<String> = Vec::with_capacity(argv.len() + 2);
    let mut masked = false;
    let mut options_end = None;
    for (i, arg) in argv.iter().enumerate() {
        if i == 0 || options_end.is_some() {
            out.push(arg.clone());
            continue;
        }
        match arg.as_str() {
            "--" => {
                options_end = Some(out.len());
                out.push(arg.clone());
            }
            "--fresh" if rerun.fresh => {}
            "--truncate" if rerun.truncate && !rerun.keeps_truncate(rows) => {}
            _ => {
                let shown = mask(arg);
                masked |= shown != *arg;
                out.push(shown);
            }
        }
    }
    if let Some(id) = &rerun.load_id {
        let at = options_end.unwrap_or(out.len());
        out.splice(at..at, ["--load-id".to_string(), id.clone()]);
    }
    let line = out.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ");
    (line, masked)
}

/// A connection string (or an option holding one) with its password masked, as every
/// message shows it ([`chunkload::connect::redact`]); other arguments as they are.
fn mask(arg: &str) -> String {
    if arg.contains("://") || arg.to_ascii_lowercase().contains("password=") {
        chunkload::connect::redact(arg)
    } else {
        arg.to_string()
    }
}

/// `arg` as one word for a POSIX shell: as it is when it holds only characters no shell
/// treats specially, else in single quotes (a quote inside as `'\''`).
fn quote(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &[&str]) -> Vec<String> {
        s.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn a_fresh_truncating_load_resumes_under_its_id_and_empties_nothing_again() {
        let rerun = Rerun {
            load_id: Some("t-0123-89ab".into()),
            fresh: true,
            truncate: true,
            stdin: false,
        };
        let a = argv(&[
            "chunkload",
            "load",
            "a b.csv",
            "--table",
            "t",
            "--fresh",
            "--truncate",
            "-q",
        ]);
        assert_eq!(
            command(&a, &rerun, 10),
            (
                "chunkload load 'a b.csv' --table t -q --load-id t-0123-89ab".into(),
                false
            )
        );
        // Nothing committed yet: the table still waits to be emptied.
        assert_eq!(
            command(&a, &rerun, 0).0,
            "chunkload load 'a b.csv' --table t --truncate -q --load-id t-0123-89ab"
        );
        // Files after `--` stay files; the id goes before them.
        let a = argv(&[
            "chunkload",
            "load",
            "--table",
            "t",
            "--fresh",
            "--",
            "--fresh",
        ]);
        assert_eq!(
            command(&a, &rerun, 1).0,
            "chunkload load --table t --load-id t-0123-89ab -- --fresh"
        );
    }

    #[test]
    fn the_same_command_resumes_a_load_under_its_derived_or_given_id() {
        let a = argv(&[
            "/usr/bin/chunkload",
            "load",
            "f.csv",
            "--table",
            "t",
            "--truncate",
        ]);
        let rerun = Rerun {
            truncate: true,
            ..Rerun::default()
        };
        assert_eq!(
            command(&a, &rerun, 5).0,
            "/usr/bin/chunkload load f.csv --table t"
        );
        assert_eq!(
            command(&a, &Rerun::default(), 5).0,
            "/usr/bin/chunkload load f.csv --table t --truncate"
        );
        let a = argv(&["chunkload", "load", "f.csv", "--load-id", "mine", "--fresh"]);
        let rerun = Rerun {
            fresh: true,
            ..Rerun::default()
        };
        assert_eq!(
            command(&a, &rerun, 5).0,
            "chunkload load f.csv --load-id mine"
        );
    }

    #[test]
    fn passwords_are_masked_in_every_spelling_and_words_quoted() {
        let a = argv(&[
            "chunkload",
            "--url",
            "postgres://u:s3cret@h:5432/db",
            "load",
            "--url=postgres://u:s3cret@h/db",
            "-dhost=h password=s3cret",
            "it's.csv",
            "--null",
            "",
            "--table",
            "t",
        ]);
        let (line, masked) = command(&a, &Rerun::default(), 1);
        assert!(masked);
        assert!(!line.contains("s3cret"), "{line}");
        assert_eq!(
            line,
            "chunkload --url 'postgres://u:***@h:5432/db' load \
             '--url=postgres://u:***@h/db' '-dhost=h password=***' 'it'\\''s.csv' --null '' \
             --table t"
        );
        let (line, masked) = command(
            &argv(&["chunkload", "--url", "postgres://u@h/db", "load", "f"]),
            &Rerun::default(),
            0,
        );
        assert!(!masked);
        assert_eq!(line, "chunkload --url postgres://u@h/db load f");
    }
}
