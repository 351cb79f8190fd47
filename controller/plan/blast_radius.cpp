#include "controller/plan/blast_radius.h"

#include "injectors/injector.h"

namespace faultline {
namespace {

// How many processes a process fault would touch among `available` (the freezer takes the whole
// cgroup, whatever the count says).
int64_t processes_affected(const FaultSpec& f, int64_t available) {
  const bool whole = f.params.has("method") && f.params.text("method") == "freezer";
  return whole ? available : f.params.count("count").of(available);
}

// A fault on containers of this host: the containers first, then the processes in each.
void reach_containers(const Scenario& s, const FaultSpec& f, const TargetGroup& group,
                      FaultReach& reach) {
  auto resolved = resolve_containers(*group.containers, s.blast_radius.container_protection);
  if (!resolved) {
    reach.problem = resolved.error().message;
    return;
  }
  reach.containers = std::move(*resolved);
  const auto eligible = static_cast<int64_t>(reach.containers->matched.size());
  reach.would_affect_containers = group.containers->count.of(eligible);
  if (eligible == 0) {
    reach.problem = fmt::format("target '{}' ({}) matches no running container right now",
                                f.target, group.containers->describe());
    return;
  }
  if (reach.would_affect_containers > s.blast_radius.max_containers) {
    reach.problem = fmt::format(
        "would affect {} containers, more than blast_radius.max_containers {}; select fewer "
        "(count: 1) or raise max_containers",
        reach.would_affect_containers, s.blast_radius.max_containers);
    return;
  }
  for (const ContainerScope& c : reach.containers->matched) {
    ContainerReach one{.container = c};
    if (reach.targets_processes) {
      ProcessSelector in_container = group.processes;
      in_container.cgroup = c.cgroup;
      auto processes = resolve_processes(in_container, s.blast_radius.protection);
      if (!processes) {
        reach.problem = fmt::format("{}: {}", c.describe(), processes.error().message);
        return;
      }
      one.processes = std::move(*processes);
      const auto available = static_cast<int64_t>(one.processes.matched.size());
      one.would_affect = processes_affected(f, available);
      if (available == 0 && reach.problem.empty())
        reach.problem = fmt::format("{} has no eligible process matching {}", c.describe(),
                                    group.processes.empty() ? "the target"
                                                            : group.processes.describe());
      else if (one.would_affect > s.blast_radius.max_processes && reach.problem.empty())
        reach.problem = fmt::format(
            "would affect {} processes in {}, more than blast_radius.max_processes {}; lower "
            "the count or raise max_processes",
            one.would_affect, c.describe(), s.blast_radius.max_processes);
    }
    reach.container_reach.push_back(std::move(one));
  }
}

// A resource kind's reach on this host, as the kind itself checks it before applying: what it
// would take, or why it is refused (a bound, a protected filesystem, more than the host has).
void reach_resources(const Scenario& s, const FaultSpec& f, const InjectorDescriptor& d,
                     const TargetGroup* group, FaultReach& reach) {
  FaultRequest request;
  request.id = f.name;
  request.kind = f.kind;
  request.params = f.params;
  request.duration = f.duration;
  request.resource_bounds = s.blast_radius.resources;
  request.protection = s.blast_radius.protection;
  if (group != nullptr) request.selector = group->processes;
  std::vector<std::optional<ContainerScope>> where;
  if (reach.containers)
    for (const ContainerReach& c : reach.container_reach) where.emplace_back(c.container);
  else
    where.emplace_back(std::nullopt);
  for (const auto& container : where) {
    request.container = container;
    auto line = d.reach_check(request);
    if (!line) {
      reach.problem = container ? fmt::format("{}: {}", container->describe(), line.error().message)
                                : line.error().message;
      return;
    }
    reach.resources.push_back(container ? fmt::format("{}: {}", container->describe(), *line)
                                        : std::move(*line));
  }
}

}  // namespace

BlastRadiusVerdict check_blast_radius(const Scenario& s, const Timeline& t) {
  BlastRadiusVerdict v;
  // Process faults on this host spare the protected containers' processes; the runtimes are
  // asked once for the whole plan, when the first such fault needs it.
  std::optional<Protection> host_protection;
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
    if (group != nullptr && group->containers && reach.problem.empty()) {
      reach_containers(s, f, *group, reach);
    } else if (reach.targets_processes && reach.problem.empty()) {
      if (!host_protection) {
        host_protection = s.blast_radius.protection;
        host_protection->container_cgroups =
            protected_container_cgroups(s.blast_radius.container_protection);
      }
      auto resolved = resolve_processes(group->processes, *host_protection);
      if (!resolved) {
        reach.problem = resolved.error().message;
      } else {
        reach.resolution = std::move(*resolved);
        const auto available = static_cast<int64_t>(reach.resolution.matched.size());
        reach.would_affect = processes_affected(f, available);
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
    if (d != nullptr && d->reach_check != nullptr && reach.problem.empty())
      reach_resources(s, f, *d, group, reach);
    if (!reach.problem.empty())
      v.problems.push_back(fmt::format("fault '{}': {}", f.name, reach.problem));
    v.faults.push_back(std::move(reach));
  }
  v.ok = v.problems.empty();
  return v;
}

}  // namespace faultline
