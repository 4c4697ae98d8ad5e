//! `chunkload status` flags.

use super::shared::LedgerArgs;
use clap::Args;

#[derive(Args)]
pub(crate) struct StatusArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
    /// List every load, finished ones too (by default only unfinished ones).
    #[arg(long)]
    pub(crate) all: bool,
    #[command(flatten)]
    pub(crate) ledger: LedgerArgs,
}
