//! Opening writer connections again after they are lost, bounded in time, on top of the
//! one retry loop ([`crate::retry::retry_loop`]).

use crate::retry::{self, retry_loop, Budget, GiveUp, Retry, RetryPolicy};
use crate::{ErrorKind, Result};
use postgres::Client;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Opens a writer connection; `attempt` lets a multi-host connector move round-robin.
pub type Connector = Arc<dyn Fn(usize, u32) -> Result<Client> + Send + Sync>;

/// Backoff between connection attempts: 100 ms doubling to 5 s, never below 20 ms.
const CONNECT_BACKOFF: RetryPolicy = RetryPolicy {
    max_attempts: u32::MAX,
    base_delay: Duration::from_millis(100),
    max_delay: Duration::from_secs(5),
};
const MIN_CONNECT_WAIT: Duration = Duration::from_millis(20);

/// Pause before running work again on a fresh connection after it lost the last one.
const REWORK_WAIT: RetryPolicy = RetryPolicy {
    max_attempts: u32::MAX,
    base_delay: Duration::from_millis(50),
    max_delay: Duration::from_millis(50),
};

/// Connects through `connector` for `worker`, retrying with backoff for up to `budget`;
/// a usage error (a bad URL, say) or a permanent one (a wrong password) is final at once.
pub fn connect_with_backoff(
    connector: &Connector,
    worker: usize,
    budget: Duration,
) -> Result<Client> {
    let deadline = Instant::now() + budget;
    let mut rng = rand::thread_rng();
    let sleep = |wait: Duration| {
        let left = deadline.saturating_duration_since(Instant::now());
        std::thread::sleep(wait.max(MIN_CONNECT_WAIT).min(left));
    };
    retry_loop(
        Budget::Until(deadline),
        &CONNECT_BACKOFF,
        &mut rng,
        sleep,
        |attempt| {
            connector(worker, attempt - 1).map_err(|e| {
                let retry = if matches!(e.kind(), ErrorKind::Usage(_)) || super::is_permanent(&e) {
                    Retry::Fail
                } else {
                    if attempt == 1 {
                        eprintln!("warning: {e}; retrying for up to {} s", budget.as_secs());
                    }
                    Retry::Again
                };
                (e, retry)
            })
        },
    )
    .map(|(client, _)| client)
    .map_err(give_up)
}

/// Connects (with backoff) and runs idempotent `work`; a connection lost on the way is
/// reopened and the work runs again, all within `budget`. Returns the connection too.
pub fn with_reconnect<T>(
    connector: &Connector,
    worker: usize,
    budget: Duration,
    mut work: impl FnMut(&mut Client) -> Result<T>,
) -> Result<(Client, T)> {
    let deadline = Instant::now() + budget;
    let mut rng = rand::thread_rng();
    retry_loop(
        Budget::Until(deadline),
        &REWORK_WAIT,
        &mut rng,
        std::thread::sleep,
        |_| {
            let left = deadline.saturating_duration_since(Instant::now());
            // Connecting has its own backoff within what is left: its failure is final.
            let mut client =
                connect_with_backoff(connector, worker, left).map_err(|e| (e, Retry::Fail))?;
            match work(&mut client) {
                Ok(v) => Ok((client, v)),
                Err(e) if retry::is_lost(&e) => Err((e, Retry::Again)),
                Err(e) => Err((e, Retry::Fail)),
            }
        },
    )
    .map(|(v, _)| v)
    .map_err(give_up)
}

fn give_up(g: GiveUp<crate::Error>) -> crate::Error {
    match g {
        GiveUp::Exhausted { last, .. } => last,
        GiveUp::Unknown(e) | GiveUp::Fail(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permanent_connect_errors_are_not_retried_transient_ones_are() {
        use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
        let fail = |permanent: bool| {
            let calls = Arc::new(AtomicU32::new(0));
            let n = calls.clone();
            let connector: Connector = Arc::new(move |_, _| {
                n.fetch_add(1, Relaxed);
                Err(ErrorKind::Connect {
                    url: "u".into(),
                    msg: "m".into(),
                    permanent,
                    sqlstate: None,
                }
                .into())
            });
            let t = Instant::now();
            let r = connect_with_backoff(&connector, 0, Duration::from_millis(300));
            assert!(r.is_err());
            (calls.load(Relaxed), t.elapsed())
        };
        let (calls, took) = fail(true);
        assert_eq!(calls, 1);
        assert!(took < Duration::from_millis(100), "{took:?}");
        let (calls, took) = fail(false);
        assert!(calls > 1, "{calls}");
        assert!(took >= Duration::from_millis(300), "{took:?}");
    }
}
