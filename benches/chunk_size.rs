//! Rows/s of a real load into a throwaway PostgreSQL (fsync on) as a function of the
//! chunk's byte bound, on files of real size: both datasets, `copy` and `insert`.
//!
//! The row bound is lifted (`max_rows = usize::MAX`) so the byte size alone closes chunks
//! (INSERT chunks also stay under 65 535 bind parameters a statement: 32 767 rows of
//! `accounts`, 6 553 of `wide`, so the insert line flattens once that bound closes
//! chunks first). Each file is at least `CHUNKLOAD_SWEEP_ROWS` rows and large enough that
//! the largest size still cuts it into 8 chunks per worker: a sweep on a file of a few
//! chunks measures the lost overlap between workers, not what a commit costs.
//!
//! Every (dataset, method, size) cell is loaded once per round, in an order that rotates
//! each round, so drift on a shared machine hits every cell alike; the cell's figure is
//! the median of its rounds. Writes `target/chunk-size/sweep.md` (the table) and
//! `target/chunk-size/sweep.svg` (rows/s against chunk size, one panel per dataset).
//!
//! Environment (for a quick run: `CHUNKLOAD_SWEEP_ROWS=100000 CHUNKLOAD_SWEEP_ROUNDS=1`):
//! - `CHUNKLOAD_SWEEP_ROWS`: minimum rows per file (default 1 000 000);
//! - `CHUNKLOAD_SWEEP_SIZES`: byte bounds, e.g. `64K,256K,1M,2M,4M` (the default);
//! - `CHUNKLOAD_SWEEP_ROUNDS`: rounds (default 3);
//! - `CHUNKLOAD_SWEEP_DATASETS`: `accounts,wide` (default both);
//! - `CHUNKLOAD_SWEEP_METHODS`: `copy,insert` (default both);
//! - `CHUNKLOAD_SWEEP_WORKERS`: writer connections (default 2, the CLI's).
//!
//! Run through `cargo bench` only: without `--bench` (as `cargo test --all-targets` runs
//! it) it returns at once.

mod common;

use chunkload::cluster::LocalCluster;
use chunkload::connect::ConnectOptions;
use chunkload::dataset::{self, Dataset};
use chunkload::load::{self, LoadConfig, Method};
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Chunks per worker the largest size must still cut a file into.
const CHUNKS_PER_WORKER: u64 = 8;

fn size_label(b: usize) -> String {
    if b >= 1 << 20 && b % (1 << 20) == 0 {
        format!("{} MiB", b >> 20)
    } else {
        format!("{} KiB", b >> 10)
    }
}

fn parse_size(s: &str) -> usize {
    let t = s.trim();
    let (n, mult) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 1 << 10),
        Some('M') => (&t[..t.len() - 1], 1 << 20),
        _ => (t, 1),
    };
    n.parse::<usize>()
        .expect("CHUNKLOAD_SWEEP_SIZES: sizes like 256K, 4M")
        * mult
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// What the environment asks for.
struct Settings {
    rows: u64,
    sizes: Vec<usize>,
    rounds: usize,
    datasets: Vec<Dataset>,
    methods: Vec<Method>,
    workers: usize,
}

