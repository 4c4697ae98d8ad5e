//! `chunkload import`: flags to [`ImportOptions`], then shards, statement, and optionally
//! the file server and the statement's execution. The work itself is in `chunkload::import`.

use chunkload::import::{
    self, http_base_url, Emit, ImportOptions, ImportPlan, ShardCompression, ShardServer,
    POSTGRES_REFUSAL,
};
use chunkload::Flavour;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;

/// `chunkload import --help` ends with these; lines stay short so clap does not wrap them.
pub const AFTER_HELP: &str = "\
Examples:
  chunkload import big.csv --table accounts --shards 16 --out shards/
  chunkload import big.csv --table t --shards 8 --out shards/ \\
      --serve 10.0.0.5:8080 --serve-once
  chunkload import big.csv.zst --table t --shards 8 --out imp/ --compress gzip \\
      --base-url 's3://bucket/imp?AUTH=specified&AWS_ACCESS_KEY_ID=..&AWS_SECRET_ACCESS_KEY=..'
  chunkload import big.csv --table t --shards 4 --out /tmp/imp --emit copy --execute \\
      --url postgres://postgres@localhost/db

The shards and import.sql (with the real URLs, credentials included) go to --out; the
terminal shows the statement with credentials replaced by ***.";

/// Where to write the shards and how the nodes will read them.
#[derive(Args)]
pub struct ImportArgs {
    /// The CSV file to split; `-` reads stdin; gzip and zstd input is decompressed.
    file: PathBuf,
    /// Target table: `table` or `schema.table` (quote parts with "" to keep case).
    #[arg(long)]
    table: String,
    /// Number of shard files (the cluster's nodes fetch them in parallel); never more than
    /// there are records, since no shard is written empty.
    #[arg(long)]
    shards: usize,
    /// Directory for the shards and import.sql (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Target columns of a file without header, or names overriding the header's, in order.
    #[arg(long, value_delimiter = ',')]
    columns: Option<Vec<String>>,
    /// Field delimiter (one byte; `\t` for tab).
    #[arg(long, default_value = ",")]
    delimiter: String,
    /// The string that means NULL when unquoted (default: the empty field).
    #[arg(long, default_value = "")]
    null: String,
    /// The file has no header line (then --columns names the columns, or all columns load in
    /// table order).
    #[arg(long)]
    no_header: bool,
    /// Repeat the header at the top of every shard (IMPORT then skips it).
    #[arg(long)]
    keep_header: bool,
    /// Compress the shards: none or gzip.
    #[arg(long, value_enum, default_value_t = CompressArg::None)]
    compress: CompressArg,
    /// Where the nodes read the shards: nodelocal://1/path, userfile:///path,
    /// http://host:port/, s3://bucket/prefix?..., gs://bucket/prefix?...
    /// (default: nodelocal://1/<out dir name>/, or http://ADDR/ with --serve).
    #[arg(long)]
    base_url: Option<String>,
    /// Serve this import's shards (and nothing else in --out) over HTTP on ADDR
    /// (host:port), logging each fetch, until Ctrl-C (or --serve-once).
    #[arg(long, value_name = "ADDR")]
    serve: Option<String>,
    /// With --serve: stop once every shard has been fetched completely.
    #[arg(long, requires = "serve")]
    serve_once: bool,
    /// Run the statement: IMPORT INTO on CockroachDB; with --emit copy on PostgreSQL, the
    /// server-side COPY statements (the server must be able to read the shards).
    #[arg(long)]
    execute: bool,
    /// Statements to produce: import (IMPORT INTO, for CockroachDB) or copy (also copy.sql:
    /// one server-side COPY per shard, for PostgreSQL).
    #[arg(long, value_enum, default_value_t = EmitArg::Import)]
    emit: EmitArg,
    /// Replace the shards an earlier import of this table left in --out.
    #[arg(long)]
    force: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum CompressArg {
    None,
    Gzip,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum EmitArg {
    Import,
    Copy,
}

impl ImportArgs {
    fn options(&self) -> anyhow::Result<ImportOptions> {
        let mut o = ImportOptions::new(&self.file, &self.table, self.shards, &self.out);
        o.delimiter = crate::args::one_byte("delimiter", &self.delimiter)?;
        o.null = self.null.clone();
        o.has_header = !self.no_header;
        o.columns = self.columns.clone();
        o.keep_header = self.keep_header;
        o.compress = match self.compress {
            CompressArg::None => ShardCompression::None,
            CompressArg::Gzip => ShardCompression::Gzip,
        };
        o.emit = match self.emit {
            EmitArg::Import => Emit::Import,
            EmitArg::Copy => Emit::Copy,
        };
        o.base_url = self.base_url.clone();
        o.force = self.force;
        Ok(o)
    }
}

/// Runs `chunkload import`. `stop` receives Ctrl-C: it ends `--serve` cleanly (a second
/// Ctrl-C, with nobody listening any more, ends the process).
pub fn run(args: &ImportArgs, url: Option<&str>, stop: Receiver<()>) -> anyhow::Result<ExitCode> {
    // Ctrl-C while only the file server runs stops it cleanly (`halt`; `interrupted` tells
    // why it stopped); at any other time it ends the process, as it would without us.
    let serving = Arc::new(AtomicBool::new(false));
    let halt = Arc::new(AtomicBool::new(false));
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let (serving, halt, interrupted) = (
            Arc::clone(&serving),
            Arc::clone(&halt),
            Arc::clone(&interrupted),
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
    }
    let mut opts = args.options()?;
    // Connect first: a wrong URL or a PostgreSQL target without --emit copy fails before
    // the (possibly long) sharding.
    let mut target = if args.execute {
        let (client, flavour) = crate::connect(url)?;
        if flavour == Flavour::Postgres && opts.emit != Emit::Copy {
            return Err(chunkload::Error::usage(POSTGRES_REFUSAL).into());
        }
        Some((client, flavour))
    } else {
        None
    };
    // Bind before writing, so `--serve host:0` can name the real port in the URLs and a
    // busy port fails early.
    let server = match &args.serve {
        Some(addr) => {
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
            Some(server)
        }
        None => None,
    };

    let plan = import::prepare(&opts)?;
    report(&plan, opts.emit);

    let serve = |server: &ShardServer| -> anyhow::Result<()> {
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
        server.run(&names, args.serve_once, &halt, |line| eprintln!("{line}"))?;
        if interrupted.load(Ordering::SeqCst) {
            eprintln!("file server stopped (Ctrl-C)");
        }
        Ok(())
    };

    match (target.as_mut(), &server) {
        (Some((client, flavour)), Some(server)) => {
            // The nodes fetch from us while the statement runs; stop serving when it is done.
            std::thread::scope(|s| {
                let h = s.spawn(|| serve(server));
                let r = execute(client, *flavour, &plan);
                halt.store(true, Ordering::SeqCst);
                let served = h.join().expect("file server thread panicked");
                r.and(served)
            })?;
        }
        (Some((client, flavour)), None) => execute(client, *flavour, &plan)?,
        (None, Some(server)) => {
            serving.store(true, Ordering::SeqCst);
            serve(server)?;
            if args.serve_once && interrupted.load(Ordering::SeqCst) {
                eprintln!("interrupted before every shard was fetched");
                return Ok(ExitCode::from(130));
            }
        }
        (None, None) => {}
    }
    Ok(ExitCode::SUCCESS)
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
            let result = import::execute(client, plan, true)?;
            println!("import finished: {result}");
        }
        Flavour::Postgres => {
            eprintln!(
                "running {} COPY statements into {} ...",
                plan.copy_statements().len(),
                plan.table()
            );
            let mut tx = client.transaction().map_err(chunkload::Error::from)?;
            let mut rows = 0;
            for stmt in plan.copy_statements() {
                for m in tx.simple_query(stmt).map_err(chunkload::Error::from)? {
                    if let postgres::SimpleQueryMessage::CommandComplete(n) = m {
                        rows += n;
                    }
                }
            }
            tx.commit().map_err(chunkload::Error::from)?;
            println!("copy finished: {rows} rows into {}", plan.table());
        }
    }
    Ok(())
}
