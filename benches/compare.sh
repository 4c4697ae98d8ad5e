#!/usr/bin/env bash
# Side-by-side load benchmark on a throwaway PostgreSQL with fsync on: chunkload (defaults
# and tuned) against psql (\copy and 1000-row INSERTs), psycopg 3 cursor.copy(), DuckDB
# with its postgres extension (both from PyPI, in a venv under the work dir; the DuckDB
# extension is loaded from the duckdb-extension-postgres wheel, never downloaded), and
# pgloader and sling when installed.
#
# Usage: benches/compare.sh [--rounds N] [--rows N] [--workers LIST] [--datasets LIST]
#                           [--big] [--big-only] [--no-build] [--keep DIR]
#   --rounds N      alternating rounds per dataset (default 5)
#   --rows N        rows per generated file (default 1000000)
#   --workers LIST  also run chunkload copy and insert at these --workers (e.g. 1,4);
#                   the default runs use the CLI's defaults
#   --datasets LIST accounts,wide (default both)
#   --big           also measure the peak RSS of loading a ~1 GB generated file
#   --big-only      only the 1 GB peak-RSS measurement
#   --no-build      use the existing target/release/chunkload
#   --no-python     skip the psycopg and DuckDB peers (no venv, no pip)
#   --keep DIR      work in DIR (generated files and the venv are reused) instead of a
#                   temp dir
# Environment: COPY_ARGS, INSERT_ARGS: extra flags of every chunkload copy / insert run
# (default none, so the plain rows are chunkload's defaults; e.g. a later
# COPY_ARGS=--defer-indexes); TUNED_ARGS: the flags of the chunkload-copy-tuned row
# (default "--workers 3"); PYTHON: the interpreter the venv is made from (python3).
#
# Prints, per dataset, medians with ratios to psql \copy (and to psql's INSERTs for the
# insert rows), and writes them as Markdown to WORK/compare.md. Besides wall time each run
# records the CPU seconds (user + sys) of the client process tree and of the whole server
# (postmaster, its live children and the backends it reaped during the run): on 2 cores a
# run can take no less than (client + server CPU) / 2, which is what bounds the ratios.
#
# Every run starts from an empty table (TRUNCATE + CHECKPOINT, untimed) and is checked
# with count(*) afterwards (untimed). Methods run interleaved, in an order that rotates
# every round, so drift on a shared machine affects all of them alike. Times are wall
# clock (date +%s.%N); peak RSS comes from /usr/bin/time.
set -euo pipefail

ROUNDS=5
ROWS=1000000
WORKERS_LIST=
DATASETS=accounts,wide
BIG=0
NO_PYTHON=0
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
        --no-python) NO_PYTHON=1; shift ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed 's/^# \{0,1\}//;/^set -e/d'; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
COPY_ARGS=${COPY_ARGS:-}
INSERT_ARGS=${INSERT_ARGS:-}
TUNED_ARGS=${TUNED_ARGS:---workers 3}

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
POSTMASTER=$(head -n1 "$(q 'SHOW data_directory')/postmaster.pid")
TICK=$(getconf CLK_TCK)
# CPU ticks of the whole server: the postmaster's own and its reaped children's (fields
# 14-17 of /proc/PID/stat), and those of its live children (14-15).
server_ticks() {
    local t c
    t=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$POSTMASTER/stat")
    for c in $(ps -o pid= --ppid "$POSTMASTER"); do
        t=$(( t + $(awk '{print $14 + $15}' "/proc/$c/stat" 2>/dev/null || echo 0) ))
    done
    echo "$t"
}
# Waits until the run's backends have exited (and so were reaped into the postmaster's
# children's time).
backends_gone() {
    for _ in $(seq 1 100); do
        [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")" = 0 ] && return
        sleep 0.05
    done
}

echo "# server: $(q 'SELECT version()')"
echo "# fsync: $(q 'SHOW fsync'), synchronous_commit: $(q 'SHOW synchronous_commit'), shared_buffers: $(q 'SHOW shared_buffers'), max_wal_size: $(q 'SHOW max_wal_size')"
echo "# rows: $ROWS, rounds: $ROUNDS, extra workers: ${WORKERS_LIST:-(none)}, copy args: ${COPY_ARGS:-(defaults)}, insert args: ${INSERT_ARGS:-(defaults)}, tuned: $TUNED_ARGS"
echo "# machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

now() { date +%s.%N; }

