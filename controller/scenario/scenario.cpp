#include "controller/scenario/scenario.h"

namespace faultline {

std::string_view phase_name(Phase p) {
  switch (p) {
    case Phase::Before:
      return "before";
    case Phase::During:
      return "during";
    case Phase::After:
      return "after";
  }
  return "?";
}

const TargetGroup* Scenario::target(std::string_view name) const {
  for (const TargetGroup& t : targets)
    if (t.name == name) return &t;
  return nullptr;
}

const ProbeSpec* Scenario::probe(std::string_view name) const {
  for (const ProbeSpec& p : steady_state)
    if (p.name == name) return &p;
  return nullptr;
}

bool Scenario::uses_inventory() const {
  for (const TargetGroup& t : targets)
    if (t.on_inventory_hosts()) return true;
  for (const ProbeSpec& p : steady_state)
    if (!p.on.empty()) return true;
  return false;
}

}  // namespace faultline
