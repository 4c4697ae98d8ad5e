//! `load FILES… --table '{stem}'`: each file into its own table, each its own load in the
//! ledger (its own load id, so a rerun of the same command says which are already loaded
//! and resumes the others); one line per file and a total. A file that fails does not
//! stop the others unless `--stop-on-error`; the exit code is 0 when every file loaded,
//! else the highest code of those that failed.

use super::load_one::one;
use super::shared::say;
use crate::args::LoadArgs;
use crate::failure::{self, Failure};
use crate::inputs;
use chunkload::connect::ConnectOptions;
use chunkload::error::plural;
use chunkload::report::Summary;
use serde_json::json;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// What became of one file.
enum Done {
    Loaded(Box<Summary>),
    Failed(Failure),
    /// Not tried: `--stop-on-error` stopped at an earlier file.
    Skipped,
}

pub(crate) fn run(
    args: &LoadArgs,
    files: Vec<String>,
    url: Option<&str>,
    opts: Option<Arc<ConnectOptions>>,
    interrupt: chunkload::interrupt::Interrupt,
) -> anyhow::Result<ExitCode> {
    if files.iter().any(|f| f == "-") {
        return Err(chunkload::Error::usage(format!(
            "--table {} names each file's table, and stdin (-) has no file name: load it \
             with a table of its own",
            args.table
        ))
        .into());
    }
    for (flag, value) in [
        ("--reject-file", &args.reject_file),
        ("--load-id", &args.load_id),
    ] {
        if let Some(v) = value {
            inputs::check_template(flag, v)?;
            if files.len() > 1 && !inputs::is_template(v) {
                return Err(chunkload::Error::usage(format!(
                    "{flag} {v} would be the same for every file: put {{stem}} (or {{name}}, \
                     {{dir}}) in it, or leave it out"
                ))
                .into());
            }
        }
    }
    let started = Instant::now();
    let mut done: Vec<(String, String, Done)> = Vec::new();
    let mut stop = false;
    for file in files {
        let table = inputs::table_for(&args.table, &file);
        if stop {
            done.push((file, table, Done::Skipped));
            continue;
        }
        let result = args.config(vec![file.clone()], &table).and_then(|mut cfg| {
            cfg.interrupt = interrupt.clone();
            cfg.reject_file = args
                .reject_file
                .as_deref()
                .map(|t| inputs::text_for(t, &file));
            cfg.load_id = args.load_id.as_deref().map(|t| inputs::text_for(t, &file));
            one(args, cfg, url, opts.as_ref())
        });
        let outcome = match result {
            // A signal stops the run; what each load committed stays for a rerun.
            Err(e) if failure::is_interrupted(&e) => return Err(e),
            Err(e) => {
                let f = Failure::of(&e);
                eprintln!("chunkload: error: {file}: {}", f.msg);
                stop = args.stop_on_error;
                Done::Failed(f)
            }
            Ok(s) => Done::Loaded(Box::new(s)),
        };
        if !args.json {
            say(&file_line(&file, &table, &outcome));
        }
        done.push((file, table, outcome));
    }
    let code = done
        .iter()
        .filter_map(|(_, _, d)| match d {
            Done::Failed(f) => Some(f.status.code()),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let secs = started.elapsed().as_secs_f64();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json_of(&done, code, secs))?
        );
    } else {
        say(&total_line(&done, secs));
    }
    Ok(ExitCode::from(code))
}

/// `data/a.csv → a: loaded 100 rows in 0.21 s` and the like.
fn file_line(file: &str, table: &str, d: &Done) -> String {
    let what = match d {
        Done::Loaded(s) if s.chunks > 0 && s.chunks_resumed == s.chunks && s.rows == 0 => {
            format!("already loaded (load id {})", s.load_id)
        }
        Done::Loaded(s) => {
            let mut line = format!(
                "{} {} {}{} in {:.2} s",
                if s.dry_run { "would load" } else { "loaded" },
                s.rows,
                plural(s.rows, "row", "rows"),
                match s.chunks_resumed {
                    0 => String::new(),
                    n => format!(
                        " (resumed after {n} committed {})",
                        plural(n, "chunk", "chunks")
                    ),
                },
                s.elapsed_secs
            );
            if s.rejected > 0 {
                line.push_str(&format!(
                    ", {} rejected into {}",
                    s.rejected,
                    s.reject_file.as_deref().unwrap_or("the reject file")
                ));
            }
            line
        }
        Done::Failed(f) => format!("failed (exit {})", f.status.code()),
        Done::Skipped => "skipped (--stop-on-error)".to_string(),
    };
    format!("{file} → {table}: {what}")
}

fn counts(done: &[(String, String, Done)]) -> (usize, usize, usize, u64, u64) {
    let (mut loaded, mut failed, mut skipped, mut rows, mut rejected) = (0, 0, 0, 0, 0);
    for (_, _, d) in done {
        match d {
            Done::Loaded(s) => {
                loaded += 1;
                rows += s.rows;
                rejected += s.rejected;
            }
            Done::Failed(_) => failed += 1,
            Done::Skipped => skipped += 1,
        }
    }
    (loaded, failed, skipped, rows, rejected)
}

/// `3 files: 2 loaded, 1 failed; 200 rows, 1 rejected, 1.20 s`.
fn total_line(done: &[(String, String, Done)], secs: f64) -> String {
    let (loaded, failed, skipped, rows, rejected) = counts(done);
    let mut line = format!(
        "{} {}: {loaded} loaded",
        done.len(),
        plural(done.len() as u64, "file", "files")
    );
    if failed > 0 {
        line.push_str(&format!(", {failed} failed"));
    }
    if skipped > 0 {
        line.push_str(&format!(", {skipped} skipped"));
    }
    line.push_str(&format!(
        "; {rows} {} loaded, {rejected} rejected, {secs:.2} s",
        plural(rows, "row", "rows")
    ));
    line
}

/// `--json`: one object, an entry per file and the total.
fn json_of(done: &[(String, String, Done)], code: u8, secs: f64) -> serde_json::Value {
    let loads: Vec<serde_json::Value> = done
        .iter()
        .map(|(file, table, d)| {
            let (status, summary, error, exit) = match d {
                Done::Loaded(s) => ("loaded", json!(s), None, 0),
                Done::Failed(f) => (
                    "failed",
                    json!(null),
                    Some(&f.json["error"]),
                    f.status.code(),
                ),
                Done::Skipped => ("skipped", json!(null), None, 0),
            };
            json!({
                "file": file,
                "table": table,
                "status": status,
                "exit_code": exit,
                "summary": summary,
                "error": error,
            })
        })
        .collect();
    let (loaded, failed, skipped, rows, rejected) = counts(done);
    json!({
        "loads": loads,
        "total": {
            "files": done.iter().map(|(f, _, _)| f).collect::<Vec<_>>(),
            "loaded": loaded,
            "failed": failed,
            "skipped": skipped,
            "rows": rows,
            "rejected": rejected,
            "elapsed_secs": secs,
            "exit_code": code,
        }
    })
}
