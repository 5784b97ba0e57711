#!/usr/bin/env bash
# The units' hardening holds for the programs as they really run.  pbxsim and ctimd run
# under strace through a short session — the PBX link, the CSTA and client API ports
# accepting a connection, HTTP scrapes, a call, sd_notify with a watchdog, SIGHUP, SIGTERM —
# and every system call they made must pass the unit's SystemCallFilter= lines (groups
# expanded by `systemd-analyze syscall-filter`), every socket family its
# RestrictAddressFamilies=, and no mapping may be writable and executable
# (MemoryDenyWriteExecute=).  Under systemd a call outside the filter fails with EPERM
# (SystemCallErrorNumber=), and libzmq aborts on some: this finds it before a deploy.
#   ship_syscall_check.sh UNIT_DIR CTIMD PBXSIM       exit 0 ok, 1 failure, 77 skipped
set -euo pipefail
units=$1 ctimd=$(realpath "$2") pbxsim=$(realpath "$3")
for tool in strace systemd-analyze flock; do
    command -v $tool >/dev/null || { echo "skip: no $tool (deploy/install-deps.sh test)"; exit 77; }
done
scratch=$(mktemp -d /tmp/ctim-syscalls-XXXXXX)
sim_pid= node_pid=
s_cleanup() {
    for p in $node_pid $sim_pid; do kill -KILL "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$scratch"
}
trap s_cleanup EXIT

# Wait until FILE has a line matching REGEX, for at most 10 s (polled, bounded).
s_wait_line() {
    local deadline=$((SECONDS + 10))
    until grep -Eq "$2" "$1" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || { echo "FAIL: no '$2' in $1:"; cat "$1"; exit 1; }
        sleep 0.05
    done
}
# One HTTP GET over bash's /dev/tcp; prints the status line.
s_get() {
    exec 5<>"/dev/tcp/127.0.0.1/$1"
    printf 'GET %s HTTP/1.0\r\n\r\n' "$2" >&5
    head -1 <&5
    exec 5>&-
}
# LeakSanitizer cannot run under ptrace; the sanitizer build is still traced (its extra
# system calls must pass too, or the check would not be worth running in tests/run).
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
# Ports reserved until this script exits, outside the ephemeral range (test_port.sh).
# shellcheck source=../support/test_port.sh
. "$(dirname "$0")/../support/test_port.sh"
http="" csta="" client=""
for v in http csta client; do test_port $v || { echo "FAIL: no free port"; exit 1; }; done

strace -f -qq -o "$scratch/pbxsim.trace" "$pbxsim" --listen 127.0.0.1:0 \
       --ctl "$scratch/ctl.sock" >"$scratch/sim.out" 2>"$scratch/sim.err" &
sim_pid=$!
s_wait_line "$scratch/sim.out" '^pbxsim ready port='
pbx=$(sed -n 's/^pbxsim ready port=\([0-9]*\).*/\1/p' "$scratch/sim.out")
cat >"$scratch/ctimd.yaml" <<YAML
node: {id: syscalls, log_level: info}
pbx:
  - {name: main, host: 127.0.0.1, port: $pbx}
csta_server: {listen: 127.0.0.1, tcp_port: $csta}
client_api: {listen: 127.0.0.1, port: $client}
http: {listen: 127.0.0.1, port: $http}
YAML
NOTIFY_SOCKET=$scratch/notify WATCHDOG_USEC=200000 \
    strace -f -qq -o "$scratch/ctimd.trace" "$ctimd" --config "$scratch/ctimd.yaml" \
    >"$scratch/ctimd.out" 2>"$scratch/ctimd.err" &
node_pid=$!
s_wait_line "$scratch/ctimd.out" '^ctimd ready'
s_wait_line "$scratch/ctimd.err" 'UP pbx=main'
s_get "$http" /metrics | grep -q ' 200' || { echo "FAIL: GET /metrics"; exit 1; }
s_get "$http" /status >/dev/null
s_get "$http" /readyz >/dev/null
for port in $csta $client; do exec 5<>"/dev/tcp/127.0.0.1/$port"; exec 5>&-; done
"$pbxsim" ctl --ctl "$scratch/ctl.sock" call-in 0301234567 101 Syscall Check >/dev/null
# The programs are strace's children: signal them by their own ids.
node=$(pgrep -P "$node_pid" -x ctimd) sim=$(pgrep -P "$sim_pid" -x pbxsim)
kill -HUP "$node"
s_wait_line "$scratch/ctimd.err" 'reloaded:'
kill -TERM "$node" "$sim"
wait "$node_pid" || { echo "FAIL: ctimd exited non-zero"; cat "$scratch/ctimd.err"; exit 1; }
wait "$sim_pid" || true
node_pid= sim_pid=

# Expand a list of system call names and @groups into names.
s_expand() {
    local item
    for item in "$@"; do
        case $item in
            @*) s_expand $(systemd-analyze syscall-filter --no-pager "$item" |
                           awk 'NR > 1 && /^    [^#]/ { print $1 }') ;;
            *) echo "$item" ;;
        esac
    done
}
fail=0
for prog in ctimd pbxsim; do
    unit=$units/$prog.service
    allow=$(s_expand $(sed -n 's/^SystemCallFilter=\([^~].*\)/\1/p' "$unit") | sort -u)
    deny=$(s_expand $(sed -n 's/^SystemCallFilter=~\(.*\)/\1/p' "$unit") | sort -u)
    used=$(sed -nE 's/^[0-9]+ +(<\.\.\. )?([a-z0-9_]+)[( ].*/\2/p' "$scratch/$prog.trace" |
           grep -v '^resumed$' | sort -u)
    bad=$( (comm -23 <(echo "$used") <(echo "$allow"); comm -12 <(echo "$used") <(echo "$deny")) |
           sort -u)
    [ -z "$bad" ] || { echo "FAIL: $prog makes system calls its unit filters out:" $bad; fail=1; }
    families=$(sed -nE 's/^[0-9]+ +socket\((AF_[A-Z0-9]+),.*/\1/p' "$scratch/$prog.trace" | sort -u)
    for f in $families; do
        grep -Eq "^RestrictAddressFamilies=.*\\b$f\\b" "$unit" ||
            { echo "FAIL: $prog opens $f sockets, not in its unit's RestrictAddressFamilies="; fail=1; }
    done
    if grep -E '(mmap|mprotect)\(.*PROT_WRITE\|PROT_EXEC|PROT_EXEC\|PROT_WRITE' "$scratch/$prog.trace"; then
        echo "FAIL: $prog maps memory writable and executable (MemoryDenyWriteExecute=)"; fail=1
    fi
    echo "ok: $prog used $(wc -w <<<"$used") system calls and socket families" $families
done
exit $fail
