#!/usr/bin/env bash
# The .deb: CPack builds it from this build tree into a scratch directory; dpkg-deb lists
# the paths README.md promises (programs, libctim with header and pkg-config file, units,
# the sysusers file, examples, Prometheus rules), the control data has its maintainer
# scripts and library dependencies from dpkg-shlibdeps; extracted into a scratch root, its
# ctimd runs (`ctimd --version` prints the package's version), validates the shipped
# example config, and its pkg-config file points into that root; the sysusers entry makes
# the ctim user (systemd-sysusers --root) and the maintainer scripts are valid sh.
#   ship_deb_check.sh BUILD_DIR        exit 0 ok, 1 failure, 77 skipped (tools missing)
set -euo pipefail
build=$1
for tool in cpack dpkg-deb dpkg-shlibdeps file pkg-config; do
    command -v $tool >/dev/null ||
        { echo "skip: no $tool (deploy/install-deps.sh test installs dpkg-dev, file)"; exit 77; }
done
scratch=$(mktemp -d /tmp/ctim-deb-XXXXXX)
trap 'rm -rf "$scratch"' EXIT

cpack --config "$build/CPackConfig.cmake" -G DEB -B "$scratch/pkg" >"$scratch/cpack.log" 2>&1 ||
    { cat "$scratch/cpack.log"; echo "FAIL: cpack"; exit 1; }
debs=("$scratch"/pkg/ctim_*.deb)
[ ${#debs[@]} = 1 ] && [ -f "${debs[0]}" ] || { echo "FAIL: no single ctim_*.deb"; ls -R "$scratch/pkg"; exit 1; }
deb=${debs[0]}
echo "ok: $(basename "$deb"), $(stat -c %s "$deb") bytes"

fail=0
list=$(dpkg-deb -c "$deb" | awk '{print $6}')
want=(./usr/bin/ctimd ./usr/bin/pbxsim ./usr/include/ctim.h
      './usr/lib/(.*/)?libctim\.so' './usr/lib/(.*/)?libctim\.so\.0' './usr/lib/(.*/)?libctim\.so\.0\..*'
      './usr/lib/(.*/)?pkgconfig/libctim\.pc'
      ./usr/lib/systemd/system/ctimd.service ./usr/lib/systemd/system/ctimd@.service
      ./usr/lib/systemd/system/pbxsim.service ./usr/lib/sysusers.d/ctim.conf
      ./usr/share/doc/ctim/README.md ./usr/share/doc/ctim/examples/ctimd.yaml
      ./usr/share/doc/ctim/prometheus/prometheus.yml ./usr/share/doc/ctim/prometheus/ctim-alerts.yml)
# The ctim tool is packaged once it is built (client-tsp-shim/tools).
if find "$build/client-tsp-shim" -type f -name ctim -perm -u+x 2>/dev/null | grep -q .; then
    want+=(./usr/bin/ctim)
fi
for p in "${want[@]}"; do
    grep -Eqx -- "$p" <<<"$list" || { echo "FAIL: $p not in the package"; fail=1; }
done
# Nothing in /etc (the operator's config) and nothing outside /usr.
if grep -Ev '^\./(usr(/.*)?)?$' <<<"$list" | grep -q .; then
    echo "FAIL: paths outside /usr:"; grep -Ev '^\./(usr(/.*)?)?$' <<<"$list"; fail=1
fi

control=$(dpkg-deb -I "$deb")
for s in postinst prerm postrm shlibs; do
    grep -Eq "^ +[0-9]+ bytes, +[0-9]+ lines +\*? +$s" <<<"$control" || { echo "FAIL: no $s"; fail=1; }
done
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libczmq4 libssl3 libsystemd0 libcyaml1 libmicrohttpd12 libprotobuf-c1; do
    grep -q "$lib" <<<"$depends" || { echo "FAIL: Depends lacks $lib: $depends"; fail=1; }
done
echo "ok: Depends: $depends"

root=$scratch/root
dpkg-deb -x "$deb" "$root"
version=$(dpkg-deb -f "$deb" Version)
out=$("$root/usr/bin/ctimd" --version)
[ "$out" = "ctimd $version" ] || { echo "FAIL: ctimd --version said '$out', want 'ctimd $version'"; fail=1; }
echo "ok: extracted ctimd --version: $out"
"$root/usr/bin/ctimd" --check-config "$root/usr/share/doc/ctim/examples/ctimd.yaml" >/dev/null 2>"$scratch/check.log" ||
    { cat "$scratch/check.log"; echo "FAIL: the shipped example config does not check"; fail=1; }
"$root/usr/bin/pbxsim" --help >/dev/null 2>&1 || { echo "FAIL: extracted pbxsim --help"; fail=1; }
pc=$(dirname "$(find "$root/usr/lib" -name libctim.pc)")
cflags=$(PKG_CONFIG_PATH=$pc pkg-config --cflags libctim)
libs=$(PKG_CONFIG_PATH=$pc pkg-config --libs libctim)
# The .pc finds its prefix from where it lies (${pcfiledir}/../..).
inc=$(realpath -m "$(sed -n 's/^-I\([^ ]*\).*/\1/p' <<<"$cflags")")
libdir=$(realpath -m "$(sed -n 's/^-L\([^ ]*\).*/\1/p' <<<"$libs")")
[ "$inc" = "$(realpath "$root")/usr/include" ] && [ -e "$libdir/libctim.so" ] ||
    { echo "FAIL: libctim.pc does not point into the root: $cflags $libs"; fail=1; }
[ "$(PKG_CONFIG_PATH=$pc pkg-config --modversion libctim)" = "$version" ] ||
    { echo "FAIL: libctim.pc version"; fail=1; }
# The sysusers entry postinst applies makes the user the units run as, with no login.
if command -v systemd-sysusers >/dev/null; then
    mkdir -p "$root/etc"
    systemd-sysusers --root="$root" "$root/usr/lib/sysusers.d/ctim.conf" >/dev/null 2>&1 &&
        grep -q '^ctim:x:[0-9]*:[0-9]*:[^:]*:/var/lib/ctim:/usr/sbin/nologin$' "$root/etc/passwd" ||
        { echo "FAIL: ctim.conf does not make the user ctim"; cat "$root/etc/passwd" || true; fail=1; }
fi
for s in postinst prerm postrm; do
    dpkg-deb --ctrl-tarfile "$deb" | tar -xO "./$s" | sh -n || { echo "FAIL: $s is not valid sh"; fail=1; }
done
exit $fail
