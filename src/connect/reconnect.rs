//! Opening writer connections again after they are lost, bounded in time, on top of the
//! one retry loop ([`crate::retry::retry_loop`]).

use super::{connect_from, connect_host, ConnectOptions};
use crate::report::{Reporter, Topic};
use crate::retry::{self, retry_loop, Budget, GiveUp, Retry, RetryPolicy};
use crate::{ErrorKind, Result};
use postgres::Client;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Opens the connections of a load. [`ConnectOptions`] is one; so is any
/// `Fn(usize, u32) -> Result<Client> + Send + Sync` closure (a test's, a pool's).
///
/// ```no_run
/// use chunkload::connect::{Connect, ConnectOptions};
///
/// let opts = ConnectOptions::parse("postgres://app@db1,db2/shop")?;
/// // Writer 1's first try starts at the second host; a reconnect moves on to the next.
/// let client = opts.connect(1, 0)?;
/// # Ok::<(), chunkload::Error>(())
/// ```
pub trait Connect: Send + Sync {
    /// A connection for writer `worker` (0 is also the load's control connection).
    /// `attempt` is 0 for the writer's first connection and counts reconnections after,
    /// so a multi-host connector can move round-robin.
    fn connect(&self, worker: usize, attempt: u32) -> Result<Client>;
}

impl<F> Connect for F
where
    F: Fn(usize, u32) -> Result<Client> + Send + Sync,
{
    fn connect(&self, worker: usize, attempt: u32) -> Result<Client> {
        self(worker, attempt)
    }
}

/// A first attempt tries every host, starting at the worker's (so workers spread over
/// the hosts); a reconnect tries the next host only, as the retry loop moves on.
impl Connect for ConnectOptions {
    fn connect(&self, worker: usize, attempt: u32) -> Result<Client> {
        match attempt {
            0 => connect_from(self, worker),
            n => connect_host(self, worker + n as usize),
        }
    }
}

/// A load's way to the database: what opens connections, and whom to tell when one
/// is lost and retried.
#[derive(Clone)]
pub(crate) struct Connector {
    connect: Arc<dyn Connect>,
    reporter: Reporter,
}

impl Connector {
    pub(crate) fn new(connect: Arc<dyn Connect>, reporter: Reporter) -> Connector {
        Connector { connect, reporter }
    }

    /// One try, without retry: the load's first connection fails as psql's does.
    pub(crate) fn open(&self, worker: usize, attempt: u32) -> Result<Client> {
        self.connect.connect(worker, attempt)
    }

    pub(crate) fn reporter(&self) -> &Reporter {
        &self.reporter
    }
}

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
pub(crate) fn connect_with_backoff(
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
            connector.open(worker, attempt - 1).map_err(|e| {
                let retry = if matches!(e.kind(), ErrorKind::Usage(_)) || super::is_permanent(&e) {
                    Retry::Fail
                } else {
                    if attempt == 1 {
                        connector.reporter().warn(
                            Topic::Connection,
                            format!("{e}; retrying for up to {} s", budget.as_secs()),
                        );
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
pub(crate) fn with_reconnect<T>(
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
            let connect = move |_: usize, _: u32| {
                n.fetch_add(1, Relaxed);
                Err(ErrorKind::Connect {
                    url: "u".into(),
                    msg: "m".into(),
                    permanent,
                    sqlstate: None,
                }
                .into())
            };
            let connector = Connector::new(Arc::new(connect), Reporter::default());
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
