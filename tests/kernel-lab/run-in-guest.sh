#!/usr/bin/env bash
# Runs a command inside Debian's stock kernel (which has sch_netem) under qemu, with the host's
# root filesystem mounted read-only, and exits with the command's exit status. See README.md.
#
#   run-in-guest.sh [--timeout SECONDS] [--out DIR] [--console FILE] -- COMMAND [ARGS...]
#
# Exit status: the command's own; 77 when the lab cannot run on this host (the reason is printed);
# 124 when the guest did not power off in time (qemu is killed); 125 when the guest stopped
# without running the command; 2 for bad usage. The harness's own messages start with
# "run-in-guest:" on stderr, so a command that exits 124 or 125 itself can be told apart.
set -euo pipefail

lab_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly lab_dir
# Absolute: the guest reaches the unpacked modules at the same path.
cache_root=$(realpath -m -- "${FAULTLINE_LAB_CACHE:-/var/cache/faultline-kernel-lab}")
readonly cache_root
readonly meta_package=linux-image-amd64
readonly exit_usage=2 exit_skip=77 exit_timeout=124 exit_guest_failed=125
readonly guest_share=/run/faultline-lab # where guest-init.sh puts the shares inside the chroot
# Loaded at boot, in the order modprobe --show-depends gives (dependencies included). The first
# three carry the 9p shares; the rest are what faultline's network faults use: netem's tree, and
# the userspace backend's rules and queue (an xtables NFQUEUE target through nft_compat, as on
# kernels without the native nft queue expression; loss alone through nft numgen).
readonly boot_modules=(virtio_pci 9pnet_virtio 9p
  sch_netem veth ifb sch_htb sch_tbf sch_prio cls_u32 act_mirred sch_ingress nf_tables
  nfnetlink_queue nft_compat xt_NFQUEUE nft_numgen)
readonly host_tools=(qemu-system-x86_64 apt-get apt-cache dpkg-deb depmod modprobe cpio xz
  setpriv flock timeout)

usage() {
  cat << EOF
usage: $0 [--timeout SECONDS] [--out DIR] [--console FILE] -- COMMAND [ARGS...]
  Runs COMMAND as root inside Debian's stock kernel under qemu (software emulation) and exits
  with its status. The host's root is visible read-only; \$FAULTLINE_LAB_OUT and /tmp are
  writable. The working directory is the current one.
  --timeout SECONDS  limit for the whole guest, boot included (default 300); on expiry qemu is
                     killed, the console's last lines are printed, and the exit status is 124
  --out DIR          keep \$FAULTLINE_LAB_OUT on the host in DIR (default: a temporary
                     directory, removed at the end)
  --console FILE     keep the guest's console log (kernel messages, module loading) in FILE
environment: FAULTLINE_LAB_CACHE (default /var/cache/faultline-kernel-lab),
  FAULTLINE_LAB_MODULES (more modules to load at boot), FAULTLINE_LAB_MEMORY (MiB, default 1024),
  FAULTLINE_LAB_CPUS (default 2), FAULTLINE_LAB_ACCEL (default tcg)
EOF
}

say() { echo "run-in-guest: $*" >&2; }
skip() {
  say "skipped: $*"
  exit "$exit_skip"
}
usage_error() {
  say "error: $*"
  say "usage: $0 [--timeout SECONDS] [--out DIR] [--console FILE] -- COMMAND [ARGS...] (--help)"
  exit "$exit_usage"
}

# --- arguments -------------------------------------------------------------------------------

