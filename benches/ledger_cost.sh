#!/usr/bin/env bash
# What exactly-once costs: the same load with and without the ledger row each chunk's
# transaction writes, alternating runs on one throwaway PostgreSQL (fsync on).
#
# Usage: benches/ledger_cost.sh [--rows N] [--rounds N] [--no-build]
# Prints, per method and chunk size, the median wall time of each variant and the ratio,
# and psql's \copy of the same file in the same rounds as the reference.
# (`--unsafe-no-ledger` is a hidden flag that exists only for this measurement: without the
# ledger a rerun or an ambiguous commit can duplicate rows.)
set -euo pipefail
ROWS=200000
ROUNDS=5
BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
        --rows) ROWS=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
cd "$(dirname "$0")/.."
[ "$BUILD" = 1 ] && cargo build --release --quiet
BIN=$PWD/target/release/chunkload
WORK=$(mktemp -d /tmp/chunkload-ledger.XXXXXX)
mkfifo "$WORK/server.stdin"
"$BIN" server < "$WORK/server.stdin" > "$WORK/server.out" 2>/dev/null &
SERVER_PID=$!
exec 3> "$WORK/server.stdin"
trap 'exec 3>&-; wait $SERVER_PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 600); do [ -s "$WORK/server.out" ] && break; sleep 0.1; done
URL=$(head -1 "$WORK/server.out")
psql "$URL" -qc "CREATE TABLE accounts (id uuid PRIMARY KEY, balance int8)"
"$BIN" gen accounts --rows "$ROWS" --seed 1 -o "$WORK/accounts.csv"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
run() { # method chunk-bytes extra-flag -> seconds
    psql "$URL" -qc "TRUNCATE accounts; CHECKPOINT" >/dev/null
    local t0 t1
    t0=$(date +%s.%N)
    "$BIN" load "$WORK/accounts.csv" --table accounts --url "$URL" --quiet --fresh \
        --method "$1" --chunk-bytes "$2" $3 2>/dev/null
    t1=$(date +%s.%N)
    n=$(psql "$URL" -Atc "SELECT count(*) FROM accounts")
    [ "$n" = "$ROWS" ] || { echo "expected $ROWS rows, got $n" >&2; exit 1; }
    echo "$t1 - $t0" | bc -l
}
copy_ref() { # psql \copy of the same file -> seconds
    psql "$URL" -qc "TRUNCATE accounts; CHECKPOINT" >/dev/null
    local t0 t1
    t0=$(date +%s.%N)
    psql "$URL" -qc "\\copy accounts FROM '$WORK/accounts.csv' WITH (FORMAT csv, HEADER)"
    t1=$(date +%s.%N)
    n=$(psql "$URL" -Atc "SELECT count(*) FROM accounts")
    [ "$n" = "$ROWS" ] || { echo "\\copy: expected $ROWS rows, got $n" >&2; exit 1; }
    echo "$t1 - $t0" | bc -l
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "rows: $ROWS accounts, rounds: $ROUNDS (alternating), workers: 2 (default)"
printf '%-8s %-8s %10s %10s %8s %9s %9s %10s\n' method chunk ledger_s none_s ratio rows/s copy_s vs_copy
for method in insert copy; do
    for chunk in 16K 256K; do
        : > "$WORK/with"; : > "$WORK/without"; : > "$WORK/ref"
        for r in $(seq 1 "$ROUNDS"); do
            copy_ref >> "$WORK/ref"
            if [ $((r % 2)) = 1 ]; then
                run "$method" "$chunk" "" >> "$WORK/with"
                run "$method" "$chunk" --unsafe-no-ledger >> "$WORK/without"
            else
                run "$method" "$chunk" --unsafe-no-ledger >> "$WORK/without"
                run "$method" "$chunk" "" >> "$WORK/with"
            fi
        done
        w=$(median < "$WORK/with"); n=$(median < "$WORK/without"); c=$(median < "$WORK/ref")
        printf '%-8s %-8s %10.3f %10.3f %8.3f %9.0f %9.3f %10.3f\n' "$method" "$chunk" "$w" "$n" \
            "$(echo "$w / $n" | bc -l)" "$(echo "$ROWS / $w" | bc -l)" "$c" "$(echo "$w / $c" | bc -l)"
    done
done
