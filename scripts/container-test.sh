#!/usr/bin/env bash
# container-test.sh: build the Compact image and run the suite as containers,
# the way it is deployed, with Podman. Prints one line per check and a closing
# "container-test: N passed, M failed" and PASS/FAIL; exits non-zero on failure.
#
#   sudo scripts/container-test.sh            (root: podman, debootstrap, apt-get)
#
# Stages:
#   1. installs what is missing (scripts/deps.sh containers: podman, runc,
#      podman-compose, debootstrap ...); kubectl with kustomize must already be
#      at /usr/bin/kubectl
#   2. makes the Debian base images locally (scripts/podman-base-image.sh,
#      cached under /var/cache/compact-podman) and builds docker/Dockerfile:
#      the runtime image (unit tests run inside the build) and the redis target
#   3. docker/compose.yaml with podman-compose: waits for every healthcheck,
#      drives compactctl (from the image) through ports published on
#      127.0.0.1, seeds the suite and finds the seed in analytics' figures
#      (asked inside the container network too) and on its dashboard (GET /,
#      /healthz, /api/overview, Chart.js from the binary), stops membership
#      (calls get UNAVAILABLE, the container exits 0 on SIGTERM) and starts it
#      again; stops Redis (the services keep serving, reads and writes);
#      restarts the whole suite and checks that the SQLite data and the Redis
#      AOF survived
#   4. k8s/overlays/dev through `podman kube play` (tests/containers/
#      kube_for_podman.py makes the Pods and volumes podman can play) until the
#      pods are healthy and answer
#   5. tests/containers/check_manifests.py on both overlays, and its self-test
#
# Network: the containers share only the Podman network this script creates
# and resolve names only through its resolver; this script reaches them only
# through ports published on 127.0.0.1. The image
# build's steps run in Podman's default build namespace: apt-get reaches the
# configured Debian mirror, and the unit tests' own redis-server listens on
# that namespace's 127.0.0.1.
#
# Adding a service: the compose services and k8s StatefulSets whose command is
# compact-<name> are found by themselves; write scenario_<name>_write and
# scenario_<name>_check below for its client scenario.
#
# Environment: COMPACT_CT_KEEP=1 leaves the containers after a failure;
# COMPACT_CT_PROJECT names the compose project (default compact-ct).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROJECT=${COMPACT_CT_PROJECT:-compact-ct}
KPREFIX=${PROJECT}-k-
NETWORK=${PROJECT}_default
IMAGE=localhost/compact:latest
REDIS_IMAGE=localhost/compact-redis:latest
BUILD_IMAGE=localhost/compact-build:latest
COMPOSE_FILE=$ROOT/docker/compose.yaml
PY=/usr/bin/python3
KUBECTL=/usr/bin/kubectl
HEALTH_DEADLINE=${COMPACT_CT_HEALTH_DEADLINE:-180}   # seconds before giving up on a wait

WORK=$(mktemp -d /tmp/compact-ct.XXXXXX)
PASSED=0
FAILED=0
SERVICES=()
declare -A HOST_PORT=() STEP_TIME=()
DASHBOARD_PORT=""   # analytics' HTTP port published by compose (COMPACT_ANALYTICS_HTTP_PORT)
IMAGE_MB="?"

# --- reporting --------------------------------------------------------------
say() { printf '%s\n' "$*"; }
step() { say "== [$(printf '%4d' "$SECONDS")s] $*"; }
pass() { PASSED=$((PASSED + 1)); say "  ok   $*"; }
# A failed check ends the run: later stages depend on earlier ones.
fail() {
    FAILED=$((FAILED + 1))
    say "  FAIL $*"
    diagnostics
    finish
}
check() {  # check DESCRIPTION COMMAND...: passes if COMMAND exits 0
    local what=$1
    shift
    if "$@" >"$WORK/check.out" 2>&1; then pass "$what"; else
        sed 's/^/       /' "$WORK/check.out" | tail -20
        fail "$what"
    fi
}
timed() {  # timed NAME COMMAND...: runs a stage and records its duration
    local name=$1 start=$SECONDS
    shift
    "$@"
    STEP_TIME[$name]=$((SECONDS - start))
}

diagnostics() {
    say "-- diagnostics"
    podman ps -a --format '{{.Names}} {{.Status}}' 2>/dev/null | grep -F "$PROJECT" | sed 's/^/   /'
    local c
    for c in $(podman ps -a --format '{{.Names}}' 2>/dev/null | grep -F "$PROJECT"); do
        say "   -- logs of $c (last 15 lines)"
        podman logs --tail 15 "$c" 2>&1 | sed 's/^/      /'
    done
}

