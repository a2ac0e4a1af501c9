#!/bin/bash
# bench/run.sh: throughput, latency and memory of our gRPC runtime against a
# bare gRPC-core loop, with h2load (nghttp2-client) as the load generator.
#
# Targets (TARGETS, default "bare health get"):
#   bare    bench/bare_server: Health/Check on gRPC core alone, the ceiling
#   bare-minimal  the same with GRPC_ARG_MINIMAL_STACK (not in the default
#           list: no deadline checks, so not comparable; shows what gRPC's
#           default filters cost)
#   KIND+batch  any of the above with the server under SCHED_BATCH
#           (chrt -b 0): no wake-up preemption between its threads
#   health  compact-membership: grpc.health.v1.Health/Check
#   get     compact-membership: GetEntity by id, cached in Redis after the
#           first read (one entity created before the runs)
#   base-health, base-get  the same two on compact-membership built from
#           the git revision BASE_REV (in a worktree of its own): a change
#           measured against what it replaces, in the same interleaved run
#   KIND@CONF  a membership target in another configuration (CONF is one
#           of the names below), e.g. "health health@deployed get get@deployed":
#             info      COMPACT_LOG_LEVEL=info, stderr to /dev/null
#             pipe      COMPACT_LOG_LEVEL=info, stderr to a pipe read by
#                       `cat >/dev/null` on the load CPU (what a container
#                       runtime does)
#             deployed  as the image and compose run it: info, stderr to a
#                       pipe, metrics on (COMPACT_METRICS_LISTEN)
#             noidle    the quiet configuration with COMPACT_MAX_CONNECTION_IDLE_MS=0:
#                       no gRPC max-age filter on the calls, as in revisions
#                       before the idle limit (like for like against a base)
#           Without @CONF a target runs with LOG_LEVEL (warn) and stderr
#           to a file: the quiet configuration.
#
# Each run: a fresh server pinned to CPU $SERVER_CPU, a sanity call through
# Python grpcio (h2load cannot see trailers), idle RSS, a warm-up, then
# h2load -c 8 -m 16 for $DURATION seconds pinned to CPU $LOAD_CPU, peak RSS
# (VmHWM), SIGTERM (exit code must be 0). Targets are interleaved over
# $ROUNDS rounds so that drift in the machine hits all of them alike; the
# table shows the median. Services run with COMPACT_LOG_LEVEL=warn: the cost
# of per-call info logs is not in these figures (LOG_LEVEL=info measures it;
# stderr then goes to a file in the work dir).
#
# Environment: BUILD (build dir, default /tmp/build-bench), BASE_REV and
# BASE_BUILD (default /tmp/build-bench-base) for the base-* targets, DURATION (10),
# WARMUP (3), ROUNDS (3), CONNS (8), STREAMS (16), SERVER_CPU (0),
# LOAD_CPU (1), REDIS_CPU (1), TARGETS, SKIP_BUILD=1, KEEP=1 (keep the work
# dir), PERF=1 (perf record -g on the server during each measured run, kept
# in the work dir), RESULTS_OUT=file (a copy of the raw JSON lines),
# NOISE_MAX (10: percent of a CPU that other processes may use during a run;
# a noisier run is retried up to twice, and flagged), QUIET_WAIT (300: how
# long to wait for a quiet machine before each run), SERVER_WRAP (a command
# put before every server, e.g. "chrt -b 0" to run it SCHED_BATCH), LOG_LEVEL
# (warn: COMPACT_LOG_LEVEL of the services).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH="$ROOT/bench"
BUILD=${BUILD:-/tmp/build-bench}
BASE_REV=${BASE_REV:-}
BASE_BUILD=${BASE_BUILD:-/tmp/build-bench-base}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-8}
STREAMS=${STREAMS:-16}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
REDIS_CPU=${REDIS_CPU:-1}
TARGETS=${TARGETS:-"bare health get"}
NOISE_MAX=${NOISE_MAX:-10}
SERVER_WRAP=${SERVER_WRAP:-}
LOG_LEVEL=${LOG_LEVEL:-warn}
QUIET_WAIT=${QUIET_WAIT:-300}
PY=/usr/bin/python3     # Debian's: python3-grpcio and python3-protobuf live here
WORK=$(mktemp -d /tmp/bench-run.XXXXXX)
export PYDIR="$WORK/py"

SERVER_PID=""
REDIS_PID=""

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

