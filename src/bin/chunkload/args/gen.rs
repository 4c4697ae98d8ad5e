//! `chunkload gen` flags.

use chunkload::dataset::Dataset;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct GenArgs {
    /// Dataset: accounts (id uuid, balance int8) or wide (10 mixed-type columns).
    pub(crate) dataset: Dataset,
    /// Rows to generate.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) rows: u64,
    /// Seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    /// Output file (default stdout).
    #[arg(short, long)]
    pub(crate) output: Option<PathBuf>,
    /// Print the dataset's CREATE TABLE instead of rows.
    #[arg(long)]
    pub(crate) ddl: bool,
    /// Table name used by --ddl.
    #[arg(long)]
    pub(crate) table: Option<String>,
}
