#pragma once
// Scenario file -> validated Scenario, or every problem found, each with file:line:col.
#include <optional>
#include <string>

#include "controller/scenario/scenario.h"
#include "core/diagnostic.h"

namespace faultline {

struct ParsedScenario {
  std::optional<Scenario> scenario;  // set only when there are no diagnostics
  Diagnostics errors;
};

ParsedScenario parse_scenario_text(const std::string& text, const std::string& file);
ParsedScenario parse_scenario_file(const std::string& path);

}  // namespace faultline
