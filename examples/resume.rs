//! Resuming: a load stopped half-way (here by its interrupt, as a signal would) is
//! finished by running it again; no row is sent twice.
//!
//! `cargo run --example resume`

use chunkload::cluster::LocalCluster;
use chunkload::connect::ConnectOptions;
use chunkload::load::Interrupt;
use chunkload::report::Event;
use chunkload::Loader;

fn main() -> chunkload::Result<()> {
    let cluster = LocalCluster::start()?;
    let url = cluster.create_database("example_resume")?;
    let mut client = chunkload::connect::connect(&ConnectOptions::parse(&url)?)?;
    // No key: a row sent twice would be stored twice.
    client.batch_execute("CREATE TABLE events (id INT, payload TEXT)")?;

    let dir = tempfile::tempdir().map_err(|e| chunkload::Error::io("tempdir", e))?;
    let csv = dir.path().join("events.csv");
    let rows: String = (1..=50_000).map(|i| format!("{i},event {i}\n")).collect();
    std::fs::write(&csv, format!("id,payload\n{rows}"))
        .map_err(|e| chunkload::Error::io(csv.display().to_string(), e))?;

    let load = |interrupt: Interrupt| {
        Loader::builder(ConnectOptions::parse(&url)?, "events")
            .file(csv.display().to_string())
            .chunk_rows(1_000)
            .workers(1)
            .interrupt(interrupt)
            .observer(|e: &Event| {
                if let Event::Note(n) = e {
                    println!("note: {n}");
                }
            })
            .build()
    };

    // First run: stopped once some chunks are in.
    let stop = Interrupt::new();
    let raiser = stop.clone();
    let url2 = url.clone();
    let stopper = std::thread::spawn(move || {
        let mut c = chunkload::connect::connect(&ConnectOptions::parse(&url2).unwrap()).unwrap();
        for _ in 0..2000 {
            let n: i64 = c
                .query_one("SELECT count(*) FROM events", &[])
                .unwrap()
                .get(0);
            if n >= 5_000 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // As a Ctrl-C would (SIGINT is 2): the load stops between chunks.
        raiser.raise(2);
    });
    let first = load(stop)?.run();
    stopper.join().expect("stopper thread");
    let half: i64 = client.query_one("SELECT count(*) FROM events", &[])?.get(0);
    println!(
        "first run: {}; {half} rows committed",
        match first {
            Ok(s) => format!("finished early ({} rows)", s.rows),
            Err(e) => format!("stopped: {e}"),
        }
    );

    // The same load again: the ledger knows what committed, and only the rest is sent.
    let summary = load(Interrupt::new())?.run()?;
    println!("{summary}");
    let (n, distinct): (i64, i64) = {
        let r = client.query_one("SELECT count(*), count(DISTINCT id) FROM events", &[])?;
        (r.get(0), r.get(1))
    };
    assert_eq!((n, distinct), (50_000, 50_000), "every row exactly once");
    cluster.stop()
}
