//! Flags: the raw command line as clap parses it, one file per command, and its
//! conversion into validated library configs (`LoadConfig`, `ImportOptions`, `Dialect`,
//! `RetryPolicy`, `InferOptions`). Flags several commands share are in [`shared`].

mod bank;
mod completions;
mod demo;
mod forget;
mod gen;
mod import;
mod init;
mod load;
mod schema;
mod shared;
mod status;

pub(crate) use bank::BankArgs;
pub(crate) use completions::CompletionsArgs;
pub(crate) use demo::DemoArgs;
pub(crate) use forget::ForgetArgs;
pub(crate) use gen::GenArgs;
pub(crate) use import::ImportArgs;
pub(crate) use init::InitArgs;
pub(crate) use load::LoadArgs;
pub(crate) use schema::SchemaArgs;
pub(crate) use status::StatusArgs;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "chunkload",
    version,
    about = "Bulk-load CSV into CockroachDB and PostgreSQL in bounded, retried, exactly-once chunks"
)]
pub(crate) struct Cli {
    /// Connection URL: postgres://, postgresql:// or cockroachdb:// (also DATABASE_URL).
    /// Several hosts: postgres://u@h1:26257,h2:26257/db. TLS: ?sslmode=verify-full&sslrootcert=ca.crt
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub(crate) url: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Apply a schema (the bundled dbinit.sql by default) to the database the URL names.
    #[command(
        after_help = "Example:\n  chunkload init --url postgres://root@localhost:26257/bank"
    )]
    Init(InitArgs),
    /// Run the tutorial's bank app: create accounts, transfer, delete five.
    #[command(
        after_help = "Example:\n  chunkload bank --url postgres://root@localhost:26257/bank --accounts 100 --seed 7"
    )]
    Bank(BankArgs),
    /// Load CSV files into a table in bounded chunks, each committed exactly once.
    #[command(
        after_help = "Examples:\n  chunkload load data/accounts.csv --table accounts --url postgres://root@localhost:26257/bank\n  chunkload load big.csv.zst --table t --method copy --workers 4 --max-errors 100\n  chunkload load - --table t --no-header --columns id,balance < rows.csv"
    )]
    Load(Box<LoadArgs>),
    /// Print the CREATE TABLE inferred from a CSV file, to edit and apply with `init --schema`.
    #[command(
        after_help = "Example:\n  chunkload schema trips.csv --table trips --primary-key id > trips.sql\n  chunkload init --schema trips.sql"
    )]
    Schema(SchemaArgs),
    /// Split a CSV into shards for CockroachDB's IMPORT INTO (or server-side COPY), write
    /// the statement, and optionally serve the shards over HTTP or run it.
    #[command(after_help = import::AFTER_HELP)]
    Import(Box<ImportArgs>),
    /// List the unfinished loads recorded in the database (`--all`: every load), with the
    /// pieces and rows committed.
    #[command(
        after_help = "Example:\n  chunkload status --url postgres://root@localhost:26257/bank"
    )]
    Status(StatusArgs),
    /// Remove ledger entries: one load, every finished load, or loads idle for a while.
    #[command(
        after_help = "Examples:\n  chunkload forget accounts-1a2b3c4d5e6f7a8b\n  chunkload forget --finished\n  chunkload forget --older-than 30d"
    )]
    Forget(ForgetArgs),
    /// Generate a deterministic dataset (CSV with a header) for tests and benchmarks.
    #[command(
        after_help = "Examples:\n  chunkload gen accounts --rows 1000000 --seed 1 -o accounts.csv\n  chunkload gen wide --rows 100000 --ddl"
    )]
    Gen(GenArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Example:\n  chunkload completions bash > ~/.local/share/bash-completion/completions/chunkload"
    )]
    Completions(CompletionsArgs),
    /// Start a throwaway local PostgreSQL and keep it until Ctrl-C or stdin closes (for
    /// benchmarks and scripts); prints its URL on the first line of stdout.
    #[command(hide = true)]
    Server,
    /// Start a throwaway local PostgreSQL, run the bank app and a chunked load on it, stop it.
    #[command(after_help = "Example:\n  chunkload demo --keep")]
    Demo(DemoArgs),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
