#pragma once
// When everything in a run happens, as offsets from its start: the schedule the engine follows
// and the dry run prints.
#include <string>
#include <vector>

#include "controller/scenario/scenario.h"

namespace faultline {

enum class EventType { PhaseStart, FaultApply, FaultRevert, RunEnd };

struct TimelineEvent {
  Duration at{};
  EventType type = EventType::PhaseStart;
  Phase phase = Phase::Before;  // for PhaseStart
  size_t fault = 0;             // index into Scenario::faults, for fault events
};

struct Timeline {
  Duration during_start{};            // == phases.before
  Duration during_end{};              // when the last fault ends
  Duration total{};                   // during_end + phases.after
  std::vector<TimelineEvent> events;  // in time order; ties keep reverts before applies
};

Timeline plan_timeline(const Scenario& scenario);

// Human-readable, one event a line: "  +3s      apply  kill-worker (process_kill)".
std::string format_timeline(const Scenario& scenario, const Timeline& timeline);

}  // namespace faultline
