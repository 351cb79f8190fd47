#!/usr/bin/env bash
# The long kill-anywhere soak (tests/soak/kill-anywhere.sh) against the binaries in build/ (or
# $FAULTLINE_BUILD_DIR): scripts/soak.sh [--runs 300] [--seed N] [--verbose]. Needs root. CI runs
# a bounded form of it as the ctest test kill_anywhere_soak.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FAULTLINE_BUILD_DIR:-$root/build}
runs=300
seed=$(date +%s)
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --verbose) extra+=(--verbose); shift ;;
    *) echo "soak.sh: error: unknown argument '$1' (expected --runs N, --seed N, --verbose)" >&2; exit 2 ;;
  esac
done
for bin in "$build/controller/faultline" "$build/agent/faultline-agent"; do
  [[ -x $bin ]] || { echo "soak.sh: error: $bin is missing: build first (scripts/build.sh)" >&2; exit 2; }
done
exec "$root/tests/soak/kill-anywhere.sh" --runs "$runs" --seed "$seed" "${extra[@]}" \
  --faultline "$build/controller/faultline" --agent "$build/agent/faultline-agent"
