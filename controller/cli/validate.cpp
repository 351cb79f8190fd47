#include <cstdio>

#include "controller/cli/commands.h"
#include "controller/scenario/parse.h"

namespace faultline {

std::optional<Scenario> load_scenario_or_report(const std::string& file) {
  ParsedScenario parsed = parse_scenario_file(file);
  for (const std::string& line : diagnostic_lines(parsed.errors))
    std::fprintf(stderr, "%s\n", line.c_str());
  return std::move(parsed.scenario);
}

int validate_command(const std::vector<std::string>& files) {
  int exit = 0;
  for (const std::string& file : files) {
    if (auto s = load_scenario_or_report(file))
      std::printf("%s: ok (%zu probe(s), %zu fault(s))\n", file.c_str(), s->steady_state.size(),
                  s->faults.size());
    else
      exit = kExitInvalid;
  }
  return exit;
}

}  // namespace faultline
