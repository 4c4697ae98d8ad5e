# Shared by the bench scripts (sourced, not run): the work dir, the servers they start on
# loopback, timed runs and medians. Each script sets ROUNDS, BUILD and KEEP from its options
# and then calls `bench_init NAME`. CHUNKLOAD_BIN runs another build than target/release.

bench_init() {
    cd "$(dirname "${BASH_SOURCE[0]}")/.."
    [ "${BUILD:-1}" = 1 ] && cargo build --release --quiet
    BIN=${CHUNKLOAD_BIN:-$PWD/target/release/chunkload}
    TIME=/usr/bin/time
    [ -x "$TIME" ] || { echo "needs GNU time at /usr/bin/time" >&2; exit 1; }
    if [ -n "${KEEP:-}" ]; then WORK=$KEEP; mkdir -p "$WORK"; else WORK=$(mktemp -d "/tmp/chunkload-$1.XXXXXX"); fi
    RESULTS=$WORK/results.tsv
    : > "$RESULTS"
    BENCH_PIDS=()
    trap bench_cleanup EXIT
}

bench_cleanup() {
    local p
    for p in "${BENCH_PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    if [ -n "${PG_FIFO_OPEN:-}" ]; then exec 3>&- || true; wait "$PG_PID" 2>/dev/null || true; fi
    if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits (30 s at most) until 127.0.0.1:PORT accepts a connection.
wait_port() {
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

# A throwaway PostgreSQL (`chunkload server`, alive until fd 3 closes): sets URL and q().
start_pg() {
    local fifo=$WORK/server.stdin
    rm -f "$fifo"; mkfifo "$fifo"
    "$BIN" server < "$fifo" > "$WORK/server.out" 2> "$WORK/server.err" &
    PG_PID=$!
    exec 3> "$fifo"
    PG_FIFO_OPEN=1
    for _ in $(seq 1 600); do
        [ -s "$WORK/server.out" ] && break
        kill -0 "$PG_PID" 2>/dev/null || { cat "$WORK/server.err" >&2; exit 1; }
        sleep 0.1
    done
    URL=$(head -n1 "$WORK/server.out")
    [ -n "$URL" ] || { echo "server did not start" >&2; exit 1; }
}
q() { psql "$URL" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }

# moto's S3 server with a bucket `bench`: exports the AWS_* settings chunkload reads.
start_moto() {
    python3 -c 'import moto.server' 2>/dev/null || { echo "needs moto[server] (pip)" >&2; exit 1; }
    local port
    port=$(free_port)
    python3 -m moto.server -H 127.0.0.1 -p "$port" > /dev/null 2> "$WORK/moto.log" &
    BENCH_PIDS+=($!)
    wait_port "$port" moto
    export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_REGION=us-east-1 \
        AWS_ACCESS_KEY_ID=AKIABENCH AWS_SECRET_ACCESS_KEY=bench-secret \
        AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
    curl -s -X PUT "$AWS_ENDPOINT_URL/bench" > /dev/null
}

# nginx serving DIR on 127.0.0.1: sets HTTP_PORT.
start_nginx() {
    local nginx user_line=""
    nginx=$(command -v nginx || echo /usr/sbin/nginx)
    [ -x "$nginx" ] || { echo "needs nginx (apt-get install nginx)" >&2; exit 1; }
    HTTP_PORT=$(free_port)
    [ "$(id -u)" = 0 ] && user_line="user root;"
    mkdir -p "$WORK/tmp"
    cat > "$WORK/nginx.conf" <<CONF
$user_line
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
    server { listen 127.0.0.1:$HTTP_PORT; root $1; }
}
CONF
    "$nginx" -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf" &
    BENCH_PIDS+=($!)
    wait_port "$HTTP_PORT" nginx
}

machine_line() {
    echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

# Runs a command under GNU time as NAME: appends "NAME seconds rss_kb cpu_s" to RESULTS
# and prints it. The command's output goes to $WORK/run.out, its errors to run.err.
timed() {
    local name=$1 t0 t1 secs rss cpu
    shift
    t0=$(date +%s.%N)
    "$TIME" -f '%M %U %S' -o "$WORK/time.out" "$@" > "$WORK/run.out" 2> "$WORK/run.err" \
        || { cat "$WORK/run.err" >&2; exit 1; }
    t1=$(date +%s.%N)
    read -r rss cpu < <(awk '{printf "%s %.2f\n", $1, $2 + $3}' "$WORK/time.out")
    secs=$(echo "$t1 - $t0" | bc -l)
    printf '%s\t%.3f\t%s\t%s\n' "$name" "$secs" "$rss" "$cpu" >> "$RESULTS"
    printf '  %-5s %8.3f s  peak RSS %6.1f MiB  client CPU %5.2f s\n' "$name" "$secs" \
        "$(echo "$rss / 1024" | bc -l)" "$cpu"
}

# The median of column COL (2: seconds, 3: peak RSS in KB) of NAME's runs.
median() {
    awk -F'\t' -v n="$1" -v c="${2:-2}" '$1 == n {print $c}' "$RESULTS" | sort -n \
        | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'
}
