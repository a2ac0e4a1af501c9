#!/bin/bash
# bench/security.sh: what authentication and TLS cost (issue 13), measured on
# compact-membership: Health/Check and GetEntity (cached) over
#
#   plain        plaintext, COMPACT_AUTH=off (what bench/run.sh measures)
#   token        plaintext, a bearer token verified on every call (cached)
#   tls          mutual TLS (client certificate), COMPACT_AUTH=off
#   tls+token    mutual TLS and a token: what a deployment runs
#
# h2load can neither present a client certificate nor is it needed for the
# rest, so every configuration is driven by bench/grpc_load (gRPC core, one
# thread, CONNS channels x STREAMS calls in flight), the same client for all:
# the ratios compare like with like. Connections are persistent (a TLS
# session is negotiated once per connection; grpc_load's session cache makes
# a reconnect a resumption). Besides calls per second the table gives the
# server's CPU time per call, which the client's own cost does not blur.
# Configurations are interleaved over ROUNDS rounds; the table shows medians.
# Then bench/auth_verify: a token's first verification and a cached one.
#
# Environment: BUILD (default /tmp/build-bench-sec, Release), DURATION (10),
# WARMUP (3), ROUNDS (3), CONNS (8), STREAMS (16), SERVER_CPU (0), LOAD_CPU (1),
# CONFIGS, METHODS ("health get"), SKIP_BUILD=1.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-/tmp/build-bench-sec}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-8}
STREAMS=${STREAMS:-16}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
CONFIGS=${CONFIGS:-"plain token tls tls+token"}
METHODS=${METHODS:-"health get"}
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/bench-sec.XXXXXX)
SERVER_PID="" REDIS_PID=""

log() { printf '[security] %s\n' "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
cleanup() {
    [ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null || true
    [ -n "$REDIS_PID" ] && kill -TERM "$REDIS_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "building (Release) in $BUILD"
    # A build directory made from another checkout: CMake refuses it.
    grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$ROOT" "$BUILD/CMakeCache.txt" 2>/dev/null ||
        rm -rf "$BUILD"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCOMPACT_TESTS=OFF >"$WORK/cmake.log" 2>&1 ||
        { cat "$WORK/cmake.log" >&2; die cmake; }
    cmake --build "$BUILD" -j2 --target compact-membership compactctl grpc_load auth_verify \
        >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log" >&2; die build; }
fi
"$ROOT/scripts/dev-secrets.sh" "$WORK/secrets" membership client >/dev/null
S=$WORK/secrets
CTL=$BUILD/compactctl
TOKEN=$("$CTL" token issue --key "$S/auth/dev.pem" --subject bench --role secretariat --ttl 7200)

REDIS_PORT=$(free_port)
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --dir "$WORK" \
    --logfile "$WORK/redis.log" --aclfile "$S/redis/users.acl" &
REDIS_PID=$!
sleep 0.3

# start CONFIG: the server on ADDR (and PROBE), waits for health
start() {
    local port probe env=()
    port=$(free_port) probe=$(free_port)
    ADDR=127.0.0.1:$port
    env=(COMPACT_LISTEN="$ADDR" COMPACT_DATA_DIR="$WORK/data" COMPACT_LOG_LEVEL=warn
         COMPACT_REDIS_ADDR=127.0.0.1:$REDIS_PORT COMPACT_REDIS_USER=compact
         COMPACT_REDIS_PASSWORD_FILE="$S/redis/password" COMPACT_PROBE_LISTEN=127.0.0.1:$probe)
    case $1 in
    *token*) env+=(COMPACT_AUTH_KEYS_FILE="$S/auth/keys.json") ;;
    *) env+=(COMPACT_AUTH=off) ;;
    esac
    case $1 in
    tls*) env+=(COMPACT_TLS_CERT="$S/tls/membership.pem" COMPACT_TLS_KEY="$S/tls/membership.key"
                COMPACT_TLS_CA="$S/tls/ca.pem") ;;
    esac
    env "${env[@]}" taskset -c "$SERVER_CPU" "$BUILD/compact-membership" 2>"$WORK/server.err" &
    SERVER_PID=$!
    for _ in $(seq 100); do
        "$CTL" --addr "127.0.0.1:$probe" health >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    cat "$WORK/server.err" >&2
    die "$1: no health"
}
stop() { kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || die "server exit code $?"; SERVER_PID=""; }

