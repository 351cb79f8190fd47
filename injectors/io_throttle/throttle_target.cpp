#include "injectors/io_throttle/throttle_target.h"

#include <unistd.h>

#include <fstream>
#include <map>

namespace faultline {
namespace {

// The cgroup path (in `h`) of the container or of the processes the selector picks.
Result<std::pair<std::string, std::string>> target_cgroup(const FaultRequest& r,
                                                          const CgroupHierarchy& h) {
  if (r.container) {
    const std::string cgroup = FL_TRY(process_cgroup_path(r.container->init_pid, h));
    return std::pair{cgroup, r.container->describe()};
  }
  if (r.selector.empty())
    return refuse("io_throttle needs a target: the processes (name=, cmdline=, pidfile=, "
                  "parent_pidfile= or cgroup=) or the container whose cgroup is throttled");
  const Resolution found = FL_TRY(resolve_processes(r.selector, r.protection));
  if (found.matched.empty() && found.excluded.empty())
    return fail("io_throttle: no process matches {}", r.selector.describe());
  std::map<std::string, int> cgroups;
  for (const ProcessInfo& p : found.matched)
    if (auto c = process_cgroup_path(p.pid, h)) ++cgroups[*c];
  // The throttle holds the whole cgroup: a protected process in it would be throttled too.
  for (const Excluded& e : found.excluded) {
    auto c = process_cgroup_path(e.process.pid, h);
    if (c && (cgroups.contains(*c) || found.matched.empty()))
      return refuse("io_throttle: process {} ({}) matches {} and is protected ({}); its cgroup {} "
                    "would be throttled with it",
                    e.process.pid, e.process.comm, r.selector.describe(), e.reason, *c);
  }
  if (cgroups.empty()) return fail("io_throttle: the processes of {} are gone", r.selector.describe());
  if (cgroups.size() > 1) {
    std::string list;
    for (const auto& [c, n] : cgroups) list += fmt::format("{}{} ({})", list.empty() ? "" : ", ", c, n);
    return refuse("io_throttle: the processes of {} are in {} cgroups of {} ({}); a throttle holds "
                  "one cgroup: narrow the selector to the processes of one",
                  r.selector.describe(), cgroups.size(), h.describe(), list);
  }
  return std::pair{cgroups.begin()->first,
                   fmt::format("{} process(es) of {}", cgroups.begin()->second, r.selector.describe())};
}

}  // namespace

Result<ThrottleTarget> find_throttle_target(const FaultRequest& request) {
  const std::string& path = request.params.text("path");
  ThrottleTarget t;
  t.device = FL_TRY(block_device_of(path));
  FL_TRY_VOID(check_path_bound(path, request.resource_bounds));
  t.hierarchy = FL_TRY(find_cgroup_hierarchy("io"));
  auto [cgroup, who] = FL_TRY(target_cgroup(request, t.hierarchy));
  if (cgroup == "/")
    return refuse("io_throttle: {} is in the root cgroup of {}, which cannot be throttled; run it "
                  "in a cgroup of its own (a systemd unit, a container)",
                  who, t.hierarchy.describe());
  t.cgroup = cgroup;
  t.who = who;
  t.dir = cgroup_directory(t.hierarchy, cgroup);
  if (::access(t.dir.c_str(), F_OK) != 0)
    return fail("io_throttle: the cgroup {} of {} is gone", t.dir, who);
  return t;
}

}  // namespace faultline
