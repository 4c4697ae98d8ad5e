//! What several commands do the same way: reach the database, infer a file's schema.

use chunkload::connect::ConnectOptions;
use chunkload::infer::{InferOptions, Inferred};
use chunkload::source::{Compression, Dialect};
use chunkload::Flavour;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// The options of `--url`/`DATABASE_URL` and the `PG*` environment; what libpq would
/// warn of (a password file others can read) is printed once here.
pub(crate) fn connect_options(url: Option<&str>) -> anyhow::Result<ConnectOptions> {
    let opts = ConnectOptions::from_env(url)?;
    for w in opts.warnings() {
        warn(w);
    }
    Ok(opts)
}

pub(crate) fn connect(url: Option<&str>) -> anyhow::Result<(postgres::Client, Flavour)> {
    let opts = connect_options(url)?;
    let mut client = chunkload::connect::connect(&opts)?;
    let flavour = Flavour::detect(&mut client)?;
    Ok((client, flavour))
}

/// `--quiet`: errors and warnings only, set once before the command runs.
static QUIET: AtomicBool = AtomicBool::new(false);

pub(crate) fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Relaxed);
}

pub(crate) fn warn(msg: &str) {
    eprintln!("warning: {msg}");
}

/// What a command tells on stderr besides errors and warnings: nothing under `--quiet`.
pub(crate) fn say(msg: &str) {
    if !QUIET.load(Relaxed) {
        eprintln!("{msg}");
    }
}

/// Infers the first file's schema; prints its warnings.
pub(crate) fn infer_schema(
    file: &str,
    dialect: &Dialect,
    compression: Option<Compression>,
    columns: Option<&[String]>,
    opts: &InferOptions,
) -> anyhow::Result<Inferred> {
    let inferred = chunkload::infer::infer_file(file, dialect, compression, columns, opts)?;
    for w in chunkload::infer::warnings(&inferred, opts) {
        warn(&w);
    }
    Ok(inferred)
}

/// Where inferred types came from, for the line that shows them: all of a file (and how
/// long reading it took), or a sample that a later row may refute.
pub(crate) fn inferred_from(
    inferred: &chunkload::infer::Inferred,
    file: &str,
    took: std::time::Duration,
) -> String {
    let (n, secs) = (inferred.rows_sampled, took.as_secs_f64());
    let name = if file == "-" { "stdin" } else { file };
    let from = match inferred.whole_input {
        true => format!("types from all {n} rows of {name}, read in {secs:.1} s"),
        false if file == "-" => format!(
            "types from the first {n} rows of stdin only (it is read once): a later row may \
             not fit them"
        ),
        false => format!(
            "types from the first {n} rows of {name} only: a later row may not fit them; \
             --infer-rows all reads the whole file"
        ),
    };
    match inferred.date_order {
        Some(order) => format!(
            "{from}; dates read as {} (--date-order {order})",
            order.pattern()
        ),
        None => from,
    }
}
