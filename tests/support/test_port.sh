# shellcheck shell=bash
# test_port.sh: test_free_port (tests/support/test_port.h) for bash scripts.  Source it:
#
#   . tests/support/test_port.sh
#   test_port VAR        a port into VAR, or exit status 1 when none is left
#
# Ports come from outside the ephemeral range (so no outgoing connection or port-0
# listener takes them) and are reserved across processes with the same lock files as the
# C tests: TEST_PORT_DIR/PORT.lock held with flock(1) on a descriptor this shell keeps
# open until it exits (children started afterwards inherit it: the lock lasts while any of
# them runs).  A port something listens on is skipped (bash cannot bind to test for
# bound-only sockets; outside the ephemeral range those are the listeners tests start).
# Needs bash (named descriptors, /dev/tcp) and flock from util-linux.

TEST_PORT_DIR=${CTIM_TEST_PORT_DIR:-/tmp/ctim-test-ports}

# The range test_port_range (test_port.c) picks: below the ephemeral range, else above it.
test_port_range() {
    local eph_lo=32768 eph_hi=60999
    read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
    if ((eph_lo - 20000 >= 1000)); then echo "20000 $((eph_lo - 1))"
    elif ((65535 - eph_hi >= 1000)); then echo "$((eph_hi + 1)) 65535"
    elif ((eph_lo - 1024 >= 1000)); then echo "1024 $((eph_lo - 1))"
    else echo "20000 32767"; fi
}

test_port() {
    local lo hi span start i p f fd
    read -r lo hi < <(test_port_range)
    span=$((hi - lo + 1))
    start=$(((RANDOM * 32768 + RANDOM + $$) % span))
    mkdir -p "$TEST_PORT_DIR" 2>/dev/null && chmod 1777 "$TEST_PORT_DIR" 2>/dev/null
    for ((i = 0; i < span; i++)); do
        p=$((lo + (start + i) % span))
        f=$TEST_PORT_DIR/$p.lock
        [ -e "$f" ] || (set -o noclobber; : >"$f") 2>/dev/null || true
        exec {fd}<"$f" 2>/dev/null || continue
        if flock -n "$fd" && ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            printf -v "$1" '%s' "$p"
            return 0
        fi
        exec {fd}<&-
    done
    return 1
}
