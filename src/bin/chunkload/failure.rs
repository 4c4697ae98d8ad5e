//! An error as the command line shows it: one line on stderr, the exit code, and the JSON
//! object `--json` prints on stdout. Also used per file when a run loads many files.

use crate::exit::ExitStatus;

/// What an error prints and the code it exits with.
pub(crate) struct Failure {
    /// The message, on one line (an administrator's DDL keeps its lines).
    pub(crate) msg: String,
    pub(crate) status: ExitStatus,
    /// `{"error": {...}}` for `--json`.
    pub(crate) json: serde_json::Value,
}

impl Failure {
    pub(crate) fn of(e: &anyhow::Error) -> Failure {
        let lib = e.chain().find_map(|c| c.downcast_ref::<chunkload::Error>());
        let mut msg = match lib.map(chunkload::Error::kind) {
            // The DDL an administrator is to run keeps its lines.
            Some(chunkload::ErrorKind::Privilege { .. }) => lib.map(ToString::to_string),
            _ => None,
        }
        .unwrap_or_else(|| one_line(e));
        // A partial load says what stays, whatever stopped it.
        let kept = lib.map_or(0, chunkload::Error::rows_committed);
        if kept > 0 && !msg.contains("committed") {
            msg.push_str(&format!(
                "; {kept} {} stay committed (see `chunkload status`)",
                chunkload::error::plural(kept, "row", "rows")
            ));
        }
        // Errors outside the library are the binary's own checks of its arguments.
        let status = lib.map_or(ExitStatus::Data, ExitStatus::of);
        let json = json_error(&msg, lib, status);
        Failure { msg, status, json }
    }
}

/// The error as `--json` prints it on stdout, so a script reading stdout learns why.
pub(crate) fn json_error(
    msg: &str,
    e: Option<&chunkload::Error>,
    status: ExitStatus,
) -> serde_json::Value {
    // Without a library error: a flag clap refused, or another failure of the binary.
    let kind = match status {
        ExitStatus::Usage => "usage",
        _ => "other",
    };
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
            "kind": e.map_or(kind, chunkload::Error::kind_name),
            "exit_code": status.code(),
            "status": status.name(),
            "sqlstate": e.and_then(|e| e.sqlstate()),
            "rows_committed": e.map_or(0, chunkload::Error::rows_committed),
            "location": location,
        }
    })
}

/// A signal stopped the load: its one line is not an error message.
pub(crate) fn is_interrupted(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<chunkload::Error>().map(|e| e.kind()),
            Some(chunkload::ErrorKind::Interrupted { .. })
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
