#!/usr/bin/env bash
# Records, then compares, the host state a fault tool could leave behind. A difference after the
# suite is a revert bug (or a test that does not clean up), and fails the suite.
#   host_state.sh snapshot FILE   |   host_state.sh compare FILE
set -u
state() {
  echo "# network namespaces"
  ip netns list 2>/dev/null | awk '{print $1}' | sort
  echo "# veth, bridge and ifb links"
  for t in veth bridge ifb; do ip -o link show type "$t" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1; done | sort
  echo "# qdiscs other than the defaults"
  for dev in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    tc qdisc show dev "$dev" 2>/dev/null | grep -E '^qdisc (netem|tbf|htb|prio|ingress|clsact|fq_codel|sfq) ' | sed "s/^/$dev: /"
  done | sort
  echo "# nftables tables"
  nft list tables 2>/dev/null | sort
  echo "# faultline cgroups"
  find /sys/fs/cgroup -maxdepth 4 -type d -name 'faultline-*' 2>/dev/null | sort
  echo "# undo files of local runs (a leftover: a run and its guardian both died)"
  ls /run/faultline/local 2>/dev/null | sort
  echo "# faultline processes"
  # Zombies are left out: an agent or guard that exited after its parent did waits for init to
  # reap it, and holds nothing but its pid until then.
  ps -eo stat=,args= 2>/dev/null | awk '$1 !~ /^Z/' | grep -E 'faultline|fl-test' | grep -v -E 'host_state.sh|grep|ctest|make|cmake' | awk '{$1=""; print}' | sort
  echo "# stopped processes of the suite"
  ps -eo stat=,args= 2>/dev/null | awk '$1 ~ /^T/' | grep -E 'fl-test' | sort
}
case "${1:-}" in
  snapshot) state > "$2" ;;
  compare)
    if ! diff <(cat "$2") <(state) > /dev/null; then
      echo "the test suite left state on this host (lines with > are new):"
      diff <(cat "$2") <(state) | grep '^>'
      exit 1
    fi
    echo "host state unchanged: no namespaces, links, qdiscs, nftables tables, cgroups or processes left behind"
    ;;
  *) echo "usage: $0 snapshot|compare FILE" >&2; exit 2 ;;
esac
