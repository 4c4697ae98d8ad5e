//! The `chunkload` command line: parses flags into library configs, calls the library,
//! maps errors to exit codes. No loading logic lives here: flags are in `args`, each
//! subcommand's glue in `cmd`.

use anyhow::Context;
use std::process::ExitCode;

mod args;
mod cmd;

use args::{Cli, Command};

fn main() -> ExitCode {
    // `chunkload ... | head` should end quietly, as other Unix tools do.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let url_on_command_line =
        matches.value_source("url") == Some(clap::parser::ValueSource::CommandLine);
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match run(cli, url_on_command_line) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chunkload: error: {}", one_line(&e));
            let code = e
                .chain()
                .find_map(|c| c.downcast_ref::<chunkload::Error>())
                .map_or(1, |e| e.exit_code());
            ExitCode::from(code)
        }
    }
}

fn run(cli: Cli, url_on_command_line: bool) -> anyhow::Result<ExitCode> {
    // Ctrl-C ends the process; a throwaway cluster's watchdog then stops and removes it.
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    ctrlc::set_handler(move || {
        if stop_tx.send(()).is_err() {
            std::process::exit(130);
        }
    })
    .context("installing the Ctrl-C handler")?;
    let url = cli.url.as_deref();
    match &cli.command {
        Command::Init(a) => cmd::init::run(a, url),
        Command::Bank(a) => cmd::bank::run(a, url),
        Command::Gen(a) => cmd::gen::run(a),
        Command::Schema(a) => cmd::schema::run(a),
        Command::Load(a) => cmd::load::run(a, url),
        Command::Import(a) => cmd::import::run(a, url, stop_rx),
        Command::Status(a) => cmd::status::run(a, url),
        Command::Forget(a) => cmd::forget::run(a, url),
        Command::Completions(a) => cmd::completions::run(a),
        Command::Server => cmd::server::run(stop_rx),
        Command::Demo(a) => cmd::demo::run(a, url_on_command_line, stop_rx),
    }
}

/// A broken pipe (`chunkload ... | head`) is not an error worth a message.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || matches!(
                c.downcast_ref::<chunkload::Error>().map(|e| e.kind()),
                Some(chunkload::ErrorKind::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe
            )
    })
}

/// The error chain on one line, leaving out causes whose text the message already holds.
fn one_line(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if msg.contains(&text) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&text);
    }
    msg.replace('\n', " ")
}
