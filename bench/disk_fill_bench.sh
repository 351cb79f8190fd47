#!/usr/bin/env bash
# Time to fill 1 GiB on a scratch ext4 (a sparse image on a loop device, removed at the end):
# disk_fill's own fill (the `fill_ms` it reports: fallocate in chunks with statvfs between) against
# the floor, one fallocate(2) of 1 GiB timed in-process the same way (python3's posix_fallocate);
# the whole `faultline inject` command against the `fallocate -l 1G` command; and writing the
# data (dd of 1 GiB with fsync). Same filesystem, same run, R rounds each. Medians and ratios.
#   disk_fill_bench.sh FAULTLINE [R=5]      (as root)
set -uo pipefail
faultline=$1 rounds=${2:-5}
[[ $(id -u) -eq 0 ]] || { echo "run as root"; exit 2; }
dir=$(mktemp -d /tmp/fl-bench-disk.XXXXXX) loop=""
cleanup() {
  mountpoint -q "$dir/mnt" && umount "$dir/mnt"
  [[ -n $loop ]] && losetup -d "$loop"
  rm -rf "$dir"
}
trap cleanup EXIT
truncate -s 2G "$dir/image" && mkfs.ext4 -q -F "$dir/image" || exit 1
loop=$(losetup --find --show "$dir/image") || exit 1
mkdir "$dir/mnt" && mount "$loop" "$dir/mnt" || exit 1
mnt=$dir/mnt

ms_of() {  # COMMAND...: milliseconds it took
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
  end=$(date +%s%N)
  echo $(((end - start) / 1000))e-3 | awk '{printf "%.1f\n", $1}'
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# One fallocate(2) of 1 GiB, timed around the call alone (ms).
floor_call() {
  python3 -c 'import os, sys, time
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR, 0o600)
t = time.perf_counter(); os.posix_fallocate(fd, 0, 1 << 30); t = time.perf_counter() - t
print("%.3f" % (t * 1000))' "$1"
}

fl_fill=() fl_cmd=() floor=() floor_cmd=() data=()
for ((r = 0; r < rounds; r++)); do
  out=$(mktemp "$dir/out.XXXXXX")
  start=$(date +%s%N)
  "$faultline" inject disk_fill --duration 10ms "path=$mnt" bytes=1GiB >"$out" 2>/dev/null ||
    { echo "faultline inject failed"; cat "$out"; exit 1; }
  end=$(date +%s%N)
  fl_cmd+=("$(echo $(((end - start) / 1000))e-3 | awk '{printf "%.1f", $1}')")
  fl_fill+=("$(sed -n 's/.*"fill_ms":\([0-9.]*\).*/\1/p' "$out")")
  allocated=$(sed -n 's/.*"allocated_bytes":\([0-9]*\).*/\1/p' "$out")
  rm -f "$out"
  sync
  floor+=("$(floor_call "$mnt/floor")")
  rm -f "$mnt/floor" && sync
  floor_cmd+=("$(ms_of fallocate -l 1G "$mnt/floor")")
  rm -f "$mnt/floor" && sync
  data+=("$(ms_of dd if=/dev/zero of="$mnt/data" bs=1M count=1024 conv=fsync)")
  rm -f "$mnt/data" && sync
done
m_fill=$(printf '%s\n' "${fl_fill[@]}" | median)
m_cmd=$(printf '%s\n' "${fl_cmd[@]}" | median)
m_floor=$(printf '%s\n' "${floor[@]}" | median)
m_floor_cmd=$(printf '%s\n' "${floor_cmd[@]}" | median)
m_data=$(printf '%s\n' "${data[@]}" | median)
echo "1 GiB on a scratch ext4 (2 GiB, loop device), $rounds rounds, medians:"
echo "  disk_fill fill (fill_ms):        $m_fill ms   (allocated $allocated bytes; rounds: ${fl_fill[*]})"
echo "  faultline inject, whole command: $m_cmd ms   (start, fill, 10 ms held, revert, probe writes)"
echo "  fallocate(2) of 1 GiB (floor):   $m_floor ms   (rounds: ${floor[*]})"
echo "  fallocate -l 1G, whole command:  $m_floor_cmd ms   (rounds: ${floor_cmd[*]})"
echo "  dd 1 GiB of data, fsync:         $m_data ms   (rounds: ${data[*]})"
awk -v f="$m_fill" -v c="$m_cmd" -v fl="$m_floor" -v flc="$m_floor_cmd" -v d="$m_data" 'BEGIN {
  printf "  disk_fill / fallocate(2): %.2fx; faultline inject / fallocate -l: %.2fx; dd / disk_fill: %.0fx\n",
         f / fl, c / flc, d / f }'
