#!/usr/bin/env bash
# podman-base-image.sh: make the base images that docker/Dockerfile names,
# debian:bookworm and debian:bookworm-slim, on a machine that reaches no image
# registry, so that `podman build --pull=never` finds them locally.
#
# Both are Debian 12 root filesystems made with `debootstrap --variant=minbase`
# from this machine's own configured Debian mirror (read from
# /etc/apt/sources.list and /etc/apt/sources.list.d/), given the small
# container settings the official images carry (no daemons started by package
# scripts, no apt caches), imported with `podman import` and tagged with the
# names the official images have. The slim one also drops documentation, man
# pages and translations, as the official -slim image does.
#
# The root filesystems are cached as tarballs under $COMPACT_PODMAN_CACHE
# (default /var/cache/compact-podman): a rerun with the images present does
# nothing, and one after `podman system reset` only imports (seconds).
# Where a registry exists this script is not needed: the Dockerfile is the same.
#
# Usage (as root): scripts/podman-base-image.sh [--force]
#   COMPACT_DEBIAN_MIRROR  use this mirror instead of the configured one
set -euo pipefail

SUITE=bookworm
CACHE=${COMPACT_PODMAN_CACHE:-/var/cache/compact-podman}
# Bump when the root filesystem recipe below changes, to rebuild the cache.
RECIPE=3
FULL_TAG=docker.io/library/debian:$SUITE
SLIM_TAG=docker.io/library/debian:$SUITE-slim

