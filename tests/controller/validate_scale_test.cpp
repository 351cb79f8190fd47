// Validation stays linear in the size of the scenario, and a file with thousands of errors
// prints the first ones and how many more there were.
#include <time.h>

#include <catch2/catch.hpp>

#include "controller/scenario/parse.h"
#include "tests/support/many_faults.h"

using namespace faultline;

namespace {

// CPU time of this thread: other work on the machine does not count.
double thread_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

// The least of three parses: the run least disturbed by the rest of the machine.
double parse_cpu_ms(const std::string& text) {
  double best = 0;
  for (int i = 0; i < 3; ++i) {
    const double start = thread_cpu_ms();
    const ParsedScenario p = parse_scenario_text(text, "scale.yaml");
    const double took = thread_cpu_ms() - start;
    for (const Diagnostic& d : p.errors) UNSCOPED_INFO(format_diagnostic(d));
    REQUIRE(p.scenario);
    best = i == 0 ? took : std::min(best, took);
  }
  return best;
}

}  // namespace

TEST_CASE("validation time grows linearly with the number of faults", "[validate][scale]") {
  const double small = parse_cpu_ms(test::scenario_with_faults(10'000, false));
  const double large = parse_cpu_ms(test::scenario_with_faults(40'000, false));
  INFO("10,000 faults: " << small << " ms of CPU; 40,000 faults: " << large << " ms");
  // Four times the faults: 4x when linear, 16x when quadratic.
  CHECK(large / small < 6);
}

TEST_CASE("past 100 errors, validate says how many more there were", "[validate]") {
  const ParsedScenario p = parse_scenario_text(test::scenario_with_faults(150, true), "test.yaml");
  REQUIRE(p.errors.size() == 150);
  const std::vector<std::string> lines = diagnostic_lines(p.errors);
  REQUIRE(lines.size() == 101);
  CHECK(lines[0] ==
        "test.yaml:11:28: error: fault 'kill-0' names target 'nobody', which is not defined in "
        "targets");
  CHECK(lines[100] == "test.yaml: ... and 50 more errors (the first 100 are shown)");
  CHECK(diagnostic_lines(p.errors, 149).back() ==
        "test.yaml: ... and 1 more error (the first 149 are shown)");
  CHECK(diagnostic_lines(p.errors, 150).size() == 150);
}

TEST_CASE("counts are grouped in thousands") {
  CHECK(group_thousands(0) == "0");
  CHECK(group_thousands(999) == "999");
  CHECK(group_thousands(1000) == "1,000");
  CHECK(group_thousands(59900) == "59,900");
  CHECK(group_thousands(1234567) == "1,234,567");
}
