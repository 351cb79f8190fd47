#!/usr/bin/env bash
# Configures and builds faultline in ./build (warnings are errors, as in CI).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFAULTLINE_WERROR=ON >/dev/null
cmake --build "$root/build" -j"$(nproc)"
