#include "controller/fleet/preflight.h"

#include <set>
#include <thread>

#include "agent/wire/wire.h"

namespace faultline {
namespace {
constexpr Duration kDescribeTimeout = std::chrono::seconds(3);
}

std::vector<AgentHealth> describe_agents(const std::vector<Agent>& agents, Duration timeout) {
  std::vector<AgentHealth> out(agents.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < agents.size(); ++i)
    threads.emplace_back([&, i] {
      const Agent& a = agents[i];
      AgentEndpoint e{a.name, a.address, std::nullopt};
      if (a.tls) e.tls = ClientTls{a.tls->ca, a.tls->cert, a.tls->key};
      AgentClient client(e);
      out[i].name = a.name;
      out[i].address = a.address;
      const TimePoint start = Clock::now();
      out[i].description = client.describe(timeout);
      out[i].round_trip = Clock::now() - start;
    });
  for (std::thread& t : threads) t.join();
  return out;
}

std::vector<std::string> preflight_problems(const Scenario& s, const HostPlan& plan,
                                            const Inventory& inventory, Duration lease) {
  std::set<std::string> needed(plan.touched.begin(), plan.touched.end());
  for (const ProbeHost& p : plan.probes)
    if (p.agent) needed.insert(p.agent->name);
  std::vector<Agent> agents;
  for (const std::string& name : needed)
    if (const Agent* a = inventory.agent(name)) agents.push_back(*a);
  const std::vector<AgentHealth> health = describe_agents(agents, kDescribeTimeout);
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
