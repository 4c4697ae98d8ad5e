//! `chunkload gen`: a dataset, or its CREATE TABLE.

use crate::args::GenArgs;
use std::process::ExitCode;

pub(crate) fn run(args: &GenArgs) -> anyhow::Result<ExitCode> {
    let dataset = args.dataset;
    if args.ddl {
        let t = args
            .table
            .clone()
            .unwrap_or_else(|| dataset.name().to_string());
        println!("{}", chunkload::dataset::ddl(dataset, &t));
        return Ok(ExitCode::SUCCESS);
    }
    let (rows, seed) = (args.rows, args.seed);
    match &args.output {
        Some(path) => chunkload::dataset::generate_to(dataset, rows, seed, path)?,
        None => chunkload::dataset::generate(dataset, rows, seed, std::io::stdout().lock())?,
    }
    Ok(ExitCode::SUCCESS)
}
