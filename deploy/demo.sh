#!/usr/bin/env bash
# deploy/demo.sh — ctim in five minutes on one Debian machine: installs what is missing,
# builds, starts pbxsim (a PBX taking one CSTA link at a time), a primary/backup pair of
# ctimd from deploy/config/pair-{a,b}.yaml and an application (the ctim tool: a monitor
# printing events, and commands); places, answers and transfers a call; kills the primary
# with kill -9 and shows the failover with its timings and the survivor's /status; places
# another call through the survivor; stops everything and removes its files on exit and
# on Ctrl-C.  Every step is checked and every wait has a deadline: a failed step ends the
# demo with exit 1 and the tails of the logs.
#
#   deploy/demo.sh                   the demo (README.md, "Quick start")
#   deploy/demo.sh --ci              short and quiet: no pauses, exits non-zero on any failure
#   deploy/demo.sh --help            every option
# shellcheck disable=SC2317  # the EXIT trap's handler looks unreachable to shellcheck
set -eEuo pipefail

usage() {
    cat <<'EOF'
usage: deploy/demo.sh [--ci] [--no-build] [--build-dir DIR] [--base-port N] [--stay]

  --ci             non-interactive: no pauses, compact /status; exit 0 only if every
                   step passed (CTest runs it: tests/integration/ship_demo_check.sh)
  --no-build       neither install packages nor build: use the programs in the build dir
  --build-dir DIR  the CMake build tree (default: build/, shared with tests/run; a tree
                   that exists is built as it is configured, a new one like tests/run)
  --base-port N    fixed ports N..N+6 on 127.0.0.1 instead of free ones from 20000-32767
  --stay           at the end keep ctim-b, pbxsim and the monitor running, print what
                   to try, stop them on Enter
  -h, --help       this text

Exit status: 0 every step passed; 1 a step failed; 2 usage; 130/143 interrupted.
EOF
}

# --- Options --------------------------------------------------------------------------------
ci=false build=true build_dir=build base_port="" stay=false
while [ $# -gt 0 ]; do
    case $1 in
        --ci) ci=true ;;
        --no-build) build=false ;;
        --build-dir) [ $# -ge 2 ] || { usage >&2; exit 2; }; build_dir=$2; shift ;;
        --build-dir=*) build_dir=${1#*=} ;;
        --base-port) [ $# -ge 2 ] || { usage >&2; exit 2; }; base_port=$2; shift ;;
        --base-port=*) base_port=${1#*=} ;;
        --stay) stay=true ;;
        -h|--help) usage; exit 0 ;;
        *) echo "demo.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
if [ -n "$base_port" ] && ! [[ $base_port =~ ^[0-9]+$ && $base_port -ge 1024 && $base_port -le 65529 ]]; then
    echo "demo.sh: --base-port wants a number from 1024 to 65529" >&2; exit 2
