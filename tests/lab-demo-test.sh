#!/usr/bin/env bash
# CTest: the README's multi-host demo (scripts/lab-demo.sh) runs and its hypothesis holds.
# Skipped (77) where it cannot run: not root, or a lab is already up on this host.
# Usage: lab-demo-test.sh BUILD_DIR (CTest passes the build tree, which may be out of the source).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ $# -ne 1 || ! -d $1 ]]; then
  echo "lab-demo-test: error: usage: lab-demo-test.sh BUILD_DIR (got: $*)"
  exit 2
fi
build_dir=$1
if [[ $(id -u) -ne 0 ]]; then echo "SKIPPED: the lab needs root"; exit 77; fi
if ip link show fl-lab0 >/dev/null 2>&1; then echo "SKIPPED: a lab is already up"; exit 77; fi
out=$("$root/scripts/lab-demo.sh" --no-build --build-dir "$build_dir" --seed 7 2>&1)
status=$?
echo "$out"
[[ $status -eq 0 ]] || { echo "lab-demo-test: error: the demo exited $status"; exit 1; }
grep -q "^verdict: held (exit 0)" <<<"$out" || { echo "lab-demo-test: error: no held verdict"; exit 1; }
grep -q "3 of 3 agents up" <<<"$out" || { echo "lab-demo-test: error: agents not all up"; exit 1; }
if ip link show fl-lab0 >/dev/null 2>&1; then echo "lab-demo-test: error: the lab was left up"; exit 1; fi
exit 0
