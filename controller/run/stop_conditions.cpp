#include "controller/run/stop_conditions.h"

namespace faultline {

StopConditions::StopConditions(const std::vector<StopCondition>& conditions) {
  for (const StopCondition& c : conditions) states_.push_back({c});
}

std::optional<std::string> StopConditions::observe(const std::string& probe, bool ok) {
  for (State& s : states_) {
    if (s.condition.probe != probe) continue;
    ++s.checks;
    s.failed += ok ? 0 : 1;
    s.consecutive = ok ? 0 : s.consecutive + 1;
    if (s.condition.consecutive_failures && s.consecutive >= *s.condition.consecutive_failures)
      return fmt::format("stop_when fired: probe '{}' failed {} checks in a row", probe,
                         s.consecutive);
    if (s.condition.failed_ratio_above && s.checks >= s.condition.min_checks &&
        s.failed * 10000 > s.condition.failed_ratio_above->basis_points * s.checks)
      return fmt::format("stop_when fired: probe '{}' failed {} of {} checks, more than {}", probe,
                         s.failed, s.checks, format_percent(*s.condition.failed_ratio_above));
  }
  return std::nullopt;
}

}  // namespace faultline
