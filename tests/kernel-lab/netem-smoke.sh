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
readonly veth_a=fl-smoke-a veth_b=fl-smoke-b # one end in each namespace
readonly addr_a=10.200.0.1 addr_b=10.200.0.2
readonly delay_ms=100 tolerance_ms=5 pings=10

if [[ ${FAULTLINE_LAB:-} != 1 ]]; then
  echo "netem-smoke: skipped: runs inside the kernel lab: tests/kernel-lab/run-in-guest.sh -- $0" >&2
  exit 77
fi
# Busybox's ping when iputils-ping is not installed; both print "time=0.123 ms" per reply
# (busybox prints whole milliseconds from 100 ms up).
if command -v ping > /dev/null; then ping=(ping); else ping=(busybox ping); fi

cleanup() {
  ip netns del "$ns_a" 2> /dev/null || true
  ip netns del "$ns_b" 2> /dev/null || true
}
trap cleanup EXIT

# Batched, because every exec of ip costs ~0.25 s under emulation.
ip -batch - << END
netns add $ns_a
netns add $ns_b
link add $veth_a netns $ns_a type veth peer name $veth_b netns $ns_b
END
ip -n "$ns_a" -batch - << END
addr add $addr_a/24 dev $veth_a
link set $veth_a up
END
ip -n "$ns_b" -batch - << END
addr add $addr_b/24 dev $veth_b
link set $veth_b up
END

# Prints "median min max" of the RTTs, in ms, of $pings pings from a to b.
measure_rtt() {
  local output
  output=$(ip netns exec "$ns_a" "${ping[@]}" -c "$pings" -i 0.1 -w 30 "$addr_b") || {
    echo "netem-smoke: ping $addr_b failed:" >&2
    echo "$output" >&2
    return 1
  }
  awk -v want="$pings" '
    match($0, /time=[0-9.]+/) {
      rtt = substr($0, RSTART + 5, RLENGTH - 5) + 0
      for (i = ++n; i > 1 && sorted[i - 1] > rtt; i--) sorted[i] = sorted[i - 1]
      sorted[i] = rtt
    }
    END {
      if (n != want) { print "netem-smoke: got " n " replies of " want > "/dev/stderr"; exit 1 }
      median = n % 2 ? sorted[(n + 1) / 2] : (sorted[n / 2] + sorted[n / 2 + 1]) / 2
      printf "%.2f %.2f %.2f\n", median, sorted[1], sorted[n]
    }' <<< "$output"
}

# The first ping also resolves the neighbour: keep it out of the figures.
ip netns exec "$ns_a" "${ping[@]}" -c 1 -w 10 "$addr_b" > /dev/null

rtt=$(measure_rtt)
read -r before before_min before_max <<< "$rtt"
tc -n "$ns_a" qdisc add dev "$veth_a" root netem delay "${delay_ms}ms"
tc -n "$ns_a" qdisc show dev "$veth_a"
rtt=$(measure_rtt)
read -r after after_min after_max <<< "$rtt"

# The median, not the mean: a ping that the loaded host delays must not fail the check.
verdict=$(awk -v a="$after" -v b="$before" -v d="$delay_ms" -v t="$tolerance_ms" 'BEGIN {
  rise = a - b
  printf "%s %.2f\n", (rise >= d - t && rise <= d + t) ? "pass" : "fail", rise }')
read -r outcome rise <<< "$verdict"
echo "kernel: $(uname -r)"
echo "RTT before netem: median $before ms (min $before_min, max $before_max; $pings pings)"
echo "RTT with netem delay ${delay_ms}ms on $veth_a: median $after ms (min $after_min, max $after_max)"
echo "RTT rose by $rise ms (expected $delay_ms ± $tolerance_ms): $outcome"
[[ $outcome == pass ]]
