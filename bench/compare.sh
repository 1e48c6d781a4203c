#!/usr/bin/env bash
# Side-by-side benchmark: Tern against NATS JetStream, RabbitMQ (quorum queue), moto and a
# do-nothing HTTP server, with the same loadgen workloads, interleaved (A B A B …), 3
# repetitions, medians; then regenerates docs/benchmarks.md.
#
#   bench/compare.sh                  # 10 s per run (about 15–20 minutes in all)
#   DURATION=5 bench/compare.sh       # shorter runs
#   REPS=1 DURATION=3 NO_DOCS=1 bench/compare.sh   # a quick look, docs left alone
#   NOTE='…' bench/compare.sh         # a sentence about this run, printed with the versions
#   TERN_VERSION='…' bench/compare.sh # how to name Tern's version when the tree is not a checkout
#
# Needs NATS with JetStream on 127.0.0.1:4222 and RabbitMQ on 127.0.0.1:5672 (guest/guest);
# fails at once if either does not answer. Starts Tern (temporary data directory, port 0), the
# null server and moto (installed into bench/.venv, pinned) itself. Only 127.0.0.1 is contacted;
# every process it starts is stopped and every temporary directory removed when it exits,
# however it exits. The raw JSON lines are kept in target/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

DURATION="${DURATION:-10}"
# moto handles ~50–100 messages a second (about 1000 times fewer than the others): shorter runs.
MOTO_DURATION="${MOTO_DURATION:-3}"
REPS="${REPS:-3}"
MOTO_VERSION="5.2.5"
NATS_URL="nats://127.0.0.1:4222"
AMQP_URL="amqp://guest:guest@127.0.0.1:5672/%2f"
PRODUCERS=4
CONSUMERS=4
FIFO_GROUPS=64

work="$(mktemp -d -t tern-compare-XXXXXX)"
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "# $*" >&2; }

# --- peers that must already run -----------------------------------------------------------
answers() { timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
answers 4222 || { echo "NATS does not answer on 127.0.0.1:4222 (start nats-server -js)" >&2; exit 1; }
answers 5672 || { echo "RabbitMQ does not answer on 127.0.0.1:5672" >&2; exit 1; }

# --- build ---------------------------------------------------------------------------------
cargo build --release -p tern -p loadgen
loadgen="$repo/target/release/loadgen"

# Waits for "listening on http://ADDR:PORT" in a log; prints the URL.
wait_for_url() {
    local log_file="$1" pid="$2" name="$3" url=""
    for _ in $(seq 200); do
        url="$(grep -oE 'listening on http://[0-9.]+:[0-9]+' "$log_file" | head -n 1 |
            sed 's/^listening on //' || true)"
        [[ -n "$url" ]] && { echo "$url"; return 0; }
        kill -0 "$pid" 2>/dev/null || { echo "$name exited:" >&2; cat "$log_file" >&2; return 1; }
        sleep 0.1
    done
    echo "$name did not report its address within 20 s:" >&2
    cat "$log_file" >&2
    return 1
}

# --- Tern ----------------------------------------------------------------------------------
mkdir "$work/tern-data"
NO_COLOR=1 ./target/release/tern serve --listen 127.0.0.1:0 --data-dir "$work/tern-data" \
    >"$work/tern.log" 2>&1 &
pids+=($!)
tern_url="$(wait_for_url "$work/tern.log" "$!" tern)"

# --- null server ---------------------------------------------------------------------------
"$loadgen" null-server --listen 127.0.0.1:0 --duration 3600 >"$work/null.log" 2>&1 &
pids+=($!)
null_url="$(wait_for_url "$work/null.log" "$!" null-server)"

# --- moto ----------------------------------------------------------------------------------
venv="$repo/bench/.venv"
if [[ ! -x "$venv/bin/moto_server" ]] ||
    [[ "$("$venv/bin/python" -c 'import moto; print(moto.__version__)' 2>/dev/null)" != "$MOTO_VERSION" ]]; then
    log "installing moto[server]==$MOTO_VERSION into bench/.venv"
    python3 -m venv "$venv"
    timeout 600 "$venv/bin/pip" install --quiet "moto[server]==$MOTO_VERSION"
fi
moto_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
pids+=($!)
moto_url="http://127.0.0.1:$moto_port"
for _ in $(seq 100); do answers "$moto_port" && break; sleep 0.2; done
answers "$moto_port" || { echo "moto did not start:" >&2; cat "$work/moto.log" >&2; exit 1; }

# --- versions ------------------------------------------------------------------------------
versions="$work/versions.txt"
{
    echo "rustc: $(rustc --version)"
    # TERN_VERSION names a tree that is not a git checkout (e.g. an exported copy under test).
    echo "tern: ${TERN_VERSION:-$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates || echo ' + uncommitted changes')}"
    echo "nats-server: $(nats-server --version 2>&1 | head -n 1)"
    echo "rabbitmq-server: $(timeout 30 rabbitmqctl version 2>/dev/null | tail -n 1 ||
        dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null || echo unknown)"
    echo "moto: $("$venv/bin/python" -c 'import moto; print(moto.__version__)')"
    echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    echo "date: $(date -u +%Y-%m-%d)"
    echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$versions"
