#!/usr/bin/env bash
# Installs everything faultline needs to build, test and run its demo on Debian 12.
# Idempotent: packages already present are left as they are.
#   install-deps.sh               everything: build, tests, demo, benchmarks, packaging
#   install-deps.sh --build-only  what building faultline and its .deb packages needs (the
#                                 Dockerfile's build stage uses this)
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps.sh: error: run as root (apt-get needs it), e.g. sudo $0" >&2
  exit 2
fi

build_packages=(
  # build
  build-essential cmake pkg-config
  # libraries
  libnl-3-dev libnl-route-3-dev libcli11-dev libfmt-dev catch2 libyaml-dev libyaml-cpp-dev
  nlohmann-json3-dev libspdlog-dev libcurl4-openssl-dev libnftables-dev
  # the userspace network backend: nftables rules through libnftnl over libmnl, NFQUEUE through
  # libnetfilter_queue (injectors/network/userspace)
  libnftnl-dev libmnl-dev libnetfilter-queue-dev
  # the dns fault reads and writes DNS messages with libldns (its header only: the library is
  # opened on first use, see injectors/dns/dns_message.h)
  libldns-dev
  # reading many journals at once (faultline report, game-day history)
  libsimdjson-dev
  # faultline-agent: gRPC with mutual TLS, certificates
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc libssl-dev
  # patterns users write (selectors, probe expectations): RE2, linear-time matching
  libre2-dev
  # game-day windows in IANA time zones (g++ 12 has no std::chrono tzdb): Howard Hinnant's date
  # library, built by Debian to read the system's tzdata
  libhowardhinnant-date-dev tzdata
  # faultline-agent's Prometheus metrics: prometheus-cpp's registry and text format, served by
  # civetweb (not libcpp-httplib: Debian builds it with OpenSSL, which would load a second
  # OpenSSL beside the agent's static one; see agent/daemon/metrics/metrics_server.h)
  prometheus-cpp-dev libcivetweb-dev
  # man pages from the commands' --help; .deb packages (CPack: dpkg-shlibdeps, file)
  help2man dpkg-dev file
  ccache
)
tool_packages=(
  openssl
  # tools the tests, demo and benchmarks drive
  iproute2 iputils-ping procps nginx-light stress-ng curl nftables
  # tests/system/dns_test.cpp: real resolvers (dnsmasq) behind the dns fault;
  # tests/containers: drill asks DNS from inside a container's network namespace
  dnsmasq-base ldnsutils
  # tests/system/agent_metrics_test.cpp: a real Prometheus scrapes a real agent
  prometheus
  # resource faults (disk_fill, io_stress, io_throttle) are tested only on filesystems the tests
  # make: ext4 and xfs on loop devices (util-linux: losetup, findmnt)
  e2fsprogs xfsprogs util-linux
  # tests/kernel-lab: Debian's stock kernel (it has netem) under qemu
  qemu-system-x86 busybox-static cpio kmod xz-utils
  # scripts/fuzz.sh: libFuzzer. clang-16, not 14: libstdc++ 12's std::expected needs P0848.
  # libclang-rt-16-dev holds the fuzzer and ASan runtimes; it is only a Recommends of clang-16,
  # which --no-install-recommends skips.
  clang-16 libfuzzer-16-dev libclang-rt-16-dev
  # reports: the HTML one loaded in headless Chromium, JUnit checked with xmllint, journals
  # checked against their JSON Schema
  chromium libxml2-utils python3-jsonschema
  # tests/packaging: lintian on the .debs, a pristine Debian 12 root to install them in, the
  # container images (podman with runc: crun refuses this machine's hybrid cgroups), the
  # Kubernetes manifests (python3-yaml; kubectl below)
  lintian fakeroot debootstrap podman runc python3-yaml
  # tests/containers and tests/system/containerd_client_test.cpp: real Docker, Podman (above)
  # and containerd, each started by the test as a private daemon under its work directory and
  # stopped after (see the guard below); jq reads their APIs' answers
  docker.io containerd jq
  # bench/network_userspace_bench.sh: TCP through a delay (iperf3), the userspace network
  # backend beside netem in the kernel lab; iptables-nft puts an NFQUEUE rule into a test's own
  # namespace (tests/system/packet_queue_test.cpp, bench/nfqueue_rate_bench, the kill-anywhere
  # soak's probe)
  iperf3 iptables
)
# The system services a package above would enable and start. The tests start private daemons
# of their own; a host's are not theirs to start (Docker's would also add its bridge and
# firewall rules to the host). So one of these that this script newly installs is left stopped
# and disabled; one installed before is left as it was.
declare -A package_services=(
  [docker.io]="docker.socket docker.service"
  [containerd]="containerd.service"
  [podman]="podman.socket podman.service"
  # Prometheus would serve on *:9090; the tests start their own on loopback.
  [prometheus]="prometheus.service"
)

packages=("${build_packages[@]}")
case "${1:-}" in
  --build-only) ;;
  "") packages+=("${tool_packages[@]}")
      # kubectl renders the manifests (kubectl kustomize). Debian's is kubernetes-client; a
      # kubectl from elsewhere (Google's cloud SDK ships one) owns /usr/bin/kubectl, and dpkg would
      # refuse to overwrite it.
      command -v kubectl >/dev/null || packages+=(kubernetes-client) ;;
  *) echo "install-deps.sh: error: unknown argument '$1'; use --build-only or nothing" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Services are not started while packages install: invoke-rc.d asks /usr/sbin/policy-rc.d,
  # and 101 means "not allowed". One is made for the install and removed after; one the host
  # already has is its administrator's, and left alone.
  policy_rc_d=/usr/sbin/policy-rc.d
  if [[ ! -e $policy_rc_d ]]; then
    printf '#!/bin/sh\n# install-deps.sh: no service starts during its apt-get install\nexit 101\n' \
      > "$policy_rc_d"
    chmod 755 "$policy_rc_d"
    trap 'rm -f "$policy_rc_d"' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  if [[ $(trap -p EXIT) ]]; then rm -f "$policy_rc_d"; trap - EXIT; fi
  # policy-rc.d stops the start, not the enable: the package's postinst still enables the units,
  # and they would start at the next boot. Only where systemd runs (PID 1).
  if [[ -d /run/systemd/system ]]; then
    for p in "${missing[@]}"; do
      [[ -n ${package_services[$p]:-} ]] || continue
      # shellcheck disable=SC2086 # a list of unit names
      systemctl disable --now ${package_services[$p]} >/dev/null 2>&1 || true
    done
  fi
fi
