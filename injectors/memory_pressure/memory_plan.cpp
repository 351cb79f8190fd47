#include "injectors/memory_pressure/memory_plan.h"

#include <algorithm>
#include <map>
#include <random>

#include "core/byte_size.h"
#include "injectors/linux/cgroup.h"
#include "injectors/memory_pressure/memory_views.h"
#include "injectors/process/targets.h"

namespace faultline {
namespace {

std::string bytes_text(int64_t bytes) {
  return human_bytes(static_cast<double>(bytes));
}

// The cgroup, in the memory hierarchy, of the fault's target: a container's init process's, or
// the one cgroup that all the selected processes share.
Result<std::optional<MemoryTarget>> find_target(const FaultRequest& request,
                                                const CgroupHierarchy& h) {
  MemoryTarget t;
  std::string path;
  if (request.container) {
    t.what = request.container->describe();
    path = FL_TRY(process_cgroup_path(request.container->init_pid, h));
  } else if (!request.selector.empty()) {
    t.what = fmt::format("the cgroup of processes {}", request.selector.describe());
    const Resolution r = FL_TRY(resolve_processes(request.selector, request.protection));
    Count all;
    all.mode = Count::Mode::All;
    std::mt19937_64 rng(request.seed);
    const auto chosen =
        FL_TRY(choose_targets(r, all, request.max_processes, rng, request.selector));
    std::map<std::string, std::vector<pid_t>> by_cgroup;
    for (const ProcessInfo& p : chosen)
      if (auto cg = process_cgroup_path(p.pid, h)) by_cgroup[*cg].push_back(p.pid);
    if (by_cgroup.empty()) return fail("the processes {} are gone", request.selector.describe());
    if (by_cgroup.size() > 1) {
      std::vector<std::string> groups;
      for (const auto& [cg, pids] : by_cgroup)
        groups.push_back(fmt::format("{} (pid {})", cg, fmt::join(pids, ", ")));
      return fail("the processes {} are in {} different memory cgroups: {}; into: target charges "
                  "one cgroup, so narrow the selector to the processes of one",
                  request.selector.describe(), by_cgroup.size(), fmt::join(groups, "; "));
    }
    path = by_cgroup.begin()->first;
    // Filling its cgroup may OOM-kill any of its processes, a protected one included.
    for (const Excluded& e : r.excluded)
      if (process_cgroup_path(e.process.pid, h).value_or("") == path)
        return refuse("cgroup {} holds a protected process (pid {}: {}); memory pressure there "
                      "could get it OOM-killed",
                      path, e.process.pid, e.reason);
  } else {
    return std::optional<MemoryTarget>{};
  }
  if (path == "/")
    return fail("{} is in the root memory cgroup, which has no limit to test; use into: own",
                t.what);
  t.dir = cgroup_directory(h, path);
  t.limit = cgroup_memory_limit(h, t.dir);
  t.usage = cgroup_memory_usage(h, t.dir).value_or(0);
  return std::optional<MemoryTarget>{std::move(t)};
}

int64_t share_of(int64_t whole, Percent p) {
  return static_cast<int64_t>(static_cast<__int128>(whole) * p.basis_points / 10000);
}

}  // namespace

int64_t memory_reserve(int64_t mem_total) {
  return std::max<int64_t>(256 * kMiB, mem_total / 20);
}

int64_t own_cgroup_limit(int64_t to_add, int64_t workers) {
  return to_add + to_add / 256 + 4 * kMiB * workers;
}

Result<MemoryPlan> plan_memory_pressure(const FaultRequest& request) {
  const Params& params = request.params;
  MemoryPlan plan;
  plan.hierarchy = FL_TRY(find_cgroup_hierarchy("memory"));
  plan.into_target = params.text("into") == "target";
  plan.fill_to = params.text("mode") == "fill_to";
  const auto meminfo = read_meminfo();
  if (!meminfo) return fail("cannot read MemTotal and MemAvailable from /proc/meminfo");
  plan.mem_total = meminfo->total;
  plan.mem_available = meminfo->available;
  plan.reserve = memory_reserve(plan.mem_total);
  plan.target = FL_TRY(find_target(request, plan.hierarchy));
  const std::string of = params.has("of") ? params.text("of") : "";
  if ((plan.into_target || of == "target_limit") && !plan.target)
    return fail("{} needs a target (a target with processes: or containers:); this fault has none",
                plan.into_target ? "into: target" : "of: target_limit");
  if (params.has("bytes")) {
    plan.level = params.bytes("bytes");
  } else if (of == "memtotal") {
    plan.level = share_of(plan.mem_total, params.percent("percent"));
  } else if (of == "memavailable") {
    plan.level = share_of(plan.mem_available, params.percent("percent"));
  } else {
    if (!plan.target->limit)
      return fail("of: target_limit: {} has no memory limit ({} {} is max); give bytes instead",
                  plan.target->what, plan.target->dir,
                  cgroup_memory_limit_file(plan.hierarchy));
    plan.level = share_of(*plan.target->limit, params.percent("percent"));
  }
  plan.to_add = plan.fill_to ? std::max<int64_t>(0, plan.level - plan.target->usage) : plan.level;
  if (auto bound = check_memory_bound(plan.to_add, request.resource_bounds); !bound)
    return refuse("{}", bound.error().message);
  const int64_t can_give = plan.mem_available - plan.reserve;
  const bool capped_by_target = plan.into_target && plan.target->limit &&
                                *plan.target->limit - plan.target->usage <= can_give;
  if (plan.to_add > can_give && !capped_by_target)
    return refuse("would hold {} of memory, more than this host can give without its own OOM "
                  "killer: MemAvailable {} minus a reserve of {} (the larger of 256 MiB and 5% "
                  "of MemTotal) leaves {}; ask for less, or aim it at a target's limit (into: "
                  "target)",
                  bytes_text(plan.to_add), bytes_text(plan.mem_available),
                  bytes_text(plan.reserve), bytes_text(std::max<int64_t>(0, can_give)));
  if (plan.into_target) {
    plan.parent_dir = plan.target->dir;
  } else {
    const std::string reserved = reserve_owned_cgroup(plan.hierarchy, "mem");
    plan.parent_dir = reserved.substr(0, reserved.rfind('/'));
  }
  return plan;
}

std::string MemoryPlan::line() const {
  const std::string share =
      mem_available > 0
          ? fmt::format("{}% of MemAvailable",
                        static_cast<int64_t>(static_cast<__int128>(to_add) * 100 / mem_available))
          : "MemAvailable unknown";
  std::string where;
  if (!into_target) {
    where = "in a cgroup of its own";
  } else {
    where = fmt::format("charged to {} ({}, limit {})", target->what, target->dir,
                        target->limit ? bytes_text(*target->limit) : "none");
  }
  if (fill_to)
    return fmt::format("fill {} to {} (now {}: adds {}), {}; {}", target->what, bytes_text(level),
                       bytes_text(target->usage), bytes_text(to_add), hierarchy.describe(), share);
  return fmt::format("hold {} {}, {}; {}", bytes_text(to_add), where, hierarchy.describe(), share);
}

}  // namespace faultline