cleanup() {
    [ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null || true
    [ -n "$REDIS_PID" ] && kill -TERM "$REDIS_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    if [ -d "$WORK/base-src" ]; then git -C "$ROOT" worktree remove --force "$WORK/base-src" || true; fi
    if [ "${KEEP:-0}" = 1 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# wants KIND: is KIND (with or without "+batch" or "@CONF") among the targets?
wants() {
    local t
    for t in $TARGETS; do
        t=${t%%@*}
        [ "$t" = "$1" ] || [ "$t" = "$1+batch" ] && return 0
    done
    return 1
}

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

client() { "$PY" "$BENCH/bench_client.py" "$@"; }

# ---- tools and build --------------------------------------------------------
install_tools() {
    if ! command -v h2load >/dev/null; then
        log "installing nghttp2-client (h2load)"
        apt-get install -y nghttp2-client >/dev/null ||
            { apt-get update >/dev/null && apt-get install -y nghttp2-client >/dev/null; }
    fi
    command -v h2load >/dev/null || die "h2load missing"
    [ -x "$PY" ] || die "$PY missing"
    "$PY" -c 'import grpc, google.protobuf' || die "python3-grpcio / python3-protobuf missing"
}

wants_membership() { wants health || wants get || wants base-health || wants base-get; }

# compact-membership of BASE_REV, for the base-* targets.
build_base() {
    [ -n "$BASE_REV" ] || die "the base-* targets need BASE_REV (a git revision)"
    log "building compact-membership of $BASE_REV (Release) in $BASE_BUILD"
    git -C "$ROOT" worktree add --detach "$WORK/base-src" "$BASE_REV" >/dev/null 2>&1 ||
        die "git worktree add $BASE_REV"
    # The sources are this run's (a fresh worktree): CMake refuses a build
    # directory made from another run's.
    rm -rf "$BASE_BUILD"
    cmake -S "$WORK/base-src" -B "$BASE_BUILD" -DCMAKE_BUILD_TYPE=Release -DCOMPACT_TESTS=OFF \
        >"$WORK/cmake-base.log" 2>&1 || { cat "$WORK/cmake-base.log" >&2; die "cmake (base)"; }
    cmake --build "$BASE_BUILD" -j2 --target compact-membership >"$WORK/build-base.log" 2>&1 ||
        { tail -40 "$WORK/build-base.log" >&2; die "cmake --build (base)"; }
}

build() {
    local targets=(bare_server)
    if wants_membership; then targets+=(compact-membership); fi
    if [ "${SKIP_BUILD:-0}" != 1 ] && { wants base-health || wants base-get; }; then build_base; fi
    if [ "${SKIP_BUILD:-0}" != 1 ]; then
        log "building ${targets[*]} (Release) in $BUILD"
        # A build directory made from another checkout: CMake refuses it.
        grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$ROOT" "$BUILD/CMakeCache.txt" 2>/dev/null ||
            rm -rf "$BUILD"
        cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >"$WORK/cmake.log" 2>&1 ||
            { cat "$WORK/cmake.log" >&2; die "cmake configure"; }
        cmake --build "$BUILD" -j2 --target "${targets[@]}" >"$WORK/build.log" 2>&1 ||
            { tail -40 "$WORK/build.log" >&2; die "cmake --build"; }
    fi
    mkdir -p "$PYDIR"
    protoc -I"$ROOT/proto" -I/usr/include --python_out="$PYDIR" \
        grpc/health/v1/health.proto compact/common/v1/provenance.proto \
        compact/membership/v1/membership.proto
}

# ---- processes --------------------------------------------------------------
start_redis() {
    REDIS_PORT=$(free_port)
    taskset -c "$REDIS_CPU" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' \
        --appendonly no --dir "$WORK" --logfile "$WORK/redis.log" &
    REDIS_PID=$!
    for _ in $(seq 100); do
        redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && return 0
        sleep 0.05
    done
    die "redis-server did not answer on port $REDIS_PORT"
}

# The label suffix of configuration CONF (see the header).
conf_label() {
    case $1 in
    "") ;;
    info) echo " [info, stderr /dev/null]" ;;
    pipe) echo " [info, stderr pipe]" ;;
    deployed) echo " [deployed: info, pipe, metrics]" ;;
    noidle) echo " [no idle limit]" ;;
    *) die "unknown configuration @$1" ;;
    esac
}

