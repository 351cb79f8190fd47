#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang-16, ASan and UBSan in their own directory and
# gives each a bounded run from its seed corpus (fuzz/corpus/TARGET). Exits non-zero when any
# target crashes, leaks, hangs (-timeout) or runs out of memory; the input that did it is left
# in the artifacts directory and its path printed. New corpus entries go to a scratch
# directory, never into the repository.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 20 s each, every target)
#   FUZZ_BUILD=dir  where to build (default: build-fuzz beside the source)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-20}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(scenario_fuzzer inventory_fuzzer agent_config_fuzzer wire_fuzzer
                              values_fuzzer suite_fuzzer journal_fuzzer)
build=${FUZZ_BUILD:-$root/build-fuzz}
compiler=$(command -v clang++-16 || true)
if [[ -z $compiler ]]; then
  echo "fuzz.sh: error: clang++-16 is not installed; run scripts/install-deps.sh" >&2
  exit 2
fi

cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER="$compiler" -DFAULTLINE_FUZZ=ON \
  -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  >/dev/null
cmake --build "$build" -j"${FUZZ_JOBS:-2}" --target "${targets[@]}"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
artifacts="$build/artifacts"
mkdir -p "$artifacts"
# A leak in a parser is a bug; UBSan's report must end the run, not scroll past.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
# clang-16 looks for llvm-16's symbolizer, which only the large llvm-16 package ships. Any
# llvm-symbolizer on PATH (Debian's llvm package) reads these binaries too, so a crash report
# names the file and line; without one the stack is addresses and the saved input still replays.
if [[ -z ${ASAN_SYMBOLIZER_PATH:-} ]] && command -v llvm-symbolizer >/dev/null; then
  export ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer)
fi
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=()
printf '%-20s %10s %10s %8s %8s %8s\n' target runs exec/s cov ft corpus
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  log="$build/$t.log"
  dict=()
  [[ $t == scenario_fuzzer || $t == inventory_fuzzer || $t == agent_config_fuzzer ||
    $t == suite_fuzzer ]] &&
    dict=(-dict="$root/fuzz/yaml.dict")
  status=0
  "$build/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$t-" "${dict[@]}" \
    "$scratch/$t" "$root/fuzz/corpus/$t" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  printf '%-20s %10s %10s %8s %8s %8s\n' "$t" "${runs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" \
    "${corp:-?}"
  if ((status != 0)); then
    failed+=("$t")
    echo "fuzz.sh: $t failed (exit $status); log: $log" >&2
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|artifact_prefix|Test unit written)' "$log" |
      head -20 >&2 || true
  fi
done
if ((${#failed[@]})); then
  echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]}; inputs in $artifacts" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} target(s), ${seconds} s each, no crash, leak or hang"
