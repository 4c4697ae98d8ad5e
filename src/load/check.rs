//! `--check`: the whole load against the real table, with nothing committed.
//!
//! The plan, the reader, the encoders and the isolation of bad rows are the real load's;
//! only the sink differs ([`crate::commit`]'s check sink: savepoints, then a rollback). A
//! check never touches the ledger: no `chunkload` schema is created, no load row, no
//! lease, no ledger row. So it checks the whole input as a new load (`--fresh`) would,
//! whatever an earlier run of the same load committed; `--load-id` and `--fresh` are
//! accepted (the same command without `--check` is then the real load) and change
//! nothing. Rejects go to the reject file as a new load writes them: the file is replaced.
//!
//! On PostgreSQL the check runs on one connection in one transaction, whatever
//! `--workers` says: two writers' open transactions could not see each other's rows, and
//! a key repeated in their chunks would wait on the other instead of failing.

use super::{
    cockroach_limits, on_first_control, pipeline, planned, reject_writer, Input, LoadConfig, Mode,
    Run,
};
use crate::commit::{
    CheckSink, CheckTarget, PieceCap, RejectBudget, Rejects, CHECK_TRUNCATE_COCKROACH,
};
use crate::connect::Connector;
use crate::flavour::{Flavour, Server};
use crate::ledger::Committed;
use crate::report::{Counters, Summary};
use crate::{Error, Result};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

/// Runs the load of `cfg` as a check; the summary counts what a real load would load and
/// reject. Every error says that nothing was written.
pub(super) fn run(cfg: &LoadConfig, connector: Connector) -> Result<Summary> {
    check(cfg, connector).map_err(Error::in_check)
}

fn check(cfg: &LoadConfig, connector: Connector) -> Result<Summary> {
    let started = Instant::now();
    let budget = cfg.reconnect_timeout;
    let (server, mut cfg) = on_first_control(&connector, budget, |c| {
        let server = Server::detect(c)?;
        // Refuses COPY on CockroachDB here: a check sends the real load's statements.
        Ok((
            server,
            cockroach_limits(cfg, server.flavour, c, connector.reporter())?,
        ))
    })?;
    let flavour = server.flavour;
    match flavour {
        Flavour::Postgres => cfg.workers = 1,
        Flavour::Cockroach if cfg.truncate => return Err(Error::usage(CHECK_TRUNCATE_COCKROACH)),
        Flavour::Cockroach => {}
    }
    let cfg = &cfg;
    let mut plan = planned(cfg, &connector, budget, flavour)?;
    let counters = Arc::new(Counters::default());
    let writer = reject_writer(cfg, &plan).replacing();
    let emptied = reject_writer(cfg, &plan);
    let rejects = Rejects::new(
        RejectBudget::new(counters.clone(), cfg.max_errors),
        Some(writer),
    );
    let mut run = Run::start(
        cfg,
        started,
        counters,
        rejects,
        cfg.truncate,
        connector.reporter(),
    )?;
    let input = Input::take(cfg, &mut plan);
    let target = CheckTarget {
        statements: plan.statements,
        files: cfg.files.clone(),
        retry: cfg.retry,
        retry_path: server.retry_path(),
        connector,
        reconnect_timeout: budget,
    };
    // One transaction sees its chunks in file order: the later of two equal keys fails.
    let ordered = flavour == Flavour::Postgres;
    let (chunks, bytes) = pipeline(&run, input, &Committed::default(), ordered, |w| {
        CheckSink::new(&target, &run.control, &run.counters, &run.rejects, w)
    });
    run.end()?;
    // A new load's reject file holds its own rejects only: when there are none, an
    // earlier file is emptied to its header, as a new load leaves it.
    if run.counters.rejected.load(Relaxed) == 0 {
        emptied.rewrite(&[])?;
    }
    let (table, cap) = (&target.statements.table, &PieceCap::default());
    Ok(run.summary("check", table, cap, (chunks, bytes), Mode::Check))
}
