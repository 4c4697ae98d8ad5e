//! `chunkload bank`: the tutorial's app.

use super::shared::connect;
use crate::args::BankArgs;
use std::process::ExitCode;

pub(crate) fn run(args: &BankArgs, url: Option<&str>) -> anyhow::Result<ExitCode> {
    let (mut client, _) = connect(url)?;
    // The version too: it decides how CockroachDB's transactions are retried.
    let server = chunkload::Server::detect(&mut client)?;
    chunkload::bank::run_app(
        &mut client,
        server,
        args.retry.policy()?,
        args.accounts,
        args.seed,
        &mut std::io::stdout().lock(),
    )?;
    Ok(ExitCode::SUCCESS)
}
