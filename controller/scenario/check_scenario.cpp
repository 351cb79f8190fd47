#include "controller/scenario/check_scenario.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

#include "core/duration.h"
#include "core/suggest.h"
#include "injectors/injector.h"

namespace faultline::scenario_parts {
namespace {

std::vector<std::string_view> target_names(const Scenario& s) {
  std::vector<std::string_view> out;
  for (const TargetGroup& t : s.targets) out.push_back(t.name);
  return out;
}

}  // namespace

void check_whole(YamlReader& r, const yaml::Node& root, Scenario& s, const ParseNotes& notes) {
  for (const auto& [index, at] : notes.probe_targets) {
    ProbeSpec& p = s.steady_state[index];
    const std::string what = p.name.empty() ? "the probe" : fmt::format("probe '{}'", p.name);
    const TargetGroup* g = s.target(p.process.target);
    if (g == nullptr)
      r.error(at, fmt::format("{} names target '{}', which is not defined in targets{}", what,
                              p.process.target, did_you_mean(p.process.target, target_names(s))));
    else if (g->containers)
      r.error(at, fmt::format("{} names target '{}', which selects containers; a process probe "
                              "counts processes of this host: select them with cmdline or cgroup "
                              "in a target of their own",
                              what, g->name));
    else if (g->processes.empty() && !notes.selector_reported.contains(g->name))
      r.error(at, fmt::format("{} names target '{}', which selects no processes; add "
                              "'processes' to the target",
                              what, g->name));
    else if (g->on_inventory_hosts())
      r.error(at, fmt::format("{} names target '{}', which is on inventory hosts; a process "
                              "probe counts on one host: select the processes here (e.g. "
                              "name: ...) and say where with 'on: HOST'",
                              what, g->name));
    else
      p.process.selector = g->processes;
  }
  std::vector<std::string_view> probe_names;
  for (const ProbeSpec& p : s.steady_state) probe_names.push_back(p.name);
  for (size_t i = 0; i < s.stop_when.size(); ++i) {
    const StopCondition& c = s.stop_when[i];
    if (!c.probe.empty() && !s.probe(c.probe))
      r.error(notes.stop_probe_at[i], fmt::format("stop_when names probe '{}', which is not in "
                                                  "steady_state{}",
                                                  c.probe, did_you_mean(c.probe, probe_names)));
  }
  for (size_t fault_index = 0; fault_index < s.faults.size(); ++fault_index) {
    const FaultSpec& f = s.faults[fault_index];
    const yaml::Node& node = notes.fault_nodes[fault_index];
    const std::string what = f.name.empty() ? "the fault" : fmt::format("fault '{}'", f.name);
    const InjectorDescriptor* d = f.kind.empty() ? nullptr : find_injector(f.kind);
    if (!f.target.empty()) {
      const TargetGroup* g = s.target(f.target);
      if (g == nullptr) {
        r.error(node["target"],
                fmt::format("{} names target '{}', which is not defined in "
                            "targets{}",
                            what, f.target, did_you_mean(f.target, target_names(s))));
      } else if (g->containers && f.params.has("netns")) {
        r.error(node[f.kind]["netns"],
                fmt::format("{} acts in the network namespace of each container of target '{}'; "
                            "remove netns",
                            what, f.target));
      } else if (d != nullptr && d->targets_processes && g->processes.empty() && !g->containers &&
                 !notes.selector_reported.contains(g->name)) {
        r.error(node["target"], fmt::format("{} ({}) needs processes, but target '{}' selects "
                                            "none; add 'processes' to the target",
                                            what, f.kind, f.target));
      }
    } else if (d != nullptr && d->targets_processes) {
      r.error(node, fmt::format("{} ({}) needs a target that selects processes; add 'target:' "
                                "naming a group from targets",
                                what, f.kind));
    }
    if (s.blast_radius.max_duration > Duration::zero()) {
      const Duration start = s.before + f.at;
      if (start >= s.blast_radius.max_duration)
        r.error(node["at"],
                fmt::format("{} starts at {} into the run (phases.before {} + at "
                            "{}), after blast_radius.max_duration {}; start it "
                            "earlier or raise max_duration",
                            what, format_duration(start), format_duration(s.before),
                            format_duration(f.at), format_duration(s.blast_radius.max_duration)));
    }
  }
  for (const TargetGroup& g : s.targets) {
    if (!g.hosts || g.hosts->mode != HostSelection::Mode::Count || !s.blast_radius.max_hosts ||
        g.hosts->count <= *s.blast_radius.max_hosts)
      continue;
    r.error(root["targets"][g.name]["hosts"]["count"],
            fmt::format("target '{}'.hosts.count {} is more than blast_radius.max_hosts {}{}; "
                        "lower the count or raise max_hosts",
                        g.name, g.hosts->count, *s.blast_radius.max_hosts,
                        root["blast_radius"]["max_hosts"] ? "" : " (the default)"));
  }
  if (!notes.after_given) s.after = s.recovery.within;
  if (s.after < s.recovery.within)
    r.error(root["phases"] ? root["phases"]["after"] : root,
            fmt::format("phases.after ({}) is shorter than recovery.within ({}): recovery "
                        "could not be observed to its end; lengthen phases.after or shorten "
                        "recovery.within",
                        format_duration(s.after), format_duration(s.recovery.within)));
  if (s.blast_radius.max_duration > Duration::zero()) {
    Duration during{};
    for (const FaultSpec& f : s.faults)
      during = std::max(during, f.at + f.duration.value_or(Duration::zero()));
    const Duration total = s.before + during + s.after;
    bool every_fault_fits = true;
    for (const FaultSpec& f : s.faults)
      every_fault_fits &= s.before + f.at < s.blast_radius.max_duration;
    if (every_fault_fits && total > s.blast_radius.max_duration)
      r.error(
          root["blast_radius"]["max_duration"],
          fmt::format("the run takes {} (before {} + faults {} + after {}), longer than "
                      "blast_radius.max_duration {}; shorten the faults or raise "
                      "max_duration",
                      format_duration(total), format_duration(s.before), format_duration(during),
                      format_duration(s.after), format_duration(s.blast_radius.max_duration)));
  }
}

}  // namespace faultline::scenario_parts
