//! `chunkload server` (hidden): a throwaway PostgreSQL for benchmarks and scripts; with
//! `--as-cockroachdb`, a database of it behind the strict CockroachDB stand-in.

use crate::args::ServerArgs;
use chunkload::cluster::LocalCluster;
use chunkload::standin::{Options, StandIn};
use std::process::ExitCode;
use std::sync::mpsc::Receiver;

/// Serves until `stop` (Ctrl-C), or until whoever started us closes our stdin.
pub(crate) fn run(args: &ServerArgs, stop: Receiver<()>) -> anyhow::Result<ExitCode> {
    let cluster = LocalCluster::start()?;
    let mut standin = None;
    let url = match args.as_cockroachdb {
        true => {
            cluster.create_cockroach_database("cockroachdb")?;
            let s = StandIn::start(([127, 0, 0, 1], cluster.port()).into(), Options::default())?;
            let url = s.url_for("cockroachdb");
            standin = Some(s);
            url
        }
        false => cluster.url(),
    };
    println!("{url}");
    std::io::Write::flush(&mut std::io::stdout())?;
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    let _ = stop.recv();
    drop(standin);
    cluster.stop()?;
    Ok(ExitCode::SUCCESS)
}
