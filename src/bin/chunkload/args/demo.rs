//! `chunkload demo` flags.

use clap::Args;

#[derive(Args)]
pub(crate) struct DemoArgs {
    /// Keep the server running until Ctrl-C, to look around with psql.
    #[arg(long)]
    pub(crate) keep: bool,
    /// Seed for a reproducible run.
    #[arg(long)]
    pub(crate) seed: Option<u64>,
}