fi
$ci && stay=false

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
case $build_dir in /*) ;; *) build_dir=$repo/$build_dir ;; esac

# Bounds of the checked steps (ms).  A takeover takes about 0.6 s (ha/README.md); the
# bounds leave room for a sanitizer build on two busy cores.
WAIT_MS=15000           # a program to start, a call state to show up
TAKEOVER_MAX_MS=3000    # kill -9 of the primary -> the backup's PBX link up
SERVICE_MAX_MS=5000     # kill -9 of the primary -> the application's lines back in service
APP_HEARTBEAT_MS=200    # the application's heartbeat: it sees a silent node after two

# --- Output: colour only on a terminal ---------------------------------------------------------
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-dumb}" != dumb ]; then
    c_bold=$'\e[1m' c_dim=$'\e[2m' c_red=$'\e[31m' c_green=$'\e[32m' c_cyan=$'\e[36m'
    c_yellow=$'\e[33m' c_off=$'\e[0m'
else
    c_bold="" c_dim="" c_red="" c_green="" c_cyan="" c_yellow="" c_off=""
fi
# Pauses let a person read along; never in --ci or when nobody watches.
paced=false
! $ci && [ -t 1 ] && paced=true

s_step() { printf '\n%s== %s ==%s\n' "$c_bold" "$*" "$c_off"; }
s_say() { printf '%s\n' "$*"; }
s_cmd() { printf '%s$ %s%s\n' "$c_cyan" "$*" "$c_off"; }
s_ok() { printf '%s  ok%s %s\n' "$c_green" "$c_off" "$*"; }
s_pause() { if $paced; then sleep "${1:-1}"; fi; }
s_now_ms() { date +%s%3N; }

# --- Processes and cleanup ---------------------------------------------------------------------
tmp=""
declare -A pid=()
# Stop what the demo started, by PID (SIGTERM, then SIGKILL after 3 s), and remove its folder.
s_cleanup() {
    local rc=$? name p i
    trap - EXIT INT TERM
    for name in monitor ctim-b ctim-a pbxsim; do
        p=${pid[$name]:-}
        if [ -n "$p" ]; then kill -TERM "$p" 2>/dev/null || true; fi
    done
    for name in monitor ctim-b ctim-a pbxsim; do
        p=${pid[$name]:-}
        [ -n "$p" ] || continue
        for ((i = 0; i < 60; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    if [ -n "$tmp" ]; then
        rm -rf "$tmp"
        printf '\n%sStopped what the demo started; removed %s.%s\n' "$c_dim" "$tmp" "$c_off"
    fi
    exit "$rc"
}
trap s_cleanup EXIT
trap 'printf "\ninterrupted\n"; exit 130' INT
trap 'exit 143' TERM

# A failed step: what failed, the tails of the logs, exit 1 (the EXIT trap cleans up).
s_fail() {
    local f
    printf '%sFAILED:%s %s\n' "$c_red$c_bold" "$c_off" "$*" >&2
    for f in "$tmp"/*.log; do
        [ -f "$f" ] || continue
        printf -- '--- %s (last lines)\n' "$(basename "$f")" >&2
        tail -n 15 "$f" >&2
    done
    exit 1
}
# Any other command that fails (set -e) says where, rather than ending the demo silently.
trap 's_fail "line $LINENO: \"$BASH_COMMAND\" failed"' ERR

# s_start NAME LOG PROGRAM ARGS...: run in the background, stdout and stderr to LOG.
s_start() {
    local name=$1 log=$2
    shift 2
    "$@" >"$log" 2>&1 &
    pid[$name]=$!
}

# s_wait_line LOG FROM REGEX MS [NAME]: the first line after line FROM of LOG that matches
# REGEX (grep -E), printed; exit 1 after MS ms, or at once when process NAME has ended.
s_wait_line() {
    local log=$1 from=$2 re=$3 deadline=$(($(s_now_ms) + $4)) name=${5:-} line
    while :; do
        line=$(tail -n "+$((from + 1))" "$log" 2>/dev/null | grep -m1 -E -- "$re" || true)
        [ -n "$line" ] && { printf '%s\n' "$line"; return 0; }
        if [ -n "$name" ] && ! kill -0 "${pid[$name]}" 2>/dev/null; then return 1; fi
        [ "$(s_now_ms)" -lt $deadline ] || return 1
        sleep 0.02
    done
}

s_lines() { wc -l <"$1"; }

# The wall-clock time of a log line of ctimd or ctim ("2026-11-22 06:17:40.306 ..."), in ms.
s_line_ms() { local d t rest; read -r d t rest <<<"$1"; date -d "$d $t" +%s%3N; }

# s_http PORT PATH: GET http://127.0.0.1:PORT/PATH with bash's /dev/tcp (no curl needed);
# the body on stdout; exit 0 only for 200.  At most 2 s.
s_http() {
    local resp status
    # shellcheck disable=SC2016  # $0 and $1 belong to the inner bash
    resp=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" &&
        printf "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n" "$1" >&3 && cat <&3' "$1" "$2" \
        2>/dev/null) || return 1
    status=${resp%%$'\r'*}
    printf '%s' "${resp#*$'\r\n\r\n'}"
    [[ $status == *" 200 "* ]]
}

# s_wait_http PORT PATH MS: until GET answers 200 (polled every 20 ms); exit 1 after MS ms.
s_wait_http() {
    local deadline=$(($(s_now_ms) + $3))
    until s_http "$1" "$2" >/dev/null; do
        [ "$(s_now_ms)" -lt $deadline ] || return 1
        sleep 0.02
    done
}

# JSON for people: jq or python3 when installed, else as it came.
s_pretty() {
    if command -v jq >/dev/null; then jq .
    elif command -v python3 >/dev/null; then python3 -m json.tool
    else cat; echo; fi
}

# s_port VAR: a free port for the demo into VAR, below Linux's ephemeral range
# (32768-60999) so that no outgoing connection or port-0 listener of a parallel test holds
# it; a port that answers a connect is taken.  Between this check and the bind a parallel
# test (CTest runs this demo beside the others) could pick the same port, so the demo
# reserves it as the tests do (tests/support/test_port.h): flock on
# /tmp/ctim-test-ports/PORT.lock, held on a descriptor open until the demo exits.
declare -A taken=()
port_locks=${CTIM_TEST_PORT_DIR:-/tmp/ctim-test-ports}
s_port() {
    local p i f fd
    mkdir -p "$port_locks" 2>/dev/null && chmod 1777 "$port_locks" 2>/dev/null
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + RANDOM % 12768))
        [ -n "${taken[$p]:-}" ] && continue
        f=$port_locks/$p.lock fd=""
        [ -e "$f" ] || (set -o noclobber; : >"$f") 2>/dev/null || true
        if command -v flock >/dev/null && exec {fd}<"$f" 2>/dev/null; then
            flock -n "$fd" || { exec {fd}<&-; continue; }
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            [ -z "$fd" ] || exec {fd}<&-
            continue
        fi
        taken[$p]=1
        printf -v "$1" '%s' "$p"
        return 0
    done
    s_fail "no free port in 20000-32767"
}

# s_derive SRC DST SECTION.KEY=VALUE...: SRC with the first KEY: under each top-level
# SECTION set to VALUE (comments dropped from that line).  The shipped files are block
# YAML, one key per line; a key that is not found is an error, so a change to them that
# the demo cannot follow fails here rather than running something else.
s_derive() {
    local src=$1 dst=$2
    shift 2
    awk -v sets="$(printf '%s\n' "$@")" '
        BEGIN {
            n = split(sets, kv, "\n")
            for (i = 1; i <= n; i++)
                if (kv[i] != "") {
                    eq = index(kv[i], "=")
                    val[substr(kv[i], 1, eq - 1)] = substr(kv[i], eq + 1)
                }
        }
        /^[ \t]*#/ { print; next }
        /^[a-z_]+:/ { sec = $0; sub(/:.*/, "", sec) }
        match($0, /^ +(- )?[a-z_]+:/) {
            lead = substr($0, 1, RLENGTH); key = lead
            sub(/^ +(- )?/, "", key); sub(/:$/, "", key); sub(/[a-z_]+:$/, "", lead)
            full = sec "." key
            if ((full in val) && !(full in done)) { print lead key ": " val[full]; done[full] = 1; next }
        }
        { print }
        END {
            for (k in val)
                if (!(k in done)) { printf "demo.sh: %s not found\n", k > "/dev/stderr"; bad = 1 }
            exit bad
        }' "$src" >"$dst"
}

