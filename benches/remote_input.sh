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

cd "$(dirname "$0")/.."
[ "$BUILD" = 1 ] && cargo build --release --quiet
BIN=$PWD/target/release/chunkload
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "needs GNU time at /usr/bin/time" >&2; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "needs nginx (apt-get install nginx)" >&2; exit 1; }

if [ -n "$KEEP" ]; then WORK=$KEEP; mkdir -p "$WORK"; else WORK=$(mktemp -d /tmp/chunkload-http.XXXXXX); fi
mkdir -p "$WORK/www" "$WORK/tmp"

FIFO=$WORK/server.stdin
rm -f "$FIFO"; mkfifo "$FIFO"
"$BIN" server < "$FIFO" > "$WORK/server.out" 2> "$WORK/server.err" &
SERVER_PID=$!
exec 3> "$FIFO"
NGINX_PID=
MOTO_PID=
cleanup() {
    [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
    [ -n "$MOTO_PID" ] && kill "$MOTO_PID" 2>/dev/null && wait "$MOTO_PID" 2>/dev/null
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
q() { psql "$URL" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user root;"
cat > "$WORK/nginx.conf" <<EOF
$USER_LINE
daemon off;
master_process off;
pid $WORK/nginx.pid;
error_log $WORK/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $WORK/tmp/body; proxy_temp_path $WORK/tmp/proxy;
    fastcgi_temp_path $WORK/tmp/fastcgi; uwsgi_temp_path $WORK/tmp/uwsgi; scgi_temp_path $WORK/tmp/scgi;
    default_type application/octet-stream;
    sendfile on;
    server { listen 127.0.0.1:$PORT; root $WORK/www; }
}
EOF
"$NGINX" -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf" &
NGINX_PID=$!

FILE=$WORK/www/wide.csv
"$BIN" gen wide --rows "$ROWS" --seed 1 -o "$FILE"
q "$("$BIN" gen wide --rows 0 --ddl --table wide)" >/dev/null
HTTP_URL=http://127.0.0.1:$PORT/wide.csv
listening() {
    python3 - "$1" "$2" <<'PY'
import socket, sys, time
for _ in range(300):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit(sys.argv[2] + " did not listen")
PY
}
listening "$PORT" nginx

S3_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m moto.server -H 127.0.0.1 -p "$S3_PORT" > "$WORK/moto.log" 2>&1 &
MOTO_PID=$!
listening "$S3_PORT" moto
export AWS_ENDPOINT_URL=http://127.0.0.1:$S3_PORT AWS_ACCESS_KEY_ID=bench \
    AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
python3 - "$FILE" <<'PY'
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
s3.create_bucket(Bucket="bench")
s3.upload_file(sys.argv[1], "bench", "wide.csv")
PY
S3_URL=s3://bench/wide.csv

echo "# server: $(q 'SELECT version()')"
echo "# file: $(stat -c %s "$FILE") bytes, $ROWS rows of wide; rounds: $ROUNDS"
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg)"

RESULTS=$WORK/results.tsv
: > "$RESULTS"
run() {
    local name=$1 src=$2
    q "TRUNCATE wide" >/dev/null
    q "CHECKPOINT" >/dev/null
    local t0 t1
    t0=$(date +%s.%N)
    "$TIME" -f '%M %U %S' -o "$WORK/time.out" "$BIN" load "$src" --table wide --url "$URL" \
        --fresh --quiet --json > "$WORK/run.out" 2> "$WORK/run.err" || { cat "$WORK/run.err" >&2; exit 1; }
    t1=$(date +%s.%N)
    [ "$(q 'SELECT count(*) FROM wide')" = "$ROWS" ] || { echo "FAILED: $name row count" >&2; exit 1; }
    read -r rss cpu < <(awk '{printf "%s %.2f\n", $1, $2 + $3}' "$WORK/time.out")
    local secs
    secs=$(echo "$t1 - $t0" | bc -l)
    printf '%s\t%.3f\t%s\t%s\n' "$name" "$secs" "$rss" "$cpu" >> "$RESULTS"
    printf '  %-5s %8.3f s  peak RSS %6.1f MiB  client CPU %5.2f s\n' "$name" "$secs" \
        "$(echo "$rss / 1024" | bc -l)" "$cpu"
}
for r in $(seq 1 "$ROUNDS"); do
    echo "round $r"
    case $((r % 3)) in
        1) run disk "$FILE"; run http "$HTTP_URL"; run s3 "$S3_URL" ;;
        2) run http "$HTTP_URL"; run s3 "$S3_URL"; run disk "$FILE" ;;
        0) run s3 "$S3_URL"; run disk "$FILE"; run http "$HTTP_URL" ;;
    esac
done
median() { awk -F'\t' -v n="$1" '$1 == n {print $2}' "$RESULTS" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
D=$(median disk); H=$(median http); S=$(median s3)
printf 'median disk %.3f s, http %.3f s, s3 %.3f s; http/disk %.3f, s3/disk %.3f\n' \
    "$D" "$H" "$S" "$(echo "$H / $D" | bc -l)" "$(echo "$S / $D" | bc -l)"
