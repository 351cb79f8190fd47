#!/usr/bin/env bash
# Proves that netem works in the kernel lab: two network namespaces joined by a veth pair, the
# ping RTT between them measured before and after `tc qdisc add dev <veth> root netem delay
# 100ms`. Exits 0 only if the median RTT rose by 100 ± 5 ms. Runs inside the guest:
#
#   tests/kernel-lab/run-in-guest.sh -- tests/kernel-lab/netem-smoke.sh
#
# All traffic stays between the two namespaces; both are deleted at the end (with the veth
# pair), whatever happens.
set -euo pipefail

readonly ns_a=fl-smoke-a ns_b=fl-smoke-b
readonly veth_a=fl-smoke-a veth_b=fl-smoke-b # one name per end, each in its own namespace
readonly addr_a=10.200.0.1 addr_b=10.200.0.2
readonly delay_ms=100 tolerance_ms=5 pings=10

if [[ ${FAULTLINE_LAB:-} != 1 ]]; then
  echo "netem-smoke: skipped: runs inside the kernel lab: tests/kernel-lab/run-in-guest.sh -- $0" >&2
  exit 77
fi
# Busybox's ping when iputils-ping is not installed; both print "time=0.123 ms" per reply.
if command -v ping > /dev/null; then ping=(ping); else ping=(busybox ping); fi

cleanup() {
  ip netns del "$ns_a" 2> /dev/null || true
  ip netns del "$ns_b" 2> /dev/null || true
}
trap cleanup EXIT

ip netns add "$ns_a"
ip netns add "$ns_b"
ip link add "$veth_a" netns "$ns_a" type veth peer name "$veth_b" netns "$ns_b"
ip -n "$ns_a" addr add "$addr_a/24" dev "$veth_a"
ip -n "$ns_b" addr add "$addr_b/24" dev "$veth_b"
ip -n "$ns_a" link set "$veth_a" up
ip -n "$ns_b" link set "$veth_b" up

# Prints "median min max" of the RTTs, in ms, of $pings replies from b to a ping from a.
measure_rtt() {
  local output
  output=$(ip netns exec "$ns_a" "${ping[@]}" -c "$pings" -i 0.2 -w 30 "$addr_b") || {
    echo "netem-smoke: ping $addr_b failed:" >&2
    echo "$output" >&2
    return 1
  }
  grep -o 'time=[0-9.]*' <<< "$output" | cut -d= -f2 | sort -n | awk -v want="$pings" '
    { rtt[NR] = $1 }
    END {
      if (NR != want) { print "got " NR " replies of " want > "/dev/stderr"; exit 1 }
      median = NR % 2 ? rtt[(NR + 1) / 2] : (rtt[NR / 2] + rtt[NR / 2 + 1]) / 2
      printf "%.2f %.2f %.2f\n", median, rtt[1], rtt[NR]
    }'
}

# The first ping also resolves the neighbour: keep it out of the figures.
ip netns exec "$ns_a" "${ping[@]}" -c 1 -w 10 "$addr_b" > /dev/null

rtt=$(measure_rtt)
read -r before before_min before_max <<< "$rtt"
tc -n "$ns_a" qdisc add dev "$veth_a" root netem delay "${delay_ms}ms"
tc -n "$ns_a" qdisc show dev "$veth_a"
rtt=$(measure_rtt)
read -r after after_min after_max <<< "$rtt"

echo "kernel: $(uname -r)"
echo "RTT before netem: median $before ms (min $before_min, max $before_max; $pings pings)"
echo "RTT with netem delay ${delay_ms}ms on $veth_a: median $after ms (min $after_min, max $after_max)"
verdict=$(awk -v a="$after" -v b="$before" -v d="$delay_ms" -v t="$tolerance_ms" 'BEGIN {
  rise = a - b
  printf "%s %.2f\n", (rise >= d - t && rise <= d + t) ? "pass" : "fail", rise }')
read -r outcome rise <<< "$verdict"
echo "RTT rose by $rise ms (expected $delay_ms ± $tolerance_ms): $outcome"
[[ $outcome == pass ]]