# --- The programs -------------------------------------------------------------------------------
printf '%sctim demo%s — a simulated PBX, a primary/backup pair of ctimd nodes, an application;\n' \
    "$c_bold" "$c_off"
mode=""
$ci && mode=" (--ci: no pauses)"
printf 'calls, then the primary dies and the backup takes over.%s\n' "$mode"

s_step "1/7 Dependencies and build"
if $build; then
    s_cmd "deploy/install-deps.sh build"
    deploy/install-deps.sh build
    if [ ! -f "$build_dir/CMakeCache.txt" ]; then
        # The same tree as tests/run makes, so the two commands share one build.
        s_cmd "cmake -S . -B $build_dir -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCTIM_SANITIZE=ON"
        cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCTIM_SANITIZE=ON >/dev/null
    fi
    s_cmd "cmake --build $build_dir --target ctimd pbxsim ctim_cli"
    s_say "   (the first build takes a few minutes; its output goes to $build_dir/demo-build.log)"
    cmake --build "$build_dir" -j"$(nproc)" --target ctimd pbxsim ctim_cli >"$build_dir/demo-build.log" 2>&1 ||
        { tail -n 40 "$build_dir/demo-build.log" >&2; s_fail "the build failed (log: $build_dir/demo-build.log)"; }
else
    s_say "--no-build: using the programs in $build_dir"
fi
ctimd=$build_dir/node/ctimd
pbxsim=$build_dir/tests/pbxsim/pbxsim
ctim=$build_dir/client-tsp-shim/tools/ctim
for p in "$ctimd" "$pbxsim" "$ctim"; do
    [ -x "$p" ] || s_fail "$p is missing (build first, or drop --no-build)"
