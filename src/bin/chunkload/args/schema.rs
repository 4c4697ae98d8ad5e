//! `chunkload schema` flags.

use super::shared::{DialectArgs, InferArgs};
use clap::Args;

#[derive(Args)]
pub(crate) struct SchemaArgs {
    /// The CSV file (`-` reads stdin).
    pub(crate) file: String,
    /// Name of the table in the statement (default: the file's name).
    #[arg(long)]
    pub(crate) table: Option<String>,
    /// Column names of a file without header.
    #[arg(long, value_delimiter = ',')]
    pub(crate) columns: Option<Vec<String>>,
    #[command(flatten)]
    pub(crate) dialect: DialectArgs,
    #[command(flatten)]
    pub(crate) infer: InferArgs,
}
