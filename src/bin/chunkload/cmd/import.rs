//! `chunkload import`: flags to [`ImportOptions`], then shards, statement, and optionally
//! the file server and the statement's execution. The work itself is in `chunkload::import`.
//!
//! [`ImportOptions`]: chunkload::import::ImportOptions

use super::shared::connect;
use crate::args::ImportArgs;
use chunkload::import::{self, http_base_url, Emit, ImportPlan, ShardServer, POSTGRES_REFUSAL};
use chunkload::Flavour;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;

/// Runs `chunkload import`. `stop` receives Ctrl-C: it ends `--serve` cleanly (a second
/// Ctrl-C, with nobody listening any more, ends the process).
pub(crate) fn run(
    args: &ImportArgs,
    url: Option<&str>,
    stop: Receiver<()>,
) -> anyhow::Result<ExitCode> {
    let ctrl_c = CtrlC::watch(stop);
    let mut opts = args.options()?;
    find_dialect(args, &mut opts)?;
    // Connect first: a wrong URL or a PostgreSQL target without --emit copy fails before
    // the (possibly long) sharding.
    let mut target = match args.execute {
        true => Some(connect_target(url, &opts)?),
        false => None,
    };
    let server = bind_server(args, &mut opts)?;
    let plan = import::prepare(&opts)?;
    report(&plan, opts.emit);
    let serve = |server: &ShardServer| serve(args, &plan, server, &ctrl_c);
    match (target.as_mut(), &server) {
        (Some((client, flavour)), Some(server)) => {
            // The nodes fetch from us while the statement runs; stop serving when it is done.
            std::thread::scope(|s| {
                let h = s.spawn(|| serve(server));
                let r = execute(client, *flavour, &plan);
                ctrl_c.halt.store(true, Ordering::SeqCst);
                let served = h.join().expect("file server thread panicked");
                r.and(served)
            })?;
        }
        (Some((client, flavour)), None) => execute(client, *flavour, &plan)?,
        (None, Some(server)) => {
            ctrl_c.serving.store(true, Ordering::SeqCst);
            serve(server)?;
            if args.serve_once && ctrl_c.interrupted.load(Ordering::SeqCst) {
                eprintln!("interrupted before every shard was fetched");
                return Ok(ExitCode::from(crate::exit::ExitStatus::Interrupted.code()));
            }
        }
        (None, None) => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C while only the file server runs stops it cleanly (`halt`; `interrupted` tells
/// why it stopped); at any other time it ends the process, as it would without us.
struct CtrlC {
    serving: Arc<AtomicBool>,
    halt: Arc<AtomicBool>,
    interrupted: Arc<AtomicBool>,
}

impl CtrlC {
    fn watch(stop: Receiver<()>) -> CtrlC {
        let flags = CtrlC {
            serving: Arc::new(AtomicBool::new(false)),
            halt: Arc::new(AtomicBool::new(false)),
            interrupted: Arc::new(AtomicBool::new(false)),
        };
        let (serving, halt, interrupted) = (
            Arc::clone(&flags.serving),
            Arc::clone(&flags.halt),
            Arc::clone(&flags.interrupted),
        );
        std::thread::spawn(move || {
            if stop.recv().is_ok() {
                if !serving.load(Ordering::SeqCst) {
                    std::process::exit(130);
                }
                interrupted.store(true, Ordering::SeqCst);
                halt.store(true, Ordering::SeqCst);
            }
        });
        flags
    }
}

/// The `--execute` target: CockroachDB, or PostgreSQL with `--emit copy`.
fn connect_target(
    url: Option<&str>,
    opts: &import::ImportOptions,
) -> anyhow::Result<(postgres::Client, Flavour)> {
    let (client, flavour) = connect(url)?;
    if flavour == Flavour::Postgres && opts.emit != Emit::Copy {
        return Err(chunkload::Error::usage(POSTGRES_REFUSAL).into());
    }
    Ok((client, flavour))
}

/// `--serve`: bound before anything is written, so `--serve host:0` can name the real
/// port in the URLs and a busy port fails early.
fn bind_server(
    args: &ImportArgs,
    opts: &mut import::ImportOptions,
) -> anyhow::Result<Option<ShardServer>> {
    let Some(addr) = &args.serve else {
        return Ok(None);
    };
    if chunkload::source::store::is_store(&args.out.to_string_lossy()) {
        let msg = "--serve serves a local --out; the nodes read an object-store --out \
                   (s3://, az://, gs://) from the store";
        return Err(chunkload::Error::usage(msg).into());
    }
    let server = ShardServer::bind(&import::out_dir(&args.out)?, addr)?;
    if opts.base_url.is_none() {
        let bound = server.local_addr();
        if bound.ip().is_unspecified() {
            eprintln!(
                "note: serving on {bound}, so the URLs name that address; pass \
                 --base-url http://<reachable host>:{}/ for the nodes",
                bound.port()
            );
        }
        opts.base_url = Some(http_base_url(&bound.to_string()));
    }
    Ok(Some(server))
}

/// Serves the shards until each was fetched once (`--serve-once`), the statement is done
/// or Ctrl-C.
fn serve(
    args: &ImportArgs,
    plan: &ImportPlan,
    server: &ShardServer,
    ctrl_c: &CtrlC,
) -> anyhow::Result<()> {
    let names = plan.shard_names();
    eprintln!(
        "serving the {} shards of {} on http://{}/ {}",
        names.len(),
        server.root().display(),
        server.local_addr(),
        if args.serve_once {
            "until every shard was fetched once (Ctrl-C to stop)"
        } else {
            "(Ctrl-C to stop)"
        }
    );
    server.run(&names, args.serve_once, &ctrl_c.halt, |line| {
        eprintln!("{line}")
    })?;
    if ctrl_c.interrupted.load(Ordering::SeqCst) {
        eprintln!("file server stopped (Ctrl-C)");
    }
    Ok(())
}

/// What the user sees before anything runs: where the files went, the caveats of
/// IMPORT INTO, the steps the URL scheme needs, and the statements (credentials redacted).
fn report(plan: &ImportPlan, emit: Emit) {
    let bytes: u64 = plan.shards().iter().map(|s| s.file_bytes).sum();
    if !plan.replaced_shards().is_empty() {
        eprintln!(
            "removed {} shards of an earlier import (--force)",
            plan.replaced_shards().len()
        );
    }
    if let Some(n) = plan.shard_note() {
        eprintln!("note: {n}");
    }
    if let Some(w) = plan.shard_size_warning() {
        eprintln!("warning: {w}");
    }
    eprintln!(
        "wrote {} shards ({} records, {} bytes) to {}",
        plan.shards().len(),
        plan.total_records(),
        bytes,
        plan.dir().display()
    );
    if emit == Emit::Copy {
        // A PostgreSQL target: IMPORT INTO and CockroachDB's caveats do not apply.
        eprintln!(
            "CockroachDB's IMPORT INTO statement is in {}",
            plan.import_sql_path().display()
        );
        for n in plan.copy_notes() {
            eprintln!("note: {n}");
        }
        if let Some(p) = plan.copy_sql_path() {
            eprintln!("the COPY statements are in {}", p.display());
        }
        for s in plan.copy_statements() {
            println!("{s}");
        }
        return;
    }
    eprintln!(
        "the statement with its real URLs is in {}",
        plan.import_sql_path().display()
    );
    for c in plan.caveats() {
        eprintln!("caveat: {c}");
    }
    for n in plan.notes() {
        eprintln!("note: {n}");
    }
    for cmd in plan.userfile_commands() {
        eprintln!("  {cmd}");
    }
    println!("{}", plan.redacted_statement());
}

/// IMPORT INTO on CockroachDB; the COPY statements, in one transaction, on PostgreSQL (the
/// caller has refused PostgreSQL without `--emit copy`).
fn execute(
    client: &mut postgres::Client,
    flavour: Flavour,
    plan: &ImportPlan,
) -> anyhow::Result<()> {
    match flavour {
        Flavour::Cockroach => {
            eprintln!("running IMPORT INTO {} ...", plan.table());
            let result = import::execute(client, plan, flavour)?;
            println!("import finished: {result}");
        }
        Flavour::Postgres => {
            eprintln!(
                "running {} COPY statements into {} ...",
                plan.copy_statements().len(),
                plan.table()
            );
            let rows = import::execute_copy(client, plan)?;
            println!("copy finished: {rows} rows into {}", plan.table());
        }
    }
    Ok(())
}

/// The delimiter and header the flags leave open, found from the file; IMPORT and the
/// shards always quote with `"`.
fn find_dialect(args: &ImportArgs, opts: &mut import::ImportOptions) -> anyhow::Result<()> {
    let spec = chunkload::source::DialectSpec {
        delimiter: args.csv.delimiter_byte()?,
        quote: Some(b'"'),
        escape: Some(b'"'),
        has_header: args.csv.has_header(),
        skip_lines: 0,
        null: args.csv.null.as_bytes().to_vec(),
        // Import spools what is not UTF-8 (a byte order mark says so) as UTF-8.
        encoding: None,
        // IMPORT reads numbers as CockroachDB does: no decimal comma to find.
        decimal_comma: Some(false),
    };
    let file = args.file.to_string_lossy();
    let found = chunkload::source::detect_dialect(&file, None, &spec)?;
    if let Some(line) = found.describe(&file) {
        eprintln!("{line}");
    }
    opts.delimiter = found.dialect.delimiter;
    opts.has_header = found.dialect.has_header;
    Ok(())
}