done
s_ok "$("$ctimd" --version), pbxsim, ctim in $build_dir"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ctim-demo-XXXXXX")
if [ -n "$base_port" ]; then
    port_sim=$base_port port_a_api=$((base_port + 1)) port_a_http=$((base_port + 2))
    port_a_bus=$((base_port + 3)) port_b_api=$((base_port + 4)) port_b_http=$((base_port + 5))
    port_b_bus=$((base_port + 6))
else
    for v in port_sim port_a_api port_a_http port_a_bus port_b_api port_b_http port_b_bus; do
        s_port $v
    done
fi

# --- The PBX ------------------------------------------------------------------------------------
s_step "2/7 The PBX: pbxsim"
cat >"$tmp/devices.yaml" <<'EOF'
extensions:
  - number: "101"
    name: Alice Reception
  - number: "102"
    name: Bob Sales
  - number: "103"
    name: Carol Support
trunks: 2
EOF
sim_ctl=$tmp/pbxsim.sock
s_cmd "pbxsim --listen 127.0.0.1:$port_sim --devices devices.yaml --max-links 1"
s_start pbxsim "$tmp/pbxsim.log" "$pbxsim" --listen "127.0.0.1:$port_sim" --devices "$tmp/devices.yaml" \
    --max-links 1 --ctl "$sim_ctl"
s_wait_line "$tmp/pbxsim.log" 0 '^pbxsim ready' $WAIT_MS pbxsim >/dev/null ||
    s_fail "pbxsim did not start on port $port_sim"
s_ok "a Panasonic-like PBX on 127.0.0.1:$port_sim that takes ONE CSTA link at a time, as a real one;"
s_say "     extensions 101 Alice (Reception), 102 Bob (Sales), 103 Carol (Support)"

# s_sim COMMAND...: a pbxsim control command (a person at a phone); its JSON must say ok.
s_sim() {
    local out
    out=$(timeout 5 "$pbxsim" ctl --ctl "$sim_ctl" "$@" 2>&1) || s_fail "pbxsim ctl $*: $out"
    [[ $out == *'"ok":true'* ]] || s_fail "pbxsim ctl $*: $out"
    printf '%s' "$out"
}

# --- The pair -----------------------------------------------------------------------------------
s_step "3/7 The primary/backup pair: ctimd ctim-a and ctim-b"
s_say "From deploy/config/pair-a.yaml and pair-b.yaml, with only addresses, ports and the"
s_say "state folder changed for one machine (pbx host/port -> pbxsim, listen -> 127.0.0.1,"
s_say "state_dir -> $tmp, the CSTA server off):"
s_derive deploy/config/pair-a.yaml "$tmp/ctim-a.yaml" pbx.host=127.0.0.1 "pbx.port=$port_sim" \
    csta_server.tcp_port=0 client_api.listen=127.0.0.1 "client_api.port=$port_a_api" \
    http.listen=127.0.0.1 "http.port=$port_a_http" cluster.listen=127.0.0.1 "cluster.port=$port_a_bus" \
    "cluster.endpoint=127.0.0.1:$port_b_bus" "cluster.state_dir=\"$tmp/state-a\"" ||
    s_fail "cannot derive the demo's config from deploy/config/pair-a.yaml"
s_derive deploy/config/pair-b.yaml "$tmp/ctim-b.yaml" pbx.host=127.0.0.1 "pbx.port=$port_sim" \
    csta_server.tcp_port=0 client_api.listen=127.0.0.1 "client_api.port=$port_b_api" \
    http.listen=127.0.0.1 "http.port=$port_b_http" cluster.listen=127.0.0.1 "cluster.port=$port_b_bus" \
    "cluster.endpoint=127.0.0.1:$port_a_bus" "cluster.state_dir=\"$tmp/state-b\"" ||
    s_fail "cannot derive the demo's config from deploy/config/pair-b.yaml"
for n in a b; do
    "$ctimd" --check-config "$tmp/ctim-$n.yaml" >/dev/null 2>"$tmp/check-$n.txt" ||
        s_fail "ctimd --check-config ctim-$n.yaml: $(cat "$tmp/check-$n.txt")"
done
printf '%s\n' \
    "     node     priority  client API (libctim, ctim)     /status, /metrics, /readyz        cluster bus" \
    "     ctim-a   10        tcp://127.0.0.1:$port_a_api          http://127.0.0.1:$port_a_http/status     127.0.0.1:$port_a_bus" \
    "     ctim-b   20        tcp://127.0.0.1:$port_b_api          http://127.0.0.1:$port_b_http/status     127.0.0.1:$port_b_bus"
