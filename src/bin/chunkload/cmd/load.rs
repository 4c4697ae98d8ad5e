//! `chunkload load`: the inputs expanded (directories, globs), flags to a `LoadConfig`,
//! the table created or read, the load run, the summary printed. A `--table` with a
//! placeholder loads each file into its own table ([`super::many`]). Rows rejected within
//! `--max-errors` are a success (exit 0, the summary counts them); past it the library's
//! error says partial (exit 3).

use super::load_one::one;
use super::shared::{connect_options, say};
use crate::args::LoadArgs;
use crate::inputs;
use std::process::ExitCode;
use std::sync::Arc;

/// `interrupt` is raised by the signal handler: the load stops between chunks.
pub(crate) fn run(
    args: &LoadArgs,
    url: Option<&str>,
    interrupt: chunkload::interrupt::Interrupt,
) -> anyhow::Result<ExitCode> {
    if args.dry_run && args.check {
        return Err(chunkload::Error::usage(chunkload::load::CHECK_NOT_DRY).into());
    }
    inputs::check_template("--table", &args.table)?;
    let files = inputs::expand(&args.files)?;
    // Password-file warnings once, not once per file.
    let opts = match args.dry_run {
        true => None,
        false => Some(Arc::new(connect_options(url)?)),
    };
    if inputs::is_template(&args.table) {
        return super::many::run(args, files, url, opts, interrupt);
    }
    for (flag, value) in [
        ("--reject-file", &args.reject_file),
        ("--load-id", &args.load_id),
    ] {
        if value.as_deref().is_some_and(inputs::is_template) {
            return Err(chunkload::Error::usage(format!(
                "{flag} names a file's {{stem}}, {{name}} or {{dir}}, but --table {} is one \
                 table for all files: put the placeholder in --table to load each file into \
                 its own table",
                args.table
            ))
            .into());
        }
    }
    let mut cfg = args.config(files, &args.table)?;
    cfg.interrupt = interrupt;
    let summary = one(args, cfg, url, opts.as_ref())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else if args.dry_run {
        println!("{summary}");
    } else {
        say(&summary.to_string());
    }
    Ok(ExitCode::SUCCESS)
}
