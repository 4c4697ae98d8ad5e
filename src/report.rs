//! Reporting: live progress, the final summary and the reject file.
//!
//! The loader only bumps shared [`Counters`]; a [`Reporter`] reads them from its own
//! ticker thread. The terminal gets an indicatif bar, a log or CI gets plain periodic
//! lines, scripts and tests get nothing (`--quiet`) and the summary as JSON (`--json`).

use crate::error::plural;
use crate::ledger::LoadStatus;
use crate::{Error, Result};
use indicatif::HumanBytes;
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Counters bumped by the pipeline and read by reporters.
#[derive(Debug, Default)]
pub struct Counters {
    /// Input bytes consumed (compressed bytes for compressed input).
    pub bytes_read: AtomicU64,
    /// Total input bytes, when known (0 = unknown).
    pub bytes_total: AtomicU64,
    /// Rows committed.
    pub rows: AtomicU64,
    /// Chunks fully committed (this run).
    pub chunks: AtomicU64,
    /// Chunks skipped because an earlier run committed them.
    pub chunks_skipped: AtomicU64,
    /// Input bytes an earlier run committed that this run skipped by seeking, unread.
    pub bytes_seeked: AtomicU64,
    /// Transaction retries after 40001.
    pub retries: AtomicU64,
    /// Rows sent to the reject file.
    pub rejected: AtomicU64,
    /// Reconnections after a lost connection.
    pub reconnects: AtomicU64,
    /// Commits whose answer was lost but which the ledger showed had happened.
    pub commits_confirmed: AtomicU64,
    /// Chunks sent as text for the server's parser: the fast path was not certain of a value.
    pub fallback_chunks: AtomicU64,
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// A bar on a terminal, plain lines otherwise.
    Auto,
    /// A bar on a terminal, nothing otherwise (`--json`: a script reads stdout, and a log
    /// of stderr needs no progress).
    Terminal,
    /// Plain lines every `every`, terminal or not.
    Lines {
        /// Time between two lines.
        every: Duration,
    },
    /// Nothing.
    Quiet,
}

/// Time between two plain progress lines, unless told otherwise.
pub const LINES_EVERY: Duration = Duration::from_secs(5);

/// Shows progress on stderr from a ticker thread until dropped or finished.
pub struct Reporter {
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
    bar: Option<indicatif::ProgressBar>,
    /// Records larger than `--chunk-bytes`: the first is named, the rest only counted.
    oversized: AtomicU64,
}

impl Reporter {
    /// Starts reporting the counters.
    pub fn start(counters: Arc<Counters>, mode: ProgressMode) -> Reporter {
        let stop = Arc::new(AtomicBool::new(false));
        let terminal = std::io::stderr().is_terminal();
        let (bar, every) = match mode {
            ProgressMode::Auto | ProgressMode::Terminal if terminal => {
                let bar = indicatif::ProgressBar::new(0);
                bar.set_style(bar_style(false));
                (Some(bar), Some(Duration::from_millis(200)))
            }
            ProgressMode::Auto => (None, Some(LINES_EVERY)),
            ProgressMode::Lines { every } => (None, Some(every)),
            ProgressMode::Terminal | ProgressMode::Quiet => (None, None),
        };
        let ticker = every.map(|every| {
            let (stop, bar, counters) = (stop.clone(), bar.clone(), counters.clone());
            std::thread::spawn(move || ticker(&counters, &stop, bar, every))
        });
        Reporter {
            stop,
            ticker,
            bar,
            oversized: AtomicU64::new(0),
        }
    }

    /// A line on stderr (above the progress bar, if any).
    pub fn note(&self, msg: &str) {
        match &self.bar {
            Some(b) => b.println(msg),
            None => eprintln!("{msg}"),
        }
    }

    /// A warning that does not garble the bar.
    pub fn warn(&self, msg: &str) {
        match &self.bar {
            Some(b) => b.println(format!("warning: {msg}")),
            None => eprintln!("warning: {msg}"),
        }
    }

