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
  echo "# loop devices (scratch filesystems of resource-fault tests)"
  losetup -n -O NAME,BACK-FILE 2>/dev/null | sort
  echo "# I/O throttles (io.max, blkio.throttle.*)"
  find /sys/fs/cgroup -maxdepth 4 \( -name io.max -o -name 'blkio.throttle.*_device' \) 2>/dev/null |
    while read -r f; do [ -s "$f" ] && sed "s|^|$f: |" "$f"; done | sort
  echo "# memory limits of cgroups (memory.max, memory.limit_in_bytes) other than none"
  find /sys/fs/cgroup -maxdepth 4 \( -name memory.max -o -name memory.limit_in_bytes \) 2>/dev/null |
    while read -r f; do v=$(cat "$f" 2>/dev/null); [ "$v" != max ] && [ "$v" != 9223372036854771712 ] && echo "$f: $v"; done | sort
  echo "# undo files of local runs (a leftover: a run and its guardian both died)"
  ls /run/faultline/local 2>/dev/null | sort
  echo "# faultline processes"
  # Zombies are left out: an agent or guard that exited after its parent did waits for init to
  # reap it, and holds nothing but its pid until then.
  # Build tools are left out, by their executable's name or their parent's (make runs each
  # compile under `sh -c`): a compiler of faultline's sources has 'faultline' in its
  # arguments, and a build beside the suite is not a leftover of it.
  ps -eo pid=,ppid=,stat=,comm=,args= 2>/dev/null | awk '
    { line[NR] = $0; comm[$1] = $4; parent[NR] = $2; self[NR] = $4; state[NR] = $3 }
    END {
      drivers = "^(make|gmake|ninja|cmake|ccache)$"
      tools = "^(cc1plus|cc1|c\\+\\+|g\\+\\+|gcc|clang.*|ld|ld\\..*|collect2|as|ccache|cmake|make|gmake|ninja|ctest|grep)$"
      for (i = 1; i <= NR; i++) {
        if (state[i] ~ /^Z/ || self[i] ~ tools || comm[parent[i]] ~ drivers) continue
        $0 = line[i]; $1 = $2 = $3 = $4 = ""; print
      }
    }' | grep -E 'faultline|fl-test' | grep -v -E 'host_state.sh' | sort
  echo "# stopped processes of the suite"
  ps -eo stat=,args= 2>/dev/null | awk '$1 ~ /^T/' | grep -E 'fl-test' | sort
  # Container runtimes (tests/containers/runtimes.sh starts private ones; a host's own are in
  # both snapshots). Their arguments name the test's work directory, so a leftover is a new line.
  echo "# container runtime processes"
  ps -eo stat=,comm=,args= 2>/dev/null |
    awk '$1 !~ /^Z/ && $2 ~ /^(dockerd|containerd|containerd-shim.*|conmon|podman|runc)$/ { $1 = ""; print }' | sort
  echo "# container mounts, and mounts under the tests' work directories"
  awk '$9 ~ /^(overlay|nsfs)$/ || $5 ~ /^\/run\/(netns|docker|containerd|containers|libpod)\// ||
       $5 ~ /^\/var\/lib\/(docker|containers|containerd)\// || $5 ~ /\/(fl-|faultline)/ { print $5, $9 }' \
    /proc/self/mountinfo 2>/dev/null | sort
  echo "# container cgroups"
  find /sys/fs/cgroup -maxdepth 3 -type d \( -name 'docker*' -o -path '*/docker/*' -o -name 'libpod*' \
    -o -path '*/libpod_parent/*' -o -name 'fl-test*' -o -path '*/fl-test*/*' -o -name 'containerd*' \) \
    2>/dev/null | sort
  echo "# container runtime state on the host (shim sockets, runc state, folders made on first use)"
  # The paths runtimes.sh's runtime_stop_all removes when it finds them new (its
  # _RUNTIME_HOST_PATHS), and what is in the folders runtimes share with a host's.
  ls -d /var/lib/containers/cache/blob-info-cache-v1.boltdb /var/lib/containers/cache \
    /var/lib/containers /run/docker/plugins /run/docker /run/containerd/fifo /run/containerd/runc \
    /run/containerd/s /run/containerd /opt/containerd /etc/docker/key.json /etc/docker /run/runc \
    /run/libpod /run/containers/storage /run/containers /var/lib/docker /var/lib/containerd \
    /run/containerd/s/* /run/containerd/fifo/* /run/containerd/runc/* /run/runc/* 2>/dev/null | sort
}
case "${1:-}" in
  snapshot) state > "$2" ;;
  compare)
    # A leftover is what is here now and was not before. What was here before and is gone (a
    # process of another build or test run that ended meanwhile) is only mentioned.
    now=$(state)
    gone=$(diff <(cat "$2") <(echo "$now") | grep '^<' || true)
    new=$(diff <(cat "$2") <(echo "$now") | grep '^>' || true)
    if [ -n "$gone" ]; then
      echo "gone since the snapshot (not a leftover):"
      echo "$gone"
    fi
    if [ -n "$new" ]; then
      echo "the test suite left state on this host (lines with > are new):"
      echo "$new"
      exit 1
    fi
    echo "host state unchanged: no namespaces, links, qdiscs, nftables tables, cgroups, throttles, memory limits, loop devices, processes, containers or mounts left behind"
    ;;
  *) echo "usage: $0 snapshot|compare FILE" >&2; exit 2 ;;
esac
