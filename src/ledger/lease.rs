//! One run per load at a time: a lease on the load's row (owner and heartbeat), not an
//! advisory lock, because CockroachDB has none. A run that died (SIGKILL, a lost machine)
//! leaves its lease behind: on the same host a dead owner process frees it at once,
//! elsewhere it lapses after [`LAPSE_SECS`] without a heartbeat.

use super::{LedgerSchema, LOADS};
use crate::connect::{with_reconnect, Connector};
use crate::{Error, Result};
use postgres::GenericClient;
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

/// A lease without a heartbeat for this long is free.
pub const LAPSE_SECS: i64 = 30;
const BEAT: Duration = Duration::from_secs(5);

/// `host:pid:random`: the host and process tell a later run whether the owner still lives.
fn owner_token() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    let rand = &uuid::Uuid::new_v4().simple().to_string()[..8];
    format!("{host}:{}:{rand}", std::process::id())
}

/// Whether `owner` is a process of this host that no longer runs.
fn owner_is_dead_here(owner: &str, ours: &str) -> bool {
    let mut theirs = owner.split(':');
    let mut mine = ours.split(':');
    let (Some(host), Some(pid)) = (theirs.next(), theirs.next()) else {
        return false;
    };
    if Some(host) != mine.next() {
        return false;
    }
    let Ok(pid) = pid.parse::<i32>() else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks whether the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    !alive
}

/// Takes the lease of `load_id` for `owner`, or says who holds it. The SQL is the same on
/// both servers: no named arguments (`f(x => 1)`, which CockroachDB does not parse,
/// cockroach#122264) and no `make_interval` (not a CockroachDB builtin): the lapse is
/// `$3::INT8 * INTERVAL '1 second'`.
pub fn acquire(
    client: &mut impl GenericClient,
    s: &LedgerSchema,
    load_id: &str,
    owner: &str,
) -> Result<()> {
    let loads = s.table(LOADS);
    let took = client.execute(
        &format!(
            "UPDATE {loads} SET owner = $2, heartbeat = now()
              WHERE load_id = $1
                AND (owner IS NULL OR owner = $2
                     OR heartbeat < now() - $3::INT8 * INTERVAL '1 second')"
        ),
        &[&load_id, &owner, &LAPSE_SECS],
    )?;
    if took > 0 {
        return Ok(());
    }
    let row = client.query_opt(
        &format!(
            "SELECT owner, extract(epoch FROM now() - heartbeat)::float8
               FROM {loads} WHERE load_id = $1"
        ),
        &[&load_id],
    )?;
    let Some(row) = row else {
        return Ok(()); // forgotten meanwhile: nothing to hold
    };
    let holder: Option<String> = row.get(0);
    let age: Option<f64> = row.get(1);
    let Some(holder) = holder else {
        return acquire(client, s, load_id, owner);
    };
    if owner_is_dead_here(&holder, owner) {
        let took = client.execute(
            &format!(
                "UPDATE {loads} SET owner = $2, heartbeat = now() WHERE load_id = $1 AND owner = $3"
            ),
            &[&load_id, &owner, &holder],
        )?;
        if took > 0 {
            return Ok(());
        }
    }
    let mut parts = holder.split(':');
    let (host, pid) = (parts.next().unwrap_or("?"), parts.next().unwrap_or("?"));
    Err(Error::usage(format!(
        "load {load_id} is being run by another chunkload (process {pid} on {host}, last seen \
         {:.0} s ago); wait for it to finish or stop it, then rerun (a lease without a \
         heartbeat lapses after {LAPSE_SECS} s)",
        age.unwrap_or(0.0)
    )))
}

/// The lease of one run: a thread renews the heartbeat; dropping it releases the lease.
pub struct Lease {
    stop: Option<Sender<()>>,
    beat: Option<JoinHandle<()>>,
}

impl Lease {
    /// Takes the lease of `load_id` (its row in schema `s`) on a connection of
    /// `connector` and keeps it alive. A connection lost on the way is reopened for up to
    /// `budget` (taking the lease is idempotent for its owner), as for the load's other
    /// bookkeeping.
    pub(crate) fn take(
        connector: &Connector,
        s: &LedgerSchema,
        load_id: &str,
        budget: Duration,
    ) -> Result<Lease> {
        let owner = owner_token();
        let (client, ()) =
            with_reconnect(connector, 0, budget, |c| acquire(c, s, load_id, &owner))?;
        let loads = s.table(LOADS);
        let (stop, stopped) = channel::<()>();
        let (connector, load_id) = (connector.clone(), load_id.to_string());
        let beat = std::thread::spawn(move || {
            let mut client = Some(client);
            let renew =
                format!("UPDATE {loads} SET heartbeat = now() WHERE load_id = $1 AND owner = $2");
            let release = format!(
                "UPDATE {loads} SET owner = NULL, heartbeat = NULL WHERE load_id = $1 AND owner = $2"
            );
            loop {
                let done = !matches!(stopped.recv_timeout(BEAT), Err(RecvTimeoutError::Timeout));
                if client.as_ref().is_none_or(|c| c.is_closed()) {
                    client = connector.open(0, 0).ok();
                }
                if let Some(c) = client.as_mut() {
                    let sql = if done { &release } else { &renew };
                    // A missed beat or release only lets the lease lapse a little sooner
                    // or later; nothing depends on it but the next run's wait.
                    let _ = c.execute(sql.as_str(), &[&load_id, &owner]);
                }
                if done {
                    return;
                }
            }
        });
        Ok(Lease {
            stop: Some(stop),
            beat: Some(beat),
        })
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(b) = self.beat.take() {
            let _ = b.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_owner_on_this_host_is_told_apart_from_a_live_or_remote_one() {
        let ours = owner_token();
        let host = ours.split(':').next().unwrap();
        let live = format!("{host}:{}:x", std::process::id());
        assert!(!owner_is_dead_here(&live, &ours));
        // pid_max is below 2^22 on Linux: this process cannot exist.
        let dead = format!("{host}:4194999:x");
        assert!(owner_is_dead_here(&dead, &ours));
        assert!(!owner_is_dead_here("elsewhere:4194999:x", &ours));
        assert!(!owner_is_dead_here("garbage", &ours));
    }
}
