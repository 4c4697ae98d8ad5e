//! `chunkload init` flags.

use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct InitArgs {
    /// A SQL file to apply instead of the bundled dbinit.sql.
    #[arg(long)]
    pub(crate) schema: Option<PathBuf>,
}
