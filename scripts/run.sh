#!/usr/bin/env bash
# The run command (README): installs what is missing, builds, starts Redis and
# every service on 127.0.0.1 with their data under .run/, loads the seed data
# and prints the endpoints. Idempotent: a second run restarts the services on
# the new build and keeps their data. Stop everything with: scripts/run.sh stop
#
# Security as deployed, with local secrets: dev keys and a Redis password
# under .run/secrets (scripts/dev-secrets.sh, kept across runs), tokens
# required by every service, Redis with an ACL user. The services speak
# plaintext gRPC on 127.0.0.1 (COMPACT_TLS_* are the deployment's; the
# certificates are in .run/secrets/tls for a try). .run/env exports a
# secretariat token for compactctl: `. .run/env`.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
run_dir="$top/.run"
services=(membership workgroups projects committee analytics)   # in start order: each after its peers
declare -A ports=([membership]=50051 [workgroups]=50052 [projects]=50053 [analytics]=50054
               [committee]=50055)
# Prometheus GET /metrics of each service (COMPACT_METRICS_LISTEN), one port each.
declare -A metrics_ports=([membership]=9451 [workgroups]=9452 [projects]=9453 [analytics]=9454
                       [committee]=9455)
# The analytics dashboard (COMPACT_HTTP_LISTEN).
dashboard_port=8054
redis_port=${COMPACT_REDIS_PORT:-6379}

stop_all() {
  for pidfile in "$run_dir"/*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$pidfile"
  done
}

if [ "${1:-}" = stop ]; then
  stop_all
  echo "stopped"
  exit 0
fi

scripts/deps.sh run
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOMPACT_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)"

mkdir -p "$run_dir/data" "$run_dir/logs" "$run_dir/redis"
secrets="$run_dir/secrets"
scripts/dev-secrets.sh "$secrets" >/dev/null
# Services first, Redis last: a service never needs Redis to stop cleanly.
for s in "${services[@]}"; do
  [ -e "$run_dir/$s.pid" ] && kill -TERM "$(cat "$run_dir/$s.pid")" 2>/dev/null || true
done
for s in "${services[@]}"; do
  pidfile="$run_dir/$s.pid"
  for _ in $(seq 1 150); do
    [ -e "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null || break
    sleep 0.1
  done
  rm -f "$pidfile"
done

# Our Redis, with the ACL user "compact" alone (the password never on a
# command line: redis-cli reads REDISCLI_AUTH). One started by an older run
# without the ACL is restarted with it.
redis_ok() { REDISCLI_AUTH=$(cat "$secrets/redis/password") redis-cli --no-auth-warning \
               --user compact -p "$redis_port" ping 2>/dev/null | grep -q PONG; }
if ! redis_ok && [ -e "$run_dir/redis.pid" ] && kill -0 "$(cat "$run_dir/redis.pid")" 2>/dev/null; then
  kill -TERM "$(cat "$run_dir/redis.pid")"
  for _ in $(seq 1 100); do kill -0 "$(cat "$run_dir/redis.pid")" 2>/dev/null || break; sleep 0.1; done
fi
if ! redis_ok; then
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$run_dir/redis" \
    --appendonly yes --appendfsync everysec --daemonize yes \
    --aclfile "$secrets/redis/users.acl" \
    --pidfile "$run_dir/redis.pid" --logfile "$run_dir/logs/redis.log"
  for _ in $(seq 1 50); do redis_ok && break; sleep 0.1; done
fi

export COMPACT_AUTH_KEYS_FILE="$secrets/auth/keys.json"
export COMPACT_AUTH_SERVICE_KEY_FILE="$secrets/auth/service.pem" COMPACT_AUTH_SERVICE_KID=service
export COMPACT_REDIS_USER=compact COMPACT_REDIS_PASSWORD_FILE="$secrets/redis/password"
# A secretariat token for this machine's operator, 12 hours.
COMPACT_TOKEN=$(build/compactctl token issue --key "$secrets/auth/dev.pem" --kid dev \
  --subject "$(id -un)@$(uname -n)" --role secretariat --ttl 43200)
export COMPACT_TOKEN
(umask 077; printf 'export COMPACT_TOKEN=%s\n' "$COMPACT_TOKEN" >"$run_dir/env")

export COMPACT_REDIS_ADDR="127.0.0.1:$redis_port"
export COMPACT_DATA_DIR="$run_dir/data"
for s in "${!ports[@]}"; do
  export "COMPACT_$(echo "$s" | tr a-z A-Z)_ADDR=127.0.0.1:${ports[$s]}"
done
for s in "${services[@]}"; do
  COMPACT_LISTEN="127.0.0.1:${ports[$s]}" COMPACT_HTTP_LISTEN="127.0.0.1:$dashboard_port" \
    COMPACT_METRICS_LISTEN="127.0.0.1:${metrics_ports[$s]}" nohup "build/compact-$s" \
    >>"$run_dir/logs/$s.log" 2>&1 &
  echo $! >"$run_dir/$s.pid"
  for _ in $(seq 1 100); do
    build/compactctl --addr "127.0.0.1:${ports[$s]}" health >/dev/null 2>&1 && break
    sleep 0.1
  done
  build/compactctl --addr "127.0.0.1:${ports[$s]}" health >/dev/null ||
    { echo "compact-$s did not become healthy; see $run_dir/logs/$s.log" >&2; exit 1; }
done

COMPACT_SEED_DIR="$top/seed" build/compactctl seed

echo
echo "Compact is running:"
for s in "${services[@]}"; do
  printf '  %-12s grpc://127.0.0.1:%s   metrics: http://127.0.0.1:%s/metrics   log: .run/logs/%s.log\n' \
    "$s" "${ports[$s]}" "${metrics_ports[$s]}" "$s"
done
printf '  %-12s redis://127.0.0.1:%s\n' redis "$redis_port"
echo
echo "Dashboard: http://127.0.0.1:$dashboard_port/"
echo
echo "Every call needs a token. For a secretariat token (12 hours) in this shell:"
echo "  . .run/env"
echo "Others: build/compactctl token issue --key .run/secrets/auth/dev.pem --subject WHO --role ROLE"
echo "Try: build/compactctl entities list     Stop: scripts/run.sh stop"
