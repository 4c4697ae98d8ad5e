#!/usr/bin/env bash
# Side-by-side load benchmark: chunkload against psql (\copy and 1000-row INSERTs) and,
# when installed, pgloader, on a throwaway PostgreSQL with fsync on.
#
# Usage: benches/compare.sh [--rounds N] [--rows N] [--workers LIST] [--datasets LIST]
#                           [--big] [--big-only] [--no-build] [--keep DIR]
#   --rounds N      alternating rounds per dataset (default 5)
#   --rows N        rows per generated file (default 1000000)
#   --workers LIST  comma-separated --workers values tried for chunkload copy and insert
#                   (default 2, the CLI default); e.g. 1,2,4
#   --datasets LIST accounts,wide (default both)
#   --big           also measure the peak RSS of loading a ~1 GB generated file
#   --big-only      only the 1 GB peak-RSS measurement
#   --no-build      use the existing target/release/chunkload
#   --keep DIR      work in DIR (generated files are reused) instead of a temp dir
# Environment: COPY_ARGS (extra flags of the chunkload copy runs), INSERT_ARGS (of the
# insert runs).
#
# Every run starts from an empty table (TRUNCATE + CHECKPOINT, untimed) and is checked
# with count(*) afterwards (untimed). Methods run interleaved, in an order that rotates
# every round, so drift on a shared machine affects all of them alike. Times are wall
# clock (date +%s.%N); peak RSS comes from /usr/bin/time.
set -euo pipefail

ROUNDS=5
ROWS=1000000
WORKERS_LIST=2
DATASETS=accounts,wide
BIG=0
BIG_ONLY=0
BUILD=1
KEEP=
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS=$2; shift 2 ;;
        --rows) ROWS=$2; shift 2 ;;
        --workers) WORKERS_LIST=$2; shift 2 ;;
        --datasets) DATASETS=$2; shift 2 ;;
        --big) BIG=1; shift ;;
        --big-only) BIG=1; BIG_ONLY=1; shift ;;
        --no-build) BUILD=0; shift ;;
        --keep) KEEP=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed 's/^# \{0,1\}//;/^set -e/d'; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
COPY_ARGS=${COPY_ARGS:---chunk-bytes 4M}
INSERT_ARGS=${INSERT_ARGS:-}

cd "$(dirname "$0")/.."
if [ "$BUILD" = 1 ]; then
    cargo build --release --quiet
fi
BIN=$PWD/target/release/chunkload
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "needs GNU time at /usr/bin/time" >&2; exit 1; }

if [ -n "$KEEP" ]; then
    WORK=$KEEP
    mkdir -p "$WORK"
else
    WORK=$(mktemp -d /tmp/chunkload-compare.XXXXXX)
fi
RESULTS=$WORK/results.tsv
: > "$RESULTS"

