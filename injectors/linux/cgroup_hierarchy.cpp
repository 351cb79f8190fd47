#include "injectors/linux/cgroup_hierarchy.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "injectors/linux/cgroup.h"

namespace faultline {
namespace {

// A comma-separated list ("rw,nosuid,memory" or "cpu,cpuacct") holds `item`.
bool list_has(std::string_view list, std::string_view item) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    if (list.substr(0, comma) == item) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::string_view v1_name(std::string_view controller) {
  return controller == "io" ? "blkio" : controller;
}

// The v1 hierarchy mounted with `name` in its options; nullopt when none is.
std::optional<std::string> v1_mount_with(std::string_view name) {
  std::ifstream mounts("/proc/self/mounts");
  std::string device, dir, type, options, rest;
  while (mounts >> device >> dir >> type >> options && std::getline(mounts, rest))
    if (type == "cgroup" && list_has(options, name)) return dir;
  return std::nullopt;
}

}  // namespace

std::string CgroupHierarchy::describe() const {
  if (v2()) return fmt::format("cgroup v2 ({})", mount);
  return fmt::format("cgroup v1 {} ({})", v1_name(controller), mount);
}

Result<CgroupHierarchy> find_cgroup_hierarchy(std::string_view controller) {
  if (auto v2 = cgroup2_mount()) {
    std::istringstream available(read_cgroup_file(*v2 + "/cgroup.controllers").value_or(""));
    for (std::string name; available >> name;)
      if (name == controller) return CgroupHierarchy{std::string(controller), CgroupVersion::V2, *v2};
  }
  if (auto v1 = v1_mount_with(v1_name(controller)))
    return CgroupHierarchy{std::string(controller), CgroupVersion::V1, *v1};
  return fail("no cgroup hierarchy on this host has the {} controller (neither the cgroup v2 "
              "root's cgroup.controllers nor a v1 mount lists it); a kernel built without "
              "CONFIG_{} or booted with cgroup_disable={} cannot run this fault",
              controller, controller == "io" ? "BLK_CGROUP" : "MEMCG", v1_name(controller));
}

Result<std::string> process_cgroup_path(pid_t pid, const CgroupHierarchy& hierarchy) {
  const std::string file = fmt::format("/proc/{}/cgroup", pid);
  std::ifstream in(file);
  if (!in) return fail("cannot read {}: the process is gone", file);
  const std::string_view want = v1_name(hierarchy.controller);
  for (std::string line; std::getline(in, line);) {
    // "0::/path" for v2; "4:memory:/path" or "3:cpu,cpuacct:/path" for v1.
    const size_t first = line.find(':');
    const size_t second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string_view controllers = std::string_view(line).substr(first + 1, second - first - 1);
    const bool match = hierarchy.v2() ? line.starts_with("0::") : list_has(controllers, want);
    if (match) return line.substr(second + 1);
  }
  return fail("{} has no line for {}", file, hierarchy.describe());
}

std::string cgroup_directory(const CgroupHierarchy& hierarchy, std::string_view cgroup_path) {
  if (cgroup_path.empty() || cgroup_path == "/") return hierarchy.mount;
  return hierarchy.mount + std::string(cgroup_path);
}

std::string reserve_owned_cgroup(const CgroupHierarchy& hierarchy, const std::string& purpose) {
  std::string own = process_cgroup_path(getpid(), hierarchy).value_or("/");
  // Our own cgroup may hold processes with controllers on (v2's no-internal-process rule): its
  // parent is the safe place, as for OwnedCgroup::reserve_path.
  if (own != "/") own = own.substr(0, own.rfind('/'));
  if (own.empty()) own = "/";
  return OwnedCgroup::reserve_path_under(cgroup_directory(hierarchy, own), purpose);
}

Result<std::vector<std::string>> enable_controller_below(const CgroupHierarchy& hierarchy,
                                                         const std::string& parent) {
  std::vector<std::string> enabled;
  if (!hierarchy.v2()) return enabled;
  if (parent != hierarchy.mount && !parent.starts_with(hierarchy.mount + "/"))
    return fail("{} is not below {}", parent, hierarchy.describe());
  // From the top down: a cgroup can only enable what its parent gave it.
  std::vector<std::string> chain;
  for (std::string dir = parent; dir.size() >= hierarchy.mount.size();
       dir = dir.substr(0, dir.rfind('/'))) {
    chain.insert(chain.begin(), dir);
    if (dir == hierarchy.mount) break;
  }
  for (const std::string& dir : chain) {
    std::istringstream on(read_cgroup_file(dir + "/cgroup.subtree_control").value_or(""));
    bool has = false;
    for (std::string name; on >> name;) has = has || name == hierarchy.controller;
    if (has) continue;
    if (auto done = write_cgroup_file(dir + "/cgroup.subtree_control", "+" + hierarchy.controller);
        !done)
      return fail("cannot enable the {} controller for the cgroups below {}: {}",
                  hierarchy.controller, dir, done.error().message);
    enabled.push_back(dir);
  }
  return enabled;
}

std::optional<std::string> read_cgroup_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<int64_t> read_cgroup_number(const std::string& path) {
  std::ifstream in(path);
  std::string word;
  if (!(in >> word) || word.empty() || word.find_first_not_of("0123456789") != std::string::npos ||
      word.size() > 19)
    return std::nullopt;
  return std::stoll(word);
}

std::optional<int64_t> read_cgroup_key(const std::string& path, std::string_view key) {
  std::ifstream in(path);
  std::string name;
  int64_t value = 0;
  while (in >> name >> value)
    if (name == key) return value;
  return std::nullopt;
}

}  // namespace faultline
