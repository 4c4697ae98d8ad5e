//! `chunkload completions`: shell completions from the flag definitions.

use crate::args::{Cli, CompletionsArgs};
use clap::CommandFactory;
use std::process::ExitCode;

pub(crate) fn run(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    clap_complete::generate(
        args.shell,
        &mut Cli::command(),
        "chunkload",
        &mut std::io::stdout(),
    );
    Ok(ExitCode::SUCCESS)
}
