//! `chunkload bank`: the tutorial's app.

use super::shared::connect;
use crate::args::BankArgs;
use std::process::ExitCode;

pub(crate) fn run(args: &BankArgs, url: Option<&str>) -> anyhow::Result<ExitCode> {
    let (mut client, flavour) = connect(url)?;
    chunkload::bank::run_app(
        &mut client,
        flavour,
        args.retry.policy()?,
        args.accounts,
        args.seed,
        &mut std::io::stdout().lock(),
    )?;
    Ok(ExitCode::SUCCESS)
}
