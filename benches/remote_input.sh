#!/usr/bin/env bash
# The same file loaded from disk, from a local nginx over HTTP and from a local S3-compatible
# server (moto's standalone server) as s3://, alternating round by round on a throwaway
# PostgreSQL (fsync on), every run into an emptied table: wall time, peak RSS and client
# CPU of each, and the HTTP/disk and S3/disk ratios of the medians.
#
# Usage: benches/remote_input.sh [--rounds N] [--rows N] [--no-build] [--keep DIR]
#   --rounds N  alternating rounds (default 3)
#   --rows N    rows of the generated `wide` file (default 1200000, about 200 MB)
# Needs nginx (Debian's package), moto[server] (PyPI; .ci/run installs both) and GNU time.
set -euo pipefail

ROUNDS=3
ROWS=1200000
BUILD=1
KEEP=
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS=$2; shift 2 ;;
        --rows) ROWS=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --keep) KEEP=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed 's/^# \{0,1\}//;/^set -e/d'; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

. "$(dirname "$0")/lib.sh"
bench_init remote
start_pg
mkdir -p "$WORK/www"
start_nginx "$WORK/www"
start_moto

FILE=$WORK/www/wide.csv
"$BIN" gen wide --rows "$ROWS" --seed 1 -o "$FILE"
q "$("$BIN" gen wide --rows 0 --ddl --table wide)" >/dev/null
curl -s -T "$FILE" "$AWS_ENDPOINT_URL/bench/wide.csv" > /dev/null
HTTP_URL=http://127.0.0.1:$HTTP_PORT/wide.csv
S3_URL=s3://bench/wide.csv

echo "# server: $(q 'SELECT version()')"
echo "# file: $(stat -c %s "$FILE") bytes, $ROWS rows of wide; rounds: $ROUNDS"
echo "# nginx $(nginx -v 2>&1 | cut -d/ -f2), moto $(python3 -c 'import moto; print(moto.__version__)'), on 127.0.0.1"
machine_line

run() {
    q "TRUNCATE wide" >/dev/null
    q "CHECKPOINT" >/dev/null
    timed "$1" "$BIN" load "$2" --table wide --url "$URL" --fresh --quiet --json
    [ "$(q 'SELECT count(*) FROM wide')" = "$ROWS" ] || { echo "FAILED: $1 row count" >&2; exit 1; }
}
for r in $(seq 1 "$ROUNDS"); do
    echo "round $r"
    case $((r % 3)) in
        1) run disk "$FILE"; run http "$HTTP_URL"; run s3 "$S3_URL" ;;
        2) run http "$HTTP_URL"; run s3 "$S3_URL"; run disk "$FILE" ;;
        0) run s3 "$S3_URL"; run disk "$FILE"; run http "$HTTP_URL" ;;
    esac
done
D=$(median disk); H=$(median http); S=$(median s3)
printf 'median disk %.3f s, http %.3f s, s3 %.3f s; http/disk %.3f, s3/disk %.3f\n' \
    "$D" "$H" "$S" "$(echo "$H / $D" | bc -l)" "$(echo "$S / $D" | bc -l)"
