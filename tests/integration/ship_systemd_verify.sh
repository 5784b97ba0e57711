#!/usr/bin/env bash
# The systemd units in deploy/systemd pass `systemd-analyze verify` with no complaint at all
# (verify exits 0 on unknown keys and bad values, it only prints them), and their hardening
# keeps systemd's exposure score at or below 2.0 ("OK").  verify needs ExecStart's binary
# to exist, so it checks scratch copies whose /usr/bin/ctimd and /usr/bin/pbxsim point at
# the build tree; nothing else in the units is changed.
#   ship_systemd_verify.sh UNIT_DIR CTIMD PBXSIM        exit 0 ok, 1 failure, 77 skipped
set -euo pipefail
units=$1 ctimd=$(realpath "$2") pbxsim=$(realpath "$3")
command -v systemd-analyze >/dev/null || { echo "skip: no systemd-analyze (apt install systemd)"; exit 77; }

scratch=$(mktemp -d /tmp/ctim-units-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
for u in ctimd.service ctimd@.service pbxsim.service; do
    sed -e "s|/usr/bin/ctimd|$ctimd|g" -e "s|/usr/bin/pbxsim|$pbxsim|g" "$units/$u" >"$scratch/$u"
done
# An instance of the template is what systemd really loads.
ln -s ctimd@.service "$scratch/ctimd@node-a.service"

fail=0
for u in ctimd.service ctimd@node-a.service pbxsim.service; do
    if ! out=$(cd "$scratch" && systemd-analyze verify --man=no "./$u" 2>&1) || [ -n "$out" ]; then
        echo "FAIL: systemd-analyze verify $u:"; echo "$out"; fail=1
    else
        echo "ok: systemd-analyze verify $u"
    fi
    # --offline reads the file only; the score is systemd's own (0 safe .. 10 exposed).
    if out=$(cd "$scratch" && systemd-analyze security --offline=true --threshold=20 --no-pager "./$u" 2>&1); then
        score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
        echo "ok: $u exposure $score"
        awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.0) }' ||
            { echo "FAIL: $u exposure $score > 2.0"; printf '%s\n' "$out" | grep '✗' || true; fail=1; }
    else
        echo "FAIL: systemd-analyze security $u:"; echo "$out"; fail=1
    fi
done
# The units start what the package installs, with the files the README names.
grep -q '^ExecStart=/usr/bin/ctimd --config /etc/ctim/ctimd.yaml$' "$units/ctimd.service" || { echo "FAIL: ctimd.service ExecStart"; fail=1; }
grep -q '^ExecStart=/usr/bin/ctimd --config /etc/ctim/%i.yaml$' "$units/ctimd@.service" || { echo "FAIL: ctimd@.service ExecStart"; fail=1; }
grep -q '^StateDirectory=ctim/%i$' "$units/ctimd@.service" || { echo "FAIL: ctimd@.service state dir"; fail=1; }
# ctimd@.service repeats ctimd.service but for the config and state paths: the two must
# not drift apart (a hardening line added to one only).
s_settings() { grep -E '^[A-Za-z]+=' "$1" | grep -vE '^(Description|ExecStart|StateDirectory)='; }
if ! diff <(s_settings "$units/ctimd.service") <(s_settings "$units/ctimd@.service"); then
    echo "FAIL: ctimd.service and ctimd@.service differ beyond config and state paths"; fail=1
fi
exit $fail
