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

. "$(dirname "$0")/lib.sh"
bench_init s3imp
start_moto

FILE=$WORK/wide.csv
"$BIN" gen wide --rows "$ROWS" --seed 1 -o "$FILE"
echo "# file: $(stat -c %s "$FILE") bytes, $ROWS rows of wide; $SHARDS shards; rounds: $ROUNDS"
echo "# moto $(python3 -c 'import moto; print(moto.__version__)') on 127.0.0.1; dir out on $(df --output=fstype "$WORK" | tail -1)"
machine_line

import() { timed "$1" "$BIN" import "$FILE" --table wide --shards "$SHARDS" --force "${@:2}"; }
# A local --out takes no --sql-out (import.sql goes into it).
dir_run() { import dir --out "$WORK/out"; }
s3_run() { import s3 --out s3://bench/imp/ --sql-out "$WORK/import-s3.sql"; }
for r in $(seq 1 "$ROUNDS"); do
    echo "round $r"
    if [ $((r % 2)) = 1 ]; then dir_run; s3_run; else s3_run; dir_run; fi
done
D=$(median dir); S=$(median s3)
printf 'median dir %.3f s (peak RSS %.1f MiB), s3 %.3f s (peak RSS %.1f MiB), s3/dir %.3f\n' \
    "$D" "$(echo "$(median dir 3) / 1024" | bc -l)" "$S" "$(echo "$(median s3 3) / 1024" | bc -l)" \
    "$(echo "$S / $D" | bc -l)"