s_cmd "ctimd --config ctim-a.yaml &   ctimd --config ctim-b.yaml &"
s_start ctim-a "$tmp/ctim-a.log" "$ctimd" --config "$tmp/ctim-a.yaml"
s_start ctim-b "$tmp/ctim-b.log" "$ctimd" --config "$tmp/ctim-b.yaml"
for n in a b; do
    s_wait_line "$tmp/ctim-$n.log" 0 '^ctimd ready' $WAIT_MS ctim-$n >/dev/null ||
        s_fail "ctim-$n did not start"
done
# The lower priority holds the link once both have heard each other (or settled alone).
s_wait_http "$port_a_http" /readyz $WAIT_MS || s_fail "ctim-a did not get the PBX link"
s_wait_line "$tmp/ctim-b.log" 0 'ha: peer joined peer=ctim-a' $WAIT_MS ctim-b >/dev/null ||
    s_fail "ctim-b did not hear ctim-a"
b_ready=$(s_http "$port_b_http" /readyz || true)
s_say "${c_dim}$(grep -hE 'ha: (took|peer joined)|link: UP' "$tmp/ctim-a.log" "$tmp/ctim-b.log" |
    sort | sed 's/^[0-9-]* /     /')${c_off}"
s_ok "ctim-a holds the PBX link (/readyz 200); ctim-b stands by (/readyz: ${b_ready:-503})"
[ "$(s_sim stats | grep -o '"links_open":[0-9]*')" = '"links_open":1' ] ||
    s_fail "pbxsim does not have exactly one link open"
s_pause 2

# --- The application ------------------------------------------------------------------------------
s_step "4/7 The application: ctim, the command-line tool on libctim"
printf 'crm-secret\n' >"$tmp/password"
export CTIM_SERVERS="tcp://127.0.0.1:$port_a_api,tcp://127.0.0.1:$port_b_api" CTIM_USER=crm
s_say "Both nodes in its server list: CTIM_SERVERS=$CTIM_SERVERS"
s_say "User crm (pair-a.yaml's example user).  A heartbeat every $APP_HEARTBEAT_MS ms: a node silent for two"
s_say "is lost, and the library moves to the next server on its own."
# s_ctim ARGS...: the tool as an application runs it; its output (a call id) on stdout.
s_ctim() {
    timeout 20 "$ctim" --password-file "$tmp/password" --heartbeat $APP_HEARTBEAT_MS --timeout 5000 "$@"
}
s_cmd "ctim monitor 101 102 103 &"
s_start monitor "$tmp/monitor.log" "$ctim" --password-file "$tmp/password" \
    --heartbeat $APP_HEARTBEAT_MS --timeout 5000 monitor 101 102 103

# The monitor's events since the last look, without the date.
shown=0
s_show() {
    local now
    now=$(s_lines "$tmp/monitor.log")
    [ "$now" -gt "$shown" ] || return 0
    sed -n "$((shown + 1)),${now}s/^[0-9-]* /  ${c_yellow}monitor${c_off}  /p" "$tmp/monitor.log"
    shown=$now
}
# s_expect FROM REGEX WHAT: a monitor line after line FROM that matches, within WAIT_MS.
s_expect() {
    s_wait_line "$tmp/monitor.log" "$1" "$2" $WAIT_MS monitor >/dev/null ||
        { s_show; s_fail "the monitor did not show $3"; }
}
s_expect 0 'link up tcp://127\.0\.0\.1:'"$port_a_api" "the login at ctim-a"
for l in 101 102 103; do s_expect 0 " $l in-service\$" "line $l in service"; done
s_show
s_ok "logged in at ctim-a; lines 101, 102 and 103 open and in service"
s_pause 2

