#!/bin/sh
# libctim as an application sees it: install the build tree into a temporary prefix, then
# compile, link and run a program found only through pkg-config (libctim.pc) and ctim.h.
# usage: ctim_pkgconfig_check.sh BUILD_DIR C_COMPILER [EXTRA_CFLAGS...]
set -eu
build=$1; cc=$2; shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
pc=$(dirname "$(find "$tmp/prefix" -name libctim.pc | head -1)")
test -n "$pc"
cat > "$tmp/app.c" <<'APP'
#include <ctim.h>
#include <errno.h>
#include <stdio.h>
int main(void)
{
    ctim_cfg_t cfg;
    ctim_cfg_init(&cfg);
    cfg.servers = "tcp://127.0.0.1:2748";
    cfg.user = "app";
    ctim_t *c = ctim_new(&cfg);
    if (!c || ctim_open_line(c, "101", NULL) != -ENOTCONN)
        return 1;
    ctim_destroy(&c);
    printf("%s\n", ctim_result_str(CTIM_RESULT_SERVER_LOST));
    return 0;
}
APP
# shellcheck disable=SC2046
"$cc" "$@" -o "$tmp/app" "$tmp/app.c" $(PKG_CONFIG_PATH="$pc" pkg-config --cflags --libs libctim)
out=$(LD_LIBRARY_PATH="$(dirname "$pc")" "$tmp/app")
test "$out" = "server-lost"
# The soname is versioned: the program needs libctim.so.0.
readelf -d "$tmp/app" | grep -q 'libctim.so.0'
echo "ok: $out"
