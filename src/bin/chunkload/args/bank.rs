//! `chunkload bank` flags.

use super::shared::RetryArgs;
use clap::Args;

#[derive(Args)]
pub(crate) struct BankArgs {
    /// Accounts to create (at least 2); only these are transferred between and deleted.
    #[arg(long, default_value_t = 100)]
    pub(crate) accounts: usize,
    /// Seed for a reproducible run.
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    #[command(flatten)]
    pub(crate) retry: RetryArgs,
}