# start_server KIND[@CONF]: sets SERVER_PID and ADDR, waits until Health says
# SERVING. A KIND ending in "+batch" runs the server with SCHED_BATCH (chrt -b 0).
start_server() {
    local conf="" target=$1
    if [[ "$target" == *@* ]]; then conf=${target#*@}; target=${target%%@*}; fi
    local kind=${target%+batch} port wrap=($SERVER_WRAP) level=$LOG_LEVEL metrics="" errout="$WORK/server.err"
    local idle=""
    [ "$target" = "$kind" ] || wrap=(chrt -b 0)
    case $conf in
    info) level=info errout=/dev/null ;;
    pipe) level=info errout=pipe ;;
    deployed) level=info errout=pipe metrics="127.0.0.1:$(free_port)" ;;
    noidle) idle=0 ;;
    esac
    port=$(free_port)
    ADDR="127.0.0.1:$port"
    if [ "$kind" = bare ] || [ "$kind" = bare-minimal ]; then
        local minimal=()
        [ "$kind" = bare ] || minimal=(--minimal-stack)
        "${wrap[@]}" taskset -c "$SERVER_CPU" "$BUILD/bench/bare_server" --listen "$ADDR" \
            "${minimal[@]}" >"$WORK/server.out" 2>"$WORK/server.err" &
    else
        # The base has a store of its own: ours may be of a newer schema.
        local binary="$BUILD/compact-membership" data="$WORK/data"
        [[ "$kind" == base-* ]] && binary="$BASE_BUILD/compact-membership" data="$WORK/data-base"
        # COMPACT_AUTH=off: the runtime against bare gRPC core, as before
        # tokens existed (older revisions ignore it); what tokens and TLS
        # cost is bench/security.sh's to measure.
        if [ "$errout" = pipe ]; then
            COMPACT_LISTEN="$ADDR" COMPACT_REDIS_ADDR="127.0.0.1:$REDIS_PORT" \
            COMPACT_DATA_DIR="$data" COMPACT_LOG_LEVEL="$level" COMPACT_AUTH=off \
            COMPACT_METRICS_LISTEN="$metrics" \
                env ${idle:+COMPACT_MAX_CONNECTION_IDLE_MS=$idle} "${wrap[@]}" taskset -c "$SERVER_CPU" "$binary" \
                >"$WORK/server.out" 2> >(taskset -c "$LOAD_CPU" cat >/dev/null) &
        else
            COMPACT_LISTEN="$ADDR" COMPACT_REDIS_ADDR="127.0.0.1:$REDIS_PORT" \
            COMPACT_DATA_DIR="$data" COMPACT_LOG_LEVEL="$level" COMPACT_AUTH=off \
            COMPACT_METRICS_LISTEN="$metrics" \
                env ${idle:+COMPACT_MAX_CONNECTION_IDLE_MS=$idle} "${wrap[@]}" taskset -c "$SERVER_CPU" "$binary" \
                >"$WORK/server.out" 2>"$errout" &
        fi
    fi
    SERVER_PID=$!
    client wait "$ADDR" 20 || { cat "$WORK/server.err" >&2 || true; die "$kind did not start"; }
}

stop_server() {
    local rc=0
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" || rc=$?
    SERVER_PID=""
    [ "$rc" = 0 ] || { tail -5 "$WORK/server.err" >&2 || true; die "server exited with $rc after SIGTERM"; }
}

