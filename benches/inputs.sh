#!/usr/bin/env bash
# What reading other encodings and compressions costs the client: `load --dry-run` (read,
# convert, chunk, encode; no server) of one ~100 MB file as UTF-8, as Latin-1
# (--encoding LATIN1) and compressed with gzip, bzip2 and xz, rounds alternating.
# Usage: benches/inputs.sh [DIR] [ROUNDS]   (needs `cargo build --release` first)
set -euo pipefail
dir=${1:-/tmp/chunkload-inputs-bench}
rounds=${2:-3}
bin=$(cd "$(dirname "$0")/.." && pwd)/target/release/chunkload
mkdir -p "$dir" && cd "$dir"
if [ ! -f u.csv ]; then
python3 - <<'PY'
import random, bz2, lzma, gzip
random.seed(7)
names = ["Zoë", "José", "François", "Müller", "Ångström", "Renée", "Çelik", "Søren",
         "plain", "Smith", "Jürgen", "Ñandú"]
cities = ["Köln", "São Paulo", "Zürich", "Malmö", "Reykjavík", "Paris", "Berlin", "Montréal"]
rows, size, i = ["id,name,city,amount\n"], 0, 0
while size < 100_000_000:
    i += 1
    r = f"{i},{random.choice(names)} {random.choice(names)},{random.choice(cities)},{random.randint(0, 10**6) / 100}\n"
    rows.append(r)
    size += len(r.encode())
t = "".join(rows)
open("u.csv", "w", encoding="utf-8").write(t)
open("l.csv", "w", encoding="latin-1").write(t)
open("u.csv.gz", "wb").write(gzip.compress(t.encode(), 6))
open("u.csv.bz2", "wb").write(bz2.compress(t.encode(), 9))
open("u.csv.xz", "wb").write(lzma.compress(t.encode(), preset=1))
PY
fi
run() { # label, args...
  local label=$1; shift
  /usr/bin/time -f "$label %e s %M KB" "$bin" load "$@" --table t --dry-run > /dev/null
}
for r in $(seq "$rounds"); do
  run utf8 u.csv
  run latin1 l.csv --encoding LATIN1
  run gzip u.csv.gz
  run bzip2 u.csv.bz2
  run xz u.csv.xz
done 2>&1 | grep -E '^(utf8|latin1|gzip|bzip2|xz) '
