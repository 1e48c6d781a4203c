#!/usr/bin/env bash
# Backlog scale: fill one queue with MESSAGES messages of SIZE bytes, record Tern's memory,
# kill -9 it and restart it with the backlog (time until the first receive returns a message),
# then drain the whole backlog while recording receive latency window by window.
#
#   bench/backlog.sh                              # 1,000,000 × 1 KiB
#   MESSAGES=10000000 bench/backlog.sh            # the issue's 10 million (≈ 12 GiB on disk)
#   TERN=/path/to/tern LOADGEN=/path/to/loadgen DATA=/work/backlog-data bench/backlog.sh
#
# Prints loadgen's JSON lines (fill, drain) and a summary on stderr; the data directory is
# deleted at the end however the script exits. Check free space first: about 1.2 KiB per
# message on disk at the peak.
set -euo pipefail
cd "$(dirname "$0")/.."

MESSAGES="${MESSAGES:-1000000}"
SIZE="${SIZE:-1024}"
TERN="${TERN:-target/release/tern}"
LOADGEN="${LOADGEN:-target/release/loadgen}"
DATA="${DATA:-$(mktemp -d -t tern-backlog-XXXXXX)}"
PORT="${PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
url="http://127.0.0.1:$PORT"
server_pid=""

cleanup() {
    [[ -n "$server_pid" ]] && { kill -9 "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
    rm -rf "$DATA"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "# $*" >&2; }
rss() { awk '/^VmRSS/ {printf "%d MiB", $2 / 1024}' "/proc/$server_pid/status"; }
peak() { awk '/^VmHWM/ {printf "%d MiB", $2 / 1024}' "/proc/$server_pid/status"; }

starts=0
start() {
    starts=$((starts + 1))
    server_log="$DATA/tern-$starts.log"
    NO_COLOR=1 "$TERN" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA/data" >"$server_log" 2>&1 &
    server_pid=$!
}

mkdir -p "$DATA"
log "free space: $(df -h --output=avail "$DATA" | tail -n 1) (needs about $((MESSAGES * (SIZE + 200) / 1024 / 1024 / 1024 + 1)) GiB)"
start
for _ in $(seq 100); do
    grep -q 'listening on' "$server_log" && break
    sleep 0.1
done

log "filling: $MESSAGES messages of $SIZE bytes"
"$LOADGEN" send --endpoint "$url" --queue backlog --messages "$MESSAGES" --size "$SIZE" \
    --connections 16 --batch 10 --duration 3600
log "after the fill: tern RSS $(rss), peak $(peak); on disk $(du -sh "$DATA/data" | cut -f1)"

kill -9 "$server_pid"
wait "$server_pid" 2>/dev/null || true
log "killed with SIGKILL; restarting"
started_ns=$(date +%s%N)
start
# The drain starts with the server and retries until it answers: its first_receive_ms is the
# restart time with the backlog, seen from a client.
"$LOADGEN" drain --endpoint "$url" --queue backlog --messages "$MESSAGES" --consumers 4 \
    --window 10 --duration 3600 &
drain_pid=$!
# Rebuilding the index takes a while with a large backlog: wait as long as the server lives.
until grep -q 'listening on' "$server_log"; do
    kill -0 "$server_pid" 2>/dev/null || { echo "tern exited:" >&2; cat "$server_log" >&2; exit 1; }
    sleep 0.05
done
log "listening again after $(( ($(date +%s%N) - started_ns) / 1000000 )) ms; RSS $(rss)"
while kill -0 "$drain_pid" 2>/dev/null; do
    sleep 10
    kill -0 "$server_pid" 2>/dev/null && log "draining: tern RSS $(rss), peak $(peak)"
done
wait "$drain_pid"
log "after the drain: tern RSS $(rss), peak $(peak); on disk $(du -sh "$DATA/data" | cut -f1)"
