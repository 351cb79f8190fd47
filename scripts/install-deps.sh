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
  # tests/system/dns_test.cpp: real resolvers (dnsmasq) behind the dns fault
  dnsmasq-base
  # tests/system/agent_metrics_test.cpp: a real Prometheus scrapes a real agent
  prometheus
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
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Debian's prometheus package enables and starts a system-wide server on *:9090. The tests
  # start their own on loopback; one newly installed for them is stopped and disabled (one that
  # was installed before is left as it was).
  if [[ " ${missing[*]} " == *" prometheus "* && -d /run/systemd/system ]]; then
    systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  fi
fi