# --- the server: `chunkload server` lives until its stdin closes -----------------------
FIFO=$WORK/server.stdin
rm -f "$FIFO"
mkfifo "$FIFO"
"$BIN" server < "$FIFO" > "$WORK/server.out" 2> "$WORK/server.err" &
SERVER_PID=$!
exec 3> "$FIFO"
cleanup() {
    exec 3>&- || true
    wait "$SERVER_PID" 2>/dev/null || true
    if [ -z "$KEEP" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
for _ in $(seq 1 600); do
    [ -s "$WORK/server.out" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.err" >&2; exit 1; }
    sleep 0.1
done
URL=$(head -n1 "$WORK/server.out")
[ -n "$URL" ] || { echo "server did not start" >&2; exit 1; }
export PGCONNECT_TIMEOUT=10
q() { psql "$URL" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }

echo "# server: $(q 'SELECT version()')"
echo "# fsync: $(q 'SHOW fsync'), synchronous_commit: $(q 'SHOW synchronous_commit'), shared_buffers: $(q 'SHOW shared_buffers'), max_wal_size: $(q 'SHOW max_wal_size')"
echo "# rows: $ROWS, rounds: $ROUNDS, workers: $WORKERS_LIST, copy args: $COPY_ARGS, insert args: ${INSERT_ARGS:-(defaults)}"

now() { date +%s.%N; }

# run NAME DATASET CMD... : untimed reset, timed command, untimed row check.
run() {
    local name=$1 ds=$2; shift 2
    q "TRUNCATE $ds" >/dev/null
    q "CHECKPOINT" >/dev/null
    local t0 t1 rss
    t0=$(now)
    if ! "$TIME" -f '%M' -o "$WORK/time.out" "$@" > "$WORK/run.out" 2> "$WORK/run.err"; then
        echo "FAILED: $name ($*)" >&2
        cat "$WORK/run.err" >&2
        exit 1
    fi
    t1=$(now)
    rss=$(tail -n1 "$WORK/time.out")
    local n
    n=$(q "SELECT count(*) FROM $ds")
    if [ "$n" != "$EXPECT" ]; then
        echo "FAILED: $name loaded $n rows, expected $EXPECT" >&2
        exit 1
    fi
    local secs
    secs=$(echo "$t1 - $t0" | bc -l)
    printf '%s\t%s\t%s\t%.3f\t%s\n' "$ds" "$name" "$ROUND" "$secs" "$rss" >> "$RESULTS"
    printf '  %-22s %8.3f s %10.0f rows/s  peak RSS %6.1f MiB\n' "$name" "$secs" \
        "$(echo "$EXPECT / $secs" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
}

# A load as a user runs it; a script file, so that /usr/bin/time can run it.
cl_load=$WORK/cl_load
printf '#!/bin/sh\nexec "%s" load "$@" --url "%s" --fresh --quiet --json\n' "$BIN" "$URL" > "$cl_load"
chmod +x "$cl_load"

IFS=, read -r -a WORKERS_ARR <<< "$WORKERS_LIST"
IFS=, read -r -a DS_ARR <<< "$DATASETS"
PGLOADER=$(command -v pgloader || true)

if [ "$BIG_ONLY" = 0 ]; then
for ds in "${DS_ARR[@]}"; do
    file=$WORK/$ds-$ROWS.csv
    sql=$WORK/$ds-$ROWS.inserts.sql
    [ -s "$file" ] || "$BIN" gen "$ds" --rows "$ROWS" --seed 1 -o "$file"
    q "DROP TABLE IF EXISTS $ds" >/dev/null
    q "$("$BIN" gen "$ds" --ddl --table "$ds")" >/dev/null
    EXPECT=$ROWS
    # The INSERT script, made once and untimed: pg_dump writes the rows exactly as the
    # server holds them (NULL and '' kept apart), 1000 rows per INSERT statement; psql
    # runs it in autocommit mode, so each statement is its own transaction.
    if [ ! -s "$sql" ]; then
        q "TRUNCATE $ds" >/dev/null
        psql "$URL" -qX -v ON_ERROR_STOP=1 -c "\\copy $ds FROM '$file' WITH (FORMAT csv, HEADER)"
        pg_dump "$URL" --data-only --inserts --rows-per-insert=1000 -t "public.$ds" -f "$sql"
    fi
    size=$(stat -c %s "$file")
    echo
    echo "## $ds: $ROWS rows, $size bytes ($(echo "$size / 1048576" | bc -l | xargs printf '%.1f') MiB), $(grep -c '^INSERT' "$sql") INSERT statements"

    methods=(psql-copy)
    for w in "${WORKERS_ARR[@]}"; do methods+=("chunkload-copy-w$w"); done
    methods+=(psql-insert)
    for w in "${WORKERS_ARR[@]}"; do methods+=("chunkload-insert-w$w"); done
    if [ -n "$PGLOADER" ]; then methods+=(pgloader); fi
    methods+=(chunkload-dry-run)
    nm=${#methods[@]}
    for ROUND in $(seq 1 "$ROUNDS"); do
        echo "round $ROUND"
        for k in $(seq 0 $((nm - 1))); do
            m=${methods[$(( (k + ROUND - 1) % nm ))]}
            case "$m" in
                psql-copy)
                    run "$m" "$ds" psql "$URL" -qX -v ON_ERROR_STOP=1 \
                        -c "\\copy $ds FROM '$file' WITH (FORMAT csv, HEADER)" ;;
                psql-insert)
                    run "$m" "$ds" psql "$URL" -qX -v ON_ERROR_STOP=1 -f "$sql" ;;
                chunkload-copy-w*)
                    # shellcheck disable=SC2086
                    run "$m" "$ds" "$cl_load" "$file" --table "$ds" --method copy \
                        --workers "${m##*-w}" $COPY_ARGS ;;
                chunkload-insert-w*)
                    # shellcheck disable=SC2086
                    run "$m" "$ds" "$cl_load" "$file" --table "$ds" --method insert \
                        --workers "${m##*-w}" $INSERT_ARGS ;;
                pgloader)
                    run "$m" "$ds" "$PGLOADER" --type csv --with "skip header = 1" \
                        --with "fields terminated by ','" \
                        --with "fields optionally enclosed by '\"'" \
                        --with "fields escaped by double-quote" \
                        "$file" "$URL?tablename=$ds" ;;
                chunkload-dry-run)
                    # Client side alone: the table stays empty.
                    EXPECT_SAVED=$EXPECT; EXPECT=0
                    run "$m" "$ds" "$BIN" load "$file" --table "$ds" --url "$URL" \
                        --dry-run --quiet --json $COPY_ARGS
                    EXPECT=$EXPECT_SAVED ;;
            esac
        done
    done
