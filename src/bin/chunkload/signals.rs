//! SIGINT, SIGTERM and SIGHUP end every command within seconds, with 128 + the signal
//! (130, 143, 129) as shells report it. A load stops between chunks: its commits in flight
//! end and the ledger lets a rerun resume (the line prints the command that does); if that takes longer than [`GRACE`] (a writer
//! blocked on a silent server) the process exits anyway. Commands that run a throwaway
//! server stop it themselves; every other command exits at once. A second signal always
//! exits at once.

use chunkload::interrupt::Interrupt;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::mpsc::Sender;
use std::time::Duration;

/// How long a graceful stop may take after the signal.
const GRACE: Duration = Duration::from_secs(5);

/// What the first signal does.
pub(crate) enum OnSignal {
    /// Stop the load through its interrupt.
    Interrupt(Interrupt),
    /// Tell the command, which then stops its throwaway server or file server.
    Stop(Sender<()>),
    /// Exit at once (nothing to finish: a throwaway server's watchdog still cleans up).
    Exit,
}

/// Set by whoever prints the interrupted line first, so it is printed once.
static LINE_PRINTED: AtomicBool = AtomicBool::new(false);

/// Prints the interrupted line unless the watchdog already did.
pub(crate) fn print_interrupted(line: &str) {
    if !LINE_PRINTED.swap(true, SeqCst) {
        eprintln!("{line}");
    }
}

/// Handles the signals on a thread of their own from now on.
pub(crate) fn install(on: OnSignal) -> anyhow::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::spawn(move || {
        let mut first = true;
        for sig in signals.forever() {
            let code = 128 + sig;
            if !first {
                std::process::exit(code);
            }
            first = false;
            match &on {
                OnSignal::Exit => std::process::exit(code),
                OnSignal::Interrupt(i) => {
                    i.raise(sig);
                    let i = i.clone();
                    std::thread::spawn(move || {
                        std::thread::sleep(GRACE);
                        print_interrupted(&crate::resume::interrupted_line(&i.error()));
                        std::process::exit(code);
                    });
                }
                OnSignal::Stop(tx) => {
                    if tx.send(()).is_err() {
                        std::process::exit(code);
                    }
                    std::thread::spawn(move || {
                        std::thread::sleep(GRACE);
                        std::process::exit(code);
                    });
                }
            }
        }
    });
    Ok(())
}
