//! One file per subcommand: each `run` turns its flags into library calls and prints what
//! the library returns. What several share (connecting, inference warnings) is in [`shared`].

pub(crate) mod bank;
pub(crate) mod completions;
pub(crate) mod demo;
pub(crate) mod forget;
pub(crate) mod gen;
pub(crate) mod import;
pub(crate) mod init;
pub(crate) mod load;
mod load_one;
mod many;
pub(crate) mod schema;
pub(crate) mod server;
mod shared;
pub(crate) mod status;

pub(crate) use shared::set_quiet;
