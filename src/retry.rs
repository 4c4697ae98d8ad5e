//! The retry helper: the Rust counterpart of `sqlalchemy_cockroachdb.run_transaction`.
//!
//! Three pieces, kept apart so the first two are tested without a server:
//! - [`RetryPolicy`]: capped exponential backoff with full jitter and a finite attempt cap
//!   (the Python helper retries forever by default, a known complaint);
//! - [`classify`]: which errors are retried (only SQLSTATE 40001), which mean the commit
//!   outcome is unknown (40003, or the connection lost during COMMIT), and which are final;
//!   [`fault`] says what a failed chunk commit calls for afterwards (isolate bad rows,
//!   split, reconnect, stop): every error classification of the crate lives here;
//! - [`run_transaction`]: owns BEGIN, COMMIT and ROLLBACK around a closure that only gets
//!   `&mut Transaction`, so it can neither commit nor roll back by itself. It retries the
//!   way [`RetryPath`] says: the whole transaction (PostgreSQL, and CockroachDB versions
//!   whose savepoint rollback is broken), or CockroachDB's `SAVEPOINT cockroach_restart`
//!   protocol where that is safe.

use crate::{Error, ErrorKind, Result};
use postgres::error::SqlState;
use postgres::{Client, Transaction};
use rand::Rng;
use std::time::{Duration, Instant};

pub use crate::backoff::RetryPolicy;
pub use crate::flavour::RetryPath;

/// What to do after an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// A retryable conflict (40001): roll back and run the closure again.
    Again,
    /// The transaction may or may not have committed (40003, or the connection was lost
    /// while COMMIT was in flight).
    CommitUnknown,
    /// Return the error as it is.
    Fail,
}

/// Classifies an error by SQLSTATE, by whether it happened during COMMIT (or CockroachDB's
/// `RELEASE SAVEPOINT`, which is its commit) and by whether the connection is gone.
pub fn classify(sqlstate: Option<&str>, during_commit: bool, connection_lost: bool) -> Retry {
    match sqlstate {
        Some(s) if s == SqlState::T_R_SERIALIZATION_FAILURE.code() => Retry::Again,
        Some(s) if s == SqlState::T_R_STATEMENT_COMPLETION_UNKNOWN.code() => Retry::CommitUnknown,
        _ if during_commit && connection_lost => Retry::CommitUnknown,
        _ => Retry::Fail,
    }
}

/// The SQLSTATE class: its first two characters.
fn class(state: &SqlState) -> &str {
    &state.code()[..2]
}

/// The connection is gone or going: closed, an I/O error (no server message at all), a
/// connection exception (08xxx) or the server shutting down (57Pxx).
pub fn connection_lost(e: &postgres::Error) -> bool {
    e.is_closed()
        || e.as_db_error().is_none()
        || e.code().is_some_and(|c| {
            class(c) == class(&SqlState::CONNECTION_EXCEPTION)
                || [
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                    SqlState::DATABASE_DROPPED,
                    SqlState::IDLE_SESSION_TIMEOUT,
                ]
                .contains(c)
        })
}

/// [`classify`] for an error of this crate: a refusal for size is never retried.
pub(crate) fn classify_error(e: &Error, during_commit: bool) -> Retry {
    // A 40001 for a transaction that ran too long asks for a smaller one, not another try.
    if is_too_large(e) {
        return Retry::Fail;
    }
    match e.kind() {
        ErrorKind::Db(pe) => classify(
            pe.code().map(|c| c.code()),
            during_commit,
            connection_lost(pe),
        ),
        _ => Retry::Fail,
    }
}

/// The server's SQLSTATE of an error, also through an exhausted retry or unknown commit.
fn sqlstate(e: &Error) -> Option<&SqlState> {
    match e.kind() {
        ErrorKind::Db(pe)
        | ErrorKind::RetriesExhausted { last: pe, .. }
        | ErrorKind::CommitUnknown { source: pe } => pe.code(),
        _ => None,
    }
}

/// What a chunk commit that failed (its transaction retries spent) calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A data error (SQLSTATE classes 22 and 23): isolate the bad rows.
    Data,
    /// The server refused the transaction as too large: split it.
    TooLarge,
    /// The connection is gone, or the commit outcome is unknown: reconnect, ask the
    /// ledger, send again only if it did not commit.
    Lost,
    /// Anything else ends the load.
    Fatal,
}