cleanup() {
    if [ "$FAILED" -gt 0 ] && [ "${COMPACT_CT_KEEP:-}" = 1 ]; then
        say "(COMPACT_CT_KEEP=1: containers, pods and volumes of $PROJECT left in place)"
        return
    fi
    local ids
    [ -f "$WORK/play.yaml" ] && podman kube down "$WORK/play.yaml" >/dev/null 2>&1
    ids=$(podman pod ps -q --filter "name=^$KPREFIX" 2>/dev/null)
    [ -n "$ids" ] && podman pod rm -f $ids >/dev/null 2>&1
    ids=$(podman ps -aq --filter "label=io.podman.compose.project=$PROJECT" 2>/dev/null)
    [ -n "$ids" ] && podman rm -f -t 0 $ids >/dev/null 2>&1
    ids=$(podman volume ls -q --filter "label=io.podman.compose.project=$PROJECT" 2>/dev/null)
    [ -n "$ids" ] && podman volume rm -f $ids >/dev/null 2>&1
    ids=$(podman volume ls -q --filter "name=^$KPREFIX" 2>/dev/null)
    [ -n "$ids" ] && podman volume rm -f $ids >/dev/null 2>&1
    podman network rm -f "$NETWORK" >/dev/null 2>&1
    return 0
}

finish() {
    trap - EXIT
    cleanup
    rm -rf "$WORK"
    local name times=""
    for name in tools manifests base-images build compose kube; do
        [ -n "${STEP_TIME[$name]:-}" ] && times+=" $name ${STEP_TIME[$name]}s"
    done
    say "container-test: image $IMAGE ${IMAGE_MB} MB; times:${times}; total ${SECONDS}s"
    say "container-test: $PASSED passed, $FAILED failed"
    if [ "$FAILED" -eq 0 ]; then say "container-test: PASS"; exit 0; fi
    say "container-test: FAIL"
    exit 1
}
trap 'say "  FAIL interrupted"; FAILED=$((FAILED + 1)); finish' EXIT INT TERM

# --- 1. tools ---------------------------------------------------------------
# shellcheck source=podman-conf.sh
. "$ROOT/scripts/podman-conf.sh"
containers_conf() { podman_conf "$WORK" "$@"; }

install_tools() {
    step "tools"
    [ "$(id -u)" = 0 ] || fail "run as root (podman storage, debootstrap, apt-get)"
    "$ROOT/scripts/deps.sh" containers >"$WORK/apt.log" 2>&1 ||
        { tail -20 "$WORK/apt.log"; fail "scripts/deps.sh containers"; }
    pass "packages present: $("$ROOT/scripts/deps.sh" --list containers | tr '\n' ' ')"
    [ -x "$KUBECTL" ] && "$KUBECTL" kustomize --help >/dev/null 2>&1 ||
        fail "kubectl with kustomize is missing at $KUBECTL (Debian's kubernetes-client" \
             "conflicts with it; install kubectl 1.32 from the Kubernetes project)"
    "$PY" -c 'import yaml' 2>/dev/null || fail "PyYAML missing for $PY"
    containers_conf
    check "podman $(podman version -f '{{.Client.Version}}' 2>/dev/null) runs with runc" \
        sh -c 'podman info -f "{{.Host.OCIRuntime.Name}}" | grep -qx runc'
}

# --- 2. images --------------------------------------------------------------
build_images() {
    step "base images (debootstrap, cached)"
    timed base-images check "local debian:bookworm and debian:bookworm-slim" \
        "$ROOT/scripts/podman-base-image.sh"
    step "build the images (unit tests run in the build stage)"
    local start=$SECONDS
    # The build stage is tagged too, so its layers stay the cache of the next
    # run and only superseded layers become dangling (pruned below).
    if podman build --pull=never -f "$ROOT/docker/Dockerfile" --target build \
        -t "$BUILD_IMAGE" "$ROOT" >"$WORK/build.log" 2>&1; then
        local tests
        tests=$(grep -Eo '[0-9]+% tests passed.*' "$WORK/build.log" | tail -1)
        pass "build stage: compiled, unit tests passed (${tests:-layer cached: same sources})"
    else
        grep -E -B4 'error:|undefined reference|\*\*\*|FAILED|Failed|tests passed' \
            "$WORK/build.log" | tail -40 | sed 's/^/       /'
        fail "podman build --target build (compile and unit tests)"
    fi
    check "podman build docker/Dockerfile -> $IMAGE" \
        podman build --pull=never -f "$ROOT/docker/Dockerfile" -t "$IMAGE" "$ROOT"
    check "podman build --target redis -> $REDIS_IMAGE" \
        podman build --pull=never -f "$ROOT/docker/Dockerfile" --target redis \
        -t "$REDIS_IMAGE" "$ROOT"
    podman image prune -f --filter label=io.compact.image >/dev/null 2>&1
    STEP_TIME[build]=$((SECONDS - start))
    local bytes user
    bytes=$(podman image inspect -f '{{.Size}}' "$IMAGE")
    IMAGE_MB=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1000000 }')
    say "  image size: $IMAGE_MB MB ($bytes bytes)"
    check "image size $IMAGE_MB MB is under 120 MB" test "$bytes" -lt 120000000
    user=$(podman image inspect -f '{{.Config.User}}' "$IMAGE")
    check "image runs as uid 10001 (USER $user)" test "$user" = "10001:10001"
}

