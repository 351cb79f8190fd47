#!/usr/bin/env bash
# CTest fixture: makes the .deb packages of the build (cpack, as `cmake --build BUILD --target
# package` does) into OUT_DIR, for deb-lintian-test.sh and deb-chroot-test.sh.
#   build-debs.sh BUILD_DIR OUT_DIR VERSION
# Skipped (77) when a tool is missing; the reason is also left in OUT_DIR/SKIPPED, so that the
# tests using the packages skip with it.
set -uo pipefail
if [[ $# -ne 3 || ! -f $1/CPackConfig.cmake ]]; then
  echo "build-debs: error: usage: build-debs.sh BUILD_DIR OUT_DIR VERSION (got: $*)"
  exit 2
fi
build=$1 out=$2 version=$3
rm -rf "$out"
mkdir -p "$out"
skip() { echo "$*" > "$out/SKIPPED"; echo "SKIPPED: $*"; exit 77; }
for tool in dpkg-deb dpkg-shlibdeps fakeroot; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/install-deps.sh: dpkg-dev, fakeroot)"
done
[[ -f $build/packaging/man/faultline.1.gz ]] ||
  skip "no man pages in this build (help2man was missing when it was configured, or it is a sanitizer or fuzz build)"
# cpack makes the packages in a staging tree of its own under OUT_DIR.
cpack --config "$build/CPackConfig.cmake" -B "$out" > "$out/cpack.log" 2>&1 ||
  { cat "$out/cpack.log"; echo "build-debs: error: cpack failed"; exit 1; }
rm -rf "$out/_CPack_Packages"
for deb in "faultline_${version}-1_amd64.deb" "faultline-agent_${version}-1_amd64.deb"; do
  [[ -f $out/$deb ]] || { cat "$out/cpack.log"; echo "build-debs: error: cpack made no $deb"; exit 1; }
  echo "made $out/$deb ($(stat -c %s "$out/$deb") bytes)"
done
