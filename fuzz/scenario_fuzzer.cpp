// libFuzzer target: a scenario file, as `faultline validate` reads it. Any input either parses
// into a scenario or yields diagnostics; neither may crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "controller/scenario/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const faultline::ParsedScenario parsed = faultline::parse_scenario_text(text, "fuzz.yaml");
  // The documented contract: a scenario exactly when there is no diagnostic.
  if (parsed.scenario.has_value() != parsed.errors.empty()) std::abort();
  for (const faultline::Diagnostic& d : parsed.errors) (void)faultline::format_diagnostic(d);
  return 0;
}
