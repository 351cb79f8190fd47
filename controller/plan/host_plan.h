#pragma once
// Where each fault and probe of a scenario acts: on the controller's own host, or through the
// agents of chosen inventory hosts; and whether the hosts the run touches fit the blast radius.
// `plan` prints this; `run` checks it before anything starts; the engine acts on it.
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "controller/inventory/inventory.h"
#include "controller/scenario/scenario.h"
#include "core/diagnostic.h"
#include "core/result.h"

namespace faultline {

struct FaultHosts {
  size_t fault = 0;           // index into Scenario::faults
  bool local = true;          // on the controller's own host: no target, or a group without hosts
  size_t candidates = 0;      // inventory hosts matching the group's names and labels
  std::vector<Agent> agents;  // the hosts to act on, sorted by name; empty when local
};

struct ProbeHost {
  size_t probe = 0;            // index into Scenario::steady_state
  std::optional<Agent> agent;  // the probe's `on:` host; nullopt: the controller runs it
};

struct HostPlan {
  uint64_t seed = 0;
  size_t inventory_hosts = 0;        // how many agents the inventory lists
  std::vector<FaultHosts> faults;    // one per fault, in the scenario's order
  std::vector<ProbeHost> probes;     // one per steady_state probe, in order
  std::vector<std::string> touched;  // every host any fault acts on, once, sorted

  // Whether any fault or probe acts through an agent rather than on this host.
  bool remote() const;
};

// The place and message for a scenario that uses inventory hosts when no inventory was given
// ("target 'app' selects hosts of an inventory: plan or run it with --inventory FILE"), or
// nullopt when it needs none.
std::optional<Diagnostic> inventory_needed(const Scenario& scenario);

// The hosts of every fault and probe, or every problem (names the inventory lacks, groups that
// select nothing, counts above what matches), each at its place in the scenario. Every group
// with `hosts:` is resolved, used by a fault or not. `Inventory{}` stands for no inventory: a
// scenario that needs one then fails as inventory_needed() says.
std::expected<HostPlan, Diagnostics> select_hosts(const Scenario& scenario,
                                                  const Inventory& inventory, uint64_t seed);

// Every way the hosts touched exceed blast_radius.max_hosts or max_host_percent.
std::vector<std::string> host_radius_problems(const Scenario& scenario, const HostPlan& plan);

// For the run engine: select_hosts, then the host blast radius. The error lists every problem,
// one line each ("FILE:LINE:COL: error: ..." for a selection problem); it is a refusal
// (Error::refused) when only the blast radius stands in the way.
Result<HostPlan> plan_hosts(const Scenario& scenario, const Inventory& inventory, uint64_t seed);

// The lines `plan` prints under a fault for its hosts ("    hosts: ..."), "" for a local one.
std::string describe_fault_hosts(const Scenario& scenario, const FaultHosts& hosts);
// "hosts touched: 3 of 6 (db-2, web-1, web-3); blast radius max_hosts 3, ..." and the probes
// placed on inventory hosts.
std::string format_host_summary(const Scenario& scenario, const HostPlan& plan);

}  // namespace faultline
