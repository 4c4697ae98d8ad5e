//! `chunkload init`: apply a schema.

use super::shared::connect;
use crate::args::InitArgs;
use anyhow::Context;
use chunkload::bank::DBINIT_SQL;
use std::process::ExitCode;

pub(crate) fn run(args: &InitArgs, url: Option<&str>) -> anyhow::Result<ExitCode> {
    let sql = match &args.schema {
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("reading schema {}", p.display()))?
        }
        None => DBINIT_SQL.to_string(),
    };
    let (mut client, _) = connect(url)?;
    client.batch_execute(&sql).map_err(chunkload::Error::from)?;
    eprintln!("schema applied");
    Ok(ExitCode::SUCCESS)
}
