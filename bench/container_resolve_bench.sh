#!/usr/bin/env bash
# What resolving containers costs `faultline plan`: N containers of a private dockerd (the tests'
# harness, tests/containers/runtimes.sh), a target selecting all of them, planned R
# times. Peers in the same run: the same plan with a target of host processes (no container to
# resolve: the floor of reading the scenario and /proc), and the containers found by cgroup path
# alone (the API socket pointed elsewhere). Prints medians and ratios.
#   container_resolve_bench.sh FAULTLINE [N=20] [R=10]      (as root)
set -uo pipefail
faultline=$1 n=${2:-20} rounds=${3:-10}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/containers/runtimes.sh"
[[ $(id -u) -eq 0 ]] || { echo "run as root"; exit 2; }
runtime_available docker || { echo "needs docker: $RUNTIME_SKIP_REASON"; exit 2; }
work=$(mktemp -d /tmp/fl-test-rt.XXXXXX) scratch=$(mktemp -d /tmp/fl-bench-ct.XXXXXX)
trap 'runtime_stop_all "$work"; rm -rf "$scratch"' EXIT
runtime_start docker "$work" && runtime_image docker || exit 1
for ((i = 0; i < n; i++)); do
  runtime_run docker "bench-$i" app=bench -- /bin/sleep 600 >/dev/null || exit 1
done

plan_file() {  # NAME TARGET
  cat > "$scratch/$1.yaml" <<YAML
version: 1
title: $1
targets: {it: $2}
blast_radius: {max_duration: 1m, max_containers: $n}
steady_state:
  - {name: p, command: {run: "true"}, expect: {exit_code: 0}}
faults:
  - {name: f, target: it, at: 0s, duration: 5s, network_partition: {destination: 127.0.0.2/32}}
YAML
  echo "$scratch/$1.yaml"
}
# Every container: by cgroup path, only ids are known, and "*" matches a name that is not.
containers=$(plan_file containers "{containers: {runtime: docker, name: '*'}}")
host=$(plan_file host "{}")
# Milliseconds of one command, best to worst, one per line.
timed() {
  local r
  for ((r = 0; r < rounds; r++)); do
    local t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
    echo $(( ($(date +%s%N) - t0) / 1000 ))
  done | sort -n
}
median() { python3 -c 'import sys, statistics; print("%.1f" % (statistics.median(map(int, sys.stdin)) / 1000))'; }

api=$(timed "$faultline" plan "$containers" | median)
floor=$(timed "$faultline" plan "$host" | median)
by_cgroup=$(DOCKER_HOST=unix://$scratch/none.sock timed "$faultline" plan "$containers" | median)
echo "plan with $n docker containers (API): $api ms median of $rounds"
echo "plan of a host target (floor):          $floor ms ($(python3 -c "print('%.2f' % ($api / $floor))")x)"
echo "plan with $n containers by cgroup path: $by_cgroup ms ($(python3 -c "print('%.2f' % ($by_cgroup / $floor))")x)"