    /// A record larger than `--chunk-bytes`: the first one is named, the others are
    /// counted and reported once at the end, so a file of large records gives two lines.
    pub fn oversized(&self, file: &str, line: u64, bytes: usize) {
        if self.oversized.fetch_add(1, Relaxed) == 0 {
            self.warn(&format!(
                "{file}: line {line}: a single record of {bytes} bytes is larger than --chunk-bytes; \
                 it goes alone in its own transaction (as will any other such record)"
            ));
        }
    }

    /// Stops the ticker and clears the bar.
    pub fn finish(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        let n = self.oversized.swap(0, Relaxed);
        if n > 1 {
            eprintln!(
                "warning: {n} records were larger than --chunk-bytes; each went alone in its own transaction"
            );
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The bar's look: a bar of fixed width with size, ETA and counters when the size is
/// known, a spinner and the bytes read when it is not (stdin). The counters come last as
/// `wide_msg`, which indicatif cuts to the terminal's width, so the line never wraps and
/// the bar never changes width; a narrow terminal drops the bar.
fn bar_style(known_size: bool) -> indicatif::ProgressStyle {
    let width = console_width();
    let template = match (known_size, width) {
        (true, w) if w >= 100 => {
            "{spinner} {elapsed_precise} [{bar:30}] {bytes:>10}/{total_bytes:<10} ETA {eta:<4} {wide_msg}"
        }
        (true, w) if w >= 60 => {
            "{spinner} {elapsed_precise} [{bar:16}] {bytes:>10}/{total_bytes:<10} ETA {eta:<4} {wide_msg}"
        }
        (true, _) => "{spinner} {percent:>3}% ETA {eta:<4} {wide_msg}",
        (false, _) => "{spinner} {elapsed_precise} {bytes:>10} read ({bytes_per_sec}) {wide_msg}",
    };
    indicatif::ProgressStyle::with_template(template).expect("valid template")
}

/// The terminal's width in columns (80 when it cannot be told).
fn console_width() -> usize {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ only writes a `winsize` through the pointer it is given.
    let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_col > 0 {
        usize::from(ws.ws_col)
    } else {
        80
    }
}

fn status_line(c: &Counters, elapsed: Duration) -> String {
    let rows = c.rows.load(Relaxed);
    let rate = rows as f64 / elapsed.as_secs_f64().max(1e-3);
    let (chunks, retries) = (c.chunks.load(Relaxed), c.retries.load(Relaxed));
    let mut s = format!(
        "{rows} {}, {rate:.0} rows/s, {chunks} {} committed, {retries} {}",
        plural(rows, "row", "rows"),
        plural(chunks, "chunk", "chunks"),
        plural(retries, "retry", "retries"),
    );
    let skipped = c.chunks_skipped.load(Relaxed);
    if skipped > 0 {
        s.push_str(&format!(
            ", {skipped} {} already committed",
            plural(skipped, "chunk", "chunks")
        ));
    }
    let rejected = c.rejected.load(Relaxed);
    if rejected > 0 {
        s.push_str(&format!(", {rejected} rejected"));
    }
    s
}

/// One plain progress line (logs, CI): bytes read, with the share and the time left when
/// the size is known, then the counters.
fn progress_line(c: &Counters, elapsed: Duration) -> String {
    let (read, total) = (c.bytes_read.load(Relaxed), c.bytes_total.load(Relaxed));
    let counters = status_line(c, elapsed);
    if total == 0 {
        return format!("progress: {} read, {counters}", HumanBytes(read));
    }
    let share = read as f64 / total as f64;
    let eta = if read == 0 {
        "unknown".to_string()
    } else {
        let left = elapsed.as_secs_f64() * (total.saturating_sub(read)) as f64 / read as f64;
        duration_text(Duration::from_secs_f64(left))
    };
    format!(
        "progress: {} of {} read ({:.1}%), ETA {eta}, {counters}",
        HumanBytes(read),
        HumanBytes(total),
        100.0 * share.min(1.0)
    )
}

/// `45s`, `3m 05s`, `2h 01m`.
fn duration_text(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

fn ticker(c: &Counters, stop: &AtomicBool, bar: Option<indicatif::ProgressBar>, every: Duration) {
    let started = Instant::now();
    let mut last = Instant::now();
    let mut known = false;
    while !stop.load(Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        if last.elapsed() < every {
            continue;
        }
        last = Instant::now();
        match &bar {
            Some(b) => {
                let (read, total) = (c.bytes_read.load(Relaxed), c.bytes_total.load(Relaxed));
                // The size is known once the reader has looked at the files: stdin has none.
                if (total > 0) != known {
                    known = total > 0;
                    b.set_style(bar_style(known));
                }
                if known {
                    b.set_length(total.max(read));
                }
                b.set_position(read);
                b.set_message(status_line(c, started.elapsed()));
            }
            None => eprintln!("{}", progress_line(c, started.elapsed())),
        }
    }
}

/// What a load did, printed at the end (`--json` for scripts).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// The load id (for resume and `chunkload status`).
    pub load_id: String,
    /// Target table.
    pub table: String,
    /// Input files.
    pub files: usize,
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
            self.files,
            plural(self.files as u64, "file", "files"),
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

/// Extra columns a reject file appends to each record; a load whose header ends with
/// them (a fixed reject file loaded again) ignores them.
pub const REJECT_COLUMNS: [&str; 2] = ["chunkload_line", "chunkload_error"];

/// Writes rejected records: the record's bytes exactly as read, plus its source line and
/// the error, as CSV in the input's own dialect, so the file can be fixed and loaded again.
/// The file is created on the first reject: a clean load leaves no empty file behind.
pub struct RejectWriter {
    path: String,
    header: Vec<u8>,
    delimiter: u8,
    quote: u8,
    /// The first record replaces the file instead of appending to it.
    replace: bool,
    out: Mutex<Option<BufWriter<File>>>,
}

impl RejectWriter {
    /// `header` is the raw header record of the input (or column names joined by the
    /// delimiter when the input had none), without its line terminator.
    pub fn new(path: &str, header: Vec<u8>, delimiter: u8, quote: u8) -> RejectWriter {
        RejectWriter {
            path: path.to_string(),
            header,
            delimiter,
            quote,
            replace: false,
            out: Mutex::new(None),
        }
    }

    /// The first record written replaces the file, header and all (a check's rejects are
    /// those of a new load, not added to an earlier run's).
    pub fn replacing(mut self) -> RejectWriter {
        self.replace = true;
        self
    }

    /// Where the rejects go.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn quoted(&self, s: &str) -> Vec<u8> {
        let q = self.quote;
        let mut v = vec![q];
        for b in s.bytes() {
            if b == q {
                v.push(q);
            }
            v.push(b);
        }
        v.push(q);
        v
    }

    /// Fails unless the reject file can be written: called before the first chunk commits,
    /// so an unwritable path stops the load with nothing committed. Checked as
    /// [`crate::output::write_through`] will write it: through a symlink, a FIFO or a
    /// device as it is (not opened), a regular file or a new path by a temp file in its
    /// real directory (created and removed: no empty reject file is left behind).
    pub fn check_writable(&self) -> Result<()> {
        match crate::output::check_writable(std::path::Path::new(&self.path)) {
            Ok(()) => Ok(()),
            Err(e) => Err(Error::usage(format!(
                "the reject file {} cannot be written ({e}); nothing was loaded. \
                 Pass --reject-file PATH in a writable place",
                self.path
            ))),
        }
    }

    /// Appends one rejected record.
    pub fn write(&self, raw: &[u8], line: u64, error: &str) -> Result<()> {
        let mut guard = self.out.lock().expect("reject writer poisoned");
        let io = |e| Error::io(self.path.clone(), e);
        if guard.is_none() {
            // A FIFO or device is a new stream for its reader: it gets the header too.
            let exists =
                !self.replace && crate::output::is_regular_file(std::path::Path::new(&self.path));
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(!self.replace)
                .write(true)
                .truncate(self.replace)
                .open(&self.path)
                .map_err(io)?;
            let mut w = BufWriter::new(f);
            if !exists {
                self.write_header(&mut w).map_err(io)?;
            }
            *guard = Some(w);
        }
        let w = guard.as_mut().expect("opened above");
        self.write_record(w, raw, line, error).map_err(io)?;
        // Flushed per record: a crash must not lose rejects whose rows are not loaded.
        w.flush().map_err(io)?;
        Ok(())
    }

    /// Writes the reject file anew with `records`, through [`crate::output::write_through`]:
    /// a symlink stays a link and its target gets them, a FIFO or device is written into,
    /// a regular file is replaced by a temp file renamed in its real directory (a crash
    /// leaves the old file or the new one). With no records, only a regular file is
    /// rewritten (to its header): a new path is not created and a FIFO is left alone.
    /// Returns the number of records written; an error is [`ErrorKind::RejectFile`].
    ///
    /// [`ErrorKind::RejectFile`]: crate::ErrorKind::RejectFile
    pub fn rewrite(&self, records: &[(Vec<u8>, u64, String)]) -> Result<u64> {
        let path = std::path::Path::new(&self.path);
        if records.is_empty() && !crate::output::is_regular_file(path) {
            return Ok(0);
        }
        crate::output::write_through(path, |w| {
            self.write_header(w)?;
            for (raw, line, error) in records {
                self.write_record(w, raw, *line, error)?;
            }
            Ok(())
        })
        .map_err(|e| -> Error {
            let source = match e.into_kind() {
                crate::ErrorKind::Io { source, .. } => source,
                other => std::io::Error::other(crate::Error::from(other).to_string()),
            };
            crate::ErrorKind::RejectFile {
                path: self.path.clone(),
                rows: records.len() as u64,
                source,
            }
            .into()
        })?;
        Ok(records.len() as u64)
    }

    fn write_header(&self, w: &mut (impl Write + ?Sized)) -> std::io::Result<()> {
        w.write_all(&self.header)?;
        for c in REJECT_COLUMNS {
            w.write_all(&[self.delimiter])?;
            w.write_all(c.as_bytes())?;
        }
        w.write_all(b"\n")
    }

    fn write_record(
        &self,
        w: &mut (impl Write + ?Sized),
        raw: &[u8],
        line: u64,
        error: &str,
    ) -> std::io::Result<()> {
        let mut rec = raw;
        while let Some((last, rest)) = rec.split_last() {
            if *last == b'\n' || *last == b'\r' {
                rec = rest;
            } else {
                break;
            }
        }
        w.write_all(rec)?;
        w.write_all(&[self.delimiter])?;
        w.write_all(line.to_string().as_bytes())?;
        w.write_all(&[self.delimiter])?;
        w.write_all(&self.quoted(&error.replace(['\r', '\n'], " ")))?;
        w.write_all(b"\n")
    }
}

/// `chunkload status` as text: one aligned line per load under a header, or a sentence
/// when the database has none.
pub fn status_table(loads: &[LoadStatus]) -> String {
    if loads.is_empty() {
        return "no loads recorded in this database\n".to_string();
    }
    let mut out = format!(
        "{:<40} {:<24} {:>8} {:>12} {:>9} {:<20} {:<8} file\n",
        "load id", "table", "chunks", "rows", "rejected", "last activity", "finished"
    );
    for l in loads {
        let chunks = match l.total_chunks {
            Some(t) => format!("{}/{t}", l.chunks),
            None => l.chunks.to_string(),
        };
        out.push_str(&format!(
            "{:<40} {:<24} {:>8} {:>12} {:>9} {:<20} {:<8} {}\n",
            l.load_id,
            l.table,
            chunks,
            l.rows,
            l.rejected,
            l.last_activity,
            if l.finished { "yes" } else { "no" },
            l.files
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reject_file_keeps_raw_record_and_appends_line_and_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let w = RejectWriter::new(path.to_str().unwrap(), b"id,note".to_vec(), b',', b'"');
        w.write(b"1,\"a, \"\"b\"\"\nc\"\r\n", 7, "bad \"value\"")
            .unwrap();
        w.write(b"x,y", 9, "invalid input syntax for type integer")
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "id,note,chunkload_line,chunkload_error\n\
             1,\"a, \"\"b\"\"\nc\",7,\"bad \"\"value\"\"\"\n\
             x,y,9,\"invalid input syntax for type integer\"\n"
        );
        let mut r = csv::ReaderBuilder::new().from_path(&path).unwrap();
        let recs: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
        assert_eq!(recs.len(), 2);
        assert_eq!(&recs[0][1], "a, \"b\"\nc");
        assert_eq!(&recs[0][3], "bad \"value\"");
    }

    #[test]
    fn no_reject_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let _w = RejectWriter::new(path.to_str().unwrap(), b"id".to_vec(), b',', b'"');
        assert!(!path.exists());
    }

    #[test]
    fn plain_progress_lines_show_share_and_eta_when_the_size_is_known() {
        let c = Counters::default();
        c.bytes_total.store(4 << 20, Relaxed);
        c.bytes_read.store(1 << 20, Relaxed);
        c.rows.store(1, Relaxed);
        c.chunks.store(1, Relaxed);
        let line = progress_line(&c, Duration::from_secs(20));
        assert_eq!(
            line,
            "progress: 1.00 MiB of 4.00 MiB read (25.0%), ETA 1m 00s, 1 row, 0 rows/s, 1 chunk committed, 0 retries"
        );
        c.bytes_total.store(0, Relaxed);
        let line = progress_line(&c, Duration::from_secs(20));
        assert!(
            line.starts_with("progress: 1.00 MiB read, 1 row,"),
            "{line}"
        );
        assert!(!line.contains("ETA"), "{line}");
        assert_eq!(duration_text(Duration::from_secs(7322)), "2h 02m");
    }

    #[test]
    fn summary_mentions_resume_and_rejects() {
        let s = Summary {
            table: "accounts".into(),
            files: 1,
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
            files: 1,
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

    #[test]
    fn status_table_aligns_one_line_per_load() {
        assert_eq!(status_table(&[]), "no loads recorded in this database\n");
        let load = |id: &str, total: Option<i64>, finished: bool| LoadStatus {
            load_id: id.into(),
            table: "accounts".into(),
            files: "a.csv".into(),
            chunks: 3,
            total_chunks: total,
            rows: 30,
            rejected: 1,
            last_activity: "2024-01-31T10:00:00Z".into(),
            finished,
        };
        let text = status_table(&[load("l1", Some(3), true), load("l2", None, false)]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("load id ") && lines[0].ends_with(" finished file"));
        let cells = |l: &str| l.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(
            cells(lines[1]),
            [
                "l1",
                "accounts",
                "3/3",
                "30",
                "1",
                "2024-01-31T10:00:00Z",
                "yes",
                "a.csv"
            ]
        );
        assert_eq!(
            cells(lines[2])[2..],
            ["3", "30", "1", "2024-01-31T10:00:00Z", "no", "a.csv"]
        );
        // Columns line up: every line has the file at the same offset.
        let at = lines[0].find("file").unwrap();
        assert!(lines[1..].iter().all(|l| &l[at..] == "a.csv"), "{text}");
    }
}
