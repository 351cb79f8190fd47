#include "controller/fleet/preflight.h"

#include <algorithm>
#include <set>

#include "agent/wire/wire.h"

namespace faultline {
namespace {
constexpr Duration kDescribeTimeout = std::chrono::seconds(3);
}

std::vector<AgentHealth> describe_agents(AgentPool& pool, const std::vector<Agent>& agents,
                                         Duration timeout) {
  std::vector<AgentHealth> out(agents.size());
  all_at_once(agents.size(), [&](size_t i, auto answered) {
    out[i].name = agents[i].name;
    out[i].address = agents[i].address;
    const TimePoint start = Clock::now();
    pool.client(agents[i])->describe_async(
        timeout, [&out, i, start, answered](Result<AgentDescription> r) {
          out[i].round_trip = Clock::now() - start;
          out[i].description = std::move(r);
          answered();
        });
  });
  return out;
}

std::vector<std::string> preflight_problems(AgentPool& pool, const Scenario& s,
                                            const HostPlan& plan, const Inventory& inventory,
                                            Duration lease) {
  std::set<std::string> needed(plan.touched.begin(), plan.touched.end());
  for (const ProbeHost& p : plan.probes)
    if (p.agent) needed.insert(p.agent->name);
  // One pass over the inventory, not a search per host: 1,000 hosts of 10,000.
  std::vector<Agent> agents;
  for (const Agent& a : inventory.agents)
    if (needed.contains(a.name)) agents.push_back(a);
  std::sort(agents.begin(), agents.end(),
            [](const Agent& x, const Agent& y) { return x.name < y.name; });
  const std::vector<AgentHealth> health = describe_agents(pool, agents, kDescribeTimeout);
  std::vector<std::string> problems;
  // The agent's own check of a RunProbe request, made here: a probe it would refuse must stop
  // the run before it starts, not make every one of its checks fail to run.
  for (const ProbeHost& p : plan.probes) {
    if (!p.agent) continue;
    const ProbeSpec& spec = s.steady_state[p.probe];
    if (auto decoded = wire::decode(wire::encode(spec)); !decoded)
      problems.push_back(fmt::format("probe '{}': agent {} would refuse it: {}", spec.name,
                                     p.agent->name, decoded.error().message));
  }
  for (const AgentHealth& h : health) {
    if (!h.description) {
      problems.push_back(h.description.error().message);
      continue;
    }
    if (lease > h.description->max_lease)
      problems.push_back(fmt::format("--lease {} is longer than agent {}'s lease.max {}; give "
                                     "--lease {} or less",
                                     format_duration(lease), h.name,
                                     format_duration(h.description->max_lease),
                                     format_duration(h.description->max_lease)));
    if (h.description->host != h.name)
      problems.push_back(fmt::format("agent {} at {} says it is '{}'; fix the inventory or the "
                                     "agent's host:",
                                     h.name, h.address, h.description->host));
    for (const FaultHosts& f : plan.faults) {
      if (f.local) continue;
      const FaultSpec& spec = s.faults[f.fault];
      bool on_this_host = false;
      for (const Agent& a : f.agents) on_this_host |= a.name == h.name;
      if (!on_this_host) continue;
      for (const AgentDescription::Kind& k : h.description->kinds)
        if (k.kind == spec.kind && !k.supported)
          problems.push_back(fmt::format("fault '{}': agent {} cannot run {}: {}", spec.name,
                                         h.name, spec.kind, k.reason));
      if (spec.duration && *spec.duration > h.description->max_duration)
        problems.push_back(fmt::format("fault '{}': duration {} is longer than agent {}'s "
                                       "policy.max_duration {}",
                                       spec.name, format_duration(*spec.duration), h.name,
                                       format_duration(h.description->max_duration)));
    }
  }
  return problems;
}

}  // namespace faultline
