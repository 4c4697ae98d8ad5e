//! `chunkload forget` flags.

use super::shared::LedgerArgs;
use clap::Args;

#[derive(Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["load_id", "finished", "older_than"])))]
pub(crate) struct ForgetArgs {
    /// The load to forget.
    pub(crate) load_id: Option<String>,
    /// Forget every finished load.
    #[arg(long)]
    pub(crate) finished: bool,
    /// Forget loads with no activity for this long (`30d`, `12h`, `90m`).
    #[arg(long, value_name = "AGE")]
    pub(crate) older_than: Option<String>,
    #[command(flatten)]
    pub(crate) ledger: LedgerArgs,
}
