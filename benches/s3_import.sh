#!/usr/bin/env bash
# `chunkload import` of the same file to a local --out and to an s3:// --out on a local moto
# server (issue 25), alternating round by round: wall time, peak RSS and client CPU of
# each, and the s3/dir ratio of the medians. No database: import only cuts and writes.
#
# Usage: benches/s3_import.sh [--rounds N] [--rows N] [--shards N] [--no-build] [--keep DIR]
#   --rounds N  alternating rounds (default 3)
#   --rows N    rows of the generated `wide` file (default 1200000, about 200 MB)
#   --shards N  shards per import (default 8)
# Needs moto[server] (PyPI; .ci/run installs it) and GNU time at /usr/bin/time.
set -euo pipefail

ROUNDS=3
ROWS=1200000
SHARDS=8
BUILD=1
KEEP=
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS=$2; shift 2 ;;
        --rows) ROWS=$2; shift 2 ;;
        --shards) SHARDS=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --keep) KEEP=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed 's/^# \{0,1\}//;/^set -e/d'; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

cd "$(dirname "$0")/.."
[ "$BUILD" = 1 ] && cargo build --release --quiet
BIN=$PWD/target/release/chunkload
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "needs GNU time at /usr/bin/time" >&2; exit 1; }
python3 -c 'import moto.server' 2>/dev/null || { echo "needs moto[server] (pip)" >&2; exit 1; }

if [ -n "$KEEP" ]; then WORK=$KEEP; mkdir -p "$WORK"; else WORK=$(mktemp -d /tmp/chunkload-s3imp.XXXXXX); fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m moto.server -H 127.0.0.1 -p "$PORT" > /dev/null 2> "$WORK/moto.log" &
MOTO_PID=$!
cleanup() {
    kill "$MOTO_PID" 2>/dev/null && wait "$MOTO_PID" 2>/dev/null
    if [ -z "$KEEP" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
for _ in $(seq 1 300); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
    sleep 0.1
done
export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT AWS_REGION=us-east-1 \
    AWS_ACCESS_KEY_ID=AKIABENCH AWS_SECRET_ACCESS_KEY=bench-secret \
    AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
curl -s -X PUT "http://127.0.0.1:$PORT/bench" > /dev/null

FILE=$WORK/wide.csv
"$BIN" gen wide --rows "$ROWS" --seed 1 -o "$FILE"
echo "# file: $(stat -c %s "$FILE") bytes, $ROWS rows of wide; $SHARDS shards; rounds: $ROUNDS"
echo "# moto $(python3 -c 'import moto; print(moto.__version__)') on 127.0.0.1; dir out on $(df --output=fstype "$WORK" | tail -1)"
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg)"

RESULTS=$WORK/results.tsv
: > "$RESULTS"
run() {
    local name=$1 out=$2 t0 t1 secs
    t0=$(date +%s.%N)
    "$TIME" -f '%M %U %S' -o "$WORK/time.out" "$BIN" import "$FILE" --table wide \
        --shards "$SHARDS" --out "$out" --force --sql-out "$WORK/import-$name.sql" \
        > /dev/null 2> "$WORK/run.err" || { cat "$WORK/run.err" >&2; exit 1; }
    t1=$(date +%s.%N)
    read -r rss cpu < <(awk '{printf "%s %.2f\n", $1, $2 + $3}' "$WORK/time.out")
    secs=$(echo "$t1 - $t0" | bc -l)
    printf '%s\t%.3f\t%s\t%s\n' "$name" "$secs" "$rss" "$cpu" >> "$RESULTS"
    printf '  %-4s %8.3f s  peak RSS %6.1f MiB  client CPU %5.2f s\n' "$name" "$secs" \
        "$(echo "$rss / 1024" | bc -l)" "$cpu"
}
# A local --out takes no --sql-out (import.sql goes into it).
dir_run() {
    local t0 t1 secs
    t0=$(date +%s.%N)
    "$TIME" -f '%M %U %S' -o "$WORK/time.out" "$BIN" import "$FILE" --table wide \
        --shards "$SHARDS" --out "$WORK/out" --force > /dev/null 2> "$WORK/run.err" \
        || { cat "$WORK/run.err" >&2; exit 1; }
    t1=$(date +%s.%N)
    read -r rss cpu < <(awk '{printf "%s %.2f\n", $1, $2 + $3}' "$WORK/time.out")
    secs=$(echo "$t1 - $t0" | bc -l)
    printf 'dir\t%.3f\t%s\t%s\n' "$secs" "$rss" "$cpu" >> "$RESULTS"
    printf '  %-4s %8.3f s  peak RSS %6.1f MiB  client CPU %5.2f s\n' dir "$secs" \
        "$(echo "$rss / 1024" | bc -l)" "$cpu"
}
for r in $(seq 1 "$ROUNDS"); do
    echo "round $r"
    if [ $((r % 2)) = 1 ]; then dir_run; run s3 s3://bench/imp/; else run s3 s3://bench/imp/; dir_run; fi
done
median() { awk -F'\t' -v n="$1" -v c="$2" '$1 == n {print $c}' "$RESULTS" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
D=$(median dir 2); S=$(median s3 2)
printf 'median dir %.3f s (peak RSS %.1f MiB), s3 %.3f s (peak RSS %.1f MiB), s3/dir %.3f\n' \
    "$D" "$(echo "$(median dir 3) / 1024" | bc -l)" "$S" "$(echo "$(median s3 3) / 1024" | bc -l)" \
    "$(echo "$S / $D" | bc -l)"
