#!/usr/bin/env bash
# First figure (foundation): Tern's send throughput over 4 and 16 connections and its end-to-end
# throughput and latency with 4 producers and 4 consumers, on a fresh data directory.
#
#   bench/first-figure.sh            # 10 s per run
#   DURATION=30 bench/first-figure.sh
#
# Prints one JSON line per run (see docs/benchmarks.md). Only 127.0.0.1 is contacted; the server
# is stopped and its data directory removed when the script exits, however it exits.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10}"
BATCH=10
SIZE=100

cargo build --release -p tern -p loadgen

data_dir="$(mktemp -d -t tern-bench-XXXXXX)"
server_log="$data_dir.log"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$data_dir" "$server_log"
}
trap cleanup EXIT

NO_COLOR=1 ./target/release/tern serve --listen 127.0.0.1:0 --data-dir "$data_dir" \
    >"$server_log" 2>&1 &
server_pid=$!

# The server prints "listening on http://127.0.0.1:PORT" once it accepts connections.
endpoint=""
for _ in $(seq 100); do
    endpoint="$(grep -oE 'listening on http://[0-9.]+:[0-9]+' "$server_log" | head -n 1 |
        sed 's/^listening on //' || true)"
    [[ -n "$endpoint" ]] && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "tern exited before listening:" >&2
        cat "$server_log" >&2
        exit 1
    fi
    sleep 0.1
done
if [[ -z "$endpoint" ]]; then
    echo "tern did not report its address within 10 s:" >&2
    cat "$server_log" >&2
    exit 1
fi
echo "# tern at $endpoint, data in $data_dir, ${DURATION}s per run" >&2

loadgen=./target/release/loadgen
for connections in 4 16; do
    "$loadgen" send --endpoint "$endpoint" --connections "$connections" \
        --batch "$BATCH" --size "$SIZE" --duration "$DURATION"
done
"$loadgen" e2e --endpoint "$endpoint" --producers 4 --consumers 4 \
    --batch "$BATCH" --size "$SIZE" --duration "$DURATION"
