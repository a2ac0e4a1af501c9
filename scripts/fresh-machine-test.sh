#!/usr/bin/env bash
# fresh-machine-test.sh: the README's two commands on a pristine Debian 12
# machine, so that an install step this machine happens not to need still
# fails the test command.
#
#   sudo scripts/fresh-machine-test.sh        (root: podman storage)
#
# A clean copy of the work tree (what git tracks, plus new files it does not
# ignore: never build output or local data) goes into a container of the
# pristine debian:bookworm image that scripts/podman-base-image.sh makes. There,
# as a new user would:
#   1. scripts/run.sh        installs, builds, starts Redis and the services, seeds;
#   2. compactctl            the seeded entities, groups and projects answer;
#   3. scripts/run.sh stop;
#   4. scripts/test.sh       the whole suite, with the sanitizer pass, the fuzz
#                            pass and the container tests skipped (no Podman
#                            inside Podman).
#
# The one concession to speed: the packages apt downloads are kept in a cache
# on the host (under $COMPACT_PODMAN_CACHE, default /var/cache/compact-podman),
# so a warm run downloads nothing. apt still resolves and installs every
# package from scratch in the container.
#
# Environment: COMPACT_FRESH_KEEP=1 keeps the copy of the tree after a failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${COMPACT_PODMAN_CACHE:-/var/cache/compact-podman}
IMAGE=docker.io/library/debian:bookworm
NAME=compact-fresh-$$
WORK=$(mktemp -d /tmp/compact-fresh.XXXXXX)

say() { printf 'fresh-machine: %s\n' "$*"; }
cleanup() {
    local rc=$?
    podman rm -f -t 0 "$NAME" >/dev/null 2>&1 || true
    if [ "$rc" -ne 0 ] && [ "${COMPACT_FRESH_KEEP:-}" = 1 ]; then
        say "left the tree in $WORK/src"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || { say "run as root (podman storage)"; exit 1; }
"$ROOT/scripts/deps.sh" containers >/dev/null
# shellcheck source=podman-conf.sh
. "$ROOT/scripts/podman-conf.sh"
podman_conf "$WORK"
"$ROOT/scripts/podman-base-image.sh"

# The work tree as a clone would have it, with the uncommitted changes.
mkdir -p "$WORK/src" "$CACHE/fresh-apt"
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
        tar --null -T - -cf -) | tar -C "$WORK/src" -xf -
else
    tar -C "$ROOT" --exclude='./build*' --exclude=./.run --exclude=./.cache \
        --exclude=./node_modules -cf - . | tar -C "$WORK/src" -xf -
fi
say "copied $(find "$WORK/src" -type f | wc -l) files into a pristine $IMAGE"

# Inside: the README's commands, verbatim, and a look at what run.sh started.
cat >"$WORK/inside.sh" <<'EOF'
set -euo pipefail
# Keep downloaded packages in the host's cache (the image deletes them).
rm -f /etc/apt/apt.conf.d/docker-clean
cd /src
step() { printf '\n== [%4ds] %s\n' "$SECONDS" "$*"; }
step "scripts/run.sh"
scripts/run.sh
step "the seeded services answer (with the token run.sh wrote; without, UNAUTHENTICATED)"
if build/compactctl entities list >/dev/null 2>/tmp/noauth.txt; then exit 1; fi
grep -q UNAUTHENTICATED /tmp/noauth.txt
. .run/env
build/compactctl entities list >/tmp/entities.txt
head -5 /tmp/entities.txt
grep -q UNOCT /tmp/entities.txt
groups=$(build/compactctl --json groups list | grep -c '"code"' || true)
echo "working groups: $groups"
[ "$groups" -eq 8 ]
build/compactctl projects list >/tmp/projects.txt
head -5 /tmp/projects.txt
[ "$(wc -l </tmp/projects.txt)" -ge 2 ]
step "scripts/run.sh stop"
scripts/run.sh stop
step "scripts/test.sh (no sanitizer or fuzz pass, no containers inside)"
COMPACT_SKIP_SANITIZE=1 COMPACT_SKIP_FUZZ=1 COMPACT_SKIP_CONTAINERS=1 scripts/test.sh
step "both README commands passed"
EOF

start=$SECONDS
podman run --rm --name "$NAME" --pull=never \
    -v "$WORK/src:/src" -v "$WORK/inside.sh:/inside.sh:ro" \
    -v "$CACHE/fresh-apt:/var/cache/apt/archives" \
    "$IMAGE" bash /inside.sh
say "PASS in $((SECONDS - start)) s"
