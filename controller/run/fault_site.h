#pragma once
// Where the faults of a run are applied: on this host in process (LocalSite) or on inventory
// hosts through their agents (AgentSite). The engine schedules and records; a site acts, says
// what happened on each of its hosts, and fills the fault's records from what it knows.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "controller/scenario/scenario.h"
#include "controller/verdict/record.h"
#include "core/duration.h"

namespace faultline {

// One fault of the scenario as the engine asks a site to apply it.
struct RunFault {
  size_t index = 0;  // in Scenario::faults
  const FaultSpec* spec = nullptr;
  ProcessSelector selector;  // the target group's; empty for the host itself
  std::optional<ContainerSelector> containers;  // the target group's containers, if any
  uint64_t seed = 0;         // the run's seed, spread per fault
  TimePoint scheduled{};     // its start
  TimePoint end{};           // its scheduled end (the run's end for a one-shot fault)
};

// Sleeps until the given time doing the run's periodic work; false when the run must stop.
using RunWait = std::function<bool(TimePoint)>;
using RunLog = std::function<void(const std::string&)>;

struct SiteApply {
  bool stopped = false;  // the run stopped before the fault was applied anywhere
  // One per host, in hosts() order: the error of a host where it could not be applied.
  std::vector<std::optional<std::string>> errors;
  // Set when the run must stop because of those errors (the site knows its failure policy).
  std::optional<std::string> run_error;
};

class FaultSite {
 public:
  virtual ~FaultSite() = default;
  // Starts what the site needs before its first fault (connections), in the background.
  virtual void start() {}
  // The hosts the fault acts on: one FaultRecord each, in this order.
  virtual std::vector<std::string> hosts(const RunFault& fault) const = 0;
  // Applies the fault at fault.scheduled, waiting with `wait`; logs what it did.
  virtual SiteApply apply(const RunFault& fault, const RunWait& wait) = 0;
  // Reverts the fault on every host it was applied on; logs what it did.
  virtual void revert(const RunFault& fault) = 0;
  // Reverts every fault of the run (teardown, whatever happened); logs what failed.
  virtual void revert_all() = 0;
  // Periodic work between events (a local fault's deadline).
  virtual void tick(TimePoint /*now*/) {}
  virtual size_t active_count() const = 0;
  // Brings the record of the fault on its `host_index`-th host up to date.
  virtual void update(const RunFault& fault, size_t host_index, FaultRecord& record) const = 0;
  // What happened to the site's hosts during the run (agents unreachable, leases ended).
  virtual std::vector<RunRecord::HostEvent> events() const { return {}; }
};

}  // namespace faultline
