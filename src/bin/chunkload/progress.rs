//! What a load shows on the terminal: the binary's observer of the library's events. A
//! bar on a terminal, plain periodic lines in a log or CI, nothing under `--quiet` but
//! warnings (errors are main's); notes and warnings go above the bar.

use chunkload::error::plural;
use chunkload::report::{Counters, Event, InferProgress, Observer};
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

/// The bar's look: the whole line is ours ([`bar_line`]), fitted to the terminal's width
/// piece by piece, so nothing is ever cut mid-number and the line never wraps.
fn bar_style() -> indicatif::ProgressStyle {
    indicatif::ProgressStyle::with_template("{msg}").expect("valid template")
}

/// The bar of [`Event::Inferring`]: its share of a file of known size, else the bytes
/// read; in fewer columns than the terminal has (see [`inferring_template`]).
fn inferring_bar(total: Option<u64>) -> indicatif::ProgressBar {
    let template = inferring_template(total.is_some(), console_width());
    let bar = match total {
        Some(t) => indicatif::ProgressBar::new(t),
        None => indicatif::ProgressBar::new_spinner(),
    };
    let style = indicatif::ProgressStyle::with_template(&template).expect("valid template");
    bar.set_style(style.progress_chars("=> "));
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Columns of the inferring line besides its bar, at their widest: `inferring types `
/// and ` 100% 1023.99 MiB/1023.99 MiB`.
const INFERRING_TEXT: usize = 16 + 29;

/// The inferring line's template for a terminal `width` columns wide: at most `width - 1`
/// (a full line wraps on some terminals), the bar 10 to 40 columns or left out.
fn inferring_template(sized: bool, width: usize) -> String {
    if !sized {
        return "inferring types {spinner} {bytes} read".into();
    }
    let room = width.saturating_sub(1 + INFERRING_TEXT + 1);
    match room {
        _ if width <= INFERRING_TEXT => "inferring types {percent}%".into(),
        0..=9 => "inferring types {percent}% {bytes}/{total_bytes}".into(),
        _ => format!(
            "inferring types {{bar:{}}} {{percent}}% {{bytes}}/{{total_bytes}}",
            room.min(40)
        ),
    }
}

/// One piece of the bar's line: its text, how readily it is left out when the line is too
/// wide (higher first), and what separates it from the piece before.
struct Piece {
    text: String,
    drop: u8,
    sep: &'static str,
}

/// One frame of the bar, at most `width - 1` columns (a line that fills the last column
/// wraps on some terminals): spinner, elapsed time, bar, share, bytes, ETA, then the
/// counters. Pieces that do not fit are left out whole, least useful first; the bar takes
/// the room left (at least 12 columns from 60 on, at most 32), or is left out below 8.
fn bar_line(c: &Counters, elapsed: Duration, width: usize, tick: usize) -> String {
    let (read, total) = (c.bytes_read.load(Relaxed), c.bytes_total.load(Relaxed));
    let rows = c.rows.load(Relaxed);
    let rate = rows as f64 / elapsed.as_secs_f64().max(1e-3);
    let piece = |text: String, drop: u8, sep: &'static str| Piece { text, drop, sep };
    let secs = elapsed.as_secs();
    let mut pieces = vec![
        piece(["|", "/", "-", "\\"][tick % 4].to_string(), 0, ""),
        piece(
            format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60),
            6,
            " ",
        ),
    ];
    if total > 0 {
        let share = (read as f64 / total as f64).min(1.0);
        pieces.push(piece(format!("{:.0}%", 100.0 * share), 1, " "));
        pieces.push(piece(
            format!("{}/{}", HumanBytes(read), HumanBytes(total)),
            5,
            " ",
        ));
        if read > 0 {
            let left = elapsed.as_secs_f64() * total.saturating_sub(read) as f64 / read as f64;
            let eta = duration_text(Duration::from_secs_f64(left)).replace(' ', "");
            pieces.push(piece(format!("ETA {eta}"), 2, " "));
        }
    } else {
        pieces.push(piece(format!("{} read", HumanBytes(read)), 4, " "));
    }
    pieces.push(piece(
        format!("{rows} {}", plural(rows, "row", "rows")),
        1,
        " ",
    ));
    pieces.push(piece(format!("{rate:.0} rows/s"), 3, ", "));
    let chunks = c.chunks.load(Relaxed);
    pieces.push(piece(
        format!("{chunks} {}", plural(chunks, "chunk", "chunks")),
        4,
        ", ",
    ));
    let counted = [
        (c.rejected.load(Relaxed), "rejected", 2),
        (c.chunks_skipped.load(Relaxed), "resumed", 5),
        (c.retries.load(Relaxed), "retries", 5),
    ];
    for (n, what, drop) in counted {
        if n > 0 {
            pieces.push(piece(format!("{n} {what}"), drop, ", "));
        }
    }
    let room = width.saturating_sub(1);
    // From 60 columns the bar keeps 12 of them (and a space): fewer counters then.
    let bar_min = if total > 0 && room >= 60 { 13 } else { 0 };
    let len = |p: &[Piece]| -> usize {
        p.iter()
            .enumerate()
            .map(|(i, p)| p.text.chars().count() + if i == 0 { 0 } else { p.sep.len() })
            .sum()
    };
    while len(&pieces) > room - bar_min {
        // The least useful piece goes, the later of equals; the spinner stays.
        let Some((at, _)) = pieces
            .iter()
            .enumerate()
            .filter(|(_, p)| p.drop > 0)
            .max_by_key(|(i, p)| (p.drop, *i))
        else {
            break;
        };
        pieces.remove(at);
    }
    let left = room.saturating_sub(len(&pieces) + 1);
    if total > 0 && left >= 8 {
        let inner = left.min(32) - 2;
        let done = ((read as f64 / total as f64).min(1.0) * inner as f64) as usize;
        let bar = format!("[{}{}]", "=".repeat(done), " ".repeat(inner - done));
        // After the elapsed time when it is shown.
        let at = if pieces.get(1).is_some_and(|p| p.drop == 6) {
            2
        } else {
            1
        };
        pieces.insert(at, piece(bar, 0, " "));
    }
    let mut line = String::new();
    for (i, p) in pieces.iter().enumerate() {
        if i > 0 {
            line.push_str(p.sep);
        }
        line.push_str(&p.text);
    }
    line
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
    let mut tick = 0;
    while !stop.load(Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        if last.elapsed() < every {
            continue;
        }
        last = Instant::now();
        match &bar {
            Some(b) => {
                tick += 1;
                // The width is read every frame: the window may be resized.
                b.set_message(bar_line(c, started.elapsed(), console_width(), tick));
            }
            None => eprintln!("{}", progress_line(c, started.elapsed())),
        }
    }
}

