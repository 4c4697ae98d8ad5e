//! The exit codes of the command line, one table (the README shows the same): the
//! library says how a failure left things ([`Outcome`]), this says which code that is.

use chunkload::error::Outcome;

/// An exit code of `chunkload`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum ExitStatus {
    /// The load failed on its data (or the server refused it); nothing was committed.
    Data = 1,
    /// A mistake in the command (flags, paths, a changed input or table), a missing privilege or
    /// no connection.
    Usage = 2,
    /// The load stopped after committing or rejecting some rows; rerunning resumes it.
    /// Rows rejected within `--max-errors` are not this: that load is done (exit 0).
    Partial = 3,
    /// Every row is loaded, but a deferred index or constraint could not be rebuilt
    /// (`--defer-indexes`: a duplicate key); fixing the rows and rerunning rebuilds it.
    Rebuild = 4,
    /// Stopped by SIGHUP (the terminal went away).
    Hangup = 129,
    /// Stopped by SIGINT (Ctrl-C).
    Interrupted = 130,
    /// Stopped by SIGTERM.
    Terminated = 143,
}

impl ExitStatus {
    /// The process exit code.
    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    /// A short name for scripts (`--json` error objects).
    pub(crate) fn name(self) -> &'static str {
        match self {
            ExitStatus::Data => "data",
            ExitStatus::Usage => "usage",
            ExitStatus::Partial => "partial",
            ExitStatus::Rebuild => "rebuild",
            ExitStatus::Hangup => "hangup",
            ExitStatus::Interrupted => "interrupted",
            ExitStatus::Terminated => "terminated",
        }
    }

    /// The exit status of a library error.
    pub(crate) fn of(e: &chunkload::Error) -> ExitStatus {
        match e.outcome() {
            Outcome::Usage => ExitStatus::Usage,
            Outcome::Partial => ExitStatus::Partial,
            Outcome::Rebuild => ExitStatus::Rebuild,
            Outcome::Stopped { signal: 1 } => ExitStatus::Hangup,
            Outcome::Stopped { signal: 15 } => ExitStatus::Terminated,
            Outcome::Stopped { .. } => ExitStatus::Interrupted,
            _ => ExitStatus::Data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chunkload::ErrorKind;

    #[test]
    fn the_table_of_exit_codes() {
        let codes = [
            ExitStatus::Data,
            ExitStatus::Usage,
            ExitStatus::Partial,
            ExitStatus::Rebuild,
            ExitStatus::Hangup,
            ExitStatus::Interrupted,
            ExitStatus::Terminated,
        ]
        .map(ExitStatus::code);
        assert_eq!(codes, [1, 2, 3, 4, 129, 130, 143]);
        let usage = chunkload::Error::usage("x");
        assert_eq!(ExitStatus::of(&usage), ExitStatus::Usage);
        assert_eq!(
            ExitStatus::of(&usage.with_committed(2)),
            ExitStatus::Partial
        );
        let rebuild: chunkload::Error = ErrorKind::Rebuild("dup".into()).into();
        assert_eq!(ExitStatus::of(&rebuild).code(), 4);
    }
}
