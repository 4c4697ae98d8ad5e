//! Backoff: how long to wait before trying again, and how often to try. Apart from the
//! retry loop (`retry`), so every layer that waits (chunk transactions, reconnects,
//! remote reads) shares one policy without depending on the database code.

use crate::{Error, Result};
use rand::Rng;
use std::time::Duration;

/// Backoff bounds and the attempt cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// Upper bound of the first retry's delay; doubles with each retry.
    pub base_delay: Duration,
    /// No delay bound exceeds this.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 10 attempts, 50 ms doubling to at most 5 s: rides out bursts of contention without
    /// hanging a load for minutes on a transaction that can never succeed.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// Rejects a policy that could never run or never wait.
    pub fn validate(&self) -> Result<()> {
        if self.max_attempts == 0 {
            return Err(Error::usage("--max-attempts must be at least 1"));
        }
        if self.base_delay > self.max_delay {
            return Err(Error::usage(
                "the base retry delay exceeds the maximum delay",
            ));
        }
        Ok(())
    }

    /// Upper bound of the delay before retry number `retry` (0 for the first retry):
    /// `min(max_delay, base_delay * 2^retry)`.
    pub fn delay_bound(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .map_or(self.max_delay, |d| d.min(self.max_delay))
    }

    /// Full jitter: a uniform delay in `[0, delay_bound(retry)]`, so clients that failed
    /// together do not retry together.
    pub fn backoff<R: Rng + ?Sized>(&self, retry: u32, rng: &mut R) -> Duration {
        let bound = self.delay_bound(retry).as_micros() as u64;
        Duration::from_micros(rng.gen_range(0..=bound))
    }
}
