#include "controller/plan/timeline.h"

#include <algorithm>

namespace faultline {

Timeline plan_timeline(const Scenario& s) {
  Timeline t;
  t.during_start = s.before;
  t.during_end = s.before;
  t.events.push_back({Duration::zero(), EventType::PhaseStart, Phase::Before, 0});
  t.events.push_back({s.before, EventType::PhaseStart, Phase::During, 0});
  for (size_t i = 0; i < s.faults.size(); ++i) {
    const FaultSpec& f = s.faults[i];
    const Duration start = s.before + f.at;
    t.events.push_back({start, EventType::FaultApply, Phase::During, i});
    const Duration end = start + f.duration.value_or(Duration::zero());
    if (f.duration) t.events.push_back({end, EventType::FaultRevert, Phase::During, i});
    t.during_end = std::max(t.during_end, end);
  }
  t.total = t.during_end + s.after;
  t.events.push_back({t.during_end, EventType::PhaseStart, Phase::After, 0});
  t.events.push_back({t.total, EventType::RunEnd, Phase::After, 0});
  // At equal times: phase changes first, then reverts, then applies, so that a fault ending
  // when another starts never overlaps it, and the after phase starts once all are reverted.
  auto rank = [](const TimelineEvent& e) {
    switch (e.type) {
      case EventType::FaultRevert:
        return 0;
      case EventType::PhaseStart:
        return e.phase == Phase::After ? 1 : -1;
      case EventType::FaultApply:
        return 2;
      case EventType::RunEnd:
        return 3;
    }
    return 4;
  };
  std::stable_sort(t.events.begin(), t.events.end(), [&](const auto& a, const auto& b) {
    return a.at != b.at ? a.at < b.at : rank(a) < rank(b);
  });
  return t;
}

std::string format_timeline(const Scenario& s, const Timeline& t) {
  std::string out;
  for (const TimelineEvent& e : t.events) {
    std::string what;
    switch (e.type) {
      case EventType::PhaseStart:
        what = fmt::format("phase  {}", phase_name(e.phase));
        break;
      case EventType::FaultApply: {
        const FaultSpec& f = s.faults[e.fault];
        what = fmt::format("apply  {} ({}{}{})", f.name, f.kind,
                           f.params.describe().empty() ? "" : " " + f.params.describe(),
                           f.duration ? ", for " + format_duration(*f.duration) : "");
        break;
      }
      case EventType::FaultRevert:
        what = fmt::format("revert {}", s.faults[e.fault].name);
        break;
      case EventType::RunEnd:
        what = "end";
        break;
    }
    out += fmt::format("  +{:<9} {}\n", format_duration(e.at), what);
  }
  return out;
}

}  // namespace faultline