rss_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# Proportional set size: private pages plus each shared page divided by its sharers.
pss_kb() { awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup"; }
proc_ticks() { if [ -n "$1" ]; then awk '{ print $14 + $15 }' "/proc/$1/stat"; else echo 0; fi; }
# busy ticks of the whole machine (user nice system irq softirq)
# plus steal (time the hypervisor gave to other guests): both are lost to us.
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# Other engineers' builds and tests share this machine: wait (up to
# QUIET_WAIT seconds) until the rest of the machine is below NOISE_MAX % of
# one CPU for a second, so that a run does not start in the middle of a build.
wait_quiet() {
    local hz end b0 b1 busy
    hz=$(getconf CLK_TCK)
    end=$((SECONDS + QUIET_WAIT))
    while :; do
        b0=$(machine_ticks)
        sleep 1
        b1=$(machine_ticks)
        busy=$(( 100 * (b1 - b0) / hz ))
        [ "$busy" -le "$NOISE_MAX" ] && return 0
        if [ "$SECONDS" -ge "$end" ]; then
            log "machine still busy (${busy}% of a CPU) after ${QUIET_WAIT}s: measuring anyway"
            return 0
        fi
        log "machine busy (${busy}% of a CPU used by others): waiting"
        sleep 4
    done
}

# ---- one measured run -------------------------------------------------------
h2load_run() {   # h2load_run SECONDS BODY PATH [extra h2load args...]
    local secs=$1 body=$2 path=$3
    shift 3
    taskset -c "$LOAD_CPU" h2load -c "$CONNS" -m "$STREAMS" -D "$secs" -d "$body" \
        -H 'content-type: application/grpc' -H 'te: trailers' "$@" "http://$ADDR$path"
}

# GETs (GETRANGE: the cache bounds what it reads) Redis has served so far (0 without Redis).
redis_gets() {
    if [ -z "$REDIS_PID" ]; then echo 0; return; fi
    redis-cli -p "$REDIS_PORT" info commandstats |
        awk -F'[:=,]' '$1 == "cmdstat_getrange" { n = $3 } END { print n + 0 }'
}

# One measured h2load run against the running server. Sets CPU_SRV, CPU_LOAD,
# CPU_REDIS and CPU_OTHER (percent of one CPU over the run; "other" is what
# the rest of the machine used meanwhile, i.e. noise) and REDIS_GETS.
measured_run() {
    local body=$1 path=$2 tag=$3 s0 s1 r0 r1 m0 m1 g0 perf_pid=""
    if [ "${PERF:-0}" = 1 ]; then
        perf record -g -p "$SERVER_PID" -o "$WORK/perf.$tag.data" -- sleep "$DURATION" \
            >/dev/null 2>&1 &
        perf_pid=$!
    fi
    s0=$(proc_ticks "$SERVER_PID"); r0=$(proc_ticks "$REDIS_PID"); m0=$(machine_ticks)
    g0=$(redis_gets)
    local TIMEFORMAT='%U %S %R'
    { time h2load_run "$DURATION" "$body" "$path" --log-file "$WORK/lat.$tag.tsv" \
        >"$WORK/h2load.$tag.txt" 2>&1; } 2>"$WORK/time.$tag.txt" || die "h2load on $tag"
    s1=$(proc_ticks "$SERVER_PID"); r1=$(proc_ticks "$REDIS_PID"); m1=$(machine_ticks)
    REDIS_GETS=$(($(redis_gets) - g0))
    if [ -n "$perf_pid" ]; then wait "$perf_pid" || true; fi
    read -r CPU_SRV CPU_LOAD CPU_REDIS CPU_OTHER < <(
        awk -v s="$((s1 - s0))" -v r="$((r1 - r0))" -v m0="$m0" -v m1="$m1" \
            -v hz="$(getconf CLK_TCK)" -v perf="${PERF:-0}" '{
            wall = $3; load = ($1 + $2) * hz
            other = (m1 - m0) - s - r - load
            if (perf == 1) other = 0   # perf itself would count as noise
            if (other < 0) other = 0
            printf "%.0f %.0f %.0f %.0f\n", 100 * s / hz / wall, 100 * load / hz / wall,
                100 * r / hz / wall, 100 * other / hz / wall }' "$WORK/time.$tag.txt")
}

# measure KIND LABEL BODY PATH MSGLEN
measure() {
    local kind=$1 label=$2 body=$3 path=$4 msglen=$5 idle anon pss peak tag=$kind.$round
    idle=$(rss_kb "$SERVER_PID" VmRSS)
    anon=$(rss_kb "$SERVER_PID" RssAnon)
    pss=$(pss_kb "$SERVER_PID")
    h2load_run "$WARMUP" "$body" "$path" >"$WORK/warmup.$tag.txt" ||
        die "h2load warm-up of $label"
    local attempt
    for attempt in 1 2 3; do
        wait_quiet
        measured_run "$body" "$path" "$tag"
        [ "$CPU_OTHER" -le "$NOISE_MAX" ] && break
        log "$label: the rest of the machine used ${CPU_OTHER}% of a CPU during the run" \
            "(attempt $attempt)"
    done
    peak=$(rss_kb "$SERVER_PID" VmHWM)
    client summarise "$label" "$WORK/h2load.$tag.txt" "$WORK/lat.$tag.tsv" "$idle,$anon,$pss" "$peak" \
        "$msglen" "$CPU_SRV" "$CPU_LOAD" "$CPU_REDIS" "$CPU_OTHER" "$REDIS_GETS" \
        >>"$WORK/results.jsonl" ||
        { tail -1 "$WORK/results.jsonl" >&2; die "replies of $label were not all good"; }
    log "$(tail -1 "$WORK/results.jsonl")"
    [ "${KEEP:-0}" = 1 ] || rm -f "$WORK/lat.$tag.tsv"
}

HEALTH_PATH=/grpc.health.v1.Health/Check
GET_PATH=/compact.membership.v1.Membership/GetEntity

run_target() {
    local target=$1 conf="" kind base suffix=""
    if [[ "$target" == *@* ]]; then conf=${target#*@}; fi
    kind=${target%%@*}
    base=${kind%+batch}
    [ "$kind" = "$base" ] || suffix=" [SCHED_BATCH]"
    suffix="$suffix$(conf_label "$conf")"
    start_server "$target"
    kind="$kind${conf:+-$conf}"   # file names of this run
    case $base in
    bare | bare-minimal)
        client check "$ADDR" >&2 || die "sanity call to the bare server"
        local label="bare gRPC-core loop Health/Check"
        [ "$base" = bare ] || label="bare loop, minimal stack (info)"
        measure "$kind" "$label$suffix" "$WORK/health.bin" "$HEALTH_PATH" "$HEALTH_LEN" ;;
    health)
        client check "$ADDR" >&2 || die "sanity call to membership Health/Check"
        measure "$kind" "membership Health/Check$suffix" "$WORK/health.bin" "$HEALTH_PATH" \
            "$HEALTH_LEN" ;;
    get)
        client get "$ADDR" "$ENTITY_ID" >&2 || die "sanity call to GetEntity"
        measure "$kind" "membership GetEntity (cached)$suffix" "$WORK/get.bin" "$GET_PATH" \
            "$GET_LEN" ;;
    base-health)
        client check "$ADDR" >&2 || die "sanity call to the base's Health/Check"
        measure "$kind" "membership Health/Check [base]$suffix" "$WORK/health.bin" \
            "$HEALTH_PATH" "$HEALTH_LEN" ;;
    base-get)
        client get "$ADDR" "$BASE_ENTITY_ID" >&2 || die "sanity call to the base's GetEntity"
        measure "$kind" "membership GetEntity (cached) [base]$suffix" "$WORK/get-base.bin" \
            "$GET_PATH" "$BASE_GET_LEN" ;;
    *) die "unknown target $kind" ;;
    esac
    stop_server
}

