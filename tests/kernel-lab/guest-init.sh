#!/bin/busybox sh
# shellcheck shell=dash
# /init of the kernel lab's initramfs (built by run-in-guest.sh; runs as pid 1 in the guest).
# Loads the modules, mounts the host's root read-only and the lab share over 9p, chroots into
# the host root, runs the command that run-in-guest.sh left in the share, writes its exit code
# beside it and powers off. Every way out ends in poweroff: pid 1 must never exit, and the host
# only learns the verdict from the share.
#
# The share (mount tag "lab"), as run-in-guest.sh lays it out:
#   command.sh    the command, written by the host: cd, environment, exec
#   cwd           the host's current directory (kept visible even under /tmp or /run)
#   stdout stderr the command's output, written here
#   rc            its exit code, written last
#   setup-error   why the guest could not run the command, instead of rc
# The command's own writable directory has the mount tag "out".

/bin/busybox --install -s /bin
export PATH=/bin

lab=/share
guest_share=/run/faultline-lab # where the shares appear inside the chroot

say() { echo "lab-init: [$(cut -d' ' -f1 /proc/uptime)] $*" > /dev/console; }
is_mounted() { grep -q " $1 " /proc/mounts; } # busybox-static has no mountpoint

halt_guest() {
  sync
  poweroff -f
  sleep 10 # poweroff -f does not return; pid 1 must not exit if it somehow does
}

fail() {
  say "error: $*"
  if is_mounted "$lab"; then echo "$*" > "$lab/setup-error"; fi
  halt_guest
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec 0< /dev/console 1> /dev/console 2>&1 # the initramfs has no /dev/console of its own
say "started"

# The insmod order was resolved on the host with modprobe --show-depends. Some lines are optional
# helpers (crc32c-intel needs SSE4.2, which the emulated CPU lacks): a failed insmod is only
# logged, and the modules the lab needs are checked by name afterwards.
while read -r ko options; do
  [ -n "$ko" ] || continue
  # shellcheck disable=SC2086 # options are separate words
  insmod "/lib/modules/$ko" $options 2> /tmp/insmod.err ||
    say "insmod $(basename "$ko"): $(cat /tmp/insmod.err)"
done < /etc/lab/modules.order
while read -r module; do
  [ -d "/sys/module/$module" ] || fail "module $module did not load"
done < /etc/lab/modules.required
say "modules loaded"

mkdir -p /hostroot "$lab" /out
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=mmap lab "$lab" ||
  fail "cannot mount the lab share"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=mmap out /out ||
  fail "cannot mount the out share"
# The host root is read-only, so the guest may cache it (loose): far fewer 9p round trips.
mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=262144,cache=loose hostroot /hostroot ||
  fail "cannot mount the host's root filesystem"
[ -x /hostroot/bin/bash ] || fail "the host root has no /bin/bash"
[ -f "$lab/command.sh" ] || fail "no command.sh in the lab share"

hostname faultline-lab
ip link set lo up

# A fresh cgroup2 hierarchy, /dev/pts and /dev/shm, as a systemd host would have them.
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm

# The host's current directory stays visible at its own path even when it lies under /tmp or
# /run, which get fresh tmpfs mounts below: move it aside first, then back on top.
cwd=$(cat "$lab/cwd")
case "$cwd" in
  /tmp/* | /run/*)
    mkdir -p /stash
    mount --bind "/hostroot$cwd" /stash || fail "cannot keep $cwd visible"
    ;;
esac

# ip netns needs a writable /run whose mounts propagate (a bind of the host's /run does not);
# proc, sys and dev are bound recursively so that /sys/fs/cgroup and /dev/pts come along.
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /hostroot/run || fail "cannot mount /run"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /hostroot/tmp || fail "cannot mount /tmp"
for fs in proc sys dev; do
  mount --rbind "/$fs" "/hostroot/$fs" || fail "cannot bind /$fs"
done
mkdir -p "/hostroot$guest_share/lab" "/hostroot$guest_share/out"
mount --bind "$lab" "/hostroot$guest_share/lab"
mount --bind /out "/hostroot$guest_share/out"
if is_mounted /stash; then
  mkdir -p "/hostroot$cwd"
  mount --move /stash "/hostroot$cwd" || fail "cannot keep $cwd visible"
fi

# Modules the kernel asks for later (nft expressions, qdiscs not preloaded) come from the
# unpacked kernel in the host's cache, through the host's own modprobe.
if [ -s /etc/lab/modules.root ]; then
  printf '#!/bin/sh\nexec /bin/chroot /hostroot /sbin/modprobe -d %s "$@"\n' \
    "$(cat /etc/lab/modules.root)" > /bin/lab-modprobe
  chmod 755 /bin/lab-modprobe
  echo /bin/lab-modprobe > /proc/sys/kernel/modprobe
fi

say "running the command"
env -i chroot /hostroot /bin/bash "$guest_share/lab/command.sh" \
  < /dev/null > "$lab/stdout" 2> "$lab/stderr"
echo "$?" > "$lab/rc.partial" && mv "$lab/rc.partial" "$lab/rc"
say "command exited with $(cat "$lab/rc")"
halt_guest
