#!/usr/bin/env bash
# CTest: the .deb packages install into a pristine Debian 12 root (debootstrap, cached by
# scripts/debian-root.sh) and work there: deb-chroot-steps.sh says what is checked.
#   deb-chroot-test.sh DEB_DIR VERSION
# The network is used only for Debian's archive, by apt in the root, to fetch the packages'
# dependencies (kept in /var/cache/faultline/apt-archives, so later runs fetch nothing); the
# packages are installed and run without one. The steps run in namespaces of their own (mount,
# PID, then network): the root's tmpfs, its /proc and other mounts, the agent and every process
# started there end with them, even when the test fails or is killed. Skipped (77) without root
# or the tools.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root_of_source=$(cd "$here/../.." && pwd)
if [[ $# -ne 2 || ! -d $1 ]]; then
  echo "deb-chroot-test: error: usage: deb-chroot-test.sh DEB_DIR VERSION (got: $*)"
  exit 2
fi
debs=$(cd "$1" && pwd) version=$2
skip() { echo "SKIPPED: $*"; exit 77; }
[[ -f $debs/SKIPPED ]] && skip "$(cat "$debs/SKIPPED")"
[[ $(id -u) -eq 0 ]] || skip "needs root (debootstrap, chroot, namespaces)"
for tool in debootstrap unshare chroot tar ip flock; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/install-deps.sh)"
done
cli_deb=$debs/faultline_${version}-1_amd64.deb
agent_deb=$debs/faultline-agent_${version}-1_amd64.deb
for deb in "$cli_deb" "$agent_deb"; do
  [[ -f $deb ]] || { echo "deb-chroot-test: error: $deb is missing (the package_debs test makes it)"; exit 1; }
done

t0=$SECONDS
tarball=$("$root_of_source/scripts/debian-root.sh") || {
  echo "deb-chroot-test: error: scripts/debian-root.sh could not make the Debian 12 root"
  exit 1
}
echo "the Debian 12 root: $tarball (ready after $((SECONDS - t0)) s)"

# The root is unpacked on a tmpfs in the test's own mount namespace: fast to fill (dpkg's fsyncs
# cost nothing there) and gone, with every mount made on it, when the namespace ends.
work=$(mktemp -d /var/tmp/faultline-deb-chroot.XXXXXX)
cleanup() {
  # The namespaces took every mount and process of the root with them; this is the net for a
  # mount that escaped them.
  findmnt -n -l -o TARGET | { grep -F "$work" || true; } | sort -r | xargs -r umount -l
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
archives=/var/cache/faultline/apt-archives
mkdir -p "$archives/partial"
unshare --mount --propagation private --pid --fork --kill-child \
  "$here/deb-chroot-steps.sh" prepare "$work" "$tarball" "$archives" "$debs" "$version"
status=$?
echo "deb-chroot-test: $((SECONDS - t0)) s in all"
exit $status
