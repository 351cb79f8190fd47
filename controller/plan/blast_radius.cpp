#include "controller/plan/blast_radius.h"

#include "injectors/injector.h"

namespace faultline {

BlastRadiusVerdict check_blast_radius(const Scenario& s, const Timeline& t) {
  BlastRadiusVerdict v;
  if (t.total > s.blast_radius.max_duration)
    v.problems.push_back(fmt::format("the run takes {}, longer than blast_radius.max_duration {}",
                                     format_duration(t.total),
                                     format_duration(s.blast_radius.max_duration)));
  for (size_t i = 0; i < s.faults.size(); ++i) {
    const FaultSpec& f = s.faults[i];
    const InjectorDescriptor* d = find_injector(f.kind);
    FaultReach reach;
    reach.fault = i;
    reach.targets_processes = d != nullptr && d->targets_processes;
    const TargetGroup* group = s.target(f.target);
    reach.remote = group != nullptr && group->on_inventory_hosts();
    if (reach.remote) {
      v.faults.push_back(std::move(reach));
      continue;
    }
    if (d != nullptr) {
      if (Support support = d->supported(); !support.ok)
        reach.problem = fmt::format("{} cannot run on this host: {}", f.kind, support.reason);
      // A fault with a target acts where its target's process is; that is checked on apply.
      else if (d->host_check != nullptr && f.target.empty())
        if (auto checked = d->host_check(f.params); !checked)
          reach.problem = checked.error().message;
    }
    if (reach.targets_processes && reach.problem.empty()) {
      auto resolved = resolve_processes(group->processes, s.blast_radius.protection);
      if (!resolved) {
        reach.problem = resolved.error().message;
      } else {
        reach.resolution = std::move(*resolved);
        const auto available = static_cast<int64_t>(reach.resolution.matched.size());
        // The freezer takes the whole cgroup, whatever the count says.
        const bool whole = f.params.has("method") && f.params.text("method") == "freezer";
        reach.would_affect = whole ? available : f.params.count("count").of(available);
        if (available == 0)
          reach.problem = fmt::format("target '{}' ({}) matches no eligible process right now",
                                      f.target, group->processes.describe());
        else if (reach.would_affect > s.blast_radius.max_processes)
          reach.problem = fmt::format(
              "would affect {} processes, more than blast_radius.max_processes {}; lower the "
              "count or raise max_processes",
              reach.would_affect, s.blast_radius.max_processes);
      }
    }
    if (!reach.problem.empty())
      v.problems.push_back(fmt::format("fault '{}': {}", f.name, reach.problem));
    v.faults.push_back(std::move(reach));
  }
  v.ok = v.problems.empty();
  return v;
}

}  // namespace faultline