# --- helpers ----------------------------------------------------------------
free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# compactctl from the image, on the host's network namespace: it reaches the
# services only through the ports published on 127.0.0.1. ctl_stdin also
# passes standard input on (--from-json -).
# Security (docs/DEPLOY.md): SECRETS is the directory of the suite under
# test's secrets (scripts/dev-secrets.sh); compactctl gets it mounted, the
# client certificate and a secretariat token ($TOKEN, minted per stage).
SECRETS=""
TOKEN=""
use_secrets() {
    SECRETS=$1
    TOKEN=$(podman run --rm -v "$SECRETS:/run/secrets/compact:ro" "$IMAGE" compactctl token issue \
        --key /run/secrets/compact/auth/dev.pem --kid dev --subject container-test \
        --role secretariat --ttl 7200) || fail "compactctl token issue"
    # redis-cli inside the Redis container, as the ACL user (password from the file).
    printf '%s\n' '#!/bin/sh' 'c=$1; shift' \
        "exec podman exec -e REDISCLI_AUTH=\"\$(cat '$SECRETS/redis/password')\" \"\$c\" redis-cli --no-auth-warning --user compact \"\$@\"" \
        >"$WORK/rcli"
    chmod 700 "$WORK/rcli"
}
# The dev overlay with Secrets made for the pods kube play makes (their names
# in the certificates), in a copy under $WORK: the tree's own is untouched.
dev_overlay() {
    if [ ! -d "$WORK/k8s" ]; then
        cp -r "$ROOT/k8s" "$WORK/k8s"
        rm -rf "$WORK/k8s/overlays/dev/secrets"
        DEV_SECRETS_EXTRA_SAN="${KPREFIX}%s-0" "$ROOT/scripts/dev-secrets.sh" --readable \
            "$WORK/k8s/overlays/dev/secrets" >/dev/null || fail "dev-secrets.sh"
    fi
    echo "$WORK/k8s/overlays/dev"
}
ctl() { ctl_run "" "$@"; }
ctl_stdin() { ctl_run -i "$@"; }
ctl_run() {
    local flags=(--rm --network=host --read-only) s
    [ -n "$1" ] && flags+=("$1")
    shift
    for s in "${SERVICES[@]}"; do
        flags+=(-e "COMPACT_${s^^}_ADDR=127.0.0.1:${HOST_PORT[$s]}")
    done
    flags+=(-v "$SECRETS:/run/secrets/compact:ro" -e COMPACT_TOKEN="$TOKEN"
            -e COMPACT_TLS_CA=/run/secrets/compact/tls/ca.pem
            -e COMPACT_TLS_CERT=/run/secrets/compact/tls/client.pem
            -e COMPACT_TLS_KEY=/run/secrets/compact/tls/client.key)
    podman run "${flags[@]}" "$IMAGE" compactctl --timeout-ms 5000 "$@"
}

# Waits until every named container's healthcheck passes (podman runs them
# only on demand here: there is no systemd to time them).
wait_healthy() {
    local c deadline=$((SECONDS + HEALTH_DEADLINE)) state
    for c in "$@"; do
        until podman healthcheck run "$c" >/dev/null 2>&1; do
            state=$(podman inspect -f '{{.State.Status}}' "$c" 2>/dev/null)
            [ "$state" = running ] || { say "$c is ${state:-gone}"; return 1; }
            [ "$SECONDS" -lt "$deadline" ] || { say "$c: no healthy check"; return 1; }
            sleep 0.5
        done
    done
}

# Every line a service wrote on stderr is a JSON object.
json_logs() {
    podman logs "$1" 2>&1 | "$PY" -c '
import json, sys
lines = [l for l in sys.stdin if l.strip()]
assert lines, "no log lines"
for l in lines:
    assert isinstance(json.loads(l), dict), l
print(len(lines), "JSON lines")'
}

# Polls until `ctl "$@"` succeeds (a restarted service answers).
ctl_until_ok() {
    local deadline=$((SECONDS + HEALTH_DEADLINE))
    until ctl "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || { ctl "$@"; return 1; }
        sleep 0.5
    done
}

# expect_call_fails PATTERN COMMAND...: the command exits 1 (compactctl: the
# call failed) and its output matches PATTERN (the status code).
expect_call_fails() {
    local pattern=$1 rc=0
    shift
    "$@" >"$WORK/fail.out" 2>&1 || rc=$?
    cat "$WORK/fail.out"
    [ "$rc" = 1 ] && grep -Eq "$pattern" "$WORK/fail.out"
}

# Exit 1 with UNAVAILABLE on stderr: the service is down, not broken.
expect_unavailable() { expect_call_fails UNAVAILABLE ctl "$@"; }

redis_cli() { "$WORK/rcli" "$@"; }

