#pragma once
// One container a fault acts on, pinned: its init process by (pid, start time), and the cgroup
// and namespaces read from that process. Faults use it, never the runtime: a process fault picks
// among the processes in the container's cgroup, a network fault acts in its network namespace,
// a CPU fault charges its cgroup. Its namespaces are opened through the init process when a fault
// needs them (checked against its start time). Nothing runs inside the container.
#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace faultline {

struct ContainerScope {
  std::string runtime;
  std::string id;
  std::string name;
  std::string image;
  pid_t init_pid = 0;
  uint64_t init_start_ticks = 0;
  // The container's cgroup as its init process is in it: the v2 path ("0::" line) and, on a
  // hybrid host, the path in the v1 cpu hierarchy (where cpu_stress charges it).
  std::string cgroup;
  std::string cgroup_v1_cpu;

  // "docker container web (3f2a9c1b7d0e)".
  std::string describe() const;
  nlohmann::json to_json() const;
};

}  // namespace faultline
