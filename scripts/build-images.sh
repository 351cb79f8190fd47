#!/usr/bin/env bash
# Builds faultline's two container images with podman from the Dockerfile, on a Debian 12 base
# image made here from a debootstrap root (scripts/debian-root.sh), so that no registry is
# needed: only Debian's archive, which apt in the build uses.
#   build-images.sh [--save DIR]
# Makes localhost/faultline:VERSION and localhost/faultline-agent:VERSION (and the base
# localhost/debian-12-debootstrap); --save also writes each as a docker-archive tar into DIR, for
# `docker load`, `ctr -n k8s.io images import` or `podman load` on machines without a registry.
# Needs root, podman and debootstrap (scripts/install-deps.sh). Timings: docs/install.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
save=""
case "${1:-}" in
  "") ;;
  --save) [[ $# -eq 2 ]] || { echo "build-images.sh: error: --save needs a folder" >&2; exit 2; }
          save=$2 ;;
  *) echo "build-images.sh: error: unknown argument '$1'; use --save DIR or nothing" >&2; exit 2 ;;
esac
command -v podman >/dev/null || {
  echo "build-images.sh: error: podman is not installed (apt-get install podman runc)" >&2
  exit 2
}
version=$(sed -n 's/^project(faultline VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
base=localhost/debian-12-debootstrap:latest

# Two adjustments some hosts need (both harmless elsewhere):
# - crun refuses hybrid cgroup hierarchies (v1 controllers beside a v2 tree): use runc there;
# - without CAP_SYS_RESOURCE, the runtime cannot raise the containers' default RLIMIT_NOFILE and
#   RLIMIT_NPROC and fails: then keep the limits as they are (containers.conf default_ulimits).
podman_args=()
if [[ -d /sys/fs/cgroup/unified ]]; then
  command -v runc >/dev/null || {
    echo "build-images.sh: error: this host's cgroups are hybrid, which crun refuses; install runc" >&2
    exit 2
  }
  podman_args+=(--runtime runc)
fi
conf=$(mktemp)
trap 'rm -f "$conf"' EXIT
if (( ! (0x$(awk '/^CapEff:/ { print $2 }' /proc/self/status) >> 24 & 1) )); then
  printf '[containers]\ndefault_ulimits = []\n' > "$conf"
  export CONTAINERS_CONF=$conf
fi

tarball=$("$root/scripts/debian-root.sh")
# The base image: that root made slim as Debian's -slim images are. Documentation, man pages
# and translations are removed, and dpkg is told to leave them out of every package installed
# later (the copyright files stay); apt's lists and caches go too. Imported again when the root
# was made again, or this recipe changed.
slim() {
  unshare --mount --propagation private bash -c '
    set -e
    dir=$(mktemp -d)
    mount -t tmpfs -o mode=755 faultline-base "$dir"
    tar -C "$dir" -xf "$1"
    cd "$dir"
    find usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
    find usr/share/doc -mindepth 1 -type d -empty -delete
    rm -rf usr/share/man/* usr/share/info/* usr/share/groff/* usr/share/lintian/* \
      var/lib/apt/lists/* var/cache/apt/*
    find usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    printf "%s\n" "path-exclude /usr/share/doc/*" "path-include /usr/share/doc/*/copyright" \
      "path-exclude /usr/share/man/*" "path-exclude /usr/share/info/*" \
      "path-exclude /usr/share/groff/*" "path-exclude /usr/share/lintian/*" \
      "path-exclude /usr/share/locale/*" "path-include /usr/share/locale/locale.alias" \
      > etc/dpkg/dpkg.cfg.d/slim
    tar --numeric-owner -c .
    cd /
    umount "$dir"
    rmdir "$dir"' slim "$1"
}
recipe=slim-1
stamp="$(stat -c %Y "$tarball")-$recipe"
imported=$(podman image inspect --format '{{index .Labels "faultline.base"}}' "$base" 2>/dev/null || true)
if [[ $imported != "$stamp" ]]; then
  # Whole before it is imported: a root cut short must not become the base.
  slim_tar=$(mktemp /var/tmp/faultline-base.XXXXXX.tar)
  trap 'rm -f "$conf" "$slim_tar"' EXIT
  slim "$tarball" > "$slim_tar"
  podman import --change "LABEL faultline.base=$stamp" --change 'CMD ["/bin/bash"]' \
    "$slim_tar" "$base" > /dev/null
  rm -f "$slim_tar"
fi
echo "build-images.sh: base image $base, $(podman image inspect --format '{{.Size}}' "$base") bytes"

for target in faultline faultline-agent; do
  t0=$SECONDS
  # The host's network for apt in the build: no bridge or firewall rule is made on the host.
  podman "${podman_args[@]}" build --network host --build-arg "BASE=$base" --target "$target" \
    --tag "localhost/$target:$version" "$root"
  echo "build-images.sh: localhost/$target:$version built in $((SECONDS - t0)) s," \
    "$(podman image inspect --format '{{.Size}}' "localhost/$target:$version") bytes"
  if [[ -n $save ]]; then
    mkdir -p "$save"
    podman save --format docker-archive --output "$save/$target-$version.tar" \
      "localhost/$target:$version"
    echo "build-images.sh: saved $save/$target-$version.tar"
  fi
done
