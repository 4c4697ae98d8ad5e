//! `chunkload gen`: a dataset, or its CREATE TABLE.

use crate::args::GenArgs;
use anyhow::Context;
use std::process::ExitCode;

pub(crate) fn run(args: &GenArgs) -> anyhow::Result<ExitCode> {
    let dataset = args.dataset;
    if args.ddl {
        let t = args
            .table
            .clone()
            .unwrap_or_else(|| dataset.name().to_string());
        println!("{}", chunkload::gen::ddl(dataset, &t));
        return Ok(ExitCode::SUCCESS);
    }
    let (rows, seed) = (args.rows, args.seed);
    match &args.output {
        Some(path) => {
            // Written to a temp file and renamed: no half-written dataset.
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let tmp = tempfile::NamedTempFile::new_in(dir)?;
            // A dataset is an ordinary file, readable like any other (temp files are 0600).
            tmp.as_file()
                .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
            let mut w = std::io::BufWriter::new(tmp.as_file());
            chunkload::gen::generate(dataset, rows, seed, &mut w)?;
            std::io::Write::flush(&mut w)?;
            drop(w);
            tmp.persist(path)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        None => chunkload::gen::generate(dataset, rows, seed, std::io::stdout().lock())?,
    }
    Ok(ExitCode::SUCCESS)
}
