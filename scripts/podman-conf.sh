# podman-conf.sh: Podman's settings for Compact's container tests, sourced by
# scripts/container-test.sh and scripts/fresh-machine-test.sh.
#
#   podman_conf DIR [DNS_SERVER]   writes DIR/containers.conf, exports CONTAINERS_CONF
#
# runc, because crun refuses this machine's hybrid cgroups; default ulimits no
# higher than our own hard limits, because Podman's defaults are refused here.
# With DNS_SERVER (a test network's resolver) containers ask only it: never the
# host's resolvers, and a stopped container's name fails at once instead of
# after the host resolver's timeouts.
podman_conf() {
    local dir=$1 nofile nproc dns=""
    nofile=$(ulimit -Hn); [ "$nofile" = unlimited ] && nofile=65536
    [ "$nofile" -gt 65536 ] && nofile=65536
    nproc=$(ulimit -Hu); [ "$nproc" = unlimited ] && nproc=4096
    [ "$nproc" -gt 4096 ] && nproc=4096
    [ -n "${2:-}" ] && dns="dns_servers = [\"$2\"]"
    cat >"$dir/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
$dns
[engine]
runtime = "runc"
events_logger = "file"
CONF
    export CONTAINERS_CONF=$dir/containers.conf
}
