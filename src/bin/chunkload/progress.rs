//! What a load shows on the terminal: the binary's observer of the library's events. A
//! bar on a terminal, plain periodic lines in a log or CI, nothing under `--quiet` but
//! warnings (errors are main's); notes and warnings go above the bar.

use chunkload::error::plural;
use chunkload::report::{Counters, Event, Observer};
use indicatif::HumanBytes;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProgressMode {
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
pub(crate) const LINES_EVERY: Duration = Duration::from_secs(5);

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

/// Prints a load's events on stderr and draws its progress while its pipeline runs.
pub(crate) struct Progress {
    mode: ProgressMode,
    ticker: Mutex<Option<Ticker>>,
}

/// The thread that redraws the bar or prints the lines, and the bar it draws.
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub(crate) fn new(mode: ProgressMode) -> Progress {
        Progress {
            mode,
            ticker: Mutex::new(None),
        }
    }

    fn start(&self, counters: &Arc<Counters>) {
        let terminal = std::io::stderr().is_terminal();
        let (bar, every) = match self.mode {
            ProgressMode::Auto | ProgressMode::Terminal if terminal => {
                let bar = indicatif::ProgressBar::new(0);
                bar.set_style(bar_style(false));
                (Some(bar), Duration::from_millis(200))
            }
            ProgressMode::Auto => (None, LINES_EVERY),
            ProgressMode::Lines { every } => (None, every),
            ProgressMode::Terminal | ProgressMode::Quiet => return,
        };
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (stop, bar, counters) = (stop.clone(), bar.clone(), counters.clone());
            std::thread::spawn(move || ticker(&counters, &stop, bar, every))
        };
        let mut slot = self.ticker.lock().unwrap_or_else(|e| e.into_inner());
        *slot = Some(Ticker { stop, thread, bar });
    }

    fn stop(&self) {
        let taken = self.ticker.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = taken {
            t.stop.store(true, Relaxed);
            let _ = t.thread.join();
            if let Some(b) = t.bar {
                b.finish_and_clear();
            }
        }
    }

    /// A line on stderr, above the bar when there is one.
    fn line(&self, text: &str) {
        let slot = self.ticker.lock().unwrap_or_else(|e| e.into_inner());
        match slot.as_ref().and_then(|t| t.bar.as_ref()) {
            Some(b) => b.println(text),
            None => eprintln!("{text}"),
        }
    }
}

impl Observer for Progress {
    fn event(&self, event: &Event) {
        match event {
            Event::Started { counters } => self.start(counters),
            // --quiet: errors and warnings only (a rerun that found its table changed
            // warns; one that has nothing to do says so only without --quiet).
            Event::Note(n) if self.mode != ProgressMode::Quiet => self.line(&n.text),
            Event::Warning(w) => self.line(&format!("warning: {}", w.text)),
            Event::Finished => self.stop(),
            _ => {}
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