/// The one classification of a failed chunk commit.
pub fn fault(e: &Error) -> Fault {
    if is_too_large(e) {
        return Fault::TooLarge;
    }
    if is_lost(e) || ledger_row_exists(e) {
        return Fault::Lost;
    }
    match sqlstate(e).map(class) {
        Some(c)
            if c == class(&SqlState::DATA_EXCEPTION)
                || c == class(&SqlState::INTEGRITY_CONSTRAINT_VIOLATION) =>
        {
            Fault::Data
        }
        _ => Fault::Fatal,
    }
}

/// The piece's ledger row is there already (23505 on the ledger's key): a commit whose
/// answer was lost was still running when the ledger was asked, and the piece was sent
/// again; the unique key waited for it to commit. The ledger, asked again, knows.
fn ledger_row_exists(e: &Error) -> bool {
    let ErrorKind::Db(pe) = e.kind() else {
        return false;
    };
    pe.as_db_error().is_some_and(|d| {
        d.code() == &SqlState::UNIQUE_VIOLATION
            && (d.table() == Some("chunkload_ledger") || d.message().contains("chunkload_ledger"))
    })
}

/// The server refused a transaction or a message as too large, or the transaction ran
/// past its deadline: split it and lower the chunk size. CockroachDB's refusals, known by
/// their message as their SQLSTATEs are shared with other errors:
/// - 53400 `the transaction is locking too many rows and exceeded its lock-tracking memory
///   budget` (over `kv.transaction.max_intents_bytes`, when
///   `kv.transaction.reject_over_max_intents_budget.enabled` is on);
/// - `command is too large: N bytes (max: 67108864)` (one write batch over
///   `kv.raft.command.max_size`);
/// - 40001 `RETRY_COMMIT_DEADLINE_EXCEEDED`, for which the docs advise smaller batches
///   rather than plain retries;
/// - `transaction is too large to complete; try splitting into pieces` (v2.x).
pub fn is_too_large(e: &Error) -> bool {
    let state = sqlstate(e);
    if state == Some(&SqlState::PROGRAM_LIMIT_EXCEEDED) {
        return true;
    }
    let msg = e.to_string();
    if state == Some(&SqlState::T_R_SERIALIZATION_FAILURE) {
        return msg.contains("RETRY_COMMIT_DEADLINE_EXCEEDED");
    }
    TOO_LARGE.iter().any(|m| msg.contains(m))
}

/// Messages of a refusal for size, whatever the SQLSTATE.
const TOO_LARGE: [&str; 6] = [
    "transaction is too large",
    "try splitting into pieces",
    "bigger than maximum allowed message size",
    "exceeded its lock-tracking memory budget",
    "command is too large",
    "RETRY_COMMIT_DEADLINE_EXCEEDED",
];

/// The connection is gone (or the server is going away), or a commit's outcome is
/// unknown: what a reconnect and a ledger lookup resolve.
pub fn is_lost(e: &Error) -> bool {
    match e.kind() {
        ErrorKind::CommitUnknown { .. } | ErrorKind::Connect { .. } => true,
        ErrorKind::Db(pe) => connection_lost(pe),
        _ => false,
    }
}

/// How long a [`retry_loop`] may go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// At most this many attempts, the first included.
    Attempts(u32),
    /// Until this instant: no attempt starts after it and no wait runs past it.
    Until(Instant),
}

/// Why [`retry_loop`] gave up.
#[derive(Debug)]
pub enum GiveUp<E> {
    /// Every attempt hit a retryable error.
    Exhausted {
        /// Attempts made.
        attempts: u32,
        /// The last error.
        last: E,
    },
    /// The outcome of a commit is unknown.
    Unknown(E),
    /// A non-retryable error.
    Fail(E),
}

impl GiveUp<Error> {
    /// The error to report: exhausted retries of a server error become
    /// [`ErrorKind::RetriesExhausted`] (with the count); the others stand as they are.
    pub(crate) fn into_error(self) -> Error {
        match self {
            GiveUp::Exhausted { attempts, last } => match last.into_kind() {
                ErrorKind::Db(last) => ErrorKind::RetriesExhausted { attempts, last }.into(),
                other => other.into(),
            },
            GiveUp::Unknown(e) | GiveUp::Fail(e) => e,
        }
    }
}

