#!/usr/bin/env bash
# Runs every benchmark and prints its figures. Run on a quiet machine; the CPU accuracy and
# idle overhead benchmarks take about 3 minutes and 70 s, the agent footprint one about 130 s,
# the 1,000-endpoint fleet one about a minute.
# `bench/run.sh quick` shortens them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/bench"
tool="$root/build/controller/faultline"
seconds=5; idle=60; rounds=30
[[ ${1:-} == quick ]] && seconds=2 && idle=10 && rounds=10
"$bin/validate_bench" "$tool"
echo
"$bin/kill_latency_bench" 200
echo
"$bin/cpu_accuracy_bench" "$tool" "$seconds"
echo
"$bin/idle_overhead_bench" "$tool" "$idle"
echo
"$bin/netlink_vs_tc_bench" 50
echo
"$bin/fanout_bench" 50 "$rounds"
echo
"$bin/agent_footprint_bench" "$idle"
echo
"$bin/lease_revert_bench" 10 2s
echo
"$bin/fleet_scale_bench" 1000 "$rounds" 10
echo
"$bin/inventory_scale_bench" 10000 10
echo
"$bin/report_bench" "$tool" 3
echo
"$bin/nfqueue_rate_bench" "$seconds" 5000
echo
"$(dirname "$0")/network_userspace_bench.sh" "$tool" userspace "$seconds"