# --- client scenarios, one set per service -----------------------------------
# scenario_<name>_write TAG: creates something through the containers;
# scenario_<name>_check TAG: reads it back (after restarts too);
# scenario_<name>_peer_down TAG (optional): while membership is stopped, a
#   call of <name> that needs it fails fast;
# scenario_<name>_peer_back TAG TRY (optional): one such call, polled until it
#   passes once membership is back (each TRY must stand on its own).
# The services run in the order of docker/compose.yaml, so a later service's
# scenario may use what an earlier one made under the same TAG.
entity_acronym() { printf 'CT%s' "$1" | tr '[:lower:]' '[:upper:]' | tr -cd 'A-Z0-9' | cut -c1-12; }

scenario_membership_write() {
    local acr
    acr=$(entity_acronym "$1")
    ctl --json entities create --acronym "$acr" --name "Container test entity $1" \
        --kind observer --joined 2024-01-15 --focal "Ada Test|Focal point|ada@example.org" \
        >"$WORK/entity-$1.json" || return 1
    "$PY" -c 'import json,sys; e = json.load(open(sys.argv[1])); assert e["id"], e' \
        "$WORK/entity-$1.json"
}

scenario_membership_check() {
    local acr
    acr=$(entity_acronym "$1")
    ctl --json entities get "$acr" >"$WORK/got-$1.json" || return 1
    "$PY" - "$WORK/entity-$1.json" "$WORK/got-$1.json" <<'EOF'
import json, sys
made, got = (json.load(open(p)) for p in sys.argv[1:3])
for key in ("id", "acronym", "name", "kind"):
    assert made[key] == got[key], (key, made[key], got[key])
print("read back", got["id"], got["acronym"])
EOF
}

group_code() { printf 'CT%s' "$1" | tr '[:lower:]' '[:upper:]' | tr -cd 'A-Z0-9' | cut -c1-10; }

# A group with the scenario's entity as a member: workgroups checks the entity
# with membership over the container network.
scenario_workgroups_write() {
    local code
    code=$(group_code "$1")
    ctl --json groups create --code "$code" --title "Container test group $1" --pillar I \
        --pillar IV >"$WORK/group-$1.json" || return 1
    ctl --json groups add-member "$code" "$(entity_acronym "$1")" >/dev/null || return 1
    # A second entity, not in the group, for scenario_workgroups_peer_down.
    ctl --json entities create --acronym "$(entity_acronym "$1")S" --kind observer \
        --name "Container test spare entity $1" >"$WORK/spare-$1.json"
}

scenario_workgroups_check() {
    ctl --json groups get "$(group_code "$1")" >"$WORK/group-got-$1.json" || return 1
    "$PY" - "$WORK/group-$1.json" "$WORK/group-got-$1.json" "$WORK/entity-$1.json" <<'EOF'
import json, sys
made, got, entity = (json.load(open(p)) for p in sys.argv[1:4])
for key in ("id", "code", "title"):
    assert made[key] == got[key], (key, made[key], got[key])
members = [m["entityId"] for m in got.get("members", [])]
assert entity["id"] in members, (entity["id"], members)
print("read back", got["id"], got["code"], "members", members)
EOF
}

# While membership is down: a call that needs it fails fast, UNAVAILABLE or
# DEADLINE_EXCEEDED (issue 3: a stopped container's address may not refuse a
# connection, so the peer deadline can be what ends the call).
# (A new member, so that workgroups must ask membership; by id, since
# compactctl itself would ask membership to resolve an acronym.)
scenario_workgroups_peer_down() {
    expect_call_fails 'UNAVAILABLE|DEADLINE_EXCEEDED' \
        ctl groups add-member "$(group_code "$1")" "$(json_field "$WORK/spare-$1.json" id)"
}

# One try, polled until it passes once membership is back: a new entity
# joins the group, which workgroups checks with membership.
scenario_workgroups_peer_back() {  # TAG TRY
    ctl --json entities create --acronym "$(entity_acronym "$1")R$2" --kind observer \
        --name "Container test entity $1, try $2" >"$WORK/entity-back.json" || return 1
    ctl groups add-member "$(group_code "$1")" "$(json_field "$WORK/entity-back.json" id)"
}