# --- Calls ----------------------------------------------------------------------------------------
# s_call FROM TO WHY: the application calls TO from FROM; both ends seen ringing.
s_call() {
    local mark id
    mark=$(s_lines "$tmp/monitor.log")
    s_cmd "$(printf '%-34s # %s' "ctim call $1 $2" "$3")"
    id=$(s_ctim call "$1" "$2") || s_fail "ctim call $1 $2 (exit $?)"
    s_expect "$mark" " $1 ringback call=$id " "$1 ringback"
    s_expect "$mark" " $2 offering call=$id .*from $1 " "$2 offering"
    s_show
    s_pause
}
# s_answer LINE OTHER WHY: the person at LINE picks up; both ends seen connected.
s_answer() {
    local mark
    mark=$(s_lines "$tmp/monitor.log")
    s_cmd "$(printf '%-34s # %s' "pbxsim ctl answer $1" "$3")"
    s_sim answer "$1" >/dev/null
    s_expect "$mark" " $1 connected .*from $2 " "$1 connected"
    s_expect "$mark" " $2 connected " "$2 connected"
    s_show
    s_pause
}
# s_hangup LINE OTHER WHY: the application clears LINE's call; both ends seen idle.
s_hangup() {
    local mark
    mark=$(s_lines "$tmp/monitor.log")
    s_cmd "$(printf '%-34s # %s' "ctim hangup $1" "$3")"
    s_ctim hangup "$1" >/dev/null || s_fail "ctim hangup $1 (exit $?)"
    s_expect "$mark" " $1 idle " "$1 idle"
    s_expect "$mark" " $2 idle " "$2 idle"
    s_show
}

s_step "5/7 A call, answered and transferred"
s_call 101 102 "Alice calls Bob from her CRM"
s_answer 102 101 "Bob lifts his handset"

mark=$(s_lines "$tmp/monitor.log")
s_cmd "$(printf '%-34s # %s' "ctim transfer 102 103" "Bob passes Alice on to Carol")"
s_ctim transfer 102 103 >/dev/null || s_fail "ctim transfer 102 103 (exit $?)"
s_expect "$mark" " 102 idle " "102 idle after the transfer"
s_expect "$mark" " 103 offering .*from 101 " "103 offering"
s_show
s_pause

s_answer 103 101 "Carol answers"
s_hangup 101 103 "Alice hangs up"
s_ok "call placed, answered, transferred and cleared; every state seen by the monitor"
s_pause 2

# --- Failover ---------------------------------------------------------------------------------------
s_step "6/7 The primary dies: kill -9 ctim-a"
mark=$(s_lines "$tmp/monitor.log")
b_mark=$(s_lines "$tmp/ctim-b.log")
s_cmd "kill -9 ${pid[ctim-a]}                      # ctim-a, holding the PBX link"
killed_at=$(s_now_ms)
# (Braces and stderr away: bash would report the job as "Killed".)
{ kill -KILL "${pid[ctim-a]}"; wait "${pid[ctim-a]}"; } 2>/dev/null || true
unset 'pid[ctim-a]'
s_wait_http "$port_b_http" /readyz $TAKEOVER_MAX_MS ||
    s_fail "ctim-b's /readyz not 200 within $TAKEOVER_MAX_MS ms of the kill"
ready_ms=$(($(s_now_ms) - killed_at))
lost=$(s_wait_line "$tmp/ctim-b.log" "$b_mark" 'ha: peer lost peer=ctim-a' $WAIT_MS ctim-b) ||
    s_fail "ctim-b did not log ctim-a lost"
took=$(s_wait_line "$tmp/ctim-b.log" "$b_mark" 'ha: took link pbx=main' $WAIT_MS ctim-b) ||
    s_fail "ctim-b did not log the takeover"
up=$(s_wait_line "$tmp/ctim-b.log" "$b_mark" 'link: UP pbx=main' $WAIT_MS ctim-b) ||
    s_fail "ctim-b did not log its link up"
down=$(s_wait_line "$tmp/monitor.log" "$mark" ' link down ' $SERVICE_MAX_MS monitor) ||
    s_fail "the application did not see ctim-a go"
oos=$(s_wait_line "$tmp/monitor.log" "$mark" ' 101 out-of-service$' $SERVICE_MAX_MS monitor) ||
    s_fail "the application's lines did not go out of service"
relog=$(s_wait_line "$tmp/monitor.log" "$mark" 'link up tcp://127\.0\.0\.1:'"$port_b_api" $SERVICE_MAX_MS monitor) ||
    s_fail "the application did not log in at ctim-b"
back_at=0
for l in 101 102 103; do
    line=$(s_wait_line "$tmp/monitor.log" "$mark" " $l in-service\$" $SERVICE_MAX_MS monitor) ||
        s_fail "line $l not back in service"
    t=$(s_line_ms "$line")
    [ "$t" -gt "$back_at" ] && back_at=$t
done
s_show
s_say "${c_dim}$(tail -n "+$((b_mark + 1))" "$tmp/ctim-b.log" | grep -E 'ha: |link: |pbx: re-monitor|client: app' |
    sed 's/^[0-9-]* /     /')${c_off}"
