#pragma once
// A scenario as parsed and validated from its file: immutable once built, and every part keeps
// the place in the file it came from so later checks can point at it.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/diagnostic.h"
#include "core/duration.h"
#include "core/percent.h"
#include "injectors/container/container_selector.h"
#include "injectors/params/params.h"
#include "injectors/process/selector.h"
#include "injectors/process/targets.h"
#include "injectors/resource/resource_bounds.h"
#include "probes/probe_spec.h"

namespace faultline {

// Which inventory hosts a target group acts on (`hosts:`). A host is a candidate when it is
// among `names` (if given) and has every one of `labels` (if given); the group then takes all
// candidates, a number of them or a share of them, picked reproducibly from the run's seed.
struct HostSelection {
  enum class Mode { All, Count, Percent };

  struct Name {
    std::string name;
    SourceLocation at;
  };
  std::vector<Name> names;
  std::map<std::string, std::string> labels;
  Mode mode = Mode::All;
  int64_t count = 0;  // Mode::Count: at least 1
  Percent percent;    // Mode::Percent: 1%..100% of the candidates, rounded up
  SourceLocation at;  // the `hosts:` value
};

struct TargetGroup {
  std::string name;
  std::string host = "local";          // `host:`; only "local", the controller's own host
  std::optional<HostSelection> hosts;  // `hosts:` instead: hosts of the inventory
  // `containers:` or `pods:`: the containers it acts on, on each of its hosts (resolved there).
  std::optional<ContainerSelector> containers;
  ProcessSelector processes;  // empty: the host itself, or every process of each container
  SourceLocation at;

  bool on_inventory_hosts() const { return hosts.has_value(); }
};

struct BlastRadius {
  Duration max_duration{};
  int64_t max_processes = 1;   // per fault (on each host)
  int64_t max_containers = 1;  // per fault (on each host), as max_processes
  Protection protection;       // in addition to what is always protected
  ContainerProtection container_protection;  // blast_radius.protected_containers
  // blast_radius.max_memory and blast_radius.protected_paths, for the resource kinds.
  ResourceBounds resources;
  // The inventory hosts the whole run may touch (every fault's hosts together). When a
  // scenario gives neither bound, max_hosts is 1, as max_processes is.
  std::optional<int64_t> max_hosts;
  std::optional<Percent> max_host_percent;  // of the inventory's hosts, 1%..100%
};

struct StopCondition {
  std::string probe;
  std::optional<int64_t> consecutive_failures;  // fires after this many failures in a row
  std::optional<Percent> failed_ratio_above;    // fires when more than this share has failed
  int64_t min_checks = 5;                       // ... once at least this many checks ran
  SourceLocation at;
};

struct FaultSpec {
  std::string name;
  std::string kind;
  std::string target;  // a target group; "" for the local host
  Duration at{};       // offset from the start of the during phase
  std::optional<Duration> duration;
  Params params;
  SourceLocation where;
};

struct Recovery {
  Duration within = std::chrono::seconds(10);
};

// What a run does when a fault cannot be applied on one of its hosts.
enum class HostFailurePolicy {
  Abort,     // revert everywhere and stop the run (the default)
  Continue,  // report the host and go on with the hosts that applied
};

struct Scenario {
  std::string file;
  int version = 1;
  std::string title;
  std::string description;
  std::vector<std::string> tags;
  std::vector<TargetGroup> targets;
  BlastRadius blast_radius;
  std::vector<ProbeSpec> steady_state;
  std::vector<StopCondition> stop_when;
  std::vector<FaultSpec> faults;
  Recovery recovery;
  HostFailurePolicy on_host_failure = HostFailurePolicy::Abort;
  Duration before = std::chrono::seconds(3);  // phases.before: steady state checked alone
  Duration after{};                           // phases.after: defaults to recovery.within

  const TargetGroup* target(std::string_view name) const;
  const ProbeSpec* probe(std::string_view name) const;
  // Whether any target group selects inventory hosts or any probe runs on one: such a scenario
  // can be planned and run only with an inventory.
  bool uses_inventory() const;
};

}  // namespace faultline
