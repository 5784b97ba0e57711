#!/bin/sh
# Independent check of the codec's BER with tshark and unber (csta-facts.md 4): every
# vector of tests/fixtures/*.hex, decoded and re-encoded by ctim, goes into a pcap as a
# len16-framed TCP stream on port 33333 (one APDU per segment, some segments with two, one
# APDU split over two).  Passes when the shared checker finds no malformed APDU, tshark
# decodes exactly as many APDUs as were written (the checker's blind spot), and unber -p
# parses every APDU file.
#   tests/integration/csta_pcap_check.sh PATH/TO/csta_pcap_writer
# Exit 77 (CTest: skipped) when tshark, unber or ../shared/tools is missing.
set -eu
writer="${1:?usage: csta_pcap_check.sh PATH/TO/csta_pcap_writer}"
root=$(cd "$(dirname "$0")/../.." && pwd)
tools="$root/../shared/tools"     # CI checks out shared/ beside the repo

for t in tshark unber; do
    command -v "$t" >/dev/null || { echo "SKIP: $t is not installed"; exit 77; }
done
[ -x "$tools/check_csta_pcap.sh" ] || { echo "SKIP: no $tools/check_csta_pcap.sh"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir "$tmp/apdu"
pcap="$tmp/csta.pcap"
written=$("$writer" "$pcap" "$tmp/apdu" "$root"/tests/fixtures/*.hex)
echo "wrote $written APDUs to $pcap"

"$tools/check_csta_pcap.sh" "$pcap" prefix

# One cstaber.prefix_len per APDU that tshark dissected (several per frame are joined by ",").
decoded=$(tshark -n -X lua_script:"$tools/csta_ber.lua" -o cstaber.prefix:TRUE -r "$pcap" \
              -T fields -e cstaber.prefix_len 2>/dev/null | tr ',' '\n' | grep -c '[0-9]' || true)
if [ "$decoded" != "$written" ]; then
    echo "FAIL: tshark decoded $decoded APDUs, $written were written"
    exit 1
fi
echo "OK: tshark decoded $decoded APDUs"

bad=0
for f in "$tmp"/apdu/*.ber; do
    if ! out=$(unber -p "$f" 2>&1); then
        echo "FAIL: unber -p $(basename "$f"): $out" | head -5
        bad=$((bad + 1))
    fi
done
[ "$bad" -eq 0 ] || { echo "FAIL: unber rejected $bad APDU files"; exit 1; }
echo "OK: unber parsed $(ls "$tmp"/apdu | wc -l) APDU files"
