// The dry run: what a run would do and touch right now, and whether the blast radius allows it.
#include <sys/utsname.h>

#include <cstdio>
#include <random>

#include "agent/local/local_undo.h"
#include "controller/cli/commands.h"
#include "controller/inventory/inventory.h"
#include "controller/plan/blast_radius.h"
#include "controller/plan/host_plan.h"
#include "controller/plan/timeline.h"
#include "probes/probe.h"
#include "controller/scenario/parse.h"
#include "injectors/injector.h"
#include "injectors/process/proc.h"

namespace faultline {
namespace {

std::string short_id(const std::string& id) { return id.substr(0, 12); }

// A fault on containers: each eligible container (runtime, id, name, image, init pid, cgroup),
// the processes the fault could pick in it, those excluded and why, and what each runtime said.
std::string describe_container_reach(const Scenario& s, const FaultSpec& f,
                                     const FaultReach& reach) {
  const TargetGroup* g = s.target(f.target);
  std::string out = fmt::format(
      "    target '{}': containers {} -> {} eligible container(s), would affect {} "
      "(max_containers {})\n",
      f.target, g->containers->describe(), reach.containers->matched.size(),
      reach.would_affect_containers, s.blast_radius.max_containers);
  for (const ContainerReach& c : reach.container_reach) {
    const ContainerScope& k = c.container;
    out += fmt::format("      {} {} {} image {} init pid {} cgroup {}\n", k.runtime,
                       k.name.empty() ? "-" : k.name, short_id(k.id),
                       k.image.empty() ? "unknown" : k.image, k.init_pid, k.cgroup);
    if (!reach.targets_processes) continue;
    out += fmt::format("        processes {} -> {} eligible, would affect {}\n",
                       g->processes.empty() ? "(all)" : g->processes.describe(),
                       c.processes.matched.size(), c.would_affect);
    for (const ProcessInfo& p : c.processes.matched)
      out += fmt::format("          pid {:<7} (pid {} in the container) {}\n", p.pid,
                         pid_in_own_namespace(p.pid).value_or(0),
                         p.cmdline.empty() ? p.comm : p.cmdline);
    for (const Excluded& e : c.processes.excluded)
      out += fmt::format("          pid {:<7} excluded: {}\n", e.process.pid, e.reason);
  }
  for (const ExcludedContainer& e : reach.containers->excluded)
    out += fmt::format("      {} {} {} excluded: {}\n", e.container.runtime,
                       e.container.name.empty() ? "-" : e.container.name,
                       short_id(e.container.id), e.reason);
  std::vector<std::string> asked;
  for (const RuntimeAnswer& a : reach.containers->runtimes)
    asked.push_back(a.problem.empty()
                        ? fmt::format("{}: {} container(s)", a.source, a.containers)
                        : fmt::format("{}: {}", a.source, a.problem));
  out += fmt::format("      runtimes asked: {}\n", fmt::join(asked, "; "));
  return out;
}

}  // namespace

int plan_command(const std::string& file, const std::optional<std::string>& inventory_file,
                 std::optional<uint64_t> seed) {
  auto loaded = load_scenario_or_report(file);
  if (!loaded) return kExitInvalid;
  warn_about_leftovers(stderr);
  const Scenario& s = *loaded;
  const std::optional<Inventory> inventory = load_inventory_or_report(inventory_file);
  if (!inventory) return kExitInvalid;
  const std::optional<HostPlan> hosts =
      select_hosts_or_report(s, *inventory, seed.value_or(std::random_device{}()));
  if (!hosts) return kExitInvalid;
  const Timeline timeline = plan_timeline(s);
  const BlastRadiusVerdict blast = check_blast_radius(s, timeline);
  std::vector<std::string> problems = blast.problems;
  for (std::string& p : host_radius_problems(s, *hosts)) problems.push_back(std::move(p));
  utsname host{};
  uname(&host);
  std::string out = fmt::format("scenario: {} ({})\nhost: local ({}, Linux {})\n", s.title, file,
                                host.nodename, host.release);
  if (inventory_file)
    out += fmt::format(
        "inventory: {} ({} hosts); seed {}{}\n", *inventory_file, inventory->agents.size(),
        hosts->seed, seed ? "" : fmt::format(" (run --seed {} acts on these hosts)", hosts->seed));
  out += "\nfaults and their targets (now):\n";
  for (const FaultReach& reach : blast.faults) {
    const FaultSpec& f = s.faults[reach.fault];
    out += fmt::format("  {} [{}] {}\n", f.name, f.kind, f.params.describe());
    if (reach.remote) {
      out += describe_fault_hosts(s, hosts->faults[reach.fault]);
    } else if (reach.containers) {
      out += describe_container_reach(s, f, reach);
    } else if (reach.targets_processes) {
      const TargetGroup* g = s.target(f.target);
      out +=
          fmt::format("    target '{}': {} -> {} eligible process(es), would affect {}\n", f.target,
                      g->processes.describe(), reach.resolution.matched.size(), reach.would_affect);
      for (const ProcessInfo& p : reach.resolution.matched)
        out += fmt::format("      pid {:<7} {}\n", p.pid, p.cmdline.empty() ? p.comm : p.cmdline);
      for (const Excluded& e : reach.resolution.excluded)
        out += fmt::format("      pid {:<7} excluded: {}\n", e.process.pid, e.reason);
    } else if (!f.target.empty()) {
      out += fmt::format("    target '{}': {}\n", f.target,
                         s.target(f.target)->processes.describe());
    } else {
      out += "    target: this host\n";
    }
    for (const std::string& line : reach.resources) out += fmt::format("    would {}\n", line);
    if (!reach.problem.empty()) out += fmt::format("    REFUSED: {}\n", reach.problem);
  }
  if (inventory_file) out += "\n" + format_host_summary(s, *hosts);
  out += "\nsteady state:\n";
  for (const ProbeSpec& p : s.steady_state) {
    std::vector<std::string_view> phases;
    for (Phase ph : p.phases) phases.push_back(phase_name(ph));
    out += fmt::format("  {}: {}, every {} in {}; allowed failed: before {}, during {}, after {}\n",
                       p.name, describe_expectation(p), format_duration(p.interval),
                       fmt::join(phases, "/"), format_percent(p.tolerance_before),
                       format_percent(p.tolerance_during), format_percent(p.tolerance_after));
  }
  for (const StopCondition& c : s.stop_when) {
    out += fmt::format("  stop when '{}'", c.probe);
    if (c.consecutive_failures)
      out += fmt::format(" fails {} times in a row", *c.consecutive_failures);
    if (c.failed_ratio_above)
      out += fmt::format("{}fails more than {} of at least {} checks",
                         c.consecutive_failures ? " or " : " ",
                         format_percent(*c.failed_ratio_above), c.min_checks);
    out += "\n";
  }
  out += fmt::format("\ntimeline ({} in all; recovery expected within {}):\n",
                     format_duration(timeline.total), format_duration(s.recovery.within));
  out += format_timeline(s, timeline);
  out += fmt::format("\nblast radius: max_duration {} (run takes {}), max_processes {} per fault",
                     format_duration(s.blast_radius.max_duration), format_duration(timeline.total),
                     s.blast_radius.max_processes);
  if (!s.blast_radius.protection.selectors.empty())
    out += fmt::format(", {} protected selector(s)", s.blast_radius.protection.selectors.size());
  if (const auto& m = s.blast_radius.resources.max_memory)
    out += fmt::format(", max_memory {} per fault", m->text());
  if (const auto& paths = s.blast_radius.resources.protected_paths; !paths.empty()) {
    std::vector<std::string> names;
    for (const ProtectedPath& p : paths) names.push_back(p.path);
    out += fmt::format(", protected paths {}", fmt::join(names, " "));
  }
  out += "\n";
  std::fputs(out.c_str(), stdout);
  if (!problems.empty()) {
    for (const std::string& p : problems)
      std::fprintf(stderr, "%s: error: refused by the blast radius: %s\n", file.c_str(), p.c_str());
    std::printf("verdict: REFUSED; nothing would be injected\n");
    return kExitInvalid;
  }
  std::printf("verdict: within the blast radius; nothing was changed (this was a dry run)\n");
  return 0;
}

}  // namespace faultline