# run NAME DATASET CMD... : untimed reset, timed command, untimed row check.
run() {
    local name=$1 ds=$2; shift 2
    q "TRUNCATE $ds" >/dev/null
    q "CHECKPOINT" >/dev/null
    local t0 t1 rss s0 s1
    s0=$(server_ticks)
    t0=$(now)
    if ! "$TIME" -f '%M %U %S' -o "$WORK/time.out" "$@" > "$WORK/run.out" 2> "$WORK/run.err"; then
        echo "FAILED: $name ($*)" >&2
        cat "$WORK/run.err" >&2
        exit 1
    fi
    t1=$(now)
    backends_gone
    s1=$(server_ticks)
    local ccpu scpu
    read -r rss ccpu scpu < <(tail -n1 "$WORK/time.out" | awk -v d=$(( s1 - s0 )) -v tick="$TICK" \
        '{printf "%s %.2f %.2f\n", $1, $2 + $3, d / tick}')
    local n
    n=$(q "SELECT count(*) FROM $ds")
    if [ "$n" != "$EXPECT" ]; then
        echo "FAILED: $name loaded $n rows, expected $EXPECT" >&2
        exit 1
    fi
    local secs
    secs=$(echo "$t1 - $t0" | bc -l)
    printf '%s\t%s\t%s\t%.3f\t%s\t%s\t%s\n' "$ds" "$name" "$ROUND" "$secs" "$rss" "$ccpu" "$scpu" >> "$RESULTS"
    printf '  %-22s %8.3f s %10.0f rows/s  peak RSS %6.1f MiB  CPU client %5.2f s server %5.2f s\n' \
        "$name" "$secs" "$(echo "$EXPECT / $secs" | bc -l)" "$(echo "$rss / 1024" | bc -l)" "$ccpu" "$scpu"
}

# A load as a user runs it; a script file, so that /usr/bin/time can run it.
cl_load=$WORK/cl_load
printf '#!/bin/sh\nexec "%s" load "$@" --url "%s" --fresh --quiet --json\n' "$BIN" "$URL" > "$cl_load"
chmod +x "$cl_load"

WORKERS_ARR=()
[ -z "$WORKERS_LIST" ] || IFS=, read -r -a WORKERS_ARR <<< "$WORKERS_LIST"
IFS=, read -r -a DS_ARR <<< "$DATASETS"
PGLOADER=$(command -v pgloader || true)
SLING=$(command -v sling || true)
PEERS=$PWD/benches/peers.py

# --- the Python peers: a venv under the work dir, filled from PyPI when missing ----------
# duckdb-extension-postgres pins the duckdb it was built for and ships the extension
# file; peers.py loads that file with extension autoloading and autoinstalling off.
VENV_PY=
if [ "$NO_PYTHON" = 0 ]; then
    venv=$WORK/venv
    if [ ! -x "$venv/bin/python" ]; then
        "${PYTHON:-python3}" -m venv "$venv"
    fi
    if ! "$venv/bin/python" -c 'import psycopg, duckdb, duckdb_extension_postgres' 2>/dev/null; then
        "$venv/bin/pip" install --quiet --disable-pip-version-check \
            'psycopg[binary]' duckdb-extension-postgres \
            || echo "# pip install failed: psycopg and DuckDB rows left out" >&2
    fi
    if "$venv/bin/python" "$PEERS" duckdb-extension > "$WORK/duckdb-ext.path" 2>&1; then
        VENV_PY=$venv/bin/python
        echo "# peers: $("$VENV_PY" -c 'import psycopg, duckdb; print(f"psycopg {psycopg.__version__}, duckdb {duckdb.__version__}")'), extension $(cat "$WORK/duckdb-ext.path")"
    else
        cat "$WORK/duckdb-ext.path" >&2
    fi
fi
[ -z "$PGLOADER" ] || echo "# pgloader: $("$PGLOADER" --version 2>&1 | head -n1)"
[ -z "$SLING" ] || echo "# sling: $("$SLING" --version 2>&1 | head -n1)"

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

    methods=(psql-copy chunkload-copy chunkload-copy-tuned)
    for w in "${WORKERS_ARR[@]}"; do methods+=("chunkload-copy-w$w"); done
    methods+=(psql-insert chunkload-insert)
    for w in "${WORKERS_ARR[@]}"; do methods+=("chunkload-insert-w$w"); done
    if [ -n "$VENV_PY" ]; then methods+=(psycopg-copy duckdb); fi
    if [ -n "$PGLOADER" ]; then methods+=(pgloader); fi
    if [ -n "$SLING" ]; then methods+=(sling); fi
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
                chunkload-copy)
                    # shellcheck disable=SC2086
                    run "$m" "$ds" "$cl_load" "$file" --table "$ds" $COPY_ARGS ;;
                chunkload-copy-tuned)
                    # shellcheck disable=SC2086
                    run "$m" "$ds" "$cl_load" "$file" --table "$ds" $COPY_ARGS $TUNED_ARGS ;;
                chunkload-insert)
                    # shellcheck disable=SC2086
                    run "$m" "$ds" "$cl_load" "$file" --table "$ds" --method insert $INSERT_ARGS ;;
                chunkload-copy-w*)
                    # shellcheck disable=SC2086
                    run "$m" "$ds" "$cl_load" "$file" --table "$ds" --method copy \
                        --workers "${m##*-w}" $COPY_ARGS ;;
                chunkload-insert-w*)
                    # shellcheck disable=SC2086
                    run "$m" "$ds" "$cl_load" "$file" --table "$ds" --method insert \
                        --workers "${m##*-w}" $INSERT_ARGS ;;
                psycopg-copy)
                    run "$m" "$ds" "$VENV_PY" "$PEERS" psycopg "$URL" "$ds" "$file" ;;
                duckdb)
                    run "$m" "$ds" "$VENV_PY" "$PEERS" duckdb "$URL" "$ds" "$file" ;;
                sling)
                    run "$m" "$ds" "$SLING" run --src-stream "file://$file" \
                        --tgt-conn "$URL" --tgt-object "public.$ds" --mode truncate ;;
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
                        --dry-run --quiet --json
                    EXPECT=$EXPECT_SAVED ;;
            esac
        done
    done
