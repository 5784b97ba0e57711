#!/usr/bin/env bash
# pbxsim on the wire: capture a scripted CSTA session (pbxsim_capture_driver) on loopback
# with tcpdump, then have Wireshark's BER dissector judge every APDU with the shared
# checker (../shared/tools/check_csta_pcap.sh beside the checkout): no malformed APDU,
# and at least as many APDUs as the driver counted.
#   pbxsim_capture_check.sh PBXSIM DRIVER
# The shared dissector listens on TCP 33333, so the session runs on that port in a network
# namespace of its own (its own loopback: no clash with anything on the machine).  Exits 77
# (CTest: skipped) only when tcpdump cannot capture here.
set -euo pipefail

pbxsim=$1
driver=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tools="$root/../shared/tools"
port=33333

skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ -f "$tools/check_csta_pcap.sh" ] || fail "no $tools/check_csta_pcap.sh (shared/ belongs beside the checkout)"
command -v tshark >/dev/null || fail "tshark is not installed (deploy/install-deps.sh test)"
command -v tcpdump >/dev/null || skip "tcpdump is not installed"

# Step 1: a private network namespace with its loopback up, if the machine allows one.
if [ "${PBXSIM_CAPTURE_NETNS:-}" != 1 ]; then
    if unshare --net true 2>/dev/null; then
        exec env PBXSIM_CAPTURE_NETNS=1 unshare --net "$0" "$@"
    fi
    echo "note: no private network namespace here; capturing on the machine's loopback"
    if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
        skip "port $port is taken on this machine and no network namespace can be made"
    fi
else
    ip link set lo up || fail "cannot bring up the namespace's loopback"
fi

work=$(mktemp -d)
pbx_pid="" dump_pid=""
cleanup() {
    set +e
    if [ -n "$dump_pid" ]; then kill "$dump_pid" 2>/dev/null; wait "$dump_pid" 2>/dev/null; fi
    if [ -n "$pbx_pid" ]; then kill "$pbx_pid" 2>/dev/null; wait "$pbx_pid" 2>/dev/null; fi
    rm -rf "$work"
}
trap cleanup EXIT

# Wait (bounded) until FILE has a line matching PATTERN; a process that dies first fails.
wait_line() {
    local file=$1 pattern=$2 pid=$3 what=$4
    for _ in $(seq 1 200); do
        grep -q "$pattern" "$file" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.05     # polling interval of a bounded wait (10 s)
    done
    echo "$what: no '$pattern' within 10 s"
    return 1
}

# Step 2: pbxsim, with SystemStatus every 300 ms so the keep-alive is on the wire too.
"$pbxsim" --listen 127.0.0.1:$port --ctl "$work/ctl.sock" --status-interval-ms 300 \
    --extensions 101-160 >"$work/pbxsim.out" 2>"$work/pbxsim.log" &
pbx_pid=$!
wait_line "$work/pbxsim.out" "pbxsim ready" "$pbx_pid" pbxsim || { cat "$work/pbxsim.log"; fail "pbxsim did not start"; }

# Step 3: tcpdump on loopback, packet-buffered so nothing is lost at the stop.
tcpdump -i lo -n -U -s 0 -w "$work/csta.pcap" "tcp port $port" 2>"$work/tcpdump.log" &
dump_pid=$!
if ! wait_line "$work/tcpdump.log" "listening on" "$dump_pid" tcpdump; then
    cat "$work/tcpdump.log"
    dump_pid=""
    skip "tcpdump cannot capture on loopback here: $(tail -1 "$work/tcpdump.log")"
fi

# Step 4: the scripted session.
"$driver" $port "$work/ctl.sock" >"$work/driver.out" || { cat "$work/driver.out" "$work/pbxsim.log"; fail "the driver failed"; }
cat "$work/driver.out"
expected=$(sed -n 's/.*total=\([0-9]*\).*/\1/p' "$work/driver.out")
[ -n "$expected" ] || fail "the driver printed no APDU count"

# Step 5: stop the capture once tcpdump has written the end of the session (both sides'
# FIN or a reset): it may lag behind the traffic, and SIGINT drops what it has not
# written yet.  Then stop pbxsim.
for _ in $(seq 1 200); do
    ends=$(tcpdump -n -r "$work/csta.pcap" 'tcp[tcpflags] & (tcp-fin|tcp-rst) != 0' 2>/dev/null | wc -l)
    [ "$ends" -ge 2 ] && break
    sleep 0.05     # polling interval of a bounded wait (10 s)
done
kill -INT "$dump_pid"
wait "$dump_pid" || true
dump_pid=""
kill "$pbx_pid"
wait "$pbx_pid" || true
pbx_pid=""
packets=$(tcpdump -n -r "$work/csta.pcap" 2>/dev/null | wc -l)
[ "$packets" -gt 0 ] || skip "tcpdump captured no packet on loopback (capture not possible here)"

# Step 6: every APDU well-formed, and all of them there.
"$tools/check_csta_pcap.sh" "$work/csta.pcap" prefix || fail "malformed CSTA APDUs in the capture"
apdus=$(tshark -n -X lua_script:"$tools/csta_ber.lua" -o cstaber.prefix:TRUE -r "$work/csta.pcap" \
            -T fields -e cstaber.prefix_len 2>/dev/null | tr ',' '\n' | grep -c '[0-9]' || true)
echo "capture: $packets packets, $apdus CSTA APDUs (the driver counted $expected)"
[ "$expected" -ge 100 ] || fail "the session was too short to prove anything ($expected APDUs)"
[ "$apdus" -ge "$expected" ] || fail "the capture holds $apdus APDUs, fewer than the $expected exchanged"
echo "OK: $apdus well-formed CSTA APDUs on the wire"
