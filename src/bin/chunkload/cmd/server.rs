//! `chunkload server` (hidden): a throwaway PostgreSQL for benchmarks and scripts.

use chunkload::cluster::LocalCluster;
use std::process::ExitCode;
use std::sync::mpsc::Receiver;

/// Serves until `stop` (Ctrl-C), or until whoever started us closes our stdin.
pub(crate) fn run(stop: Receiver<()>) -> anyhow::Result<ExitCode> {
    let cluster = LocalCluster::start()?;
    println!("{}", cluster.url());
    std::io::Write::flush(&mut std::io::stdout())?;
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    let _ = stop.recv();
    cluster.stop()?;
    Ok(ExitCode::SUCCESS)
}