/// Prints a load's events on stderr and draws its progress while its pipeline runs.
pub(crate) struct Progress {
    mode: ProgressMode,
    ticker: Mutex<Option<Ticker>>,
    /// The bar of schema inference reading the file, before the load's.
    inferring: Mutex<Option<indicatif::ProgressBar>>,
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
            inferring: Mutex::new(None),
        }
    }

    /// Inference's bar, on a terminal only (a log needs no bar for seconds of reading):
    /// drawn on its first event, moved on the next, cleared on the last.
    fn inferring(&self, p: &InferProgress) {
        let mut slot = self.inferring.lock().unwrap_or_else(|e| e.into_inner());
        if p.done {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
            }
            return;
        }
        let shown = matches!(self.mode, ProgressMode::Auto | ProgressMode::Terminal)
            && std::io::stderr().is_terminal();
        if !shown {
            return;
        }
        let bar = slot.get_or_insert_with(|| inferring_bar(p.total));
        bar.set_position(p.read);
    }

    fn start(&self, counters: &Arc<Counters>) {
        let terminal = std::io::stderr().is_terminal();
        let (bar, every) = match self.mode {
            ProgressMode::Auto | ProgressMode::Terminal if terminal => {
                let bar = indicatif::ProgressBar::new(0);
                bar.set_style(bar_style());
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
            Event::Inferring(p) => self.inferring(p),
            _ => {}
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop();
        let bar = self
            .inferring
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_lines_fit_the_width_and_never_cut_a_number() {
        let c = Counters::default();
        c.bytes_total.store(5_000_000_000, Relaxed);
        c.bytes_read.store(1_234_567_890, Relaxed);
        c.rows.store(2_532_999, Relaxed);
        c.chunks.store(51_815, Relaxed);
        c.rejected.store(12, Relaxed);
        c.retries.store(3, Relaxed);
        let elapsed = Duration::from_secs(3_725);
        for width in [0, 1, 10, 20, 30, 40, 50, 60, 80, 100, 120, 200] {
            let line = bar_line(&c, elapsed, width, 1);
            assert!(line.chars().count() < width.max(2), "{width}: {line:?}");
            for word in line.split([' ', ',']).filter(|w| !w.is_empty()) {
                assert!(
                    !word.chars().all(|ch| ch.is_ascii_digit())
                        || line.contains(&format!("{word} ")),
                    "{width}: a bare number at the end of {line:?}"
                );
            }
        }
        let wide = bar_line(&c, elapsed, 200, 0);
        assert!(
            wide.starts_with("| 01:02:05 [======") && wide.ends_with("12 rejected, 3 retries"),
            "{wide}"
        );
        assert!(wide.contains("25% 1.15 GiB/4.66 GiB ETA 3h09m"), "{wide}");
        let narrow = bar_line(&c, elapsed, 40, 0);
        assert!(
            narrow.contains("25%") && narrow.contains("2532999 rows"),
            "{narrow}"
        );
        c.bytes_total.store(0, Relaxed);
        let stdin = bar_line(&c, elapsed, 80, 0);
        assert!(
            stdin.contains("1.15 GiB read") && !stdin.contains('['),
            "{stdin}"
        );
    }

    #[test]
    fn the_inferring_line_fits_the_width() {
        for width in [56, 60, 80, 120, 200] {
            let t = inferring_template(true, width);
            let bar: usize = t
                .split_once("{bar:")
                .map_or(0, |(_, r)| r.split('}').next().unwrap().parse().unwrap());
            // Rendered at its widest: a space before the bar, the rest of the text.
            let widest = INFERRING_TEXT + usize::from(bar > 0) + bar;
            assert!(widest < width, "{width}: {t}");
        }
        assert!(inferring_template(true, 80).contains("{bar:33}"));
        assert!(!inferring_template(true, 50).contains("{bar"));
        assert_eq!(inferring_template(true, 40), "inferring types {percent}%");
        assert!(inferring_template(false, 80).contains("{bytes} read"));
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
}
