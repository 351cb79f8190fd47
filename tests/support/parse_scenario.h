#pragma once
// A scenario from inline YAML for tests: fails the test, listing every diagnostic, when invalid.
#include <catch2/catch.hpp>
#include <string>

#include "controller/scenario/parse.h"

namespace faultline::test {

inline Scenario parse_or_fail(const std::string& text) {
  ParsedScenario p = parse_scenario_text(text, "test.yaml");
  for (const Diagnostic& d : p.errors) UNSCOPED_INFO(format_diagnostic(d));
  REQUIRE(p.scenario);
  return *p.scenario;
}

}  // namespace faultline::test
