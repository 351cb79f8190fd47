#!/usr/bin/env bash
# Prints the path of a tarball of a pristine Debian 12 (bookworm) root: debootstrap's minbase
# variant, from the Debian mirror this host's apt already uses (no other network), with apt's
# package lists of bookworm, bookworm-updates and bookworm-security as this host has them. It is
# made once and kept in /var/cache/faultline/, so later callers only unpack it.
#   debian-root.sh            make it unless it is there; print its path
#   debian-root.sh --refresh  make it again (a newer point release, changed mirrors)
# Used by tests/packaging/deb-chroot-test.sh and scripts/build-images.sh. Needs root and
# debootstrap (scripts/install-deps.sh). Exit 2 on usage errors, 1 when it could not be made.
set -euo pipefail
cache=/var/cache/faultline
tarball=$cache/debian-12-minbase.tar
refresh=0
case "${1:-}" in
  "") ;;
  --refresh) refresh=1 ;;
  *) echo "debian-root.sh: error: unknown argument '$1'; use --refresh or nothing" >&2; exit 2 ;;
esac
if [[ $(id -u) -ne 0 ]]; then
  echo "debian-root.sh: error: debootstrap needs root" >&2
  exit 2
fi
command -v debootstrap >/dev/null || {
  echo "debian-root.sh: error: debootstrap is not installed (apt-get install debootstrap)" >&2
  exit 2
}
mkdir -p "$cache"
# One maker at a time; a second caller waits for the first one's tarball.
exec 9>"$cache/debian-root.lock"
flock 9
if [[ -f $tarball && $refresh -eq 0 ]]; then
  echo "$tarball"
  exit 0
fi

# This host's Debian 12 sources, whatever format they are written in: "URI SUITE COMPONENT".
sources=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
  'Created-By: Packages' | awk '$2 ~ /^bookworm(-updates|-security)?$/' | sort -u)
mirror=$(awk '$2 == "bookworm" { print $1; exit }' <<<"$sources")
if [[ -z $mirror ]]; then
  echo "debian-root.sh: error: this host's apt has no Debian 12 (bookworm) source to bootstrap" \
    "from; add one to /etc/apt/sources.list.d/ and run apt-get update" >&2
  exit 1
fi

root=$(mktemp -d /var/tmp/faultline-debian-root.XXXXXX)
chmod 755 "$root"  # the root directory of the system: mktemp made it 0700
cleanup() {
  # debootstrap mounts /proc and /sys in the root while it works, and may leave them on failure.
  findmnt -n -l -o TARGET | { grep -F "$root/" || true; } | sort -r | xargs -r umount -l
  rm -rf --one-file-system "$root"
  rm -f "$tarball.tmp"
}
trap cleanup EXIT
echo "debian-root.sh: debootstrap --variant=minbase bookworm from $mirror (once; later runs reuse $tarball)" >&2
debootstrap --variant=minbase bookworm "$root" "$mirror" >&2
awk '{ printf "deb %s %s %s\n", $1, $2, $3 }' <<<"$sources" > "$root/etc/apt/sources.list"
# apt's lists in the root, so that installing there needs no update first. /proc only for this,
# in a mount namespace of its own: it goes away with the command, whatever happens.
unshare --mount --propagation private sh -c \
  'mount -t proc proc "$1/proc" && chroot "$1" apt-get update -qq' sh "$root" >&2
chroot "$root" apt-get clean
tar -C "$root" --numeric-owner -cf "$tarball.tmp" .
mv "$tarball.tmp" "$tarball"
echo "$tarball"
