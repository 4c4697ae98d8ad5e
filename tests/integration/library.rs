//! The library as a Rust program uses it: one `Loader`, events instead of printing,
//! rejected rows as types.

use crate::support::{client, count, fresh_db};
use chunkload::connect::ConnectOptions;
use chunkload::report::{Event, RejectedRow, Topic};
use chunkload::Loader;
use std::sync::{Arc, Mutex};

/// Everything an observer heard, in order.
#[derive(Default)]
struct Heard(Mutex<Vec<Event>>);

impl Heard {
    fn observer(self: &Arc<Self>) -> impl Fn(&Event) + Send + Sync + 'static {
        let me = self.clone();
        move |e: &Event| me.0.lock().unwrap().push(e.clone())
    }

    fn rejected(&self) -> Vec<RejectedRow> {
        let events = self.0.lock().unwrap();
        let rows = events.iter().filter_map(|e| match e {
            Event::Rejected(r) => Some(r.clone()),
            _ => None,
        });
        let mut rows: Vec<RejectedRow> = rows.collect();
        rows.sort_by_key(|r| r.line);
        rows
    }

    fn notes(&self, topic: Topic) -> Vec<String> {
        let events = self.0.lock().unwrap();
        let notes = events.iter().filter_map(|e| match e {
            Event::Note(n) | Event::Warning(n) if n.topic == topic => Some(n.text.clone()),
            _ => None,
        });
        notes.collect()
    }
}

#[test]
fn a_loader_reports_rejected_rows_as_types_and_reruns_as_events() {
    let url = fresh_db("library_loader");
    client(&url)
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY, n int)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("t.csv");
    // Line 3: `n` does not convert (the client refuses it); line 5 repeats key 1 (the
    // server refuses it, 23505).
    std::fs::write(&csv, "id,n\n1,10\n2,x\n3,30\n1,40\n4,50\n").unwrap();
    let heard = Arc::new(Heard::default());
    let load = Loader::builder(ConnectOptions::parse(&url).unwrap(), "t")
        .file(csv.to_str().unwrap())
        .reject_file(dir.path().join("t.rejects.csv").to_str().unwrap())
        .max_errors(5)
        .workers(1)
        .observer(heard.observer())
        .build()
        .unwrap();
    let summary = load.run().unwrap();
    assert_eq!((summary.rows, summary.rejected), (3, 2));
    assert_eq!(count(&url, "t"), 3);
    let rejected = heard.rejected();
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    assert_eq!((rejected[0].file, rejected[0].line), (0, 3));
    assert_eq!(rejected[0].column.as_deref(), Some("n"));
    assert_eq!(rejected[0].sqlstate, None, "the client refused it");
    assert_eq!(rejected[1].line, 5);
    assert_eq!(rejected[1].sqlstate.as_deref(), Some("23505"));
    assert!(
        rejected[1].message.contains("duplicate key"),
        "{rejected:?}"
    );
    // The pipeline's start and end frame the rejects.
    {
        let events = heard.0.lock().unwrap();
        let started = events
            .iter()
            .position(|e| matches!(e, Event::Started { .. }))
            .expect("started");
        let finished = events
            .iter()
            .position(|e| matches!(e, Event::Finished))
            .expect("finished");
        let first_reject = events
            .iter()
            .position(|e| matches!(e, Event::Rejected(_)))
            .unwrap();
        assert!(started < first_reject && first_reject < finished);
    }
    // The same load again: nothing to do, said as an event, nothing printed by the
    // library (it may not print: clippy denies it).
    let again = Arc::new(Heard::default());
    let load = Loader::builder(ConnectOptions::parse(&url).unwrap(), "t")
        .file(csv.to_str().unwrap())
        .reject_file(dir.path().join("t.rejects.csv").to_str().unwrap())
        .max_errors(5)
        .observer(again.observer())
        .build()
        .unwrap();
    assert_eq!(load.run().unwrap().rows, 0);
    let said = again.notes(Topic::AlreadyLoaded);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with("already loaded completely at"),
        "{said:?}"
    );
    assert!(again.rejected().is_empty());
}
