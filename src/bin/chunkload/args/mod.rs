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

use clap::{Arg, ArgAction, CommandFactory, Parser, Subcommand};

/// The command line with psql's short flags: `-h` is the host, as in psql, so help is
/// `--help` only (clap would take `-h` for help, and a load would silently not run).
pub(crate) fn command() -> clap::Command {
    fn long_help_only(c: clap::Command) -> clap::Command {
        c.disable_help_flag(true).arg(
            Arg::new("help")
                .long("help")
                .action(ArgAction::Help)
                .help("Print help"),
        )
    }
    long_help_only(Cli::command()).mut_subcommands(long_help_only)
}

impl Cli {
    /// The connection string: `--url`/`DATABASE_URL`, or one built from psql's flags. Both
    /// at once is refused: which one wins would be a guess. As in psql, `-d` may be a whole
    /// connection string (it holds `=` or starts with a URL scheme); its fields win over
    /// `-h`/`-p`/`-U`, as libpq's expanded dbname does.
    pub(crate) fn connection(&self) -> Result<Option<String>, chunkload::Error> {
        let conninfo = self.dbname.as_deref().filter(|d| {
            d.contains('=')
                || ["postgresql://", "postgres://", "cockroachdb://"]
                    .iter()
                    .any(|p| d.starts_with(p))
        });
        let dbname = if conninfo.is_some() {
            None
        } else {
            self.dbname.as_deref()
        };
        let kv = flag_string(
            self.host.as_deref(),
            self.port,
            self.username.as_deref(),
            dbname,
        );
        let from_flags = match (conninfo, kv) {
            (None, kv) => kv,
            (Some(d), None) => Some(d.to_string()),
            // Later keywords win: the string's fields override the flags'.
            (Some(d), Some(kv)) if !d.contains("://") => Some(format!("{kv} {d}")),
            (Some(_), Some(_)) => {
                return Err(chunkload::Error::usage(
                    "-d names a connection URL: put the host, port and user in it instead of \
                     -h/-p/-U",
                ))
            }
        };
        match (&self.url, from_flags) {
            (url, None) => Ok(url.clone()),
            (None, Some(s)) => Ok(Some(s)),
            (Some(_), Some(_)) => Err(chunkload::Error::usage(
                "-h/-p/-U/-d and --url (or DATABASE_URL) both name the database: use one of them",
            )),
        }
    }
}

/// psql's `-h`/`-p`/`-U`/`-d` as a keyword/value string; `None` when none is given.
fn flag_string(
    host: Option<&str>,
    port: Option<u16>,
    user: Option<&str>,
    dbname: Option<&str>,
) -> Option<String> {
    let quote = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
    let mut kv = Vec::new();
    if let Some(h) = host {
        kv.push(format!("host={}", quote(h)));
    }
    if let Some(p) = port {
        kv.push(format!("port={p}"));
    }
    if let Some(u) = user {
        kv.push(format!("user={}", quote(u)));
    }
    if let Some(d) = dbname {
        kv.push(format!("dbname={}", quote(d)));
    }
    (!kv.is_empty()).then(|| kv.join(" "))
}

#[derive(Parser)]
#[command(
    name = "chunkload",
    version,
    about = "Bulk-load CSV into CockroachDB and PostgreSQL in bounded, retried, exactly-once chunks"
)]
pub(crate) struct Cli {
    /// Connection URL: postgres://, postgresql:// or cockroachdb:// (also DATABASE_URL).
    /// Several hosts: postgres://u@h1:26257,h2:26257/db. TLS: ?sslmode=verify-full&sslrootcert=ca.crt
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        hide_env_values = true,
        help_heading = "Connection"
    )]
    pub(crate) url: Option<String>,
    /// Server host or socket directory, as psql's -h (instead of --url; also PGHOST).
    #[arg(
        short = 'h',
        long,
        global = true,
        value_name = "HOST",
        help_heading = "Connection"
    )]
    pub(crate) host: Option<String>,
    /// Server port, as psql's -p (instead of --url; also PGPORT).
    #[arg(
        short = 'p',
        long,
        global = true,
        value_name = "PORT",
        help_heading = "Connection"
    )]
    pub(crate) port: Option<u16>,
    /// User name, as psql's -U (instead of --url; also PGUSER).
    #[arg(
        short = 'U',
        long,
        global = true,
        value_name = "USER",
        help_heading = "Connection"
    )]
    pub(crate) username: Option<String>,
    /// Database name, as psql's -d (instead of --url; also PGDATABASE).
    #[arg(
        short = 'd',
        long,
        global = true,
        value_name = "DB",
        help_heading = "Connection"
    )]
    pub(crate) dbname: Option<String>,
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
    Schema(Box<SchemaArgs>),
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
    Server(ServerArgs),
    /// Start a throwaway local PostgreSQL, run the bank app and a chunked load on it, stop it.
    #[command(after_help = "Example:\n  chunkload demo --keep")]
    Demo(DemoArgs),
}

impl Command {
    /// Whether `--json` asks for machine-readable output (errors included).
    pub(crate) fn json(&self) -> bool {
        match self {
            Command::Load(a) => a.json,
            Command::Status(a) => a.json,
            _ => false,
        }
    }
}

/// Options of `chunkload server`.
#[derive(Debug, clap::Args)]
pub struct ServerArgs {
    /// Print the URL of a CockroachDB stand-in: a database of this PostgreSQL behind a
    /// pgwire proxy that answers `version()` like CockroachDB and refuses what
    /// CockroachDB refuses.
    #[arg(long)]
    pub as_cockroachdb: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        command().debug_assert();
    }
}
