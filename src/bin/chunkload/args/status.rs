//! `chunkload status` flags.

use clap::Args;

#[derive(Args)]
pub(crate) struct StatusArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
    /// List every load, finished ones too (by default only unfinished ones).
    #[arg(long)]
    pub(crate) all: bool,
}