/// The one retry loop: runs `op(attempt)` (attempt counts from 1) until it succeeds, a
/// non-retryable error comes, or the budget is spent; waits between attempts follow
/// `policy`'s backoff. Sleeping and the random source are passed in, so tests need
/// neither time nor a server.
pub fn retry_loop<T, E, R: Rng + ?Sized>(
    budget: Budget,
    policy: &RetryPolicy,
    rng: &mut R,
    mut sleep: impl FnMut(Duration),
    mut op: impl FnMut(u32) -> std::result::Result<T, (E, Retry)>,
) -> std::result::Result<(T, u32), GiveUp<E>> {
    let mut attempt = 1;
    loop {
        match op(attempt) {
            Ok(v) => return Ok((v, attempt)),
            Err((e, Retry::Again)) => {
                let wait = policy.backoff(attempt - 1, rng);
                let wait = match budget {
                    Budget::Attempts(max) if attempt < max => Some(wait),
                    Budget::Until(deadline) if Instant::now() < deadline => {
                        Some(wait.min(deadline.saturating_duration_since(Instant::now())))
                    }
                    _ => None,
                };
                let Some(wait) = wait else {
                    return Err(GiveUp::Exhausted {
                        attempts: attempt,
                        last: e,
                    });
                };
                sleep(wait);
                attempt += 1;
            }
            Err((e, Retry::CommitUnknown)) => return Err(GiveUp::Unknown(e)),
            Err((e, Retry::Fail)) => return Err(GiveUp::Fail(e)),
        }
    }
}

/// A committed transaction's value and how many attempts it took.
#[derive(Debug)]
pub struct Committed<T> {
    /// What the closure returned on the attempt that committed.
    pub value: T,
    /// Attempts made (1 when there was no retry).
    pub attempts: u32,
}

