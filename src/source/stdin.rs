//! Stdin, which can be read only once, read twice: what a sample took from it (to infer a
//! table's columns) is kept and read again first by the next reader, so the load gets
//! every byte. Stdin is one per process, and so is this.

use std::io::{self, Read};
use std::sync::Mutex;

/// Bytes taken from stdin and to be read again (`unread[pos..]`), and whether a sample is
/// recording what it reads.
struct State {
    unread: Vec<u8>,
    pos: usize,
    recording: Option<Vec<u8>>,
}

static STATE: Mutex<State> = Mutex::new(State {
    unread: Vec::new(),
    pos: 0,
    recording: None,
});

fn state() -> std::sync::MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Stdin: first what a sample put back, then the rest.
pub(crate) fn reader() -> Stdin {
    Stdin
}

/// The process's stdin as [`reader`] reads it.
pub(crate) struct Stdin;

impl Read for Stdin {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut st = state();
        let n = if st.pos < st.unread.len() {
            let n = buf.len().min(st.unread.len() - st.pos);
            buf[..n].copy_from_slice(&st.unread[st.pos..st.pos + n]);
            st.pos += n;
            if st.pos == st.unread.len() {
                st.unread = Vec::new();
                st.pos = 0;
            }
            n
        } else {
            drop(st);
            let n = io::stdin().lock().read(buf)?;
            st = state();
            n
        };
        if let Some(rec) = st.recording.as_mut() {
            rec.extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }
}

/// Runs `sample`, which reads stdin, then puts every byte it read back in front of the
/// rest, for the next reader; returns its result and how many bytes it read.
pub fn sampled<T>(sample: impl FnOnce() -> T) -> (T, usize) {
    state().recording = Some(Vec::new());
    let out = sample();
    let mut st = state();
    let mut read = st.recording.take().unwrap_or_default();
    let n = read.len();
    let pos = st.pos;
    read.extend_from_slice(&st.unread[pos..]);
    st.unread = read;
    st.pos = 0;
    (out, n)
}
