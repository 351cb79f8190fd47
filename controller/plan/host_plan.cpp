#include "controller/plan/host_plan.h"

#include <fmt/format.h>

#include <map>
#include <set>

#include "controller/plan/host_selection.h"
#include "yaml/yaml_reader.h"
#include "core/suggest.h"

namespace faultline {
namespace {

std::vector<std::string_view> names_of(const std::vector<Agent>& agents) {
  std::vector<std::string_view> out;
  for (const Agent& a : agents) out.push_back(a.name);
  return out;
}

// How many of `total` hosts a share allows: rounded down, as a bound should be.
int64_t allowed_by_share(size_t total, Percent share) {
  return static_cast<int64_t>(total) * share.basis_points / 10000;
}

}  // namespace

bool HostPlan::remote() const {
  for (const FaultHosts& f : faults)
    if (!f.local) return true;
  for (const ProbeHost& p : probes)
    if (p.agent) return true;
  return false;
}

std::optional<Diagnostic> inventory_needed(const Scenario& s) {
  for (const TargetGroup& g : s.targets)
    if (g.on_inventory_hosts())
      return Diagnostic{g.hosts->at, fmt::format("target '{}' selects hosts of an inventory: "
                                                 "plan or run it with --inventory FILE",
                                                 g.name)};
  for (const ProbeSpec& p : s.steady_state)
    if (!p.on.empty())
      return Diagnostic{p.on_at, fmt::format("probe '{}' runs on host '{}' of an inventory: plan "
                                             "or run it with --inventory FILE",
                                             p.name, p.on)};
  return std::nullopt;
}

std::expected<HostPlan, Diagnostics> select_hosts(const Scenario& s, const Inventory& inventory,
                                                  uint64_t seed) {
  if (inventory.file.empty() && inventory.agents.empty())
    if (auto needed = inventory_needed(s)) return std::unexpected(Diagnostics{*needed});
  Diagnostics problems;
  std::map<std::string, GroupHosts, std::less<>> groups;
  for (const TargetGroup& g : s.targets) {
    if (!g.on_inventory_hosts()) continue;
    auto selected = select_group_hosts(g, inventory, seed);
    if (selected)
      groups.emplace(g.name, std::move(*selected));
    else
      problems.insert(problems.end(), selected.error().begin(), selected.error().end());
  }
  HostPlan plan;
  plan.seed = seed;
  plan.inventory_hosts = inventory.agents.size();
  for (size_t i = 0; i < s.steady_state.size(); ++i) {
    const ProbeSpec& p = s.steady_state[i];
    ProbeHost placed{i, std::nullopt};
    if (!p.on.empty()) {
      if (const Agent* a = inventory.agent(p.on))
        placed.agent = *a;
      else
        problems.push_back({p.on_at, fmt::format("probe '{}'.on: '{}' is not in the inventory "
                                                 "{}{}",
                                                 p.name, p.on, inventory.file,
                                                 did_you_mean(p.on, inventory.names()))});
    }
    plan.probes.push_back(std::move(placed));
  }
  if (!problems.empty()) {
    sort_by_place(problems);
    return std::unexpected(std::move(problems));
  }
  std::set<std::string> touched;
  for (size_t i = 0; i < s.faults.size(); ++i) {
    FaultHosts hosts;
    hosts.fault = i;
    const TargetGroup* g = s.target(s.faults[i].target);
    if (g != nullptr && g->on_inventory_hosts()) {
      const GroupHosts& selected = groups.at(g->name);
      hosts.local = false;
      hosts.candidates = selected.candidates;
      for (const Agent* a : selected.agents) {
        hosts.agents.push_back(*a);
        touched.insert(a->name);
      }
    }
    plan.faults.push_back(std::move(hosts));
  }
  plan.touched.assign(touched.begin(), touched.end());
  return plan;
}

std::vector<std::string> host_radius_problems(const Scenario& s, const HostPlan& plan) {
  std::vector<std::string> problems;
  const auto touched = static_cast<int64_t>(plan.touched.size());
  const BlastRadius& br = s.blast_radius;
  if (br.max_hosts && touched > *br.max_hosts)
    problems.push_back(
        fmt::format("the run would touch {} hosts ({}), more than "
                    "blast_radius.max_hosts {}; select fewer hosts or raise "
                    "max_hosts",
                    touched, fmt::join(plan.touched, ", "), *br.max_hosts));
  if (br.max_host_percent && touched > allowed_by_share(plan.inventory_hosts, *br.max_host_percent))
    problems.push_back(fmt::format(
        "the run would touch {} of the inventory's {} hosts ({}), more than "
        "blast_radius.max_host_percent {} (at most {} of {}); select fewer hosts or raise "
        "max_host_percent",
        touched, plan.inventory_hosts,
        format_percent(Percent{touched * 10000 / static_cast<int64_t>(plan.inventory_hosts)}),
        format_percent(*br.max_host_percent),
        allowed_by_share(plan.inventory_hosts, *br.max_host_percent), plan.inventory_hosts));
  return problems;
}

Result<HostPlan> plan_hosts(const Scenario& s, const Inventory& inventory, uint64_t seed) {
  auto plan = select_hosts(s, inventory, seed);
  if (!plan) {
    std::vector<std::string> lines;
    for (const Diagnostic& d : plan.error()) lines.push_back(format_diagnostic(d));
    return fail("{}", fmt::join(lines, "\n"));
  }
  if (auto problems = host_radius_problems(s, *plan); !problems.empty())
    return refuse("{}", fmt::join(problems, "\n"));
  return std::move(*plan);
}

std::string describe_fault_hosts(const Scenario& s, const FaultHosts& hosts) {
  if (hosts.local) return "";
  const FaultSpec& f = s.faults[hosts.fault];
  const TargetGroup* g = s.target(f.target);
  std::string out = fmt::format("    hosts of '{}': {} -> {} of {} candidate(s): {}\n", g->name,
                                describe_host_selection(*g->hosts), hosts.agents.size(),
                                hosts.candidates, fmt::join(names_of(hosts.agents), ", "));
  if (!g->processes.empty())
    out += fmt::format(
        "    processes: {}, chosen on each host by its agent when the fault "
        "starts (at most {} per host)\n",
        g->processes.describe(), s.blast_radius.max_processes);
  return out;
}

std::string format_host_summary(const Scenario& s, const HostPlan& plan) {
  std::string out = fmt::format("hosts touched: {} of {} in the inventory", plan.touched.size(),
                                plan.inventory_hosts);
  if (!plan.touched.empty()) out += fmt::format(" ({})", fmt::join(plan.touched, ", "));
  std::vector<std::string> bounds;
  if (s.blast_radius.max_hosts)
    bounds.push_back(fmt::format("max_hosts {}", *s.blast_radius.max_hosts));
  if (s.blast_radius.max_host_percent)
    bounds.push_back(fmt::format(
        "max_host_percent {} (at most {} of {})", format_percent(*s.blast_radius.max_host_percent),
        allowed_by_share(plan.inventory_hosts, *s.blast_radius.max_host_percent),
        plan.inventory_hosts));
  out += fmt::format("; blast radius {}\n", fmt::join(bounds, ", "));
  for (const ProbeHost& p : plan.probes)
    if (p.agent)
      out += fmt::format("probe '{}' runs on {} ({})\n", s.steady_state[p.probe].name,
                         p.agent->name, p.agent->address);
  return out;
}

}  // namespace faultline