log() { printf 'podman-base-image: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Prints "URI SUITE" for every enabled deb source of this machine, deb822
# (.sources) and one-line (.list) formats alike.
apt_sources() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk 'BEGIN { RS = ""; FS = "\n" }
             {
                 types = ""; uris = ""; suites = ""; enabled = "yes"
                 for (i = 1; i <= NF; i++) {
                     line = $i
                     if (line ~ /^[ \t]*#/) continue
                     key = tolower(line); sub(/:.*/, "", key)
                     val = line; sub(/^[^:]*:[ \t]*/, "", val)
                     if (key == "types") types = val
                     else if (key == "uris") uris = val
                     else if (key == "suites") suites = val
                     else if (key == "enabled") enabled = tolower(val)
                 }
                 if (enabled == "no" || types !~ /(^|[ \t])deb([ \t]|$)/) next
                 nu = split(uris, u, /[ \t]+/); ns = split(suites, s, /[ \t]+/)
                 for (a = 1; a <= nu; a++) for (b = 1; b <= ns; b++)
                     if (u[a] != "" && s[b] != "") print u[a], s[b]
             }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        # deb [options] URI SUITE COMPONENTS...
        sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" { print $2, $3 }'
    done
}

# The Debian sources the images get: this machine's, for the main suite and its
# -updates and -security companions.
debian_sources() {
    apt_sources | awk -v s="$SUITE" '$2 == s || $2 == s "-updates" || $2 == s "-security"' |
        sort -u
}

debian_mirror() {
    if [ -n "${COMPACT_DEBIAN_MIRROR:-}" ]; then
        echo "$COMPACT_DEBIAN_MIRROR"
        return
    fi
    debian_sources | awk -v s="$SUITE" '$2 == s { print $1; exit }'
}

# Settings the official Debian images carry (debuerreotype's "minimizing
# config"): package scripts start no daemons, apt keeps no caches.
container_config() {
    local root=$1
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 0755 "$root/usr/sbin/policy-rc.d"
    echo 'force-unsafe-io' >"$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
    cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
    printf 'Acquire::GzipIndexes "true";\nAcquire::CompressionTypes::Order:: "gz";\n' \
        >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
    echo 'Apt::AutoRemove::SuggestsImportant "false";' \
        >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
}

write_apt_sources() {
    local root=$1 uri suite
    rm -f "$root/etc/apt/sources.list"
    : >"$root/etc/apt/sources.list.d/debian.sources"
    while read -r uri suite; do
        printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n\n' \
            "$uri" "$suite" /usr/share/keyrings/debian-archive-keyring.gpg \
            >>"$root/etc/apt/sources.list.d/debian.sources"
    done < <(debian_sources)
}

clean_rootfs() {
    local root=$1
    chroot "$root" apt-get clean
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log \
        "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old "$root"/tmp/* \
        "$root"/var/tmp/* "$root"/root/.bash_history
    : >"$root/etc/machine-id"
    : >"$root/etc/resolv.conf"
    echo localhost >"$root/etc/hostname"
}

# What the official -slim image leaves out, now and for packages added later.
slim_rootfs() {
    local root=$1
    cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
    find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
    find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$root"/usr/share/groff/* "$root"/usr/share/info/* "$root"/usr/share/linda/* \
        "$root"/usr/share/lintian/* "$root"/usr/share/locale/* "$root"/usr/share/man/*
}

make_tarballs() {
    local mirror=$1 work=$CACHE/work
    command -v debootstrap >/dev/null ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >&2
    rm -rf "$work"
    mkdir -p "$work"
    log "debootstrap --variant=minbase $SUITE from $mirror (once; cached in $CACHE)"
    debootstrap --variant=minbase "$SUITE" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
        { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed (log: $work/debootstrap.log)"; }
    container_config "$work/rootfs"
    write_apt_sources "$work/rootfs"
    clean_rootfs "$work/rootfs"
    tar --numeric-owner -C "$work/rootfs" --exclude='./proc/*' --exclude='./sys/*' \
        --exclude='./dev/*' -cf "$work/full.tar" .
    slim_rootfs "$work/rootfs"
    tar --numeric-owner -C "$work/rootfs" --exclude='./proc/*' --exclude='./sys/*' \
        --exclude='./dev/*' -cf "$work/slim.tar" .
    mv "$work/full.tar" "$CACHE/$SUITE.tar"
    mv "$work/slim.tar" "$CACHE/$SUITE-slim.tar"
    rm -rf "$work"
}

# Imports tarball $1 as $2 unless an image of that name came from this very
# tarball (the label holds the tarball's key).
import_image() {
    local tarball=$1 tag=$2 key=$3 have
    have=$(podman image inspect --format '{{index .Labels "org.compact.rootfs"}}' "$tag" \
        2>/dev/null || true)
    if [ "$have" = "$key" ]; then
        log "$tag is up to date"
        return
    fi
    log "importing $tag"
    podman import -q --change 'CMD ["bash"]' --change "LABEL org.compact.rootfs=$key" \
        "$tarball" "$tag" >/dev/null
}

main() {
    [ "$(id -u)" = 0 ] || die "run as root (debootstrap and podman storage)"
    command -v podman >/dev/null || die "podman is not installed"
    local mirror key
    mirror=$(debian_mirror)
    [ -n "$mirror" ] || die "no '$SUITE' Debian source found in /etc/apt/sources.list{,.d}"
    key="$SUITE-minbase-r$RECIPE-$(printf '%s' "$mirror" | sha256sum | cut -c1-12)"
    mkdir -p "$CACHE"
    if [ "${1:-}" = --force ] || [ "$(cat "$CACHE/key" 2>/dev/null)" != "$key" ] ||
        [ ! -s "$CACHE/$SUITE.tar" ] || [ ! -s "$CACHE/$SUITE-slim.tar" ]; then
        rm -f "$CACHE/key"
        make_tarballs "$mirror"
        echo "$key" >"$CACHE/key"
    else
        log "root filesystems cached in $CACHE ($key)"
    fi
    local stamp
    stamp="$key-$(stat -c %Y "$CACHE/$SUITE.tar")"
    import_image "$CACHE/$SUITE.tar" "$FULL_TAG" "$stamp"
    import_image "$CACHE/$SUITE-slim.tar" "$SLIM_TAG" "$stamp"
}

main "$@"
