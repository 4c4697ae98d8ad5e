//! `chunkload schema`: the CREATE TABLE inferred from a file.

use super::shared::infer_schema;
use crate::args::SchemaArgs;
use std::process::ExitCode;

pub(crate) fn run(args: &SchemaArgs) -> anyhow::Result<ExitCode> {
    // A table named after the file makes no sense for stdin (`CREATE TABLE "-"`).
    if args.file == "-" && args.table.is_none() {
        return Err(chunkload::Error::usage(
            "reading stdin, the statement needs a table name: pass --table NAME",
        )
        .into());
    }
    let found = chunkload::source::detect_dialect(
        &args.file,
        args.dialect.compression,
        &args.dialect.spec()?,
    )?;
    if let Some(line) = found.describe(&args.file) {
        eprintln!("{line}");
    }
    let d = found.dialect;
    let decimal_comma = match args.dialect.spec()?.decimal_comma {
        Some(given) => given,
        None => found.decimal_comma,
    };
    let mut opts = args
        .infer
        .options(&args.file, decimal_comma, args.dialect.date_order);
    // A bar on a terminal while a large file is read; the statement goes to stdout.
    let bar = crate::progress::Progress::new(crate::progress::ProgressMode::Terminal);
    opts.observer = Some(std::sync::Arc::new(bar));
    let inferring = std::time::Instant::now();
    let inferred = infer_schema(
        &args.file,
        &d,
        args.dialect.compression,
        args.columns.as_deref(),
        &opts,
    )?;
    for r in &inferred.renamed {
        eprintln!("{}: {r}", args.file);
    }
    let table = args.table.clone().unwrap_or_else(|| {
        let stem = std::path::Path::new(&args.file)
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or("data");
        stem.split('.').next().unwrap_or("data").to_string()
    });
    eprintln!(
        "{}",
        super::shared::inferred_from(&inferred, &args.file, inferring.elapsed())
    );
    print!(
        "{}",
        chunkload::infer::create_table_sql(&table, &inferred, &opts)?
    );
    Ok(ExitCode::SUCCESS)
}