done

# --- medians and ratios ------------------------------------------------------------------
echo
python3 - "$RESULTS" "$ROWS" "$WORK" <<'PY'
import os, statistics, sys
from collections import defaultdict
path, rows, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
secs, rss = defaultdict(list), defaultdict(list)
for line in open(path):
    ds, name, rnd, s, r = line.rstrip("\n").split("\t")
    secs[(ds, name)].append(float(s)); rss[(ds, name)].append(int(r))
dss = sorted({k[0] for k in secs}, key=lambda d: ["accounts", "wide"].index(d) if d in ("accounts", "wide") else 9)
for ds in dss:
    size = os.path.getsize(os.path.join(work, f"{ds}-{rows}.csv"))
    print(f"## {ds}: medians of {max(len(v) for (d, _), v in secs.items() if d == ds)} runs")
    print(f"| method | median s | min s | max s | rows/s | MB/s | peak RSS MiB |")
    print(f"|---|---:|---:|---:|---:|---:|---:|")
    med = {}
    for (d, name), v in secs.items():
        if d != ds:
            continue
        m = statistics.median(v)
        med[name] = m
        print(f"| {name} | {m:.3f} | {min(v):.3f} | {max(v):.3f} | {rows / m:.0f} | "
              f"{size / m / 1e6:.1f} | {max(rss[(d, name)]) / 1024:.1f} |")
    print()
    for kind in ("copy", "insert"):
        base = med.get(f"psql-{kind}")
        for name in sorted(med):
            if name.startswith(f"chunkload-{kind}-w") and base:
                print(f"ratio {ds} {name} / psql-{kind} (rows/s): {base / med[name]:.2f}x")
    if "pgloader" in med and "psql-copy" in med:
        print(f"ratio {ds} pgloader / psql-copy (rows/s): {med['psql-copy'] / med['pgloader']:.2f}x")
    if "chunkload-dry-run" in med:
        print(f"dry-run {ds}: {size / med['chunkload-dry-run'] / 1e6:.1f} MB/s "
              f"({size / med['chunkload-dry-run'] / 2**20:.1f} MiB/s)")
    print()
PY
fi

# --- peak RSS of a ~1 GB load ---------------------------------------------------------------
if [ "$BIG" = 1 ]; then
    ds=wide
    big=$WORK/$ds-big.csv
    if [ ! -s "$big" ] || [ ! -s "$big.rows" ]; then
        # Rows of `wide` average ~200 bytes: size the file from a sample.
        "$BIN" gen "$ds" --rows 10000 --seed 2 -o "$WORK/sample.csv"
        per=$(( $(stat -c %s "$WORK/sample.csv") / 10000 ))
        "$BIN" gen "$ds" --rows $(( 1000000000 / per )) --seed 2 -o "$big"
        echo $(( 1000000000 / per )) > "$big.rows"
    fi
    q "DROP TABLE IF EXISTS $ds" >/dev/null
    q "$("$BIN" gen "$ds" --ddl --table "$ds")" >/dev/null
    EXPECT=$(cat "$big.rows")
    echo
    echo "## peak RSS: $ds, $EXPECT rows, $(stat -c %s "$big") bytes"
    ROUND=big
    # shellcheck disable=SC2086
    run big-chunkload-copy "$ds" "$cl_load" "$big" --table "$ds" --method copy $COPY_ARGS
    run big-chunkload-copy-default "$ds" "$cl_load" "$big" --table "$ds" --method copy
    run big-chunkload-insert "$ds" "$cl_load" "$big" --table "$ds" --method insert $INSERT_ARGS
    grep '^wide	big' "$RESULTS" | awk -F'\t' '{printf "%s: %.1f s, peak RSS %.1f MiB\n", $2, $4, $5/1024}'
fi
