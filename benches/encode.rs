//! Client-side throughput without a server: read + chunk + encode of an in-memory
//! generated file, per transport format and dataset, in source MB/s.
//!
//! The three transports:
//! * `copy-binary`: binary COPY tuples, written out as one COPY stream per chunk;
//! * `copy-text`: COPY text lines (what CockroachDB gets), written out likewise;
//! * `insert-params`: binary values bound as INSERT parameters, serialised as a Bind
//!   message would carry them.
// criterion_group! writes an undocumented public function.
#![allow(missing_docs)]

mod common;

use bytes::BytesMut;
use chunkload::chunk::{ChunkLimits, ChunkStream};
use chunkload::dataset::Dataset;
use chunkload::encode::copy::write_copy;
use chunkload::encode::insert::params;
use chunkload::encode::{EncodedRows, Encoder, Format};
use chunkload::source::{Dialect, RecordReader};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use postgres::types::{ToSql, Type};
use std::hint::black_box;

const ROWS: u64 = 20_000;

#[derive(Clone, Copy)]
enum Transport {
    CopyBinary,
    CopyText,
    InsertParams,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Transport::CopyBinary => "copy-binary",
            Transport::CopyText => "copy-text",
            Transport::InsertParams => "insert-params",
        }
    }

    fn format(self) -> Format {
        match self {
            Transport::CopyText => Format::Text,
            _ => Format::Binary,
        }
    }

    /// INSERT chunks are also bounded by the 65 535 bind parameters of a statement.
    fn limits(self) -> ChunkLimits {
        let mut l = ChunkLimits::default();
        if !matches!(self, Transport::InsertParams) {
            l.max_params = usize::MAX;
        }
        l
    }
}

/// Reads, chunks and encodes `data` as a load would and sends each chunk to a sink;
/// returns (rows encoded, bytes produced).
fn pipeline(data: &[u8], encoder: &Encoder, t: Transport) -> (u64, u64) {
    let rdr = RecordReader::new("bench.csv", data, Dialect::default());
    let mut stream = ChunkStream::new(rdr, t.limits(), 0, 0).expect("chunk stream");
    let mut rows = EncodedRows::new();
    let mut out: Vec<u8> = Vec::new();
    let mut bind = BytesMut::new();
    let mut select: Vec<usize> = Vec::new();
    let (mut n, mut produced) = (0u64, 0u64);
    while let Some(chunk) = stream.next_chunk().expect("valid input") {
        rows.clear();
        for (i, rec) in chunk.batch.iter().enumerate() {
            encoder
                .encode_row(rec.fields(), i as u32, &mut rows)
                .expect("generated rows convert");
        }
        n += rows.len() as u64;
        match t {
            Transport::CopyBinary | Transport::CopyText => {
                out.clear();
                write_copy(&rows, 0..rows.len(), t.format(), &mut out).expect("to memory");
                produced += out.len() as u64;
            }
            Transport::InsertParams => {
                select.clear();
                select.extend(0..rows.len());
                let params = params(&rows, &select);
                bind.clear();
                for p in &params {
                    // A Bind message: a length word, then the value.
                    bind.extend_from_slice(&[0; 4]);
                    p.to_sql(&Type::TEXT, &mut bind).expect("raw params encode");
                }
                produced += bind.len() as u64;
            }
        }
    }
    (n, produced)
}

fn bench_encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    g.sample_size(20);
    for ds in [Dataset::Accounts, Dataset::Wide] {
        let data = common::generated(ds, ROWS, 7);
        g.throughput(Throughput::Bytes(data.len() as u64));
        for t in [
            Transport::CopyBinary,
            Transport::CopyText,
            Transport::InsertParams,
        ] {
            let encoder = Encoder::new(common::columns(ds), t.format());
            // Once outside the timing: every record must come through.
            let (n, produced) = pipeline(&data, &encoder, t);
            assert_eq!(n, ROWS, "{} {}: rows encoded", ds.name(), t.name());
            assert!(produced > 0);
            g.bench_with_input(BenchmarkId::new(t.name(), ds.name()), &data, |b, data| {
                b.iter(|| {
                    let (n, produced) = pipeline(black_box(data), &encoder, t);
                    assert_eq!(n, ROWS);
                    black_box(produced)
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench_encode);
criterion_main!(benches);
