//! Rows/s of a real load into a throwaway PostgreSQL (fsync on) as a function of the
//! chunk size, for `insert` and `copy`.
//!
//! Besides criterion's report, writes `target/chunk-size/sweep.md` (a markdown table of
//! the median rows/s per size) and `target/chunk-size/sweep.svg` (rows/s against chunk
//! size on a log axis, one line per method).
//!
//! The chunk's row cap is lifted (`max_rows = usize::MAX`) so the byte size alone decides
//! where chunks end; INSERT chunks stay bounded by the 65 535 bind parameters of one
//! statement (32 767 rows of `accounts`), so the insert line flattens above that.

mod common;

use chunkload::cluster::LocalCluster;
use chunkload::connect::ConnectOptions;
use chunkload::dataset::{self, Dataset};
use chunkload::load::{self, LoadConfig, Method};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROWS: u64 = 100_000;
const SIZES: [usize; 6] = [16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20];
const METHODS: [Method; 2] = [Method::Insert, Method::Copy];
const WORKERS: usize = 2;

fn size_label(b: usize) -> String {
    if b >= 1 << 20 {
        format!("{} MiB", b >> 20)
    } else {
        format!("{} KiB", b >> 10)
    }
}

/// One measured load.
#[derive(Clone, Copy)]
struct Run {
    secs: f64,
    chunks: u64,
}

struct Bench {
    _cluster: LocalCluster,
    opts: ConnectOptions,
    file: String,
    _dir: tempfile::TempDir,
}

impl Bench {
    fn start() -> Bench {
        let cluster = LocalCluster::start().expect("throwaway PostgreSQL (fsync on)");
        let url = cluster.create_database("bench").expect("bench database");
        let opts = ConnectOptions::parse(&url).expect("cluster URL");
        let mut c = chunkload::connect::connect(&opts).expect("connect");
        c.batch_execute(&dataset::ddl(Dataset::Accounts, "accounts"))
            .expect("create accounts");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("accounts.csv");
        std::fs::write(&path, common::generated(Dataset::Accounts, ROWS, 11)).expect("write");
        Bench {
            _cluster: cluster,
            opts,
            file: path.display().to_string(),
            _dir: dir,
        }
    }

    fn truncate(&self) {
        let mut c = chunkload::connect::connect(&self.opts).expect("connect");
        c.batch_execute("TRUNCATE accounts").expect("truncate");
    }

    fn count(&self) -> i64 {
        let mut c = chunkload::connect::connect(&self.opts).expect("connect");
        c.query_one("SELECT count(*) FROM accounts", &[])
            .expect("count")
            .get(0)
    }

    /// Empties the table (untimed), then loads the file with a fresh load id (timed).
    fn load(&self, method: Method, chunk_bytes: usize) -> Run {
        self.truncate();
        let mut cfg = LoadConfig::new(vec![self.file.clone()], "accounts");
        cfg.method = method;
        cfg.workers = WORKERS;
        cfg.limits.max_bytes = chunk_bytes;
        cfg.limits.max_rows = usize::MAX;
        cfg.fresh = true;
        let opts = self.opts.clone();
        let connector: load::Connector = Arc::new(move |_w, _a| chunkload::connect::connect(&opts));
        let t = Instant::now();
        let summary = load::run(&cfg, connector).expect("load");
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(summary.rows, ROWS, "{} rows loaded", method.name());
        Run {
            secs,
            chunks: summary.chunks,
        }
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

fn write_table(path: &Path, results: &BTreeMap<(usize, &'static str), (f64, u64, usize)>) {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Chunk-size sweep: {ROWS} `accounts` rows (uuid PK, int8) into a throwaway PostgreSQL \
         (fsync on), {WORKERS} workers, median of the runs per cell.\n"
    );
    let _ = writeln!(
        md,
        "| chunk size | method | chunks | runs | median s | median rows/s |"
    );
    let _ = writeln!(md, "|---:|---|---:|---:|---:|---:|");
    for m in METHODS {
        for s in SIZES {
            if let Some(&(secs, chunks, runs)) = results.get(&(s, m.name())) {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {:.3} | {:.0} |",
                    size_label(s),
                    m.name(),
                    chunks,
                    runs,
                    secs,
                    ROWS as f64 / secs
                );
            }
        }
    }
    std::fs::write(path, md).expect("writing sweep.md");
}

fn write_svg(
    path: &Path,
    results: &BTreeMap<(usize, &'static str), (f64, u64, usize)>,
) -> Result<(), Box<dyn std::error::Error>> {
    let ymax = results
        .values()
        .map(|&(secs, _, _)| ROWS as f64 / secs)
        .fold(0.0, f64::max)
        * 1.15;
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("chunkload: {ROWS} accounts rows, PostgreSQL fsync on, {WORKERS} workers"),
            ("sans-serif", 18),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d((8.0f64..32768.0f64).log_scale(), 0.0..ymax)?;
    chart
        .configure_mesh()
        .x_desc("chunk size (KiB, log scale)")
        .y_desc("rows/s (median)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()?;
    for (m, color) in METHODS.iter().zip([RED, BLUE]) {
        let pts: Vec<(f64, f64)> = SIZES
            .iter()
            .filter_map(|&s| {
                results
                    .get(&(s, m.name()))
                    .map(|&(secs, _, _)| ((s >> 10) as f64, ROWS as f64 / secs))
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
    root.present()?;
    Ok(())
}

fn bench_chunk_size(c: &mut Criterion) {
    let bench = Bench::start();
    let mut runs: BTreeMap<(usize, &'static str), Vec<Run>> = BTreeMap::new();
    let mut g = c.benchmark_group("chunk_size");
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(ROWS));
    for m in METHODS {
        for s in SIZES {
            g.bench_function(BenchmarkId::new(m.name(), size_label(s)), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let r = bench.load(m, s);
                        runs.entry((s, m.name())).or_default().push(r);
                        total += Duration::from_secs_f64(r.secs);
                    }
                    total
                })
            });
        }
    }
    g.finish();
    assert_eq!(bench.count(), ROWS as i64, "the last load left every row");
    let results: BTreeMap<_, _> = runs
        .iter()
        .map(|(k, v)| {
            let mut secs: Vec<f64> = v.iter().map(|r| r.secs).collect();
            (*k, (median(&mut secs), v[0].chunks, v.len()))
        })
        .collect();
    let dir = out_dir();
    std::fs::create_dir_all(&dir).expect("creating target/chunk-size");
    write_table(&dir.join("sweep.md"), &results);
    write_svg(&dir.join("sweep.svg"), &results).expect("writing sweep.svg");
    eprintln!(
        "chunk-size sweep written to {}/sweep.md and sweep.svg",
        dir.display()
    );
}

criterion_group!(benches, bench_chunk_size);
criterion_main!(benches);
