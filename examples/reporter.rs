//! A custom reporter: the library never prints; it sends events to an `Observer`. This
//! one prints a line per 10 % of the file from the counters and keeps the warnings for
//! the end.
//!
//! `cargo run --example reporter`

use chunkload::cluster::LocalCluster;
use chunkload::connect::ConnectOptions;
use chunkload::report::{Counters, Event, Observer};
use chunkload::Loader;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Prints progress by tenths of the input from its own thread while the pipeline runs.
#[derive(Default)]
struct Tenths {
    running: Mutex<Option<(Arc<AtomicBool>, JoinHandle<()>)>>,
    warnings: Mutex<Vec<String>>,
}

impl Observer for Tenths {
    fn event(&self, event: &Event) {
        match event {
            Event::Started { counters } => {
                let (stop, c) = (Arc::new(AtomicBool::new(false)), counters.clone());
                let flag = stop.clone();
                let t = std::thread::spawn(move || tick(&c, &flag));
                *self.running.lock().unwrap() = Some((stop, t));
            }
            Event::Warning(w) => self.warnings.lock().unwrap().push(w.text.clone()),
            Event::Finished => {
                if let Some((stop, t)) = self.running.lock().unwrap().take() {
                    stop.store(true, Relaxed);
                    t.join().expect("ticker");
                }
            }
            _ => {}
        }
    }
}

fn tick(c: &Counters, stop: &AtomicBool) {
    let mut said = 0;
    while !stop.load(Relaxed) {
        let (read, total) = (c.bytes_read.load(Relaxed), c.bytes_total.load(Relaxed));
        let tenth = (read * 10).checked_div(total).unwrap_or(0);
        if tenth > said {
            said = tenth;
            println!("{}0 % read, {} rows committed", tenth, c.rows.load(Relaxed));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn main() -> chunkload::Result<()> {
    let cluster = LocalCluster::start()?;
    let url = cluster.create_database("example_reporter")?;
    let mut client = chunkload::connect::connect(&ConnectOptions::parse(&url)?)?;
    client.batch_execute("CREATE TABLE readings (sensor INT, value FLOAT8)")?;
    let dir = tempfile::tempdir().map_err(|e| chunkload::Error::io("tempdir", e))?;
    let csv = dir.path().join("readings.csv");
    let rows: String = (0..200_000)
        .map(|i| format!("{},{}\n", i % 97, i as f64 / 7.0))
        .collect();
    std::fs::write(&csv, format!("sensor,value\n{rows}"))
        .map_err(|e| chunkload::Error::io(csv.display().to_string(), e))?;

    let observer = Arc::new(Tenths::default());
    let summary = Loader::builder(ConnectOptions::parse(&url)?, "readings")
        .file(csv.display().to_string())
        .chunk_bytes(128 * 1024)
        .observer(SharedObserver(observer.clone()))
        .build()?
        .run()?;
    println!("{summary}");
    for w in observer.warnings.lock().unwrap().iter() {
        println!("warning: {w}");
    }
    cluster.stop()
}

/// Lends the caller's observer to the load, so the caller reads its warnings after.
struct SharedObserver(Arc<Tenths>);

impl Observer for SharedObserver {
    fn event(&self, event: &Event) {
        self.0.event(event)
    }
}
