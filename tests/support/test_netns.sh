#!/bin/sh
# test_netns.sh: network namespaces for partition tests — a hub that stands for the PBX's
# network (and the test), and one namespace per node with two wires: one to the PBX network
# (which the tests never cut) and one to the cluster bus (which they cut and heal).
#
#   test_netns.sh check             exit 0 if namespaces, veths and bridges work here, else
#                                   77 (CTest: skipped) with the reason on stdout
#   test_netns.sh up NAME N         namespaces NAME-hub and NAME-n0 .. NAME-n{N-1} (N <= 9)
#   test_netns.sh cut NAME I        node I loses the cluster bus (the others keep it)
#   test_netns.sh heal NAME I       node I is back on the bus
#   test_netns.sh down NAME         kill whatever runs in them, delete them (safe twice)
#
#   hub      bridge "pbx" 10.77.0.1/24 (pbxsim listens here; the test reaches every node's
#            HTTP through it), bridge "bus" (no address: the hub cannot reach the bus)
#   NAME-nI  "pbx0" 10.77.0.(11+I)/24 on bridge pbx, "bus0" 10.78.0.(11+I)/24 on bridge bus
#
# A cut takes node I's port off the bus bridge: its frames go nowhere and nobody's reach it,
# without a reset or an error — a pulled cable, not a refused connection.  Both bridges run
# without STP, so a port forwards as soon as it is attached.
#
# NAME must start with "ctimt-PID-" (PID: the test process).  `up` first removes what
# earlier runs left behind when their process is gone (a test killed by CTest's timeout
# cannot clean up), and removes what it made itself if any step fails.  Addresses may be
# the same in every run: each run has its own namespaces.
set -eu

PBX_NET=10.77.0
BUS_NET=10.78.0

s_skip() {
    echo "test_netns: network namespaces not available: $*"
    exit 77
}

s_kill_and_delete() {
    ns=$1
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    # shellcheck disable=SC2086  # one pid per word
    [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
}

s_list() {
    ip netns list 2>/dev/null | awk '{print $1}' | grep "^$1" || true
}

# Namespaces of runs whose process is gone.
s_sweep() {
    for ns in $(s_list ctimt-); do
        pid=${ns#ctimt-}
        pid=${pid%%-*}
        case $pid in *[!0-9]*|"") continue ;; esac
        kill -0 "$pid" 2>/dev/null || s_kill_and_delete "$ns"
    done
}

s_down() {
    for ns in $(s_list "$1-"); do
        s_kill_and_delete "$ns"
    done
}

s_check_name() {
    case $1 in
        ctimt-[0-9]*-?*) ;;
        *) echo "test_netns: NAME must be ctimt-PID-SOMETHING, got '$1'" >&2; exit 2 ;;
    esac
}

cmd=${1:-}
case $cmd in
check)
    command -v ip >/dev/null 2>&1 || s_skip "no ip (iproute2)"
    [ "$(id -u)" = 0 ] || s_skip "not root"
    probe=ctimt-$$-probe
    trap 's_down "$probe"' EXIT
    ip netns add "$probe-hub" 2>/dev/null || s_skip "ip netns add failed"
    ip netns add "$probe-n0" 2>/dev/null || s_skip "ip netns add failed"
    ip -n "$probe-hub" link add pbx type bridge 2>/dev/null || s_skip "no bridge support"
    ip -n "$probe-hub" link add p0 type veth peer name pbx0 netns "$probe-n0" 2>/dev/null ||
        s_skip "no veth support"
    ip -n "$probe-hub" link set p0 master pbx 2>/dev/null || s_skip "cannot attach a veth"
    exit 0
    ;;
up)
    name=$2
    n=$3
    s_check_name "$name"
    case $n in [1-9]) ;; *) echo "test_netns: 1..9 nodes, got '$n'" >&2; exit 2 ;; esac
    s_sweep
    trap 's_down "$name"' EXIT
    hub=$name-hub
    ip netns add "$hub"
    ip -n "$hub" link set lo up
    ip -n "$hub" link add pbx type bridge stp_state 0
    ip -n "$hub" link add bus type bridge stp_state 0
    ip -n "$hub" addr add "$PBX_NET.1/24" dev pbx
    ip -n "$hub" link set pbx up
    ip -n "$hub" link set bus up
    i=0
    while [ "$i" -lt "$n" ]; do
        node=$name-n$i
        ip netns add "$node"
        ip -n "$node" link set lo up
        ip -n "$hub" link add "p$i" type veth peer name pbx0 netns "$node"
        ip -n "$hub" link add "b$i" type veth peer name bus0 netns "$node"
        ip -n "$hub" link set "p$i" master pbx up
        ip -n "$hub" link set "b$i" master bus up
        ip -n "$node" addr add "$PBX_NET.$((11 + i))/24" dev pbx0
        ip -n "$node" addr add "$BUS_NET.$((11 + i))/24" dev bus0
        ip -n "$node" link set pbx0 up
        ip -n "$node" link set bus0 up
        i=$((i + 1))
    done
    trap - EXIT
    ;;
cut)
    s_check_name "$2"
    ip -n "$2-hub" link set "b$3" nomaster
    ;;
heal)
    s_check_name "$2"
    ip -n "$2-hub" link set "b$3" master bus
    ;;
down)
    s_check_name "$2"
    s_down "$2"
    ;;
*)
    echo "usage: test_netns.sh check | up NAME N | cut NAME I | heal NAME I | down NAME" >&2
    exit 2
    ;;
esac
