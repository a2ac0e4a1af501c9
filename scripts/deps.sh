#!/usr/bin/env bash
# Installs the Debian 12 packages Compact needs for one or more purposes, from
# the one list in scripts/debian-packages, and nothing when they are all there
# already (so it is cheap to call every time).
#
#   scripts/deps.sh [PURPOSE...]          install (default purpose: test)
#   scripts/deps.sh --list PURPOSE...     print the packages, one per line
#
# Purposes: build, run, runtime, unit, browser, node, test, bench, containers (see the list).
# "node" (Debian's nodejs and npm) comes with "browser" only when no `node` is on
# PATH, so that a machine's own Node is never replaced (see the list's comment).
# Runs as root, or through sudo. docker/Dockerfile calls it too, so the image
# and a machine can never install different packages for the same purpose.
set -euo pipefail
list_file="$(dirname "$0")/debian-packages"

# The packages of purpose $1, with the purposes it includes (@name), once each.
packages_of() {
    awk -v want="$1" '
        function add(p,   i, n, f) {
            if (seen_purpose[p]++) return
            if (!(p in lines)) { print "deps.sh: no purpose \"" p "\"" > "/dev/stderr"; exit 2 }
            n = split(lines[p], f, " ")
            for (i = 1; i <= n; i++) {
                if (f[i] ~ /^@/) add(substr(f[i], 2))
                else if (!seen_pkg[f[i]]++) print f[i]
            }
        }
        /^[ \t]*(#|$)/ { next }
        { p = $1; sub(/:$/, "", p); $1 = ""; lines[p] = lines[p] " " $0 }
        END { add(want); if (seen_purpose["browser"] && want_node) add("node") }' \
        want_node="$want_node" "$list_file"
}

# Debian's Node only where there is none: "browser" brings "node" then.
want_node=0
command -v node >/dev/null 2>&1 || want_node=1

list_only=0
if [ "${1:-}" = --list ]; then
    list_only=1
    shift
fi
[ $# -gt 0 ] || set -- test
want=()
for purpose in "$@"; do
    pkgs=$(packages_of "$purpose")
    mapfile -t -O "${#want[@]}" want <<<"$pkgs"
done
if [ "$list_only" = 1 ]; then
    printf '%s\n' "${want[@]}" | awk '!seen[$0]++'
    exit 0
fi

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing: ${missing[*]}"
$sudo apt-get update -qq
# policy-rc.d keeps packages from starting system-wide daemons (redis-server):
# Compact starts its own Redis where it needs one.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
