//! The `chunkload` command line: parses flags into library configs, calls the library,
//! maps errors to exit codes. No loading logic lives here: flags are in `args`, each
//! subcommand's glue in `cmd`.

use anyhow::Context;
use std::process::ExitCode;

mod args;
mod cmd;
mod exit;
mod progress;
mod resume;
mod signals;

use args::{Cli, Command};
use exit::ExitStatus;

fn main() -> ExitCode {
    // `chunkload ... | head` should end quietly, as other Unix tools do.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let matches = args::command().get_matches();
    let url_on_command_line =
        matches.value_source("url") == Some(clap::parser::ValueSource::CommandLine);
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let json = cli.command.json();
    match run(cli, url_on_command_line) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) if is_interrupted(&e) => {
            let lib = e.chain().find_map(|c| c.downcast_ref::<chunkload::Error>());
            signals::print_interrupted(&lib.map_or_else(|| one_line(&e), resume::interrupted_line));
            ExitCode::from(lib.map_or(130, |e| ExitStatus::of(e).code()))
        }
        Err(e) => {
            let lib = e.chain().find_map(|c| c.downcast_ref::<chunkload::Error>());
            let mut msg = match lib.map(chunkload::Error::kind) {
                // The DDL an administrator is to run keeps its lines.
                Some(chunkload::ErrorKind::Privilege { .. }) => lib.map(ToString::to_string),
                _ => None,
            }
            .unwrap_or_else(|| one_line(&e));
            // A partial load says what stays, whatever stopped it.
            let kept = lib.map_or(0, chunkload::Error::rows_committed);
            if kept > 0 && !msg.contains("committed") {
                msg.push_str(&format!(
                    "; {kept} {} stay committed (see `chunkload status`)",
                    chunkload::error::plural(kept, "row", "rows")
                ));
            }
            eprintln!("chunkload: error: {msg}");
            // Errors outside the library are the binary's own checks of its arguments.
            let status = lib.map_or(ExitStatus::Data, ExitStatus::of);
            if json {
                println!("{}", json_error(&msg, lib, status));
            }
            ExitCode::from(status.code())
        }
    }
}

/// The error as `--json` prints it on stdout, so a script reading stdout learns why.
fn json_error(msg: &str, e: Option<&chunkload::Error>, status: ExitStatus) -> serde_json::Value {
    let location = e.and_then(|e| e.location()).map(|l| {
        serde_json::json!({
            "file": l.file,
            "line": l.pos.line,
            "byte": l.pos.byte,
            "record": l.pos.record,
            "column": l.column,
        })
    });
    serde_json::json!({
        "error": {
            "message": msg,
            "kind": e.map_or("other", chunkload::Error::kind_name),
            "exit_code": status.code(),
            "status": status.name(),
            "sqlstate": e.and_then(|e| e.sqlstate()),
            "rows_committed": e.map_or(0, chunkload::Error::rows_committed),
            "location": location,
        }
    })
}

fn run(cli: Cli, url_on_command_line: bool) -> anyhow::Result<ExitCode> {
    // A load stops between chunks; the commands with a throwaway server or a file server
    // stop it; anything else ends at once (a throwaway cluster's watchdog then removes it).
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let interrupt = chunkload::interrupt::Interrupt::new();
    let on_signal = match &cli.command {
        Command::Load(a) if !a.dry_run => signals::OnSignal::Interrupt(interrupt.clone()),
        Command::Import(_) | Command::Server(_) | Command::Demo(_) => {
            signals::OnSignal::Stop(stop_tx)
        }
        _ => signals::OnSignal::Exit,
    };
    signals::install(on_signal).context("installing the signal handlers")?;
    let connection = cli.connection()?;
    let url = connection.as_deref();
    match &cli.command {
        Command::Init(a) => cmd::init::run(a, url),
        Command::Bank(a) => cmd::bank::run(a, url),
        Command::Gen(a) => cmd::gen::run(a),
        Command::Schema(a) => cmd::schema::run(a),
        Command::Load(a) => cmd::load::run(a, url, interrupt),
        Command::Import(a) => cmd::import::run(a, url, stop_rx),
        Command::Status(a) => cmd::status::run(a, url),
        Command::Forget(a) => cmd::forget::run(a, url),
        Command::Completions(a) => cmd::completions::run(a),
        Command::Server(a) => cmd::server::run(a, stop_rx),
        Command::Demo(a) => cmd::demo::run(a, url_on_command_line, stop_rx),
    }
}

/// A signal stopped the load: its one line is not an error message.
fn is_interrupted(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<chunkload::Error>().map(|e| e.kind()),
            Some(chunkload::ErrorKind::Interrupted { .. })
        )
    })
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
/// The chain ends at the library's error: its message already says what its causes do
/// (the server's message once, not again as `db error: ERROR: ...`).
fn one_line(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let last = cause.downcast_ref::<chunkload::Error>().is_some();
        let text = cause.to_string();
        if msg.contains(&text) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&text);
        if last {
            break;
        }
    }
    msg.replace('\n', " ")
}