json_field() { "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }

# A project draft (proto3 JSON) led by the scenario's entity in its group.
project_json() {  # project_json TAG IATI_SUFFIX
    "$PY" - "$WORK/entity-$1.json" "$WORK/group-$1.json" "$(group_code "$1")$2" <<'EOF'
import json, sys
entity, group = (json.load(open(p)) for p in sys.argv[1:3])
print(json.dumps({
    "iatiIdentifier": "XM-COMPACT-" + sys.argv[3], "reportingOrgRef": "XM-COMPACT",
    "title": "Container test project " + sys.argv[3],
    "summary": "Made by scripts/container-test.sh through the containers.",
    "workingGroupIds": [group["id"]],
    "participants": [{"entityId": entity["id"], "role": "ORGANISATION_ROLE_IMPLEMENTING"}],
    "globalScope": True, "pillars": ["STRATEGY_PILLAR_I"],
    "startDate": "2024-01-01", "status": "ACTIVITY_STATUS_IMPLEMENTATION"}))
EOF
}

# A project naming the scenario's entity and group: projects checks both with
# membership and workgroups over the container network.
scenario_projects_write() {
    project_json "$1" "" | ctl_stdin --json projects create --from-json - \
        >"$WORK/project-$1.json"
}

scenario_projects_check() {
    ctl --json projects get "XM-COMPACT-$(group_code "$1")" >"$WORK/project-got-$1.json" ||
        return 1
    "$PY" - "$WORK/project-$1.json" "$WORK/project-got-$1.json" "$WORK/entity-$1.json" \
        "$WORK/group-$1.json" <<'EOF'
import json, sys
made, got, entity, group = (json.load(open(p)) for p in sys.argv[1:5])
made = made.get("project", made)   # CreateProjectResponse or the Project itself
for key in ("id", "iatiIdentifier", "title"):
    assert made[key] == got[key], (key, made[key], got[key])
assert got["workingGroupIds"] == [group["id"]], got["workingGroupIds"]
assert [p["entityId"] for p in got["participants"]] == [entity["id"]], got["participants"]
print("read back", got["id"], got["iatiIdentifier"])
EOF
    if [ -f "$WORK/draft-$1.refused" ]; then
        expect_call_fails NOT_FOUND ctl projects get "XM-COMPACT-$(group_code "$1")D"
    fi
}

scenario_projects_peer_back() {  # TAG TRY
    project_json "$1" "R$2" | ctl_stdin projects create --from-json -
}

scenario_projects_peer_down() {
    project_json "$1" D >"$WORK/draft-$1.json" || return 1
    expect_call_fails 'UNAVAILABLE|DEADLINE_EXCEEDED' \
        ctl_stdin projects create --from-json - <"$WORK/draft-$1.json" || return 1
    touch "$WORK/draft-$1.refused"   # scenario_projects_check: nothing was written
}

# analytics: a rate of its own (its store), and the scenario's project seen
# in its figures (the projects service's events, through Redis).
rate_date() {  # a valid-from date per tag: 2031-01-01, 2031-02-01, ...
    case "$1" in first) echo 2031-01-01 ;; second) echo 2031-02-01 ;; *) echo 2031-03-01 ;; esac
}

scenario_analytics_write() {
    ctl --json analytics rates put --currency NZD --valid-from "$(rate_date "$1")" \
        --usd 0.612345 --note "container test $1" >"$WORK/rate-$1.json"
}

# Polls: the figures follow the events with a lag, and after a restart the
# consumer first catches up.
scenario_analytics_check() {
    local deadline=$((SECONDS + HEALTH_DEADLINE))
    until analytics_has_scenario "$1" >"$WORK/analytics-$1.out" 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || { cat "$WORK/analytics-$1.out"; return 1; }
        sleep 1
    done
    cat "$WORK/analytics-$1.out"
}

analytics_has_scenario() {
    ctl --json analytics rates list --currency NZD >"$WORK/rates-got-$1.json" || return 1
    ctl --json analytics funding --by group >"$WORK/funding-$1.json" || return 1
    "$PY" - "$WORK/rates-got-$1.json" "$(rate_date "$1")" "$WORK/funding-$1.json" \
        "$(group_code "$1")" <<'EOF'
import json, sys
rates, date, funding, code = (json.load(open(sys.argv[1])), sys.argv[2],
                              json.load(open(sys.argv[3])), sys.argv[4])
held = [r for r in rates if r["validFrom"] == date]
assert held and held[0]["usdMicros"] == "612345", (date, rates)
rows = {r.get("label"): r for r in funding.get("rows", [])}
# The scenario's project, and those projects_peer_back adds to the group.
assert code in rows and int(rows[code].get("projects", 0)) >= 1, (code, sorted(rows))
print("rate", date, "held; group", code, "with", rows[code]["projects"], "project(s)")
EOF
}

# The seed in analytics: its rates, and every seeded project in the figures,
# asked from inside the container network (by the compose service's name).
seed_projects() {
    "$PY" -c 'import json, sys; print(sum(e["method"] == "CreateProject"
              for e in json.load(open(sys.argv[1]))))' "$ROOT/seed/projects/projects.json"
}

analytics_seeded() {
    local want deadline=$((SECONDS + HEALTH_DEADLINE))
    want=$(seed_projects)
    until podman run --rm --network="$NETWORK" --read-only \
        -e COMPACT_ANALYTICS_ADDR=analytics:50054 "$IMAGE" \
        compactctl --timeout-ms 5000 --json analytics overview >"$WORK/overview.json" &&
        "$PY" -c 'import json, sys; o = json.load(open(sys.argv[1]))
assert o.get("projects") == sys.argv[2], o.get("projects")
assert o["money"]["usd"]["currency"] == "USD*" and o["money"]["usdComplete"], o["money"]
print("projects", o["projects"], "USD* committed", o["money"]["usd"]["committedMinor"],
      "as of", o["freshness"]["asOf"])' "$WORK/overview.json" "$want"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 1
    done
}

