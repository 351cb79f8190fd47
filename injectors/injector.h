#pragma once
// The one interface every fault kind implements. The local engine calls it in-process; the
// per-host agent serves the same calls over the network, so a fault behaves the same either way.
//
// Life of a fault: create (validated, immutable request) -> prepare (find targets; may fail;
// touches nothing) -> apply (touches the host, at the scheduled time) -> revert (idempotent; safe
// after a failed or partial apply, and when apply never ran). undo_plan() says, as data, how to
// revert it from another process should this one die.
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/duration.h"
#include "core/result.h"
#include "injectors/container/container_scope.h"
#include "injectors/container/container_selector.h"
#include "injectors/params/params.h"
#include "injectors/process/selector.h"
#include "injectors/process/targets.h"
#include "injectors/resource/resource_bounds.h"

namespace faultline {

struct FaultRequest {
  std::string id;    // unique per owner; names the fault in logs and journals
  std::string kind;  // an InjectorDescriptor::kind
  Params params;
  ProcessSelector selector;          // for kinds that target processes
  std::optional<Duration> duration;  // how long the fault lasts; none for one-shot faults
  uint64_t seed = 0;                 // makes random choices (which processes) reproducible
  int64_t max_processes = 0;         // blast radius per fault; 0 means no limit
  Protection protection;
  // Set when the fault acts on one container (containers/container_faults.h makes one request
  // per selected container): process kinds pick among its processes, network kinds act in its
  // network namespace, cpu_stress may charge its cgroup.
  std::optional<ContainerScope> container;
  // The target group's `containers:`/`pods:`: resolved on the host that applies the fault, into
  // one request per chosen container (at most max_containers; 0: no limit).
  std::optional<ContainerSelector> containers;
  ContainerProtection container_protection;
  int64_t max_containers = 1;
  // Memory and filesystem bounds of the resource kinds (injectors/resource/resource_bounds.h).
  ResourceBounds resource_bounds;
};

class Fault {
 public:
  virtual ~Fault() = default;
  // Finds what the fault will act on; changes nothing on the host.
  virtual Result<void> prepare() { return {}; }
  // `scheduled` is when the fault was meant to start; latencies are measured from it.
  virtual Result<void> apply(TimePoint scheduled) = 0;
  virtual Result<void> revert() = 0;
  // How to undo the fault without this object: a JSON array of undo steps
  // (injectors/linux/undo_steps.h) that a fresh process can perform. Valid after prepare() (what
  // apply is about to do); after apply it may be more exact (the names actually created), and
  // after a complete revert it is empty. The agent writes it to disk before apply and again
  // after. Empty for faults that leave nothing to undo.
  virtual nlohmann::json undo_plan() const { return nlohmann::json::array(); }
  // What was observed to confirm the fault took effect (for the journal).
  virtual nlohmann::json observed() const = 0;
  // One line: requested against observed, for the report.
  virtual std::string summary() const = 0;
  // False when the observation does not confirm the fault did what was requested.
  virtual bool confirmed() const = 0;
};

struct Support {
  bool ok = true;
  std::string reason;  // why not, and how to fix it
};

enum class DurationRule { Required, Optional };

struct InjectorDescriptor {
  std::string_view kind;
  std::string_view summary;
  std::span<const ParamSpec> params;
  bool targets_processes;
  DurationRule duration;
  Support (*supported)();
  // Checks between parameters, the duration and the selector (empty for host faults) once each
  // is parsed; each string is one problem.
  std::vector<std::string> (*cross_check)(const Params& params, std::optional<Duration> duration,
                                          const ProcessSelector& selector);
  Result<std::unique_ptr<Fault>> (*create)(FaultRequest request);
  // Checks against this host as it is now, for one set of parameters (e.g. the interface
  // exists); plan and run call it before anything is touched. Optional.
  Result<void> (*host_check)(const Params& params) = nullptr;
  // For the resource kinds: what the fault would take on this host, as plan shows it ("hold
  // 512MiB in a cgroup of its own, cgroup v1 memory (/sys/fs/cgroup/memory); 9% of
  // MemAvailable"), or why it is refused (above request.resource_bounds, a protected
  // filesystem, more than the host can give). Reads the host, changes nothing. plan and run call
  // it before the run starts; the kind's prepare() calls it again where it is applied. Optional.
  Result<std::string> (*reach_check)(const FaultRequest& request) = nullptr;
};

// Every injector, in one explicit table (injectors/registry.cpp).
std::span<const InjectorDescriptor> all_injectors();
const InjectorDescriptor* find_injector(std::string_view kind);
std::vector<std::string_view> injector_kinds();

// Creates a fault after the same checks a scenario gets: kind, duration rule, cross checks.
Result<std::unique_ptr<Fault>> create_fault(FaultRequest request);

}  // namespace faultline
