#!/usr/bin/env bash
# --defer-indexes against the default load and psql \copy, all into an empty `accounts`
# (uuid primary key) on a throwaway fsync-on server: alternating rounds, medians.
# Usage: benches/defer_indexes.sh [ROWS] [ROUNDS]   (needs a release build and psql)
set -euo pipefail
rows=${1:-1000000}
rounds=${2:-3}
bin=${CHUNKLOAD:-target/release/chunkload}
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin" gen accounts --rows "$rows" --seed 1 -o "$work/accounts.csv"
coproc SERVER { exec "$bin" server; }
server=$SERVER_PID
read -r url <&"${SERVER[0]}"
fresh() { psql -q "$url" -c 'DROP TABLE IF EXISTS accounts; CREATE TABLE accounts (id uuid PRIMARY KEY, balance int8);' >/dev/null; }
run() { # name, command...
  local name=$1; shift
  fresh
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s.%N)
  [ "$(psql -qAt "$url" -c 'SELECT count(*) FROM accounts')" = "$rows" ] || { echo "$name: wrong row count" >&2; exit 1; }
  echo "$name $(echo "$t1 - $t0" | bc)"
}
for r in $(seq "$rounds"); do
  run psql psql -q "$url" -c "\\copy accounts FROM '$work/accounts.csv' (FORMAT csv, HEADER)"
  run default "$bin" load "$work/accounts.csv" --table accounts --url "$url" --fresh --quiet
  run defer "$bin" load "$work/accounts.csv" --table accounts --url "$url" --fresh --quiet --defer-indexes
done | tee "$work/times"
median() { grep "^$1 " "$work/times" | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
p=$(median psql); d=$(median default); f=$(median defer)
printf 'medians (s): psql %s, default %s, defer %s\n' "$p" "$d" "$f"
printf 'speed vs psql \\copy: default %.2fx, --defer-indexes %.2fx\n' "$(echo "$p / $d" | bc -l)" "$(echo "$p / $f" | bc -l)"
