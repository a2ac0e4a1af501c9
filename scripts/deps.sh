#!/usr/bin/env bash
# Installs what building, running and testing Compact needs on Debian 12, and
# nothing when it is all there already (so it is cheap to call every time).
# Usage: scripts/deps.sh [build|test|bench]   (default: test)
set -euo pipefail

build_packages=(cmake gcc make pkg-config libc6-dev
  libgrpc-dev protobuf-compiler protobuf-c-compiler libprotobuf-c-dev
  libhiredis-dev libuv1-dev libsqlite3-dev libjansson-dev libh2o-dev redis-server)
test_packages=(libcmocka-dev python3-grpcio python3-protobuf python3-pytest)
bench_packages=(nghttp2-client util-linux)

want=("${build_packages[@]}")
case "${1:-test}" in
  build) ;;
  test) want+=("${test_packages[@]}") ;;
  bench) want+=("${test_packages[@]}" "${bench_packages[@]}") ;;
  *) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing: ${missing[*]}"
$sudo apt-get update -qq
# policy-rc.d keeps the package from starting a system-wide redis-server:
# Compact starts its own Redis where it needs one.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