up_ms=$(($(s_line_ms "$up") - killed_at))
back_ms=$((back_at - killed_at))
printf '\n%sFailover timeline%s (ms after kill -9; the nodes heartbeat every 100 ms, a peer silent for 5 is lost):\n' \
    "$c_bold" "$c_off"
printf '%6s  %s\n' 0 "kill -9 ctim-a" \
    $(($(s_line_ms "$lost") - killed_at)) "ctim-b: peer ctim-a lost (log)" \
    $(($(s_line_ms "$took") - killed_at)) "ctim-b: took the PBX link (log: epoch on disk, Claim sent)" \
    "$up_ms" "ctim-b: PBX link up (log)" \
    "$ready_ms" "ctim-b: /readyz answers 200 (polled every 20 ms)" \
    $(($(s_line_ms "$down") - killed_at)) "application: ctim-a silent for 2 heartbeats, link down (monitor)" \
    $(($(s_line_ms "$oos") - killed_at)) "application: lines out of service (monitor)" \
    $(($(s_line_ms "$relog") - killed_at)) "application: logged in at ctim-b (monitor)" \
    "$back_ms" "application: every line back in service (monitor)" | sort -s -n -k1,1 | sed 's/^/  /'
[ "$up_ms" -le $TAKEOVER_MAX_MS ] || s_fail "the takeover took $up_ms ms (bound $TAKEOVER_MAX_MS)"
[ "$back_ms" -le $SERVICE_MAX_MS ] || s_fail "the lines came back after $back_ms ms (bound $SERVICE_MAX_MS)"
[ "$(s_sim stats | grep -o '"links_open":[0-9]*')" = '"links_open":1' ] ||
    s_fail "pbxsim does not have exactly one link open"
s_ok "ctim-b took over in $up_ms ms; the application's lines were back in service after $back_ms ms"
s_ok "pbxsim holds one CSTA link, ctim-b's"
s_pause 2

s_say ""
s_cmd "curl -s http://127.0.0.1:$port_b_http/status | jq .     # the survivor"
status=$(s_http "$port_b_http" /status) || s_fail "ctim-b's /status"
if $ci; then
    printf '%s...\n' "${status:0:200}"
else
    printf '%s\n' "$status" | s_pretty
fi
# node, ready, and the cluster's owner and epoch of PBX main, read as JSON.
seen=$(python3 -c '
import json, sys
d = json.load(sys.stdin)
p = [x for x in (d.get("cluster") or {}).get("pbx", []) if x.get("name") == "main"]
print(d.get("node"), d.get("ready"), p[0].get("owner") if p else None,
      p[0].get("epoch") if p else None)' <<<"$status" 2>&1) || seen="unreadable: $seen"
[[ $seen == "ctim-b True ctim-b 2" ]] ||
    s_fail "ctim-b's /status does not say ready, owner ctim-b, epoch 2 (node ready owner epoch: $seen)"
s_ok "/status: ready, cluster.pbx[main] owner ctim-b with epoch 2 (ctim-a held epoch 1)"
s_pause 2

# --- After the failover -------------------------------------------------------------------------------
s_step "7/7 A call through the survivor"
s_say "The tool's server list still starts with ctim-a: it finds it silent and logs in at ctim-b."
s_call 103 101 "Carol calls Alice back"
s_answer 101 103 "Alice answers"
s_hangup 103 101 "Carol hangs up"
s_ok "calls work through ctim-b"

printf '\n%sAll steps passed.%s  Takeover %s ms, lines back in service %s ms after kill -9.\n' \
    "$c_green$c_bold" "$c_off" "$up_ms" "$back_ms"
if $stay; then
    s_say ""
    s_say "ctim-b, pbxsim and the monitor are still running.  Try, in another terminal:"
    s_say "  export CTIM_SERVERS=$CTIM_SERVERS CTIM_USER=crm"
    s_say "  $ctim --password-file $tmp/password call 101 102"
    s_say "  $pbxsim ctl --ctl $sim_ctl answer 102"
    s_say "  curl -s http://127.0.0.1:$port_b_http/metrics | grep ^ctim_ha"
    s_say "  tail -f $tmp/monitor.log $tmp/ctim-b.log"
    s_say "Press Enter (or Ctrl-C) to stop everything."
    read -r _ || true
fi
exit 0
