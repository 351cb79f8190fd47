#!/usr/bin/env bash
# How close io_throttle holds direct I/O to its limit: wbps and rbps of 2, 4 and 8 MiB/s on a
# scratch ext4 (a loop device of the bench's own), each measured twice while the fault runs: by
# the fault's own probe (its observed write_ratio / read_ratio) and by dd with O_DIRECT from a
# shell in the target's cgroup, started once the probe is done (they would share the budget).
# Peer in the same run: the same dd without a throttle, the floor that makes the ratios mean
# something. Prints one line per (direction, limit) and the ratios against the limit.
#   io_throttle_bench.sh FAULTLINE      (as root)
set -uo pipefail
faultline=$1
[[ $(id -u) -eq 0 ]] || { echo "run as root"; exit 2; }
work=$(mktemp -d /tmp/fl-bench-io.XXXXXX)
loop="" cg="" sleeper=""
cleanup() {
  [[ -n $sleeper ]] && kill "$sleeper" 2>/dev/null
  if [[ -n $cg && -d $cg ]]; then
    while read -r p; do echo "$p" > "$root/cgroup.procs" 2>/dev/null; done < "$cg/cgroup.procs"
    rmdir "$cg" 2>/dev/null
  fi
  mountpoint -q "$work/mnt" && umount "$work/mnt"
  [[ -n $loop ]] && losetup -d "$loop"
  rm -rf "$work"
}
trap cleanup EXIT
truncate -s 256M "$work/img" && loop=$(losetup -f --show "$work/img") || exit 1
mkfs.ext4 -q "$loop" && mkdir "$work/mnt" && mount "$loop" "$work/mnt" || exit 1
# The io hierarchy: the v2 root when it lists io, else v1 blkio.
if [[ -f /sys/fs/cgroup/cgroup.controllers ]] && grep -qw io /sys/fs/cgroup/cgroup.controllers; then
  root=/sys/fs/cgroup
  grep -qw io $root/cgroup.subtree_control || echo +io > $root/cgroup.subtree_control
else
  root=$(awk '$3 == "cgroup" && $4 ~ /(^|,)blkio(,|$)/ {print $2; exit}' /proc/mounts)
fi
cg=$root/fl-bench-io-$$
mkdir "$cg" || exit 1
sleep 600 & sleeper=$!
echo "$sleeper" > "$cg/cgroup.procs"
echo "$sleeper" > "$work/pid"
dd if=/dev/urandom of="$work/mnt/data" bs=1M count=32 status=none && sync

# MiB/s of `dd` in the cgroup: write|read BYTES_MIB
rate() {
  local what=$1 mib=$2 t0 t1 io
  if [[ $what == write ]]; then io="if=/dev/zero of=$work/mnt/w bs=1M count=$mib oflag=direct"
  else io="if=$work/mnt/data of=/dev/null bs=1M count=$mib iflag=direct"; fi
  t0=$(date +%s.%N)
  sh -c "echo \$\$ > $cg/cgroup.procs && exec dd $io status=none"
  t1=$(date +%s.%N)
  rm -f "$work/mnt/w"
  echo "$mib $t0 $t1" | awk '{printf "%.3f", $1 / ($3 - $2)}'
}

floor_w=$(rate write 32) floor_r=$(rate read 32)
echo "unthrottled (O_DIRECT, 1 MiB blocks, dd in the cgroup): write $floor_w MiB/s, read $floor_r MiB/s"
printf '%-6s %-6s %-12s %-12s %-12s %-12s\n' key limit dd_MiB/s dd_ratio probe_ratio confirmed
for key in wbps rbps; do
  for limit in 2 4 8; do
    "$faultline" inject io_throttle --duration 30s "path=$work/mnt" "$key=${limit}MiB" \
      "pidfile=$work/pid" > "$work/out" 2> "$work/err" &
    tool=$!
    # The probe writes (and for rbps reads back) about 2 s at the limit; then dd alone.
    sleep 6
    if [[ $key == wbps ]]; then got=$(rate write $((limit * 2))); else got=$(rate read $((limit * 2))); fi
    kill -INT $tool; wait $tool
    probe=$(sed -n 's/^observed: //p' "$work/out" | python3 -c "
import json, sys
o = json.load(sys.stdin); p = o.get('probe', {})
print(p.get('write_ratio' if '$key' == 'wbps' else 'read_ratio', p.get('error', '-')))")
    confirmed=yes
    grep -q "NOT CONFIRMED" "$work/out" && confirmed=no
    printf '%-6s %-6s %-12s %-12s %-12s %-12s\n' "$key" "${limit}MiB" "$got" \
      "$(awk -v g="$got" -v l="$limit" 'BEGIN {printf "%.3f", g / l}')" "$probe" "$confirmed"
  done
done
