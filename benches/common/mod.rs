//! Shared helpers of the benches: generated inputs and the datasets' target columns.

#![allow(dead_code)]

use chunkload::dataset::{self, Dataset};
use chunkload::encode::Column;

/// A generated CSV file (header included) held in memory.
pub fn generated(ds: Dataset, rows: u64, seed: u64) -> Vec<u8> {
    let mut data = Vec::new();
    dataset::generate(ds, rows, seed, &mut data).expect("generating into memory");
    data
}

/// The target columns of `dataset::ddl(ds, ..)`, as the catalog would describe them.
pub fn columns(ds: Dataset) -> Vec<Column> {
    let spec: &[(&str, &str, bool)] = match ds {
        Dataset::Accounts => &[("id", "uuid", true), ("balance", "bigint", false)],
        Dataset::Wide => &[
            ("id", "bigint", true),
            ("account", "uuid", true),
            ("amount", "numeric(12,2)", true),
            ("rate", "double precision", true),
            ("created_at", "timestamp with time zone", true),
            ("day", "date", true),
            ("active", "boolean", true),
            ("note", "text", true),
            ("category", "text", true),
            ("comment", "text", false),
        ],
    };
    spec.iter()
        .map(|&(name, ty, not_null)| {
            let mut c = Column::new(name, ty);
            c.not_null = not_null;
            c
        })
        .collect()
}
