//! Integration tests: one binary, one throwaway PostgreSQL server for all of them
//! (started by the test harness itself), and a fresh database per test.
//!
//! - `support`: the shared server, fresh databases, helpers; `proxy`: a TCP proxy that cuts
//!   connections; `cli`: running the binary, exit codes, one-line errors, no secrets.
//! - `cluster`, `tls`: the throwaway server itself, and TLS modes against it.
//! - `retry`, `bank`, `table`: the retry helper (server-raised 40001, real serialization
//!   conflicts, ambiguous commits), the tutorial's bank app, the catalog.
//! - `load`, `oracle`: the loader's features, and its values against the server's parser;
//!   `oracle_table` (rows from `oracle_gen`): its tables against PostgreSQL's own COPY;
//!   `check`: `load --check` against a real load of the same file.
//! - `chunk_defaults`: the chunk bounds of each server flavour, and the flags over them.
//! - `faults`, `resume`, `multihost`: exactly once through cuts, kills, 40001s, too-large
//!   transactions, restarts, bad rows, reruns, and a node going away.
//! - `import`, `infer`: `chunkload import`; tables created from an inferred schema.
//! - `dialect`: issue 24: dialects found from the file, flags over them, messy headers.
//! - `inputs`: issue 24's files as they come: other encodings against COPY's ENCODING,
//!   bzip2, xz and zip archives (resumed once), formats not read, stdin's sample.
//! - `defer`: `--defer-indexes`: definitions identical after, a kill after the drop, duplicates.
//! - `cockroach`: the CockroachDB path against a stand-in database (version(), errors);
//!   `cockroach_ddl`: no DDL inside its transactions (`--truncate` a step of its own, once).
//! - `copy_start`: a COPY the server fails before it reads data, and the connection after it
//!   (in a real load and in `--check`).
//! - `libpq`: keyword/value strings, sockets, PG* variables, password files, fail-fast, timeouts.
//! - `ledger_schema`: `--ledger-schema`, and a role without CREATE (the printed DDL);
//!   `ledger_home`: without it, an app role's ledger beside its table, a read-only database.
//! - `durability`: chunk commits that skip the flush; crashes mid-load and right after.
//! - `signals`: SIGINT/SIGTERM mid-load and their reruns, a signal while connecting, the worker cap.
//! - `world`: issue 22, the world changed between runs: the printed resume command, stdin
//!   reruns, reject files through symlinks and FIFOs, a server down at the start, numeric
//!   typmods under insert; `world_table`: the table dropped, truncated, emptied or renamed
//!   between runs, a failed `--create-table`, a file fixed after a failed load.
//! - `many`: directories, globs and a table per file; `--quiet`, `--json` and exit codes as
//!   scripts see them, a dry run's output; `terminal`: the progress bar through a pty.
//! - `remote` (issue 25): inputs over HTTP from a real nginx (`nginx`: the harness that
//!   starts it): exact loads, ranged reruns, changed objects, cut connections, 404;
//!   `s3`: `s3://` inputs from a real moto server (`moto`: its harness), globs included.

mod bank;
mod check;
mod chunk_defaults;
mod cli;
mod cluster;
mod cockroach;
mod cockroach_ddl;
mod cockroach_versions;
mod copy_start;
mod dates;
mod defer;
mod dialect;
mod durability;
mod emulators;
mod faults;
mod import;
mod import_scope;
mod infer;
mod inputs;
mod ledger;
mod ledger_home;
mod ledger_schema;
mod libpq;
mod library;
mod load;
mod many;
mod moto;
mod multihost;
mod nginx;
mod oracle;
mod oracle_gen;
mod oracle_table;
mod proxy;
mod remote;
mod resume;
mod retry;
mod s3;
mod s3_import;
mod signals;
mod standin;
mod store_import;
mod stores;
mod support;
mod table;
mod terminal;
mod tls;
mod world;
mod world_table;
