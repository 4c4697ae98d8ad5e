//! What a load did: returned to the caller, printed at the end (`--json` for scripts).

use crate::error::plural;
use serde::Serialize;

/// What a load did, printed at the end (`--json` for scripts).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// The load id (for resume and `chunkload status`).
    pub load_id: String,
    /// Target table.
    pub table: String,
    /// Input files, in load order (`-` is stdin), as `ledger::LoadStatus::files` lists
    /// them.
    pub files: Vec<String>,
    /// Rows committed by this run.
    pub rows: u64,
    /// Chunks in the input.
    pub chunks: u64,
    /// Chunks that an earlier run had already committed.
    pub chunks_resumed: u64,
    /// Input bytes an earlier run committed that this run skipped by seeking, without
    /// reading them (plain files; compressed input and stdin are read and skipped).
    pub bytes_seeked: u64,
    /// Source bytes read.
    pub bytes: u64,
    /// Transaction retries after 40001.
    pub retries: u64,
    /// Reconnections after lost connections.
    pub reconnects: u64,
    /// Commits whose answer was lost (connection cut during COMMIT, 40003) and which the
    /// ledger showed had happened: not sent again.
    pub commits_confirmed: u64,
    /// Rows written to the reject file.
    pub rejected: u64,
    /// Where rejected rows went, if any were.
    pub reject_file: Option<String>,
    /// Transactions the server refused as too large (and that were split).
    pub too_large_splits: u64,
    /// The rows per transaction the load ended with, if it had to lower it.
    pub lowered_chunk_rows: Option<u64>,
    /// Seconds from start to finish.
    pub elapsed_secs: f64,
    /// Rows per second of this run.
    pub rows_per_sec: f64,
    /// Transport used.
    pub method: String,
    /// Writer connections.
    pub workers: usize,
    /// Nothing was written (dry run).
    pub dry_run: bool,
    /// Nothing was written (`--check`): `rows` and `rejected` are what a real load would
    /// load and reject.
    pub check: bool,
    /// Chunks sent as text for the server's parser (the fast path was not certain of a
    /// value in them).
    pub fallback_chunks: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.chunks_resumed > 0 {
            writeln!(
                f,
                "resumed: {} of {} chunks already committed{}",
                self.chunks_resumed,
                self.chunks,
                match self.bytes_seeked {
                    0 => String::new(),
                    n => format!(" ({n} committed bytes skipped unread)"),
                }
            )?;
        }
        if self.check {
            writeln!(
                f,
                "check: {} {} would load, {} would be rejected; nothing was written",
                self.rows,
                plural(self.rows, "row", "rows"),
                self.rejected
            )?;
        }
        write!(
            f,
            "{}{} {} into {} from {} {}: {} {}, {} bytes, {} {}, {:.2} s, {:.0} rows/s ({}, {} {})",
            match (self.dry_run, self.check) {
                (true, _) => "dry run: would load ",
                (false, true) => "checked ",
                (false, false) => "loaded ",
            },
            self.rows,
            plural(self.rows, "row", "rows"),
            self.table,
            self.files.len(),
            plural(self.files.len() as u64, "file", "files"),
            self.chunks,
            plural(self.chunks, "chunk", "chunks"),
            self.bytes,
            self.retries,
            plural(self.retries, "retry", "retries"),
            self.elapsed_secs,
            self.rows_per_sec,
            self.method,
            self.workers,
            plural(self.workers as u64, "worker", "workers"),
        )?;
        if self.reconnects > 0 {
            write!(
                f,
                "\n{} {} after lost connections",
                self.reconnects,
                plural(self.reconnects, "reconnection", "reconnections")
            )?;
        }
        if self.rejected > 0 {
            write!(
                f,
                "\n{} {} {}rejected, written to {}",
                self.rejected,
                plural(self.rejected, "row", "rows"),
                if self.check { "would be " } else { "" },
                self.reject_file.as_deref().unwrap_or("the reject file")
            )?;
        }
        if self.fallback_chunks > 0 {
            write!(
                f,
                "\n{} chunks sent as text for the server to convert (values not in canonical form)",
                self.fallback_chunks
            )?;
        }
        if let Some(rows) = self.lowered_chunk_rows {
            write!(
                f,
                "\nthe server refused {} {} as too large: they were split, and chunks were committed in pieces of at most {rows} {} from then on",
                self.too_large_splits,
                plural(self.too_large_splits, "transaction", "transactions"),
                plural(rows, "row", "rows")
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_mentions_resume_and_rejects() {
        let s = Summary {
            table: "accounts".into(),
            files: vec!["a.csv".into()],
            rows: 10,
            chunks: 4,
            chunks_resumed: 3,
            rejected: 2,
            reject_file: Some("a.rejects.csv".into()),
            method: "copy".into(),
            workers: 2,
            ..Summary::default()
        };
        let text = s.to_string();
        assert!(
            text.starts_with("resumed: 3 of 4 chunks already committed\n"),
            "{text}"
        );
        assert!(text.contains("2 rows rejected, written to a.rejects.csv"));
    }

    #[test]
    fn a_check_says_what_a_real_load_would_do_and_that_nothing_was_written() {
        let s = Summary {
            table: "t".into(),
            files: vec!["a.csv".into()],
            rows: 9998,
            chunks: 2,
            rejected: 2,
            reject_file: Some("t.rejects.csv".into()),
            method: "copy".into(),
            workers: 1,
            check: true,
            ..Summary::default()
        };
        let text = s.to_string();
        assert!(
            text.starts_with(
                "check: 9998 rows would load, 2 would be rejected; nothing was written\nchecked 9998 rows into t"
            ),
            "{text}"
        );
        assert!(text.contains("2 rows would be rejected, written to t.rejects.csv"));
    }
}