analytics_rates_seeded() {
    ctl --json analytics rates list >"$WORK/rates.json" || return 1
    "$PY" - "$WORK/rates.json" "$ROOT/seed/analytics/rates.json" <<'EOF'
import json, sys
got, seed = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
want = sorted((e["request"]["rate"]["currency"], e["request"]["rate"]["validFrom"],
               e["request"]["rate"]["usdMicros"]) for e in seed)
assert sorted((r["currency"], r["validFrom"], r["usdMicros"]) for r in got) == want
print(len(got), "rates, as in seed/analytics/rates.json")
EOF
}

# GET http://127.0.0.1:$DASHBOARD_PORT$1 (no proxy): the status code on
# stdout (0: no answer), the body in $WORK/http.out.
http_get() {
    "$PY" - "http://127.0.0.1:$DASHBOARD_PORT$1" "$WORK/http.out" <<'EOF'
import sys, urllib.error, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    with opener.open(sys.argv[1], timeout=5) as r:
        code, body = r.status, r.read()
except urllib.error.HTTPError as e:
    code, body = e.code, e.read()
except OSError as e:
    code, body = 0, str(e).encode()
open(sys.argv[2], "wb").write(body)
print(code)
EOF
}

dashboard_healthz() {
    [ "$(http_get /healthz)" = 200 ] && grep -qx ok "$WORK/http.out" && echo "200 ok"
}

dashboard_page() {
    [ "$(http_get /)" = 200 ] && grep -q '<title>Compact analytics' "$WORK/http.out" || return 1
    # Chart.js, from Debian's libjs-chart.js at build time, served from the binary.
    [ "$(http_get /assets/chart.umd.js)" = 200 ] && grep -q 'Chart' "$WORK/http.out" &&
        echo "page and Chart.js ($(wc -c <"$WORK/http.out") bytes)"
}

dashboard_api() {
    [ "$(http_get /api/overview)" = 200 ] || return 1
    "$PY" -c 'import json, sys; o = json.load(open(sys.argv[1]))
assert int(o.get("projects", 0)) >= int(sys.argv[2]), o.get("projects")
print("projects", o["projects"])' "$WORK/http.out" "$(seed_projects)"
}

# Polls each service's scenario_<name>_peer_back until one try passes: its
# calls to a restarted peer succeed again, with nothing restarted.
run_peer_back() {  # run_peer_back TAG
    local s start
    for s in "${SERVICES[@]}"; do
        declare -F "scenario_${s}_peer_back" >/dev/null || continue
        start=$SECONDS
        check "$s: its calls to membership succeed again" poll_tries "scenario_${s}_peer_back" "$1"
        say "       ($(tail -1 "$WORK/check.out"), $((SECONDS - start)) s)"
    done
}

poll_tries() {  # poll_tries FUNCTION TAG: FUNCTION TAG 1, TAG 2, ... until one passes
    local try=1 deadline=$((SECONDS + HEALTH_DEADLINE))
    until "$1" "$2" "$try"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        try=$((try + 1))
        sleep 0.5
    done
    echo "passed at try $try"
}

run_scenarios() {  # run_scenarios write|check|peer_down TAG
    local s
    for s in "${SERVICES[@]}"; do
        if declare -F "scenario_${s}_$1" >/dev/null; then
            check "$s: $1 ($2)" "scenario_${s}_$1" "$2"
        elif [ "$1" != peer_down ]; then
            say "  --   $s has no scenario_${s}_$1 yet"
        fi
    done
}

# --- 3. compose -------------------------------------------------------------
compose() {
    local env=() s
    for s in "${SERVICES[@]}"; do env+=("COMPACT_${s^^}_PORT=${HOST_PORT[$s]}"); done
    env "${env[@]}" COMPACT_ANALYTICS_HTTP_PORT="$DASHBOARD_PORT" COMPACT_IMAGE="$IMAGE" \
        COMPACT_REDIS_IMAGE="$REDIS_IMAGE" podman-compose -p "$PROJECT" -f "$COMPOSE_FILE" "$@"
}

compose_containers() {
    podman ps -a --filter "label=io.podman.compose.project=$PROJECT" --format '{{.Names}}' |
        sort
}

compose_up_healthy() {
    compose up -d --no-build >"$WORK/compose-up.log" 2>&1 ||
        { tail -20 "$WORK/compose-up.log"; return 1; }
    local containers
    mapfile -t containers < <(compose_containers)
    wait_healthy "${containers[@]}"
}

