// A scenario's selectors are held to the limits the agent applies on the wire, so that what
// validates also runs on every host: field lengths, and how many selectors
// blast_radius.protected may list.
#include <catch2/catch.hpp>

#include "controller/scenario/parse.h"

using namespace faultline;

namespace {

std::vector<std::string> diagnostics_of(const std::string& text) {
  const ParsedScenario parsed = parse_scenario_text(text, "t.yaml");
  CHECK_FALSE(parsed.scenario.has_value());
  std::vector<std::string> out;
  for (const Diagnostic& d : parsed.errors) out.push_back(format_diagnostic(d));
  return out;
}

std::string scenario(const std::string& target_processes, const std::string& protected_list) {
  return fmt::format(R"(version: 1
title: limits
targets:
  app: {{processes: {}}}
blast_radius:
  max_duration: 1m
  protected: {}
faults:
  - name: kill
    target: app
    at: 0s
    process_kill: {{}}
)",
                     target_processes, protected_list);
}

}  // namespace

TEST_CASE("blast_radius.protected takes at most the 64 selectors an agent takes", "[parse]") {
  std::string list = "[";
  for (size_t i = 0; i < kMaxProtectedSelectors; ++i) list += fmt::format("{{name: p{}}}, ", i);
  const ParsedScenario most = parse_scenario_text(scenario("{name: app}", list + "]"), "t.yaml");
  INFO((most.errors.empty() ? "" : format_diagnostic(most.errors.front())));
  REQUIRE(most.scenario);
  CHECK(most.scenario->blast_radius.protection.selectors.size() == 64);

  CHECK(diagnostics_of(scenario("{name: app}", list + "{name: one-more}]")) ==
        std::vector<std::string>{"t.yaml:7:14: error: blast_radius.protected has 65 selectors; "
                                 "at most 64 are allowed"});
}

TEST_CASE("a selector field longer than the agent takes is an error where it is written",
          "[parse]") {
  CHECK(diagnostics_of(scenario(fmt::format("{{name: {}}}", std::string(256, 'n')), "[]")) ==
        std::vector<std::string>{"t.yaml:4:27: error: target 'app'.processes.name is 256 "
                                 "characters long, more than the 255 "
                                 "allowed (on agents too); shorten it to 255 or fewer"});
  CHECK(diagnostics_of(scenario("{name: app}",
                                fmt::format("[{{cmdline: \"{}\"}}]", std::string(1025, 'x')))) ==
        std::vector<std::string>{
            "t.yaml:7:25: error: blast_radius.protected[0].cmdline is 1025 characters long, more "
            "than the 1024 allowed (on agents too); shorten it to 1024 or fewer"});
}
