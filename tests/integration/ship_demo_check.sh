#!/usr/bin/env bash
# deploy/demo.sh in CI: `demo.sh --ci --no-build` on this build tree (no packages, no
# build inside CTest) must pass every step it checks — call states seen by the monitor,
# the backup's takeover within its bound, the application back in service, a call through
# the survivor — and leave no process and no file behind.  Then a second run interrupted
# half-way with SIGINT (Ctrl-C) must exit 130 within seconds, again leaving nothing.
# The demo picks free ports itself, so this runs beside the other tests.
#   ship_demo_check.sh SOURCE_DIR BUILD_DIR        exit 0 ok, 1 failure
set -euo pipefail
src=$1 build=$2
scratch=$(mktemp -d /tmp/ctim-demo-check-XXXXXX)
# The demo makes its folder under TMPDIR: what it leaves there, and every process it
# started (their command lines name files in it), can then be found.
export TMPDIR=$scratch
demo_pid=""
s_cleanup() {
    local p
    if [ -n "$demo_pid" ]; then
        kill -TERM "$demo_pid" 2>/dev/null || true
        wait "$demo_pid" 2>/dev/null || true
    fi
    # Only after a failure: what a broken demo left (the pattern is this run's own folder).
    for p in $(pgrep -f -- "$scratch/ctim-demo-" || true); do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$scratch"
}
trap s_cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }
now_ms() { date +%s%3N; }

# Nothing of the demo left: no folder under TMPDIR, no process naming one.
s_nothing_left() {
    local what=$1 i
    # The demo waits for its children before it exits; allow a moment for the kernel to
    # reap them all the same.
    for ((i = 0; i < 50; i++)); do pgrep -f -- "$scratch/ctim-demo-" >/dev/null || break; sleep 0.05; done
    if pgrep -f -- "$scratch/ctim-demo-" >/dev/null; then
        pgrep -a -f -- "$scratch/ctim-demo-"
        fail "$what: processes left running"
    fi
    if compgen -G "$scratch/ctim-demo-*" >/dev/null; then
        ls -la "$scratch"
        fail "$what: files left in $scratch"
    fi
    echo "ok: $what: no process and no file left"
}

# 1. The whole demo, checked by itself.
started=$(now_ms)
rc=0
timeout 100 "$src/deploy/demo.sh" --ci --no-build --build-dir "$build" >"$scratch/run.log" 2>&1 || rc=$?
cat "$scratch/run.log"
[ $rc -eq 0 ] || fail "demo.sh --ci exited $rc"
grep -q '^All steps passed\.' "$scratch/run.log" || fail "no 'All steps passed' line"
# No colour when stdout is not a terminal.
if grep -q $'\e\[' "$scratch/run.log"; then fail "escape sequences in non-terminal output"; fi
echo "ok: demo.sh --ci passed in $(($(now_ms) - started)) ms"
s_nothing_left "after the demo"

# 2. Ctrl-C half-way: job control gives the demo its own process group, so it does not
# inherit the ignored SIGINT of a background job and its trap runs.
set -m
"$src/deploy/demo.sh" --ci --no-build --build-dir "$build" >"$scratch/int.log" 2>&1 &
demo_pid=$!
set +m
deadline=$(($(now_ms) + 30000))
until grep -q '^== 5/7' "$scratch/int.log"; do
    kill -0 "$demo_pid" 2>/dev/null || { cat "$scratch/int.log"; fail "the demo ended before step 5"; }
    [ "$(now_ms)" -lt $deadline ] || { cat "$scratch/int.log"; fail "the demo did not reach step 5 in 30 s"; }
    sleep 0.02
done
kill -INT "$demo_pid"
sent=$(now_ms)
rc=0
# wait returns when the demo has ended; the deadline is the demo's own bounded steps
# (each command it may be in when the signal comes ends within 20 s).
timeout_at=$((sent + 25000))
while kill -0 "$demo_pid" 2>/dev/null; do
    [ "$(now_ms)" -lt $timeout_at ] || { cat "$scratch/int.log"; fail "the demo did not stop within 25 s of SIGINT"; }
    sleep 0.02
done
wait "$demo_pid" || rc=$?
demo_pid=""
[ $rc -eq 130 ] || { cat "$scratch/int.log"; fail "interrupted demo exited $rc, want 130"; }
echo "ok: SIGINT in step 5: exit 130 after $(($(now_ms) - sent)) ms"
s_nothing_left "after SIGINT"
