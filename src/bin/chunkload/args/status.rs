//! `chunkload status` flags.

use clap::Args;

#[derive(Args)]
pub(crate) struct StatusArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}
