#pragma once
// Containers found by the cgroup paths their runtimes give them, for when no runtime API answers
// (no socket, podman without its service, CRI-O): only the runtime, the id and the init process
// are known then, so such containers can be selected by id alone.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "containers/container.h"

namespace faultline {

struct CgroupContainerId {
  std::string runtime;
  std::string id;
};

// The container a cgroup path belongs to, from the names the runtimes use with the systemd and
// the cgroupfs drivers: docker-ID.scope and /docker/ID, libpod-ID.scope and
// /libpod_parent/libpod-ID, cri-containerd-ID.scope, crio-ID.scope. IDs are 64 hex digits;
// podman's conmon (libpod-conmon-ID) is not the container.
std::optional<CgroupContainerId> container_of_cgroup(std::string_view cgroup_path);

// Every container with a running process on this host, by cgroup path; the init process is the
// one of each container whose parent is outside it. found_by = "cgroup path".
std::vector<Container> cgroup_containers();

}  // namespace faultline
