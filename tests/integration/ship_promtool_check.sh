#!/usr/bin/env bash
# deploy/prometheus: the alert rules parse (`promtool check rules`), the scrape config with
# its rule file is valid (`promtool check config`), and the alerts fire when they should and
# stay silent when they should not (`promtool test rules ctim-alerts.test.yml`).  promtool
# prints problems and exits non-zero; nothing needs a running Prometheus or the series.
#   ship_promtool_check.sh DIR        exit 0 ok, 1 failure, 77 skipped (no promtool)
set -euo pipefail
dir=$(cd "$1" && pwd)
command -v promtool >/dev/null || { echo "skip: no promtool (apt install prometheus)"; exit 77; }
cd "$dir"
promtool check rules ctim-alerts.yml
promtool check config prometheus.yml
promtool test rules ctim-alerts.test.yml
# Every alert has a severity and a runbook into the README's troubleshooting guide, and
# every runbook anchor names a heading that exists there.
readme=$(cd "$dir/../.." && pwd)/README.md
alerts=$(grep -c '^      - alert: ' ctim-alerts.yml)
[ "$(grep -c '^          severity: \(critical\|warning\)$' ctim-alerts.yml)" = "$alerts" ] ||
    { echo "FAIL: an alert without severity critical|warning"; exit 1; }
[ "$(grep -c '^          runbook: "README.md#' ctim-alerts.yml)" = "$alerts" ] ||
    { echo "FAIL: an alert without a runbook"; exit 1; }
# GitHub's anchors: lower case, punctuation dropped, spaces to dashes.
anchors=$(grep '^#' "$readme" | sed 's/^#* //' | tr 'A-Z' 'a-z' | sed 's/[^a-z0-9 _-]//g; s/ /-/g')
for a in $(sed -n 's/^          runbook: "README.md#\(.*\)"$/\1/p' ctim-alerts.yml | sort -u); do
    grep -qx -- "$a" <<<"$anchors" || { echo "FAIL: runbook README.md#$a: no such heading"; exit 1; }
done
echo "ok: $alerts alerts, each with a severity and a runbook in the README"