timeout_seconds=300
out_dir=
console_copy=
parse_args() {
  while (($#)); do
    case "$1" in
      --timeout)
        (($# >= 2)) || usage_error "--timeout needs a value"
        [[ $2 =~ ^[1-9][0-9]*$ ]] || usage_error "--timeout '$2' is not a whole number of seconds"
        timeout_seconds=$2
        shift 2
        ;;
      --out)
        (($# >= 2)) || usage_error "--out needs a directory"
        out_dir=$2
        shift 2
        ;;
      --console)
        (($# >= 2)) || usage_error "--console needs a file name"
        console_copy=$2
        shift 2
        ;;
      -h | --help)
        usage
        exit 0
        ;;
      --)
        shift
        break
        ;;
      *) usage_error "unexpected '$1' (the command goes after --)" ;;
    esac
  done
  (($#)) || usage_error "no command given"
  command_args=("$@")
  memory_mib=${FAULTLINE_LAB_MEMORY:-1024}
  cpus=${FAULTLINE_LAB_CPUS:-2}
  [[ $memory_mib =~ ^[1-9][0-9]*$ ]] || usage_error "FAULTLINE_LAB_MEMORY '$memory_mib' is not a number of MiB"
  [[ $cpus =~ ^[1-9][0-9]*$ ]] || usage_error "FAULTLINE_LAB_CPUS '$cpus' is not a number"
}

# --- preflight -------------------------------------------------------------------------------

check_host() {
  local tool
  for tool in "${host_tools[@]}"; do
    command -v "$tool" > /dev/null ||
      skip "$tool is not installed (scripts/install-deps.sh installs qemu-system-x86, busybox-static, cpio, kmod and xz-utils)"
  done
  [[ -x /bin/busybox ]] || skip "/bin/busybox is not installed (package busybox-static)"
  # A dynamically linked busybox would find no libraries in the initramfs.
  if LC_ALL=C ldd /bin/busybox > /dev/null 2>&1; then
    skip "/bin/busybox is dynamically linked; the initramfs needs busybox-static"
  fi
  [[ -x /bin/bash ]] || skip "the host has no /bin/bash to run the command with in the guest"
}

# --- the kernel, cached by package version ---------------------------------------------------

# Sets kernel_package and kernel_version: apt's candidate for the package behind
# linux-image-amd64, or, when apt knows nothing (no lists), the newest one already cached.
# apt-cache takes ~1.5 s without a pkgcache.bin, so its answer is kept until the lists change.
resolve_kernel_package() {
  local lists_stamp answer
  lists_stamp=$(stat -c %Y /var/lib/apt/lists 2> /dev/null) || lists_stamp=none
  if [[ -f $cache_root/resolved ]]; then
    read -r answer kernel_package kernel_version < "$cache_root/resolved" || true
    [[ $answer == "$lists_stamp" && -n $kernel_package && -n $kernel_version ]] && return
  fi
  # "Depends: linux-image-6.1.0-56-amd64 (= 6.1.192-2)"
  answer=$(apt-cache show --no-all-versions "$meta_package" 2> /dev/null |
    sed -n 's/^Depends:.*\(linux-image-[^ ,]*\) (= \([^)]*\)).*/\1 \2/p' | head -n 1) || true
  if [[ -n $answer ]]; then
    read -r kernel_package kernel_version <<< "$answer"
    echo "$lists_stamp $answer" > "$cache_root/resolved"
    return
  fi
  local newest
  newest=$(find "$cache_root" -mindepth 2 -maxdepth 2 -name complete -printf '%T@ %h\n' 2> /dev/null |
    sort -rn | awk 'NR == 1 { print $2 }')
  [[ -n $newest ]] ||
    skip "apt does not know $meta_package (run apt-get update) and nothing is cached in $cache_root"
  kernel_package=$(< "$newest/package")
  kernel_version=$(< "$newest/version")
  say "apt does not know $meta_package; using the cached $kernel_package $kernel_version"
}

# Fills $kernel_dir: the .deb, its unpacked tree (root/, with modules.dep), vmlinux when it can
# be cut out of vmlinuz, and the files package, version, kver, complete. Runs under the lock.
prepare_kernel() {
  [[ -f $kernel_dir/complete ]] && return
  say "preparing $kernel_package $kernel_version in $kernel_dir (once per kernel version)"
  mkdir -p "$kernel_dir"
  local deb
  deb=$(find "$kernel_dir" -maxdepth 1 -name '*.deb' -print -quit)
  if [[ -z $deb ]]; then
    local download=$kernel_dir/download.partial
    rm -rf "$download" && mkdir "$download"
    if ! (cd "$download" &&
      apt-get download -q -o APT::Sandbox::User=root "$kernel_package=$kernel_version") \
      > "$download/apt.log" 2>&1; then
      local why
      why=$(grep -v '^\s*$' "$download/apt.log" | tail -n 1)
      rm -rf "$download"
      skip "cannot download $kernel_package $kernel_version: $why"
    fi
    deb=$(find "$download" -maxdepth 1 -name '*.deb' -print -quit)
    mv "$deb" "$kernel_dir/" && rm -rf "$download"
    deb=$kernel_dir/$(basename "$deb")
  fi
  rm -rf "$kernel_dir/root" "$kernel_dir/root.partial"
  dpkg-deb -x "$deb" "$kernel_dir/root.partial"
  mv "$kernel_dir/root.partial" "$kernel_dir/root"
  local kver
  kver=$(find "$kernel_dir/root/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | head -n 1)
  [[ -n $kver && -f $kernel_dir/root/boot/vmlinuz-$kver ]] ||
    skip "$kernel_package has no kernel image or modules where expected"
  # The .deb ships no modules.dep.
  depmod -b "$kernel_dir/root" "$kver"
  extract_vmlinux "$kernel_dir/root/boot/vmlinuz-$kver" "$kernel_dir/vmlinux"
  echo "$kernel_package" > "$kernel_dir/package"
  echo "$kernel_version" > "$kernel_dir/version"
  echo "$kver" > "$kernel_dir/kver"
  touch "$kernel_dir/complete"
}

# qemu boots an uncompressed vmlinux through its PVH entry and skips the decompression, which
# is slow under emulation (~2 s). Optional: without it the guest boots vmlinuz.
extract_vmlinux() {
  local vmlinuz=$1 vmlinux=$2 offset
  offset=$(LC_ALL=C grep -abo $'\xfd7zXZ\x00' "$vmlinuz" | head -n 1 | cut -d: -f1) || true
  [[ -n $offset ]] || return 0
  # xz stops at the end of its stream, before tail is done: no pipe, or pipefail would object.
  if xz -dcq --single-stream < <(tail -c +"$((offset + 1))" "$vmlinuz") > "$vmlinux.partial" 2> /dev/null &&
    [[ $(head -c 4 "$vmlinux.partial") == $'\x7fELF' ]]; then
    mv "$vmlinux.partial" "$vmlinux"
  else
    rm -f "$vmlinux.partial"
  fi
}

# The initramfs holds busybox, guest-init.sh as /init and the boot modules; it is rebuilt when
# one of them changes (its name carries a hash of its inputs). Sets initramfs. Runs under the lock.
prepare_initramfs() {
  local kver modules_dir
  kver=$(< "$kernel_dir/kver")
  modules_dir=$kernel_dir/root/lib/modules
  local wanted=("${boot_modules[@]}")
  # shellcheck disable=SC2206 # a space-separated list by design
  [[ -n ${FAULTLINE_LAB_MODULES:-} ]] && wanted+=(${FAULTLINE_LAB_MODULES})
  local order
  order=$(modprobe -d "$kernel_dir/root" -S "$kver" --show-depends -a "${wanted[@]}" 2>&1) ||
    usage_error "cannot resolve the boot modules ${wanted[*]} in $kernel_package: $(
      grep -v -e '^insmod ' -e '^builtin ' <<< "$order")"
  # "insmod PATH [OPTIONS]" lines, first occurrence only, PATH made relative to /lib/modules.
  order=$(awk -v dir="$modules_dir/" '$1 == "insmod" && !seen[$2]++ {
      if (index($2, dir) == 1) $2 = substr($2, length(dir) + 1)
      $1 = ""; sub(/^ /, ""); print }' <<< "$order")
  local required
  required=$(printf '%s\n' "${wanted[@]}" | tr - _)
  # Where guest-init.sh finds modules the kernel asks for later; not where the guest hides it.
  local modules_root=$kernel_dir/root
  case "$modules_root" in /tmp/* | /run/*) modules_root= ;; esac

  local key
  key=$({
    cat "$lab_dir/guest-init.sh" /bin/busybox
    echo "$order" "$required" "$modules_root"
  } | sha256sum | cut -c1-16)
  initramfs=$kernel_dir/initramfs-$key.cpio
  [[ -f $initramfs ]] && return

  say "building the initramfs $initramfs"
  rm -rf "$kernel_dir"/initramfs.?????? # left by an interrupted build; the lock is ours
  local tree
  tree=$(mktemp -d "$kernel_dir/initramfs.XXXXXX")
  mkdir -p "$tree"/{bin,dev,etc/lab,lib/modules,proc,run,sys,tmp}
  cp /bin/busybox "$tree/bin/busybox"
  install -m 755 "$lab_dir/guest-init.sh" "$tree/init"
  local ko
  while read -r ko _; do
    mkdir -p "$tree/lib/modules/$(dirname "$ko")"
    cp "$modules_dir/$ko" "$tree/lib/modules/$ko"
  done <<< "$order"
  echo "$order" > "$tree/etc/lab/modules.order"
  echo "$required" > "$tree/etc/lab/modules.required"
  echo "$modules_root" > "$tree/etc/lab/modules.root"
  # Uncompressed: decompressing a few MB under emulation costs more than qemu reading them.
  (cd "$tree" && find . -print0 | LC_ALL=C sort -z |
    cpio --null -o -H newc --owner=0:0 --quiet) > "$initramfs.partial"
  mv "$initramfs.partial" "$initramfs"
  rm -rf "$tree"
  # Initramfs files of older harness versions; a run that is booting one has read it already.
  find "$kernel_dir" -maxdepth 1 -name 'initramfs-*.cpio' ! -newer "$initramfs" \
    ! -path "$initramfs" -mmin +60 -delete 2> /dev/null || true
}

prepare_cache() {
  if ! mkdir -p "$cache_root" 2> /dev/null || [[ ! -w $cache_root ]]; then
    skip "cannot write the cache $cache_root (set FAULTLINE_LAB_CACHE, or run as root)"
  fi
  resolve_kernel_package
  kernel_dir=$cache_root/${kernel_package}_${kernel_version}
  # Concurrent runs share the cache: one prepares it, the others wait.
  exec {lock_fd}> "$cache_root/lock"
  flock -w 900 "$lock_fd" || skip "another run has held $cache_root/lock for 15 minutes"
  prepare_kernel
  prepare_initramfs
  flock -u "$lock_fd"
  exec {lock_fd}>&-
  kernel_image=$kernel_dir/vmlinux
  [[ -f $kernel_image ]] || kernel_image=$kernel_dir/root/boot/vmlinuz-$(< "$kernel_dir/kver")
}

# --- one guest run ---------------------------------------------------------------------------

watchdog_pid=
scratch=
scratch_parent=${TMPDIR:-/tmp}
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  if [[ -n $watchdog_pid ]] && kill -0 "$watchdog_pid" 2> /dev/null; then
    kill -TERM "$watchdog_pid" 2> /dev/null || true # timeout passes it on to qemu
    wait "$watchdog_pid" 2> /dev/null || true
  fi
  if [[ -n $scratch ]]; then
    [[ -n $console_copy && -f $scratch/console.log ]] && tr -d '\r' < "$scratch/console.log" > "$console_copy"
    rm -rf "$scratch"
  fi
}

# The command as the guest runs it (with the host's bash): the host's directory, a short list of
# the host's environment, then exec.
write_command_script() {
  local file=$1 name
  {
    local dir
    printf -v dir %q "$PWD"
    echo "cd -- $dir || { echo cannot enter $dir in the guest > $guest_share/lab/setup-error; exit 1; }"
    for name in PATH HOME USER LOGNAME LANG LC_ALL TERM TZ $(compgen -v FAULTLINE_); do
      [[ -v $name ]] && printf 'export %s=%q\n' "$name" "${!name}"
    done
    echo "export FAULTLINE_LAB=1 FAULTLINE_LAB_OUT=$guest_share/out TMPDIR=/tmp"
    printf 'export FAULTLINE_LAB_KERNEL=%q\n' "$kernel_package $kernel_version"
    printf 'exec --'
    printf ' %q' "${command_args[@]}"
    echo
  } > "$file"
}

# Escapes a path for a qemu option value (a comma is written twice).
qemu_path() { printf '%s' "${1//,/,,}"; }

# Scratch directories of runs that were SIGKILLed (the only way out that skips cleanup).
remove_stale_scratch() {
  local dir owner
  for dir in "$scratch_parent"/faultline-lab.*; do
    [[ -f $dir/owner ]] || continue
    owner=$(< "$dir/owner")
    [[ $owner =~ ^[0-9]+$ ]] && ! kill -0 "$owner" 2> /dev/null && rm -rf "$dir"
  done
  return 0
}

run_guest() {
  remove_stale_scratch
  scratch=$(mktemp -d "$scratch_parent/faultline-lab.XXXXXX")
  echo "$$" > "$scratch/owner"
  local share=$scratch/lab
  mkdir "$share"
  if [[ -n $out_dir ]]; then
    mkdir -p "$out_dir"
  else
    out_dir=$scratch/out
    mkdir "$out_dir"
  fi
  echo "$PWD" > "$share/cwd"
  write_command_script "$share/command.sh"
  console=$scratch/console.log

  # TCG: this host's /dev/kvm (kvm_pvm) does not boot a stock kernel. cryptomgr.notests skips
  # the crypto self-tests (~0.7 s emulated); panic=-1 turns a guest panic into a reboot, which
  # -no-reboot turns into qemu exiting: a crash ends the run instead of hanging it.
  # shellcheck disable=SC2054 # commas separate qemu's sub-options, not array elements
  local qemu=(qemu-system-x86_64 -accel "${FAULTLINE_LAB_ACCEL:-tcg}"
    -m "$memory_mib" -smp "$cpus" -nodefaults -no-user-config -display none -no-reboot
    -chardev "file,id=console,path=$(qemu_path "$console")" -serial chardev:console
    -kernel "$kernel_image" -initrd "$initramfs"
    -append "console=ttyS0 quiet panic=-1 cryptomgr.notests=1"
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
    -virtfs "local,path=$(qemu_path "$share"),mount_tag=lab,security_model=none"
    -virtfs "local,path=$(qemu_path "$out_dir"),mount_tag=out,security_model=none")
  # qemu dies with timeout, and timeout with this script, even on SIGKILL (parent-death signal).
  setpriv --pdeathsig KILL -- timeout --kill-after=5 "$timeout_seconds" \
    setpriv --pdeathsig KILL -- "${qemu[@]}" < /dev/null > "$scratch/qemu.log" 2>&1 &
  watchdog_pid=$!
  guest_status=0
  wait "$watchdog_pid" || guest_status=$?
  watchdog_pid=
}

console_tail() {
  say "last lines of the guest's console:"
  tail -n 40 "$console" 2> /dev/null | tr -d '\r' | sed 's/^/  | /' >&2
  if [[ -s $scratch/qemu.log ]]; then
    say "qemu said:"
    sed 's/^/  | /' "$scratch/qemu.log" >&2
  fi
}

command_output() {
  [[ -f $scratch/lab/stdout ]] && cat "$scratch/lab/stdout"
  [[ -f $scratch/lab/stderr ]] && cat "$scratch/lab/stderr" >&2
  return 0
}

report() {
  local share=$scratch/lab
  if [[ -f $share/setup-error ]]; then
    say "error: the guest could not run the command: $(< "$share/setup-error")"
    console_tail
    return "$exit_guest_failed"
  fi
  if [[ -f $share/rc ]]; then
    command_output
    return "$(< "$share/rc")"
  fi
  if ((guest_status == 124 || guest_status == 137)); then
    command_output
    say "error: the guest did not power off within $timeout_seconds s; qemu was killed"
    console_tail
    return "$exit_timeout"
  fi
  command_output
  say "error: the guest stopped without reporting an exit status (qemu exited with $guest_status)"
  console_tail
  return "$exit_guest_failed"
}

main() {
  parse_args "$@"
  check_host
  prepare_cache
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  run_guest
  local status=0
  report || status=$?
  exit "$status"
}

main "$@"