/// Runs `body` in a transaction, retrying on SQLSTATE 40001 under `policy` the way `path`
/// says ([`RetryPath::of`] the server), and commits.
///
/// `body` may run several times: it must not change anything outside the transaction;
/// return results instead. Errors: [`ErrorKind::RetriesExhausted`] with the attempt count
/// and the last server message; [`ErrorKind::CommitUnknown`] when the commit may or may not
/// have happened; any other error at once, the transaction rolled back.
pub fn run_transaction<T>(
    client: &mut Client,
    path: RetryPath,
    policy: &RetryPolicy,
    body: impl FnMut(&mut Transaction<'_>) -> Result<T>,
) -> Result<Committed<T>> {
    let mut rng = rand::thread_rng();
    let outcome = match path {
        RetryPath::Restart => run_restarting(client, policy, &mut rng, body),
        RetryPath::Savepoint => run_cockroach(client, policy, &mut rng, body),
    };
    outcome
        .map(|(value, attempts)| Committed { value, attempts })
        .map_err(|g| match g {
            GiveUp::Unknown(e) => match e.into_kind() {
                ErrorKind::Db(source) => ErrorKind::CommitUnknown { source }.into(),
                other => other.into(),
            },
            g => g.into_error(),
        })
}

fn tag(during_commit: bool) -> impl Fn(Error) -> (Error, Retry) {
    move |e| {
        let r = classify_error(&e, during_commit);
        (e, r)
    }
}

/// The whole transaction again on each retry: `BEGIN`, the work, `COMMIT`; after a failure
/// the transaction is dropped, which sends `ROLLBACK`. No savepoint is ever rolled back to,
/// so none of CockroachDB's savepoint-rollback bugs can be reached; a COMMIT that answers
/// 40001 (CockroachDB's commit point without the restart savepoint) is retried like any
/// other 40001.
fn run_restarting<T, R: Rng + ?Sized>(
    client: &mut Client,
    policy: &RetryPolicy,
    rng: &mut R,
    mut body: impl FnMut(&mut Transaction<'_>) -> Result<T>,
) -> std::result::Result<(T, u32), GiveUp<Error>> {
    retry_loop(
        Budget::Attempts(policy.max_attempts),
        policy,
        rng,
        std::thread::sleep,
        |_| {
            let mut tx = client
                .transaction()
                .map_err(Error::from)
                .map_err(tag(false))?;
            let v = body(&mut tx).map_err(tag(false))?;
            tx.commit().map_err(Error::from).map_err(tag(true))?;
            Ok(v)
        },
    )
}

/// A savepoint by name: the one place its statements are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Savepoint(&'static str);

impl Savepoint {
    /// CockroachDB's restart savepoint: its `RELEASE` is the transaction's commit point.
    pub(crate) const COCKROACH_RESTART: Savepoint = Savepoint("cockroach_restart");

    pub(crate) const fn named(name: &'static str) -> Savepoint {
        Savepoint(name)
    }

    pub(crate) fn set(self) -> String {
        format!("SAVEPOINT {}", self.0)
    }

    pub(crate) fn release(self) -> String {
        format!("RELEASE SAVEPOINT {}", self.0)
    }

    pub(crate) fn rollback_to(self) -> String {
        format!("ROLLBACK TO SAVEPOINT {}", self.0)
    }
}

const RESTART: Savepoint = Savepoint::COCKROACH_RESTART;

/// CockroachDB's `SAVEPOINT cockroach_restart` protocol; only for versions where
/// [`RetryPath::for_cockroach`] finds it safe.
fn run_cockroach<T, R: Rng + ?Sized>(
    client: &mut Client,
    policy: &RetryPolicy,
    rng: &mut R,
    mut body: impl FnMut(&mut Transaction<'_>) -> Result<T>,
) -> std::result::Result<(T, u32), GiveUp<Error>> {
    let mut tx = client
        .transaction()
        .map_err(|e| GiveUp::Fail(Error::from(e)))?;
    tx.batch_execute(&RESTART.set())
        .map_err(|e| GiveUp::Fail(Error::from(e)))?;
    let (v, attempts) = retry_loop(
        Budget::Attempts(policy.max_attempts),
        policy,
        rng,
        std::thread::sleep,
        |attempt| {
            if attempt > 1 {
                tx.batch_execute(&RESTART.rollback_to())
                    .map_err(Error::from)
                    .map_err(tag(false))?;
            }
            let v = body(&mut tx).map_err(tag(false))?;
            // RELEASE of the restart savepoint is CockroachDB's commit point.
            tx.batch_execute(&RESTART.release())
                .map_err(Error::from)
                .map_err(tag(true))?;
            Ok(v)
        },
    )?;
    tx.commit().map_err(|e| {
        let e = Error::from(e);
        match classify_error(&e, true) {
            Retry::Fail => GiveUp::Fail(e),
            _ => GiveUp::Unknown(e),
        }
    })?;
    Ok((v, attempts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn policy(max: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts: max,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        }
    }

    #[test]
    fn delay_bound_doubles_then_caps() {
        let p = policy(10);
        let bounds: Vec<u64> = (0..8)
            .map(|r| p.delay_bound(r).as_millis() as u64)
            .collect();
        assert_eq!(bounds, [100, 200, 400, 800, 1600, 2000, 2000, 2000]);
        assert_eq!(p.delay_bound(1000), Duration::from_secs(2), "no overflow");
    }

    #[test]
    fn full_jitter_stays_within_bounds_and_spreads() {
        let p = policy(10);
        let mut rng = StdRng::seed_from_u64(7);
        for retry in 0..10 {
            let bound = p.delay_bound(retry);
            let draws: Vec<Duration> = (0..200).map(|_| p.backoff(retry, &mut rng)).collect();
            assert!(draws.iter().all(|d| *d <= bound));
            let below_half = draws.iter().filter(|d| **d < bound / 2).count();
            assert!(
                (50..150).contains(&below_half),
                "jitter is uniform-ish: {below_half}/200"
            );
        }
    }

    #[test]
    fn only_40001_is_retried() {
        assert_eq!(classify(Some("40001"), false, false), Retry::Again);
        assert_eq!(classify(Some("40001"), true, false), Retry::Again);
        assert_eq!(classify(Some("40003"), true, false), Retry::CommitUnknown);
        assert_eq!(classify(Some("23505"), false, false), Retry::Fail);
        assert_eq!(classify(Some("40P01"), false, false), Retry::Fail);
        assert_eq!(
            classify(None, false, true),
            Retry::Fail,
            "lost before COMMIT: nothing committed"
        );
        assert_eq!(classify(None, true, true), Retry::CommitUnknown);
        assert_eq!(classify(Some("57P01"), true, true), Retry::CommitUnknown);
    }

    #[test]
    fn too_large_is_recognised_by_message() {
        assert!(is_too_large(&Error::other(
            "transaction is too large to complete; try splitting into pieces"
        )));
        assert!(!is_too_large(&Error::other("duplicate key value")));
        for msg in [
            "the transaction is locking too many rows and exceeded its lock-tracking memory \
             budget; lock spans: 4194400 bytes > budget: 4194304 bytes",
            "command is too large: 70000000 bytes (max: 67108864)",
            "restart transaction: TransactionRetryWithProtoRefreshError: \
             TransactionRetryError: retry txn (RETRY_COMMIT_DEADLINE_EXCEEDED - txn timestamp \
             pushed too much; deadline exceeded by 1.2s)",
        ] {
            let e = Error::other(msg);
            assert!(is_too_large(&e), "{msg}");
            assert_eq!(fault(&e), Fault::TooLarge, "{msg}");
        }
    }

    #[test]
    fn a_deadline_budget_stops_retrying_once_it_passed() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut calls = 0;
        let r: std::result::Result<((), u32), _> = retry_loop(
            Budget::Until(Instant::now()),
            &policy(1),
            &mut rng,
            |_| panic!("no wait past the deadline"),
            |_| {
                calls += 1;
                Err(("refused", Retry::Again))
            },
        );
        assert!(matches!(
            r,
            Err(GiveUp::Exhausted {
                attempts: 1,
                last: "refused"
            })
        ));
        assert_eq!(calls, 1);
    }

    #[test]
    fn validate_rejects_zero_attempts_and_inverted_bounds() {
        assert!(policy(0).validate().is_err());
        let mut p = policy(3);
        p.base_delay = Duration::from_secs(10);
        assert!(p.validate().is_err());
        assert!(RetryPolicy::default().validate().is_ok());
    }

    #[test]
    fn loop_retries_until_success_and_counts_attempts() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut slept = Vec::new();
        let r = retry_loop(
            Budget::Attempts(5),
            &policy(5),
            &mut rng,
            |d| slept.push(d),
            |attempt| {
                if attempt < 3 {
                    Err(("conflict", Retry::Again))
                } else {
                    Ok(attempt * 10)
                }
            },
        );
        assert_eq!(r.unwrap(), (30, 3));
        assert_eq!(slept.len(), 2);
        assert!(slept[0] <= Duration::from_millis(100) && slept[1] <= Duration::from_millis(200));
    }

    /// Runs the loop with an operation that always fails with `err`; returns the outcome
    /// and how many times the operation ran.
    fn always_failing(
        max: u32,
        err: (&'static str, Retry),
    ) -> (std::result::Result<((), u32), GiveUp<&'static str>>, u32) {
        let mut rng = StdRng::seed_from_u64(1);
        let mut calls = 0;
        let r = retry_loop(
            Budget::Attempts(max),
            &policy(max),
            &mut rng,
            |_| {},
            |_| {
                calls += 1;
                Err(err)
            },
        );
        (r, calls)
    }

    #[test]
    fn loop_gives_up_at_the_cap_with_the_attempt_count() {
        match always_failing(4, ("conflict", Retry::Again)) {
            (Err(GiveUp::Exhausted { attempts, last }), calls) => {
                assert_eq!((attempts, last, calls), (4, "conflict", 4));
            }
            other => panic!("expected Exhausted, got {other:?}"),
        }
    }

    #[test]
    fn loop_returns_final_and_unknown_errors_at_once() {
        let (r, calls) = always_failing(9, ("dup", Retry::Fail));
        assert!(matches!(r, Err(GiveUp::Fail("dup"))));
        assert_eq!(calls, 1);
        let (r, calls) = always_failing(9, ("ambiguous", Retry::CommitUnknown));
        assert!(matches!(r, Err(GiveUp::Unknown("ambiguous"))));
        assert_eq!(calls, 1);
    }
}