impl Settings {
    fn from_env() -> Settings {
        let list = |name, default| -> Vec<String> {
            env_or(name, default)
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let mut sizes: Vec<usize> = list("CHUNKLOAD_SWEEP_SIZES", "64K,256K,1M,2M,4M")
            .iter()
            .map(|s| parse_size(s))
            .collect();
        sizes.sort_unstable();
        Settings {
            rows: env_or("CHUNKLOAD_SWEEP_ROWS", "1000000")
                .parse()
                .expect("CHUNKLOAD_SWEEP_ROWS"),
            sizes,
            rounds: env_or("CHUNKLOAD_SWEEP_ROUNDS", "3")
                .parse()
                .expect("CHUNKLOAD_SWEEP_ROUNDS"),
            datasets: list("CHUNKLOAD_SWEEP_DATASETS", "accounts,wide")
                .iter()
                .map(|s| s.parse().expect("CHUNKLOAD_SWEEP_DATASETS"))
                .collect(),
            methods: list("CHUNKLOAD_SWEEP_METHODS", "copy,insert")
                .iter()
                .map(|s| match s.as_str() {
                    "copy" => Method::Copy,
                    "insert" => Method::Insert,
                    other => panic!("CHUNKLOAD_SWEEP_METHODS: copy or insert, not {other}"),
                })
                .collect(),
            workers: env_or("CHUNKLOAD_SWEEP_WORKERS", "2")
                .parse()
                .expect("CHUNKLOAD_SWEEP_WORKERS"),
        }
    }
}

/// One generated file and its table.
struct Input {
    ds: Dataset,
    path: String,
    rows: u64,
    bytes: u64,
}

struct Bench {
    _cluster: LocalCluster,
    opts: ConnectOptions,
    _dir: tempfile::TempDir,
}

impl Bench {
    fn start() -> Bench {
        let cluster = LocalCluster::start().expect("throwaway PostgreSQL (fsync on)");
        let url = cluster.create_database("bench").expect("bench database");
        let opts = ConnectOptions::parse(&url).expect("cluster URL");
        Bench {
            _cluster: cluster,
            opts,
            _dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn sql(&self, sql: &str) {
        let mut c = chunkload::connect::connect(&self.opts).expect("connect");
        c.batch_execute(sql).expect(sql);
    }

    fn count(&self, table: &str) -> u64 {
        let mut c = chunkload::connect::connect(&self.opts).expect("connect");
        let n: i64 = c
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .expect("count")
            .get(0);
        n as u64
    }

    /// A file of at least `min_rows` rows that the largest size cuts into
    /// `CHUNKS_PER_WORKER × workers` chunks, and its (empty) table.
    fn input(&self, ds: Dataset, min_rows: u64, largest: usize, workers: usize) -> Input {
        let sample = common::generated(ds, 10_000, 11);
        let per_row = (sample.len() as u64 / 10_000).max(1);
        let needed = CHUNKS_PER_WORKER * workers as u64 * largest as u64 / per_row + 1;
        let rows = min_rows.max(needed);
        let path = self._dir.path().join(format!("{}.csv", ds.name()));
        dataset::generate_to(ds, rows, 11, &path).expect("generating the input");
        self.sql(&dataset::ddl(ds, ds.name()));
        Input {
            ds,
            path: path.display().to_string(),
            rows,
            bytes: std::fs::metadata(&path).expect("input size").len(),
        }
    }

    /// Empties the table and checkpoints (untimed), loads the file with a fresh load id
    /// (timed), checks the row count (untimed).
    fn load(&self, input: &Input, method: Method, chunk_bytes: usize, workers: usize) -> Run {
        let table = input.ds.name();
        self.sql(&format!("TRUNCATE {table}; CHECKPOINT"));
        let mut cfg = LoadConfig::new(vec![input.path.clone()], table);
        cfg.method = Some(method);
        cfg.workers = workers;
        cfg.chunk_bytes = Some(chunk_bytes);
        cfg.chunk_rows = Some(usize::MAX);
        cfg.fresh = true;
        let opts = self.opts.clone();
        let t = Instant::now();
        let summary = load::run(&cfg, Arc::new(opts)).expect("load");
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(summary.rows, input.rows, "{} rows loaded", method.name());
        assert_eq!(self.count(table), input.rows, "rows in {table}");
        Run {
            secs,
            chunks: summary.chunks,
        }
    }
}

/// One measured load.
#[derive(Clone, Copy)]
struct Run {
    secs: f64,
    chunks: u64,
}

/// A cell of the sweep: dataset, method, chunk bytes.
type Cell = (&'static str, &'static str, usize);

/// The figures of a cell: median seconds, chunks, runs, rows.
#[derive(Clone, Copy)]
struct Figure {
    secs: f64,
    chunks: u64,
    runs: usize,
    rows: u64,
}

impl Figure {
    fn rows_per_sec(&self) -> f64 {
        self.rows as f64 / self.secs
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn out_dir() -> PathBuf {
    // Benches run with the package root as working directory.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("chunk-size")
}

fn write_table(path: &Path, s: &Settings, inputs: &[Input], results: &BTreeMap<Cell, Figure>) {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Chunk-size sweep into a throwaway PostgreSQL (fsync on), {} workers, row bound \
         lifted, median of {} interleaved rounds per cell.\n",
        s.workers, s.rounds
    );
    for i in inputs {
        let _ = writeln!(
            md,
            "- `{}`: {} rows, {} bytes ({:.1} MB)",
            i.ds.name(),
            i.rows,
            i.bytes,
            i.bytes as f64 / 1e6
        );
    }
    let _ = writeln!(
        md,
        "\n| dataset | method | chunk size | chunks | median s | median rows/s | MB/s |"
    );
    let _ = writeln!(md, "|---|---|---:|---:|---:|---:|---:|");
    for i in inputs {
        for m in &s.methods {
            for &size in &s.sizes {
                if let Some(f) = results.get(&(i.ds.name(), m.name(), size)) {
                    let _ = writeln!(
                        md,
                        "| {} | {} | {} | {} | {:.3} | {:.0} | {:.1} |",
                        i.ds.name(),
                        m.name(),
                        size_label(size),
                        f.chunks,
                        f.secs,
                        f.rows_per_sec(),
                        i.bytes as f64 / f.secs / 1e6
                    );
                }
            }
        }
    }
    std::fs::write(path, md).expect("writing sweep.md");
}

fn write_svg(
    path: &Path,
    s: &Settings,
    inputs: &[Input],
    results: &BTreeMap<Cell, Figure>,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (900, 420 * inputs.len() as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let xmin = (*s.sizes.first().unwrap_or(&1024) >> 10) as f64 / 1.5;
    let xmax = (*s.sizes.last().unwrap_or(&1024) >> 10) as f64 * 1.5;
    for (panel, input) in root.split_evenly((inputs.len(), 1)).iter().zip(inputs) {
        let ds = input.ds.name();
        let ymax = results
            .iter()
            .filter(|(k, _)| k.0 == ds)
            .map(|(_, f)| f.rows_per_sec())
            .fold(1.0, f64::max)
            * 1.15;
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!(
                    "{ds}: {} rows ({:.0} MB), PostgreSQL fsync on, {} workers, row bound lifted",
                    input.rows,
                    input.bytes as f64 / 1e6,
                    s.workers
                ),
                ("sans-serif", 17),
            )
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(80)
            .build_cartesian_2d((xmin..xmax).log_scale(), 0.0..ymax)?;
        chart
            .configure_mesh()
            .x_desc("chunk bytes (KiB, log scale)")
            .y_desc("rows/s (median)")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .draw()?;
        for (m, color) in s.methods.iter().zip([BLUE, RED]) {
            let pts: Vec<(f64, f64)> = s
                .sizes
                .iter()
                .filter_map(|&size| {
                    results
                        .get(&(ds, m.name(), size))
                        .map(|f| ((size >> 10) as f64, f.rows_per_sec()))
                })
                .collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
                .label(m.name())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("chunk_size: a load benchmark; run it with `cargo bench --bench chunk_size`");
        return;
    }
    let s = Settings::from_env();
    let largest = *s
        .sizes
        .last()
        .expect("CHUNKLOAD_SWEEP_SIZES: at least one size");
    let bench = Bench::start();
    let inputs: Vec<Input> = s
        .datasets
        .iter()
        .map(|&ds| bench.input(ds, s.rows, largest, s.workers))
        .collect();
    let mut cells: Vec<(usize, Method, usize)> = Vec::new();
    for i in 0..inputs.len() {
        for &m in &s.methods {
            cells.extend(s.sizes.iter().map(|&size| (i, m, size)));
        }
    }
    let mut runs: BTreeMap<Cell, Vec<Run>> = BTreeMap::new();
    let started = Instant::now();
    for round in 0..s.rounds {
        for k in 0..cells.len() {
            let (i, m, size) = cells[(k + round * 3) % cells.len()];
            let input = &inputs[i];
            let r = bench.load(input, m, size, s.workers);
            eprintln!(
                "round {} {:>8} {:>6} {:>8}: {:7.3} s {:9.0} rows/s {:5} chunks",
                round + 1,
                input.ds.name(),
                m.name(),
                size_label(size),
                r.secs,
                input.rows as f64 / r.secs,
                r.chunks
            );
            runs.entry((input.ds.name(), m.name(), size))
                .or_default()
                .push(r);
        }
    }
    let results: BTreeMap<Cell, Figure> = runs
        .iter()
        .map(|(k, v)| {
            let mut secs: Vec<f64> = v.iter().map(|r| r.secs).collect();
            let rows = inputs
                .iter()
                .find(|i| i.ds.name() == k.0)
                .map_or(0, |i| i.rows);
            let f = Figure {
                secs: median(&mut secs),
                chunks: v[0].chunks,
                runs: v.len(),
                rows,
            };
            (*k, f)
        })
        .collect();
    assert!(results.values().all(|f| f.runs == s.rounds));
    let dir = out_dir();
    std::fs::create_dir_all(&dir).expect("creating target/chunk-size");
    write_table(&dir.join("sweep.md"), &s, &inputs, &results);
    write_svg(&dir.join("sweep.svg"), &s, &inputs, &results).expect("writing sweep.svg");
    eprintln!(
        "chunk-size sweep ({:.0} s) written to {}/sweep.md and sweep.svg",
        started.elapsed().as_secs_f64(),
        dir.display()
    );
}
