#include "containers/cgroup_scan.h"

#include <map>

#include "injectors/process/proc.h"

namespace faultline {
namespace {

constexpr size_t kIdLength = 64;

bool is_hex_id(std::string_view s) {
  if (s.size() != kIdLength) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

struct Pattern {
  std::string_view prefix;  // of the last path component
  std::string_view suffix;
  std::string_view runtime;
};

constexpr Pattern kPatterns[] = {
    {"docker-", ".scope", "docker"},  {"libpod-", ".scope", "podman"},
    {"libpod-", "", "podman"},        {"cri-containerd-", ".scope", "containerd"},
    {"crio-", ".scope", "cri-o"},     {"crio-", "", "cri-o"},
};

}  // namespace

std::optional<CgroupContainerId> container_of_cgroup(std::string_view path) {
  // The innermost component that names a container wins (a container's own sub-cgroups, e.g.
  // systemd inside it, lie below it).
  std::string_view parent;
  while (!path.empty()) {
    const size_t slash = path.rfind('/');
    const std::string_view leaf = path.substr(slash == std::string_view::npos ? 0 : slash + 1);
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(0, slash);
    const size_t up = path.rfind('/');
    parent = path.substr(up == std::string_view::npos ? 0 : up + 1);
    // cgroupfs drivers: /docker/ID (dockerd) and /libpod_parent/libpod-ID (podman).
    if (parent == "docker" && is_hex_id(leaf)) return CgroupContainerId{"docker", std::string(leaf)};
    for (const Pattern& p : kPatterns) {
      if (!leaf.starts_with(p.prefix) || !leaf.ends_with(p.suffix)) continue;
      const std::string_view id =
          leaf.substr(p.prefix.size(), leaf.size() - p.prefix.size() - p.suffix.size());
      if (is_hex_id(id)) return CgroupContainerId{std::string(p.runtime), std::string(id)};
    }
  }
  return std::nullopt;
}

std::vector<Container> cgroup_containers() {
  std::map<std::string, Container> by_id;
  std::map<pid_t, std::string> container_of_pid;
  const std::vector<ProcessInfo> processes = scan_processes(true);
  for (const ProcessInfo& p : processes) {
    if (p.kernel_thread || p.cgroup.empty()) continue;
    const auto found = container_of_cgroup(p.cgroup);
    if (!found) continue;
    container_of_pid[p.pid] = found->id;
    Container& c = by_id[found->id];
    c.runtime = found->runtime;
    c.id = found->id;
    c.found_by = "cgroup path";
  }
  // The init process: the one whose parent is not in the same container (runc exits after
  // starting it, so its parent is the shim or conmon).
  for (const ProcessInfo& p : processes) {
    const auto mine = container_of_pid.find(p.pid);
    if (mine == container_of_pid.end()) continue;
    const auto parents = container_of_pid.find(p.ppid);
    if (parents != container_of_pid.end() && parents->second == mine->second) continue;
    Container& c = by_id[mine->second];
    if (c.init_pid == 0 || p.pid < c.init_pid) c.init_pid = p.pid;
  }
  std::vector<Container> out;
  for (auto& [id, c] : by_id) out.push_back(std::move(c));
  return out;
}

}  // namespace faultline
