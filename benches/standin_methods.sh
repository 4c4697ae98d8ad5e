#!/usr/bin/env bash
# CockroachDB's default method (insert) against upsert and psql's \copy, through the strict
# CockroachDB stand-in (`chunkload server --as-cockroachdb`), in one run, alternating.
# Usage: benches/standin_methods.sh [ROWS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-200000}
rounds=${2:-3}
cargo build --release -q
bin=target/release/chunkload
work=$(mktemp -d)
trap 'exec 3>&-; rm -rf "$work"' EXIT
$bin gen accounts --rows "$rows" --seed 1 -o "$work/accounts.csv"
# The server lives while fd 3 (its stdin) is open.
exec 3> >($bin server --as-cockroachdb > "$work/url" 2>/dev/null)
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.2; done
url=$(cat "$work/url")
psql -q "$url" -c "CREATE TABLE t (id uuid PRIMARY KEY, balance int8)" >/dev/null
rate() { python3 -c "import sys,json; s=json.load(sys.stdin); print(round(s['rows']/s['elapsed_secs']))"; }
echo "rows=$rows rounds=$rounds  $(nproc) cores, $(uname -r)"
for r in $(seq "$rounds"); do
  for m in insert upsert copy; do
    psql -q "$url" -c "TRUNCATE t" >/dev/null
    if [ "$m" = copy ]; then
      s=$(date +%s.%N)
      psql -q "$url" -c "\\copy t FROM '$work/accounts.csv' WITH (FORMAT csv, HEADER)" >/dev/null
      e=$(date +%s.%N)
      echo "round $r psql-\\copy $(python3 -c "print(round($rows/($e-$s)))")"
    else
      echo "round $r $m $($bin load "$work/accounts.csv" --url "$url" --table t --method "$m" --fresh --json --quiet 2>/dev/null | rate)"
    fi
  done
done
