#!/bin/bash
# bench/instructions.sh: instructions per call, counted by callgrind, for two
# builds of compact-membership: a measure this shared, noisy machine cannot
# disturb.
#
# Requests per second move by 10-50% between runs here while others build
# and test (bench/RESULTS.md); the number of instructions a call executes
# hardly does (1-2% between runs), and this virtual machine
# exposes no hardware counters to `perf stat`. So a change to the per-call
# path is compared as callgrind's count of instructions per call, and the
# functions whose own count moved most are listed: a differential profile.
# It does not see what instructions cost (cache misses, system calls,
# waiting), so it complements bench/run.sh's throughput, never replaces it.
#
# Usage:
#   bench/instructions.sh KIND NAME=BINARY[@deployed] NAME=BINARY[@deployed] [CALLS]
#     KIND    get (cached GetEntity, one entity created first) | health
#     BINARY  a compact-membership build (Release, as the benchmarks use)
#     @deployed  run it as bench/run.sh's "deployed" configuration (info
#             logs, stderr to a pipe, metrics on) instead of warn logs
#     CALLS   measured calls (20000)
# Each binary runs under valgrind --tool=callgrind with its own Redis and
# data dir (COMPACT_AUTH=off, COMPACT_LOG_LEVEL=warn, as bench/run.sh); the
# counters are zeroed after 4,000 warm-up calls (h2load -c 8 -m 16), CALLS
# calls are sent, and the counters dumped. Every thread is counted (the loop,
# the completion-queue thread, gRPC's own), so the figure is what the
# process spent per call. Prints per binary the instructions per call, then
# the 25 functions whose own instructions per call differ most.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
KIND=${1:?KIND}; A=${2:?NAME=BINARY}; B=${3:?NAME=BINARY}; CALLS=${4:-20000}
WORK=$(mktemp -d /tmp/bench-instr.XXXXXX)
export PYDIR="$WORK/py"
PIDS=()

log() { printf '[instructions] %s\n' "$*" >&2; }
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ "${KEEP:-0}" = 1 ] && log "work dir kept: $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

command -v valgrind >/dev/null || { log "valgrind missing (apt-get install valgrind)"; exit 1; }
command -v h2load >/dev/null || { log "h2load missing (apt-get install nghttp2-client)"; exit 1; }
mkdir -p "$PYDIR"
protoc -I"$ROOT/proto" -I/usr/include --python_out="$PYDIR" grpc/health/v1/health.proto \
    compact/common/v1/provenance.proto compact/membership/v1/membership.proto
client() { "$PY" "$ROOT/bench/bench_client.py" "$@"; }
free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# count NAME BINARY[@deployed]: leaves callgrind's dump of the measured calls
# in $WORK/NAME.out
count() {
    local name=$1 binary=${2%@deployed} dir="$WORK/$1" rport port redis server path h2
    local level=warn metrics=""
    mkdir -p "$dir/data"
    rport=$(free_port); port=$(free_port)
    [ "$binary" = "$2" ] || { level=info; metrics="127.0.0.1:$(free_port)"; }
    redis-server --bind 127.0.0.1 --port "$rport" --save '' --appendonly no --dir "$dir" \
        --logfile "$dir/redis.log" &
    redis=$!; PIDS+=("$redis")
    # stderr goes through a pipe in both (as under a container runtime);
    # warn logs write nothing per call there.
    COMPACT_LISTEN="127.0.0.1:$port" COMPACT_REDIS_ADDR="127.0.0.1:$rport" \
    COMPACT_DATA_DIR="$dir/data" COMPACT_LOG_LEVEL=$level COMPACT_AUTH=off \
    COMPACT_METRICS_LISTEN="$metrics" \
        valgrind --tool=callgrind --callgrind-out-file="$dir/cg.%p" "$binary" \
        >"$dir/server.out" 2> >(cat >"$dir/server.err") &
    server=$!; PIDS+=("$server")
    client wait "127.0.0.1:$port" 60 >/dev/null
    if [ "$KIND" = get ]; then
        client body-get "$dir/body.bin" "$(client create "127.0.0.1:$port")"
        path=/compact.membership.v1.Membership/GetEntity
    else
        client body-health "$dir/body.bin"
        path=/grpc.health.v1.Health/Check
    fi
    h2=(h2load -c 8 -m 16 -d "$dir/body.bin" -H 'content-type: application/grpc'
        -H 'te: trailers' "http://127.0.0.1:$port$path")
    "${h2[@]}" -n 4000 >"$dir/warmup.txt"
    callgrind_control -z "$server" >/dev/null 2>&1
    "${h2[@]}" -n "$CALLS" >"$dir/h2load.txt"
    callgrind_control -d "$server" >/dev/null 2>&1
    grep -q "^requests: $CALLS total.* $CALLS succeeded" "$dir/h2load.txt" ||
        { cat "$dir/h2load.txt" >&2; log "$name: not every call succeeded"; exit 1; }
    kill -TERM "$server"; wait "$server" || true
    kill -TERM "$redis"; wait "$redis" || true
    mv "$(ls "$dir"/cg.*.1)" "$WORK/$name.out"
}

count "${A%%=*}" "${A#*=}"
count "${B%%=*}" "${B#*=}"
"$PY" "$ROOT/bench/callgrind_diff.py" "$WORK/${A%%=*}.out" "$WORK/${B%%=*}.out" "$CALLS"
