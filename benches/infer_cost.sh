#!/usr/bin/env bash
# What reading a whole file for its column types costs (`load --create-table` and `schema`
# do so by default): `chunkload schema` over a generated file, whole and with a 10 000-row
# sample, beside `cat` of the same file. Usage: benches/infer_cost.sh [ROWS] (default
# 5 000 000 rows of the `wide` dataset, about 1 GB). Needs a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-5000000}
bin=${CHUNKLOAD_BIN:-target/release/chunkload}
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$bin" gen wide --rows "$rows" --seed 1 -o "$dir/wide.csv"
ls -l "$dir/wide.csv" | awk '{printf "file: %.2f GB\n", $5 / 1e9}'
t() { /usr/bin/time -f "%e s elapsed, %U s user CPU, %M KB peak RSS" "$@"; }
echo "cat (reading the file):"
t cat "$dir/wide.csv" >/dev/null
echo "schema, whole file (the default):"
t "$bin" schema "$dir/wide.csv" --table t >/dev/null
echo "schema --infer-rows 10000:"
t "$bin" schema "$dir/wide.csv" --table t --infer-rows 10000 >/dev/null
