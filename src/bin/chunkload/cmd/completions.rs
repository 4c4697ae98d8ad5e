//! `chunkload completions`: shell completions from the flag definitions.

use crate::args::CompletionsArgs;
use std::process::ExitCode;

pub(crate) fn run(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    clap_complete::generate(
        args.shell,
        &mut crate::args::command(),
        "chunkload",
        &mut std::io::stdout(),
    );
    Ok(ExitCode::SUCCESS)
}
