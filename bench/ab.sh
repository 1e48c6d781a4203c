#!/usr/bin/env bash
# A/B: two Tern binaries under the same loadgen workloads, interleaved (A B A B …), each run on
# a fresh server and data directory, so a change to the server is measured against its
# predecessor on the same machine at the same time.
#
#   bench/ab.sh OLD_TERN NEW_TERN                      # e2e, send-only and FIFO, 3 repetitions
#   REPS=5 DURATION=8 WORKLOADS="e2e fifo" bench/ab.sh old/tern target/release/tern
#
# Prints one JSON line per run on stdout (loadgen's, with "label" set to A or B) and a summary
# of medians on stderr. LOADGEN picks the load generator (default: target/release/loadgen).
set -euo pipefail
cd "$(dirname "$0")/.."

[[ $# -eq 2 ]] || { echo "usage: bench/ab.sh OLD_TERN NEW_TERN" >&2; exit 2; }
binaries=("$1" "$2")
labels=(A B)
DURATION="${DURATION:-8}"
REPS="${REPS:-3}"
WORKLOADS="${WORKLOADS:-e2e send fifo}"
LOADGEN="${LOADGEN:-target/release/loadgen}"

work="$(mktemp -d -t tern-ab-XXXXXX)"
server_pid=""
cleanup() {
    [[ -n "$server_pid" ]] && { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_server() {
    local binary="$1" data
    data="$(mktemp -d "$work/data-XXXXXX")"
    NO_COLOR=1 "$binary" serve --listen 127.0.0.1:0 --data-dir "$data" >"$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do
        url="$(grep -oE 'listening on http://[0-9.]+:[0-9]+' "$work/server.log" | head -n 1 | sed 's/^listening on //' || true)"
        [[ -n "$url" ]] && return 0
        sleep 0.1
    done
    echo "server did not start:" >&2; cat "$work/server.log" >&2; return 1
}

stop_server() {
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

run_workload() {
    local workload="$1" label="$2"
    case "$workload" in
        e2e) "$LOADGEN" e2e --endpoint "$url" --producers 4 --consumers 4 --batch 10 --size 100 \
                --duration "$DURATION" --drain 30 --label "$label" ;;
        send) "$LOADGEN" send --endpoint "$url" --connections 4 --batch 10 --size 100 \
                --duration "$DURATION" --label "$label" ;;
        fifo) "$LOADGEN" e2e --endpoint "$url" --producers 4 --consumers 4 --batch 10 --size 100 \
                --fifo --groups 64 --duration "$DURATION" --drain 30 --label "$label" ;;
        *) echo "unknown workload $workload" >&2; return 2 ;;
    esac
}

echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
results="$work/results.jsonl"
for rep in $(seq "$REPS"); do
    for workload in $WORKLOADS; do
        for side in 0 1; do
            start_server "${binaries[$side]}"
            line="$(run_workload "$workload" "${labels[$side]}" 2>/dev/null)"
            stop_server
            echo "$line"
            echo "$workload $line" >>"$results"
            echo "# rep $rep $workload ${labels[$side]}: $(echo "$line" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["msgs_per_s"], r.get("received_per_s"), r.get("latency_p99_us"), r.get("lost"))')" >&2
        done
    done
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

python3 - "$results" >&2 <<'EOF'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    workload, _, payload = line.partition(" ")
    record = json.loads(payload)
    runs.setdefault((workload, record["label"]), []).append(record)
for workload in dict.fromkeys(w for w, _ in runs):
    field = "msgs_per_s" if workload == "send" else "received_per_s"
    a = statistics.median(r[field] for r in runs[(workload, "A")])
    b = statistics.median(r[field] for r in runs[(workload, "B")])
    print(f"# {workload}: {field} median A {a:,.0f}  B {b:,.0f}  B/A {b / a:.2f}")
EOF