cat "$versions" >&2

mkdir -p target/bench
results="target/bench/compare-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
: >"$results"
log "tern $tern_url, null $null_url, moto $moto_url; ${DURATION}s per run (moto ${MOTO_DURATION}s), $REPS repetitions; raw lines in $results"

endpoint_of() {
    case "$1" in
        tern) echo "$tern_url" ;;
        nats) echo "$NATS_URL" ;;
        rabbitmq) echo "$AMQP_URL" ;;
        moto) echo "$moto_url" ;;
        null) echo "$null_url" ;;
    esac
}

# run WORKLOAD TARGET LOADGEN-ARGS…: one bounded loadgen run, its JSON line tagged and kept.
run() {
    local workload="$1" target="$2"
    shift 2
    local duration="$DURATION" extra=()
    if [[ "$target" == moto ]]; then duration="$MOTO_DURATION"; fi
    case "$target" in tern | moto) extra+=(--delete-queue) ;; esac
    local line
    if line="$(timeout $((duration + 120)) "$loadgen" "$@" --endpoint "$(endpoint_of "$target")" \
        --label "$target" --duration "$duration" "${extra[@]}" 2>>"$work/loadgen.err")"; then
        python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r["workload"]=sys.argv[2]; print(json.dumps(r))' \
            "$line" "$workload" >>"$results"
        log "$workload $target: $(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["msgs_per_s"], "msg/s sent", r.get("received_per_s") or "", "errors", r["send_errors"])' "$line")"
    else
        log "$workload $target: FAILED (see below)"
        tail -n 5 "$work/loadgen.err" >&2
        echo "{\"workload\":\"$workload\",\"label\":\"$target\",\"failed\":true}" >>"$results"
    fi
}

# interleave WORKLOAD "TARGETS" LOADGEN-ARGS…: REPS rounds of every target in turn.
interleave() {
    local workload="$1" targets="$2"
    shift 2
    local rep target
    for rep in $(seq "$REPS"); do
        for target in $targets; do
            run "$workload" "$target" "$@"
        done
    done
}

all="tern nats rabbitmq moto null"
queues="tern nats rabbitmq moto"
send=(send --connections "$PRODUCERS")
e2e=(e2e --producers "$PRODUCERS" --consumers "$CONSUMERS" --drain 30)

interleave send-b10-100B "$all" "${send[@]}" --batch 10 --size 100
interleave send-b1-100B "$all" "${send[@]}" --batch 1 --size 100
interleave send-b10-4KiB "$all" "${send[@]}" --batch 10 --size 4096
interleave e2e-b10-100B "$queues" "${e2e[@]}" --batch 10 --size 100
interleave fifo-e2e-b10-100B "$queues" "${e2e[@]}" --batch 10 --size 100 --fifo --groups "$FIFO_GROUPS"

# Paced: each target at half its own median end-to-end rate (received msg/s) measured above.
half_rate() {
    python3 - "$results" "$1" <<'EOF'
import json, statistics, sys
rates = [r["received_per_s"] for r in map(json.loads, open(sys.argv[1]))
         if r.get("workload") == "e2e-b10-100B" and r.get("label") == sys.argv[2]
         and not r.get("failed") and r.get("received_per_s")]
print(max(1, round(statistics.median(rates) / 2)) if rates else 0)
EOF
}
declare -A rate
for target in $queues; do rate[$target]="$(half_rate "$target")"; done
for rep in $(seq "$REPS"); do
    for target in $queues; do
        if [[ "${rate[$target]}" == 0 ]]; then
            log "paced $target: no end-to-end figure to halve, skipped"
            continue
        fi
        run paced-half-e2e-b10-100B "$target" "${e2e[@]}" --batch 10 --size 100 --rate "${rate[$target]}"
    done
done

if [[ -s "$work/loadgen.err" ]]; then
    log "loadgen's stderr (first lines):"
    head -n 40 "$work/loadgen.err" >&2
fi
if grep -qiE 'panic|error' "$work/tern.log"; then
    log "tern logged errors:"
    grep -iE 'panic|error' "$work/tern.log" | head -n 20 >&2
fi

echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$versions"

command="DURATION=$DURATION REPS=$REPS bench/compare.sh"
[[ "$MOTO_DURATION" != 3 ]] && command="MOTO_DURATION=$MOTO_DURATION $command"
if [[ -z "${NO_DOCS:-}" ]]; then
    python3 bench/report.py --results "$results" --versions "$versions" --command "$command" \
        --duration "$DURATION" --moto-duration "$MOTO_DURATION" --reps "$REPS" \
        --note "${NOTE:-}" \
        >"$work/benchmarks.md"
    cp "$work/benchmarks.md" docs/benchmarks.md
    log "docs/benchmarks.md regenerated from $results"
fi
