//! The `chunkload` command line: parses flags into library configs, calls the library,
//! maps errors to exit codes. No loading logic lives here: flags are in `args`, each
//! subcommand's glue in `cmd`.

use anyhow::Context;
use std::process::ExitCode;

mod args;
mod cmd;
mod exit;
mod failure;
mod inputs;
mod progress;
mod resume;
mod signals;

use args::{Cli, Command};
use exit::ExitStatus;
use failure::Failure;

fn main() -> ExitCode {
    // `chunkload ... | head` should end quietly, as other Unix tools do.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let matches = match args::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => flag_error(e),
    };
    let url_on_command_line =
        matches.value_source("url") == Some(clap::parser::ValueSource::CommandLine);
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => flag_error(e),
    };
    let json = cli.command.json();
    if let Command::Load(a) = &cli.command {
        cmd::set_quiet(a.quiet);
    }
    match run(cli, url_on_command_line) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) if failure::is_interrupted(&e) => {
            let lib = e.chain().find_map(|c| c.downcast_ref::<chunkload::Error>());
            signals::print_interrupted(
                &lib.map_or_else(|| Failure::of(&e).msg, resume::interrupted_line),
            );
            ExitCode::from(lib.map_or(130, |e| ExitStatus::of(e).code()))
        }
        Err(e) => {
            let f = Failure::of(&e);
            eprintln!("chunkload: error: {}", f.msg);
            if json {
                println!("{}", f.json);
            }
            ExitCode::from(f.status.code())
        }
    }
}

/// A flag clap refuses: its message and exit code 2, and under `--json` (anywhere among
/// the arguments) the error object on stdout too, as any other error. Help and version
/// are not errors.
fn flag_error(e: clap::Error) -> ! {
    use clap::error::ErrorKind;
    let shown = matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
        || e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand;
    let json = std::env::args_os().skip(1).any(|a| a == "--json");
    if json && !shown {
        let text = e.render().to_string();
        // clap's first line is the error; the rest is usage and a hint to --help.
        let msg = text
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_string();
        println!("{}", failure::json_error(&msg, None, ExitStatus::Usage));
    }
    e.exit()
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
