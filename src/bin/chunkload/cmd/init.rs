//! `chunkload init`: apply a schema.

use super::shared::connect;
use crate::args::InitArgs;
use chunkload::bank::DBINIT_SQL;
use std::process::ExitCode;

pub(crate) fn run(args: &InitArgs, url: Option<&str>) -> anyhow::Result<ExitCode> {
    let sql = match &args.schema {
        // A missing schema file is a mistake in the command: the library's I/O error says
        // so in its exit code.
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| chunkload::Error::io(format!("schema {}", p.display()), e))?,
        None => DBINIT_SQL.to_string(),
    };
    let (mut client, _) = connect(url)?;
    client.batch_execute(&sql).map_err(chunkload::Error::from)?;
    eprintln!("schema applied");
    Ok(ExitCode::SUCCESS)
}
