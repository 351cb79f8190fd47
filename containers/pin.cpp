#include "containers/pin.h"

#include <fmt/format.h>

#include <fstream>

#include "injectors/process/proc.h"

namespace faultline {
namespace {

// The process's path in the v1 hierarchy whose controllers include `controller` ("" when there
// is no such hierarchy: a pure cgroup v2 host).
std::string v1_path(pid_t pid, std::string_view controller) {
  std::ifstream in(fmt::format("/proc/{}/cgroup", pid));
  std::string line;
  while (std::getline(in, line)) {
    const size_t first = line.find(':');
    const size_t second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    std::string_view controllers = std::string_view(line).substr(first + 1, second - first - 1);
    while (!controllers.empty()) {
      const size_t comma = controllers.find(',');
      if (controllers.substr(0, comma) == controller) return line.substr(second + 1);
      controllers = comma == std::string_view::npos ? std::string_view{}
                                                    : controllers.substr(comma + 1);
    }
  }
  return "";
}

}  // namespace

Result<ContainerScope> pin_container(const Container& container) {
  const std::string what = fmt::format("{} container {}", container.runtime,
                                       container.name.empty() ? container.id : container.name);
  if (container.init_pid <= 0) return fail("{} is not running", what);
  auto init = read_process(container.init_pid, true);
  if (!init) return fail("{} is not running (its init process {} is gone)", what,
                         container.init_pid);
  ContainerScope s;
  s.runtime = container.runtime;
  s.id = container.id;
  s.name = container.name;
  s.image = container.image;
  s.init_pid = init->pid;
  s.init_start_ticks = init->start_ticks;
  s.cgroup = init->cgroup;
  s.cgroup_v1_cpu = v1_path(init->pid, "cpu");
  // Read again: had the pid been reused meanwhile, what was read belongs to another process.
  auto again = read_process_stat(init->pid);
  if (!again || again->start_ticks != init->start_ticks)
    return fail("{} stopped while faultline read it", what);
  return s;
}

}  // namespace faultline