compose_stage() {
    step "compose: docker/compose.yaml with podman-compose"
    mapfile -t SERVICES < <("$PY" - "$COMPOSE_FILE" <<'EOF'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
for name, svc in doc["services"].items():
    cmd = svc.get("command") or []
    if cmd and str(cmd[0]).startswith("compact-"):
        print(name)
EOF
)
    [ ${#SERVICES[@]} -gt 0 ] || fail "no compact-* service in docker/compose.yaml"
    "$ROOT/scripts/dev-secrets.sh" --readable "$ROOT/docker/secrets" >/dev/null ||
        fail "dev-secrets.sh docker/secrets"
    use_secrets "$ROOT/docker/secrets"
    local s
    for s in "${SERVICES[@]}"; do HOST_PORT[$s]=$(free_port); done
    DASHBOARD_PORT=$(free_port)
    say "  services: ${SERVICES[*]}"
    # The network the suite talks on, made here (compose finds it by name;
    # the kube stage plays its pods on it too), and its resolver.
    podman network create --label "io.podman.compose.project=$PROJECT" "$NETWORK" \
        >/dev/null || fail "podman network create $NETWORK"
    containers_conf "$(podman network inspect -f '{{range .Subnets}}{{.Gateway}}{{end}}' \
        "$NETWORK")"
    check "suite up, every healthcheck passes ($(echo redis "${SERVICES[@]}"))" compose_up_healthy
    local redis=${PROJECT}_redis_1 c
    for c in $(compose_containers); do
        check "$c: read-only root, not root, only on $NETWORK" hardened "$c"
    done
    check "redis: append-only file, fsync every second" sh -c "
        $WORK/rcli $redis config get appendonly | grep -qx yes &&
        $WORK/rcli $redis config get appendfsync | grep -qx everysec"
    for s in "${SERVICES[@]}"; do
        check "$s: compactctl health through 127.0.0.1:${HOST_PORT[$s]}" \
            ctl --addr "127.0.0.1:${HOST_PORT[$s]}" health
    done
    check "compactctl seed from the image's share/compact/seed (every service)" ctl seed
    if [ -n "${HOST_PORT[analytics]:-}" ]; then
        check "analytics: the seed's exchange rates" analytics_rates_seeded
        check "analytics: every seeded project in the figures (asked on $NETWORK)" \
            analytics_seeded
        check "analytics dashboard: GET /healthz on 127.0.0.1:$DASHBOARD_PORT" dashboard_healthz
        check "analytics dashboard: GET / and Chart.js" dashboard_page
        check "analytics dashboard: GET /api/overview has the seeded projects" dashboard_api
    fi
    run_scenarios write first
    run_scenarios check first
    check "every service holds a Redis connection on the network" redis_has_clients "$redis" \
        "${SERVICES[@]}"
    for s in "${SERVICES[@]}"; do
        check "$s: stderr is JSON lines" json_logs "${PROJECT}_${s}_1"
    done
    local aof_value="aof-$RANDOM$RANDOM"
    check "redis: write a probe key" redis_cli "$redis" set compact-ct:probe "$aof_value"

    # One service down: callers see UNAVAILABLE, then it comes back.
    local m=${PROJECT}_membership_1
    check "membership: stopped with SIGTERM, exit code 0" stop_clean "$m"
    check "membership down: compactctl exits 1 with UNAVAILABLE" \
        expect_unavailable entities get "$(entity_acronym first)"
    run_scenarios peer_down first
    check "membership started again" podman start "$m"
    check "membership healthy again" wait_healthy "$m"
    check "membership down and up: calls succeed again" ctl_until_ok entities get \
        "$(entity_acronym first)"
    run_peer_back first

    # Redis down: a cache and an event bus only, so the services keep serving,
    # reads and writes alike.
    check "redis: stopped with SIGTERM, exit code 0" stop_clean "$redis"
    for s in "${SERVICES[@]}"; do
        check "redis down: $s still SERVING" ctl --addr "127.0.0.1:${HOST_PORT[$s]}" health
    done
    if [ -n "${HOST_PORT[analytics]:-}" ]; then
        check "redis down: the dashboard still answers from analytics' store" dashboard_api
    fi
    run_scenarios write second
    run_scenarios check first
    check "redis started again" podman start "$redis"
    check "redis healthy again" wait_healthy "$redis"

    # Everything down and up: SQLite volumes and the Redis AOF kept the data.
    for c in $(compose_containers); do
        check "$c: stopped with SIGTERM, exit code 0" stop_clean "$c"
    done
    check "suite down: containers removed, volumes kept" sh -c \
        "podman rm \$(podman ps -aq --filter label=io.podman.compose.project=$PROJECT)"
    check "suite up again, every healthcheck passes" compose_up_healthy
    run_scenarios check first
    run_scenarios check second
    check "redis: probe key survived in the AOF" sh -c \
        "test \"\$($WORK/rcli $redis get compact-ct:probe)\" = '$aof_value'"
    check "every service reconnected to Redis after the restart" redis_has_clients "$redis" \
        "${SERVICES[@]}"
    compose down >"$WORK/compose-down.log" 2>&1
}

# The container runs as a non-root uid on a read-only root filesystem and is
# attached to the test's network only.
hardened() {
    local ro user nets
    ro=$(podman inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$1")
    user=$(podman inspect -f '{{.Config.User}}' "$1")
    nets=$(podman inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$1")
    echo "read-only=$ro user=$user networks=$nets"
    [ "$ro" = true ] && [ -n "$user" ] && [ "${user%%:*}" != 0 ] && [ "${user%%:*}" != root ] &&
        [ "$nets" = "$NETWORK " ]
}

# Stops a container as the runtime would (SIGTERM) and checks it exited 0.
stop_clean() {
    podman stop -t 20 "$1" >/dev/null || return 1
    local code
    code=$(podman inspect -f '{{.State.ExitCode}}' "$1")
    echo "exit code $code"
    [ "$code" = 0 ]
}

# Every named peer (a network name: compose service or pod) holds a Redis
# connection: its address, resolved on the test network from inside the Redis
# container, appears in CLIENT LIST.
redis_has_clients() {
    local redis=$1 deadline=$((SECONDS + HEALTH_DEADLINE)) name ip missing
    shift
    while :; do
        missing=""
        for name in "$@"; do
            ip=$(podman exec "$redis" getent hosts "$name" | awk '{ print $1; exit }')
            "$WORK/rcli" "$redis" client list | grep -q "addr=${ip:-none}:" ||
                missing+=" $name(${ip:-unresolved})"
        done
        [ -z "$missing" ] && { echo "connected: $*"; return 0; }
        [ "$SECONDS" -lt "$deadline" ] || { echo "no Redis connection from:$missing"; return 1; }
        sleep 0.5
    done
}

# --- 4. kube play -------------------------------------------------------------
kube_stage() {
    step "kube: k8s/overlays/dev with podman kube play"
    local overlay
    overlay=$(dev_overlay)
    use_secrets "$overlay/secrets"
    "$KUBECTL" kustomize "$overlay" >"$WORK/dev.yaml" ||
        fail "kubectl kustomize k8s/overlays/dev"
    local publish=() s kube_services=()
    # The services' StatefulSets, in compose order (scenarios build on earlier ones).
    mapfile -t kube_services < <("$PY" - "$WORK/dev.yaml" "${SERVICES[@]}" <<'EOF'
import sys, yaml
names = []
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "StatefulSet":
        cmd = d["spec"]["template"]["spec"]["containers"][0].get("command") or []
        if cmd and str(cmd[0]).startswith("compact-"):
            names.append(d["metadata"]["name"])
order = sys.argv[2:]
names.sort(key=lambda n: (order.index(n) if n in order else len(order), n))
print("\n".join(names))
EOF
)
    SERVICES=("${kube_services[@]}")
    for s in "${SERVICES[@]}"; do
        HOST_PORT[$s]=$(free_port)
        publish+=(--publish "$s=${HOST_PORT[$s]}")
    done
    "$PY" "$ROOT/tests/containers/kube_for_podman.py" --prefix "$KPREFIX" "${publish[@]}" \
        --secrets-dir "$WORK/kube-secrets" "$WORK/dev.yaml" >"$WORK/play.yaml" ||
        fail "kube_for_podman.py"
    check "podman kube play (pods: $(grep -c '^kind: Pod$' "$WORK/play.yaml"))" \
        podman kube play --network "$NETWORK" "$WORK/play.yaml"
    local containers
    mapfile -t containers < <(podman ps -a --filter "name=^$KPREFIX" --format '{{.Names}}' | sort)
    check "pods healthy: ${containers[*]}" wait_healthy "${containers[@]}"
    for s in "${SERVICES[@]}"; do
        check "$s pod: compactctl health through 127.0.0.1:${HOST_PORT[$s]}" \
            ctl --addr "127.0.0.1:${HOST_PORT[$s]}" health
    done
    run_scenarios write kube
    run_scenarios check kube
    local pods=()
    for s in "${SERVICES[@]}"; do pods+=("${KPREFIX}$s-0"); done
    check "every pod reaches Redis by the rewritten Service address" redis_has_clients \
        "${KPREFIX}redis-0-redis" "${pods[@]}"
    check "podman kube down" podman kube down "$WORK/play.yaml"
}

# --- 5. manifests -------------------------------------------------------------
manifests_stage() {
    step "manifests: kubectl kustomize + check_manifests.py"
    local overlay
    overlay=$(dev_overlay)
    check "k8s/overlays/dev and k8s/overlays/production keep the rules" \
        "$PY" "$ROOT/tests/containers/check_manifests.py" "$overlay" \
        "$ROOT/k8s/overlays/production"
    sed 's/^/       /' "$WORK/check.out"
    check "the checker catches each broken variant (self-test)" \
        "$PY" "$ROOT/tests/containers/check_manifests.py" --self-test "$overlay"
}

main() {
    say "container-test: $ROOT (project $PROJECT)"
    timed tools install_tools
    cleanup   # leftovers of an interrupted run
    timed manifests manifests_stage   # cheap, and independent of the image
    build_images
    timed compose compose_stage
    timed kube kube_stage
    finish
}

main "$@"
