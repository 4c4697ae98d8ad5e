//! What several commands do the same way: reach the database, infer a file's schema.

use chunkload::connect::ConnectOptions;
use chunkload::infer::{InferOptions, Inferred};
use chunkload::source::{Compression, Dialect};
use chunkload::Flavour;

pub(crate) fn connect_options(url: Option<&str>) -> anyhow::Result<ConnectOptions> {
    Ok(ConnectOptions::from_env(url)?)
}

pub(crate) fn connect(url: Option<&str>) -> anyhow::Result<(postgres::Client, Flavour)> {
    let opts = connect_options(url)?;
    let mut client = chunkload::connect::connect(&opts)?;
    let flavour = Flavour::detect(&mut client)?;
    Ok((client, flavour))
}

/// Writer connections spread over the URL's hosts round-robin; a reconnect moves on to
/// the next host, so a failed node's work goes to the others. A first attempt tries every
/// host once, from the worker's own, as libpq does: the load's first connection is not
/// retried (see `chunkload::load::run`), so a URL whose first host is down still starts.
pub(crate) fn connector(opts: ConnectOptions) -> chunkload::load::Connector {
    std::sync::Arc::new(move |worker: usize, attempt: u32| match attempt {
        0 => chunkload::connect::connect_from(&opts, worker),
        _ => chunkload::connect::connect_host(&opts, worker + attempt as usize),
    })
}

pub(crate) fn warn(msg: &str) {
    eprintln!("warning: {msg}");
}

/// Infers the first file's schema; prints its warnings.
pub(crate) fn infer_schema(
    file: &str,
    dialect: &Dialect,
    compression: Option<Compression>,
    columns: Option<&[String]>,
    opts: &InferOptions,
) -> anyhow::Result<Inferred> {
    let inferred = chunkload::infer::infer_file(file, dialect, compression, columns, opts)?;
    for w in chunkload::infer::warnings(&inferred, opts) {
        warn(&w);
    }
    Ok(inferred)
}
