#!/usr/bin/env bash
# Install the Debian packages ctim needs, if missing.  Used by tests/run and deploy/demo.sh.
#   deploy/install-deps.sh build      compilers and libraries
#   deploy/install-deps.sh test       build + test tools (tshark, unber, clang/libFuzzer,
#                                     systemd-analyze, prometheus, dpkg-dev)
set -euo pipefail

# python3: deploy/demo.sh reads /status as JSON.
build_pkgs=(cmake make gcc pkg-config asn1c libcmocka-dev libczmq-dev libzmq3-dev libssl-dev
            libprotobuf-c-dev protobuf-c-compiler libcyaml-dev libmicrohttpd-dev libsystemd-dev
            python3)
# systemd: systemd-analyze verify; strace: the units' system-call filter against what the
# programs call; prometheus: promtool and a real server; dpkg-dev and file: CPack's .deb
# with dpkg-shlibdeps.
test_pkgs=(tshark tcpdump clang libclang-rt-14-dev python3 prometheus systemd strace dpkg-dev
           file)

want=("${build_pkgs[@]}")
[ "${1:-build}" = test ] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
