//! A stop request from outside the load (SIGINT, SIGTERM, SIGHUP): the reader stops
//! handing out chunks, the commits in flight end, and the load returns
//! [`ErrorKind::Interrupted`] with what is committed; the ledger makes a rerun resume.
//! The error says how the command that started the load must change to resume it
//! ([`Rerun`]): a `--fresh` load, or one from stdin, is not resumed by the same command.

pub use crate::error::{committed_text, Rerun};
use crate::report::Counters;
use crate::{Error, ErrorKind};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

/// A shared handle: whoever catches the signal raises it, the load watches it.
#[derive(Clone, Default)]
pub struct Interrupt(Arc<Inner>);

#[derive(Default)]
struct Inner {
    /// The first signal raised (0: none).
    signal: AtomicI32,
    /// Chunks of the whole input, once the reader counted them (0: not known).
    total: AtomicU64,
    /// The running load's counters and what earlier runs committed, for the message.
    progress: Mutex<Option<Tracked>>,
    /// How a rerun resumes this load, once its id is known.
    rerun: Mutex<Rerun>,
}

struct Tracked {
    counters: Arc<Counters>,
    chunks_before: u64,
    rows_before: u64,
}

impl Interrupt {
    /// A handle nobody raised yet.
    pub fn new() -> Interrupt {
        Interrupt::default()
    }

    /// Asks the load to stop because of `signal`; the first signal raised is kept.
    pub fn raise(&self, signal: i32) {
        let _ = self
            .0
            .signal
            .compare_exchange(0, signal.max(1), SeqCst, SeqCst);
    }

    /// The signal that asked the load to stop, if any.
    pub fn signal(&self) -> Option<i32> {
        match self.0.signal.load(SeqCst) {
            0 => None,
            s => Some(s),
        }
    }

    /// Whether a stop was asked for.
    pub fn is_raised(&self) -> bool {
        self.signal().is_some()
    }

    /// The load reports its progress here, so that the error (or the binary's watchdog,
    /// when the load does not stop in time) says what is committed.
    pub(crate) fn track(&self, counters: Arc<Counters>, chunks_before: u64, rows_before: u64) {
        *self.0.progress.lock().expect("interrupt progress") = Some(Tracked {
            counters,
            chunks_before,
            rows_before,
        });
    }

    /// How a rerun resumes the load (known once the load has its id).
    pub(crate) fn resume_as(&self, rerun: Rerun) {
        *self.0.rerun.lock().expect("interrupt rerun") = rerun;
    }

    /// The input holds `chunks` chunks in all.
    pub(crate) fn set_total(&self, chunks: u64) {
        self.0.total.store(chunks, SeqCst);
    }

    /// The error a stopped load returns: what is committed so far.
    pub fn error(&self) -> Error {
        let (chunks_committed, rows) = match &*self.0.progress.lock().expect("interrupt progress") {
            Some(t) => (
                t.chunks_before + t.counters.chunks.load(SeqCst),
                t.rows_before + t.counters.rows.load(SeqCst),
            ),
            None => (0, 0),
        };
        let total = self.0.total.load(SeqCst);
        ErrorKind::Interrupted {
            signal: self.signal().unwrap_or(libc::SIGINT),
            chunks_committed,
            chunks_total: (total > 0).then_some(total.max(chunks_committed)),
            rows,
            rerun: self.0.rerun.lock().expect("interrupt rerun").clone(),
        }
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering::Relaxed;

    #[test]
    fn the_first_signal_is_kept_and_the_message_counts_earlier_runs() {
        let i = Interrupt::new();
        assert!(!i.is_raised());
        i.raise(libc::SIGTERM);
        i.raise(libc::SIGINT);
        assert_eq!(i.signal(), Some(libc::SIGTERM));
        let counters = Arc::new(Counters::default());
        counters.chunks.store(3, Relaxed);
        counters.rows.store(30, Relaxed);
        i.track(counters, 2, 20);
        assert_eq!(
            i.error().to_string(),
            "interrupted: 5 chunks committed (50 rows); rerun the same command to resume"
        );
        assert_eq!(
            i.error().outcome(),
            crate::error::Outcome::Stopped { signal: 15 }
        );
        i.set_total(9);
        assert_eq!(
            i.error().to_string(),
            "interrupted: 5 of 9 chunks committed (50 rows); rerun the same command to resume"
        );
    }

    #[test]
    fn a_fresh_truncating_load_resumes_under_its_id_without_fresh_or_truncate() {
        let i = Interrupt::new();
        i.raise(libc::SIGINT);
        let rerun = Rerun {
            load_id: Some("t-0123456789abcdef-89abcdef".into()),
            fresh: true,
            truncate: true,
            stdin: false,
        };
        i.resume_as(rerun.clone());
        // Nothing committed: the table was not emptied yet, the rerun must do it.
        assert_eq!(
            i.error().to_string(),
            "interrupted: 0 chunks committed (0 rows); rerun the command without --fresh, \
             with --load-id t-0123456789abcdef-89abcdef to resume"
        );
        assert!(rerun.keeps_truncate(0) && !rerun.keeps_truncate(1));
        let counters = Arc::new(Counters::default());
        counters.chunks.store(1, Relaxed);
        counters.rows.store(10, Relaxed);
        i.track(counters, 0, 0);
        assert_eq!(
            i.error().to_string(),
            "interrupted: 1 chunk committed (10 rows); rerun the command without --fresh and \
             --truncate, with --load-id t-0123456789abcdef-89abcdef to resume"
        );
        i.resume_as(Rerun {
            load_id: Some("s-1".into()),
            stdin: true,
            ..Rerun::default()
        });
        assert!(i.error().to_string().ends_with(
            "rerun the command with --load-id s-1, fed the same input on stdin, to resume"
        ));
    }
}
