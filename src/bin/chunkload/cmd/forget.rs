//! `chunkload forget`: removes ledger entries of loads.

use super::shared::connect;
use crate::args::ForgetArgs;
use chunkload::ledger::{self, ForgetWhich};
use std::process::ExitCode;

pub(crate) fn run(args: &ForgetArgs, url: Option<&str>) -> anyhow::Result<ExitCode> {
    let which = match (&args.load_id, &args.older_than) {
        (Some(id), _) => ForgetWhich::Load(id.clone()),
        (None, Some(age)) => ForgetWhich::OlderThan(ledger::parse_age(age)?),
        (None, None) => ForgetWhich::Finished,
    };
    let schema = args.ledger.schema()?;
    let (mut client, _) = connect(url)?;
    // Without --ledger-schema, every ledger of the database: one kept beside a table too.
    let mut ids = Vec::new();
    for s in ledger::home::found(&mut client, &schema)? {
        ids.extend(ledger::forget_loads(&mut client, &s, &which)?);
    }
    if ids.is_empty() {
        eprintln!("no load matched; nothing forgotten");
    }
    for id in ids {
        println!("forgot {id}");
    }
    Ok(ExitCode::SUCCESS)
}
