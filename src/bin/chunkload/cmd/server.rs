//! `chunkload server` (hidden): a throwaway PostgreSQL for benchmarks and scripts.

use crate::args::ServerArgs;
use chunkload::cluster::LocalCluster;
use std::process::ExitCode;
use std::sync::mpsc::Receiver;

/// Serves until `stop` (Ctrl-C), or until whoever started us closes our stdin.
pub(crate) fn run(args: &ServerArgs, stop: Receiver<()>) -> anyhow::Result<ExitCode> {
    let cluster = LocalCluster::start()?;
    let url = match args.as_cockroachdb {
        true => cluster.create_cockroach_database("cockroachdb")?,
        false => cluster.url(),
    };
    println!("{url}");
    std::io::Write::flush(&mut std::io::stdout())?;
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    let _ = stop.recv();
    cluster.stop()?;
    Ok(ExitCode::SUCCESS)
}
