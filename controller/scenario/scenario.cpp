#include "controller/scenario/scenario.h"

namespace faultline {

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