done

# --- medians and ratios ------------------------------------------------------------------
echo
python3 - "$RESULTS" "$ROWS" "$WORK" <<'PY' | tee "$WORK/compare.md"
import os, statistics, sys
from collections import defaultdict
path, rows, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
secs, rss = defaultdict(list), defaultdict(list)
ccpu, scpu = defaultdict(list), defaultdict(list)
for line in open(path):
    ds, name, rnd, s, r, cc, sc = line.rstrip("\n").split("\t")
    secs[(ds, name)].append(float(s)); rss[(ds, name)].append(int(r))
    ccpu[(ds, name)].append(float(cc)); scpu[(ds, name)].append(float(sc))
cores = os.cpu_count()
order = ["accounts", "wide"]
dss = sorted({k[0] for k in secs}, key=lambda d: order.index(d) if d in order else 9)
for ds in dss:
    size = os.path.getsize(os.path.join(work, f"{ds}-{rows}.csv"))
    runs = max(len(v) for (d, _), v in secs.items() if d == ds)
    med = {name: statistics.median(v) for (d, name), v in secs.items() if d == ds}
    print(f"## {ds}: {rows} rows, {size / 1e6:.1f} MB, medians of {runs} runs\n")
    print("| method | median s | min s | max s | rows/s | MB/s | peak RSS MiB | client CPU s | server CPU s | CPU floor s | vs psql \\copy | vs psql INSERTs |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    base_copy, base_insert = med.get("psql-copy"), med.get("psql-insert")
    # Fastest first; the dry run (no server) last.
    for name in sorted(med, key=lambda n: (n == "chunkload-dry-run", med[n])):
        v, m = secs[(ds, name)], med[name]
        vs_copy = f"{base_copy / m:.2f}x" if base_copy and name != "chunkload-dry-run" else ""
        is_insert = "insert" in name
        vs_insert = f"{base_insert / m:.2f}x" if base_insert and is_insert else ""
        cc, sc = statistics.median(ccpu[(ds, name)]), statistics.median(scpu[(ds, name)])
        # No run can be shorter than all the CPU it needs spread over every core.
        floor = (cc + sc) / cores
        print(f"| {name} | {m:.3f} | {min(v):.3f} | {max(v):.3f} | {rows / m:.0f} | "
              f"{size / m / 1e6:.1f} | {max(rss[(ds, name)]) / 1024:.1f} | {cc:.2f} | {sc:.2f} | "
              f"{floor:.2f} | {vs_copy} | {vs_insert} |")
    print()
    peers = [n for n in ("psycopg-copy", "duckdb", "pgloader", "sling") if n in med]
    if peers and "chunkload-copy" in med:
        best = min(peers, key=lambda n: med[n])
        print(f"chunkload-copy (defaults) / best peer ({best}): {med[best] / med['chunkload-copy']:.2f}x\n")
    if base_copy and "chunkload-copy" in med:
        cc = statistics.median(ccpu[(ds, "chunkload-copy")])
        sc = statistics.median(scpu[(ds, "chunkload-copy")])
        print(f"chunkload-copy's CPU floor on {cores} cores: {(cc + sc) / cores:.2f} s, "
              f"so at most {base_copy / ((cc + sc) / cores):.2f}x psql \\copy with this much work\n")
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
    # shellcheck disable=SC2086
    run big-chunkload-copy-tuned "$ds" "$cl_load" "$big" --table "$ds" $COPY_ARGS $TUNED_ARGS
    run big-chunkload-insert "$ds" "$cl_load" "$big" --table "$ds" --method insert $INSERT_ARGS
    grep '^wide	big' "$RESULTS" | awk -F'\t' '{printf "%s: %.1f s, peak RSS %.1f MiB, CPU client %.2f s server %.2f s\n", $2, $4, $5/1024, $6, $7}'
fi
