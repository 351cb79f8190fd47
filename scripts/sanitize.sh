#!/usr/bin/env bash
# Builds the suite with sanitizers and runs it: asan (AddressSanitizer + LeakSanitizer +
# UndefinedBehaviorSanitizer, the whole suite, in build-asan/) and tsan (ThreadSanitizer, the
# tests that run threads, in build-tsan/). Any report fails: the process that finds one exits
# with the sanitizer's code, and every report is also written under <build>/sanitizer-logs/,
# which must be empty at the end (a report in a child whose exit code no test reads still fails).
#   usage: scripts/sanitize.sh [asan|tsan|all]     (default: all)
# Environment: FAULTLINE_SANITIZE_JOBS (build jobs, default 2), CTEST_ARGS (extra ctest args).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-all}
jobs=${FAULTLINE_SANITIZE_JOBS:-2}
supp="$root/tests/sanitizers"

case "$mode" in
  asan | tsan | all) ;;
  *)
    echo "usage: $0 [asan|tsan|all]: '$mode' is not one of them" >&2
    exit 2
    ;;
esac

# Not run under either sanitizer: kernel_lab_netem and kernel_lab_cgroup2 boot a qemu guest that
# runs system_tests inside, under a guest timeout; instrumented, the guest run is several times
# slower, and their [netem] and [cgroup2-lab] tests are the same code as the host's tests of
# those kinds, which run here.
common_exclude='^kernel_lab_(netem|cgroup2)$'

# configure <dir> <sanitizers>
configure() {
  # -Werror stays in the default build: gcc documents that -fsanitize= can give warnings that
  # are false positives (-Wmaybe-uninitialized, -Wnull-dereference), so they must not fail here.
  cmake -S "$root" -B "$root/$1" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFAULTLINE_WERROR=OFF \
    -DFAULTLINE_SANITIZE="$2" >/dev/null
}

# build <dir> <targets...>: only what the tests run (no benchmarks).
build() {
  local dir=$1
  shift
  local args=()
  for t in "$@"; do args+=(--target "$t"); done
  nice -n 10 cmake --build "$root/$dir" -j"$jobs" "${args[@]}"
}

# check_logs <dir>: fails, printing them, when any sanitizer wrote a report.
check_logs() {
  local logs="$root/$1/sanitizer-logs"
  if compgen -G "$logs/*" >/dev/null; then
    echo "sanitizer reports in $logs:" >&2
    for f in "$logs"/*; do
      echo "==== $f" >&2
      cat "$f" >&2
    done
    return 1
  fi
}

# The suite as ctest runs it, with the options in the environment so that the faultline and
# faultline-agent processes the tests start inherit them. $1: build dir; the rest: ctest args.
run_ctest() {
  local dir=$1
  shift
  local logs="$root/$dir/sanitizer-logs"
  rm -rf "$logs"
  mkdir -p "$logs"
  local status=0
  (
    cd "$root/$dir"
    export ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=$logs/asan"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$logs/ubsan"
    export TSAN_OPTIONS="${TSAN_OPTIONS:-}:log_path=$logs/tsan"
    # shellcheck disable=SC2086
    ctest --output-on-failure -j2 "$@" ${CTEST_ARGS:-}
  ) || status=$?
  check_logs "$dir" || status=1
  return "$status"
}

asan() {
  # halt_on_error/exitcode: the first report ends the process with 23, which no test expects.
  # detect_leaks: LeakSanitizer stops the process's threads with ptrace when it exits; that works
  # here (root with CAP_SYS_PTRACE, no seccomp). Processes that end by _exit (forked workers,
  # the guardian's children) or by a signal are not checked for leaks, by design of LSan.
  export ASAN_OPTIONS="halt_on_error=1:exitcode=23:detect_leaks=1:print_stacktrace=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:suppressions=$supp/asan.supp"
  export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="halt_on_error=1:exitcode=23:print_stacktrace=1:suppressions=$supp/ubsan.supp"
  local t0=$SECONDS
  configure build-asan address,undefined
  build build-asan unit_tests system_tests faultline faultline-agent
  local t1=$SECONDS
  local status=0
  run_ctest build-asan -E "$common_exclude" || status=$?
  echo "asan: build $((t1 - t0)) s, tests $((SECONDS - t1)) s, status $status"
  return "$status"
}

# The system tests that run threads: the engine (faultline run: probes, stop conditions and
# faults on their own threads, the guardian), the agent (gRPC server threads, the lease ticker,
# the actuator thread, the metrics server's) and fan-out to several agents. Chosen by source file, through Catch's
# file-name tags, so that a new test in one of these files is run without editing this list.
tsan_files=(run_test agent_test agent_recovery_test agent_tls_test agent_fuzz_test
  agent_metrics_test multi_host_run_test lab_agents_test fault_service_test local_undo_test)

tsan() {
  # halt_on_error: the first race ends the process (exit 66). second_deadlock_stack: both
  # stacks of a lock-order inversion.
  export TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1:print_stacktrace=1:suppressions=$supp/tsan.supp"
  local t0=$SECONDS
  configure build-tsan thread
  build build-tsan system_tests faultline faultline-agent
  local t1=$SECONDS
  local tags
  tags=$(printf '[#%s],' "${tsan_files[@]}")
  # Test names to a ctest regex: every character but letters and digits becomes '.', which
  # matches it; anchored, so that no other test is picked by a shared prefix.
  local names
  names=$("$root/build-tsan/tests/system_tests" -# --list-test-names-only "${tags%,}" |
    sed -e '/^$/d' -e 's/[^A-Za-z0-9]/./g' | paste -sd'|')
  if [ -z "$names" ]; then
    echo "tsan: no tests matched $tags" >&2
    return 1
  fi
  local status=0
  run_ctest build-tsan -R "^($names|host_state_snapshot|host_state_unchanged)\$" \
    -E "$common_exclude" || status=$?
  echo "tsan: build $((t1 - t0)) s, tests $((SECONDS - t1)) s, status $status"
  return "$status"
}

status=0
if [ "$mode" = asan ] || [ "$mode" = all ]; then asan || status=1; fi
if [ "$mode" = tsan ] || [ "$mode" = all ]; then tsan || status=1; fi
exit "$status"
