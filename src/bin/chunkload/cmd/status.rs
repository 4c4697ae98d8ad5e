//! `chunkload status`: the loads the ledger recorded.

use super::shared::connect;
use crate::args::StatusArgs;
use std::process::ExitCode;

pub(crate) fn run(args: &StatusArgs, url: Option<&str>) -> anyhow::Result<ExitCode> {
    let schema = args.ledger.schema()?;
    let (mut client, _) = connect(url)?;
    let mut loads = chunkload::ledger::status(&mut client, &schema)?;
    if !args.all {
        loads.retain(|l| !l.finished);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&loads)?);
    } else {
        print!("{}", chunkload::report::status_table(&loads));
    }
    Ok(ExitCode::SUCCESS)
}
