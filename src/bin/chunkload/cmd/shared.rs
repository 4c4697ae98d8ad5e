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
/// the next host, so a failed node's work goes to the others.
pub(crate) fn connector(opts: ConnectOptions) -> chunkload::load::Connector {
    std::sync::Arc::new(move |worker: usize, attempt: u32| {
        chunkload::connect::connect_host(&opts, worker + attempt as usize)
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