load_args() { # CONFIG METHOD
    local a=(--target "$ADDR" --conns "$CONNS" --streams "$STREAMS")
    case $1 in tls*) a+=(--ca "$S/tls/ca.pem" --cert "$S/tls/client.pem" --key "$S/tls/client.key") ;; esac
    case $1 in *token*) a+=(--token "$TOKEN") ;; esac
    if [ "$2" = health ]; then
        a+=(--method /grpc.health.v1.Health/Check --body "$WORK/health.bin")
    else
        a+=(--method /compact.membership.v1.Membership/GetEntity --body "$WORK/get.bin")
    fi
    printf '%s\n' "${a[@]}"
}

# The entity GetEntity reads, and the two request bodies.
: >"$WORK/health.bin"
mkdir -p "$WORK/data"
start plain
ENTITY=$(COMPACT_MEMBERSHIP_ADDR=$ADDR "$CTL" --json entities create --acronym BENCH \
    --name "Benchmark entity" --kind un | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
stop
"$PY" - "$ENTITY" "$WORK/get.bin" <<'PYEOF'
import sys
eid = sys.argv[1].encode()
# GetEntityRequest{id}: field 1, length-delimited
open(sys.argv[2], "wb").write(bytes([0x0a, len(eid)]) + eid)
PYEOF

for round in $(seq "$ROUNDS"); do
    for config in $CONFIGS; do
        start "$config"
        for m in $METHODS; do
            mapfile -t args < <(load_args "$config" "$m")
            t0=$(ticks "$SERVER_PID")
            out=$(taskset -c "$LOAD_CPU" "$BUILD/bench/grpc_load" "${args[@]}" \
                --seconds "$DURATION" --warmup "$WARMUP") || die "$config $m: $out"
            t1=$(ticks "$SERVER_PID")
            echo "{\"round\": $round, \"config\": \"$config\", \"method\": \"$m\", \"server_ticks\": $((t1 - t0)), \"hz\": $(getconf CLK_TCK), \"duration\": $DURATION, \"warmup\": $WARMUP, \"load\": $out}" \
                >>"$WORK/results.jsonl"
            log "round $round $config $m: $out"
        done
        stop
    done
done

"$PY" - "$WORK/results.jsonl" "$CONFIGS" "$METHODS" <<'PYEOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
configs, methods = sys.argv[2].split(), sys.argv[3].split()
print("| method | configuration | calls/s (median) | vs plain | p50 µs | p99 µs | server CPU µs/call | vs plain |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for m in methods:
    base = base_cpu = None
    for c in configs:
        rs = [r for r in rows if r["config"] == c and r["method"] == m]
        if not rs:
            continue
        cps = statistics.median(r["load"]["calls_per_s"] for r in rs)
        p50 = statistics.median(r["load"]["p50_us"] for r in rs)
        p99 = statistics.median(r["load"]["p99_us"] for r in rs)
        # server CPU over warm-up + measured run, per call of the measured run scaled
        cpu = statistics.median(r["server_ticks"] / r["hz"] * 1e6 /
                                (r["load"]["calls_per_s"] * (r["duration"] + r["warmup"]))
                                for r in rs)
        base = base or cps
        base_cpu = base_cpu or cpu
        name = {"health": "Health/Check", "get": "GetEntity (cached)"}[m]
        print("| %s | %s | %.0f | %.0f%% | %.0f | %.0f | %.1f | %+.0f%% |" % (
            name, c, cps, 100 * cps / base, p50, p99, cpu, 100 * (cpu / base_cpu - 1)))
PYEOF
echo
echo "token verification (bench/auth_verify):"
"$BUILD/bench/auth_verify" 20000
