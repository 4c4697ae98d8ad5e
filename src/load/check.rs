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

use super::plan;
use super::reader::ChunkReader;
use super::{
    chunk_shape, cockroach_limits, on_control, pipeline, reject_writer, Finished, LoadConfig,
};
use crate::commit::{CheckSink, CheckTarget, PieceCap, PipelineControl, RejectBudget, Rejects};
use crate::connect::Connector;
use crate::flavour::Flavour;
use crate::ledger::Progress;
use crate::report::{Counters, Reporter, Summary};
use crate::table::Table;
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
    let (flavour, mut cfg) = on_control(&connector, budget, |c| {
        let flavour = Flavour::detect(c)?;
        Ok((flavour, cockroach_limits(cfg, flavour, c)))
    })?;
    match flavour {
        Flavour::Postgres => cfg.workers = 1,
        Flavour::Cockroach if cfg.truncate => {
            return Err(Error::usage(
                "--check --truncate needs one transaction for the whole check, which \
                 CockroachDB's intent budget does not allow; check without --truncate",
            ))
        }
        Flavour::Cockroach => {}
    }
    let cfg = &cfg;
    let table = on_control(&connector, budget, |c| Table::read(c, &cfg.table))?;
    let mut plan = plan::resolve(cfg, table, flavour)?;
    let counters = Arc::new(Counters::default());
    if cfg.interrupt.is_raised() {
        return Err(cfg.interrupt.error());
    }
    let writer = reject_writer(cfg, &plan).replacing();
    let emptied = reject_writer(cfg, &plan);
    let rejects = Rejects::new(
        RejectBudget::new(counters.clone(), cfg.max_errors),
        Some(writer),
    );
    rejects.check_writable()?;
    let control = PipelineControl::new(cfg.truncate).with_interrupt(cfg.interrupt.clone());
    let shape = chunk_shape(cfg, &plan);
    let stdin = plan.stdin.take();
    let target = CheckTarget {
        statements: plan.statements,
        files: cfg.files.clone(),
        retry: cfg.retry,
        connector,
        reconnect_timeout: budget,
    };
    let progress = Progress::default();
    let reporter = Reporter::start(counters.clone(), cfg.progress);
    let reader = ChunkReader {
        cfg,
        stdin,
        widths: &plan.widths,
        progress: &progress,
        counters: &counters,
        rejects: &rejects,
        control: &control,
        reporter: &reporter,
        pool: None,
    };
    // One transaction sees its chunks in file order: the later of two equal keys fails.
    let ordered = flavour == Flavour::Postgres;
    let (chunks, bytes) = pipeline(
        cfg.workers,
        reader,
        &shape,
        &control,
        cfg.truncate,
        ordered,
        |w| CheckSink::new(&target, &control, &counters, &rejects, w),
    );
    reporter.finish();
    if cfg.interrupt.is_raised() {
        return Err(cfg.interrupt.error());
    }
    if let Some(e) = control.take_error() {
        return Err(e);
    }
    // A new load's reject file holds its own rejects only: when there are none, an
    // earlier file is emptied to its header, as a new load leaves it.
    if counters.rejected.load(Relaxed) == 0 {
        emptied.rewrite(&[])?;
    }
    Ok(Finished {
        load_id: "check",
        table: &target.statements.table,
        counters: &counters,
        rejects: &rejects,
        cap: &PieceCap::default(),
        chunks,
        bytes,
        started,
        dry_run: false,
        check: true,
    }
    .summary(cfg))
}