# The entity GetEntity reads, and the size of the replies (to check that every
# 2xx carried exactly one message: an error status would carry none).
prepare() {
    client body-health "$WORK/health.bin"
    HEALTH_LEN=1
    if wants bare || wants bare-minimal; then
        start_server bare
        HEALTH_LEN=$(client reply-len health "$ADDR")
        stop_server
    fi
    if wants_membership; then
        start_redis
        mkdir -p "$WORK/data" "$WORK/data-base"
        start_server health
        HEALTH_LEN=$(client reply-len health "$ADDR")
        if wants get || wants base-get; then
            ENTITY_ID=$(client create "$ADDR") || die "CreateEntity"
            client body-get "$WORK/get.bin" "$ENTITY_ID"
            GET_LEN=$(client reply-len get "$ADDR" "$ENTITY_ID")
        fi
        stop_server
        if wants base-get; then
            start_server base-health
            BASE_ENTITY_ID=$(client create "$ADDR") || die "CreateEntity on the base"
            client body-get "$WORK/get-base.bin" "$BASE_ENTITY_ID"
            BASE_GET_LEN=$(client reply-len get "$ADDR" "$BASE_ENTITY_ID")
            stop_server
        fi
    fi
}

machine() {
    echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine:  $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)," \
        "$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM," \
        "kernel $(uname -r)$(lscpu 2>/dev/null | awk -F': *' '/Hypervisor vendor/ { printf ", virtual machine (%s)", $2 }')"
    echo "versions: $(dpkg-query -W -f='${Package} ${Version}, ' libgrpc-dev libprotobuf-c-dev \
        libuv1-dev libhiredis-dev libsqlite3-dev redis-server nghttp2-client 2>/dev/null)gcc" \
        "$(gcc -dumpfullversion)"
    echo "git:      $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')" \
        "$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo '(work tree has changes)')"
    echo "load:     h2load -c $CONNS -m $STREAMS -D $DURATION (after a ${WARMUP}s warm-up) on CPU" \
        "$LOAD_CPU; server on CPU $SERVER_CPU; redis-server on CPU $REDIS_CPU;" \
        "$ROUNDS rounds; COMPACT_LOG_LEVEL=$LOG_LEVEL${SERVER_WRAP:+; servers run under '$SERVER_WRAP'}"
    [ -z "$BASE_REV" ] || echo "base:     [base] targets: compact-membership of $BASE_REV" \
        "($(git -C "$ROOT" rev-parse --short "$BASE_REV"))"
}

main() {
    install_tools
    build
    prepare
    for round in $(seq "$ROUNDS"); do
        for kind in $TARGETS; do
            log "round $round: $kind"
            run_target "$kind"
        done
    done
    echo
    machine
    echo
    client table "$WORK/results.jsonl"
    if [ -n "${RESULTS_OUT:-}" ]; then cp "$WORK/results.jsonl" "$RESULTS_OUT"; fi
}

main "$@"
