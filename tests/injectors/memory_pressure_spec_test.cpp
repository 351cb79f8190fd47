// memory_pressure's parameters: what each accepts, and the checks between them, with the exact
// messages `faultline validate` and `faultline inject` print.
#include <catch2/catch.hpp>

#include "injectors/injector.h"
#include "injectors/memory_pressure/memory_plan.h"
#include "injectors/memory_pressure/memory_spec.h"

namespace faultline {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

ParsedParams parse(const Pairs& pairs) {
  std::vector<RawParam> raw;
  for (const auto& [k, v] : pairs) raw.push_back({k, v, {"t.yaml", 4, 7}, {"t.yaml", 4, 14}});
  return parse_params(memory_pressure_params(), raw, {"t.yaml", 3, 5}, "memory_pressure");
}

std::vector<std::string> problems(const Pairs& pairs,
                                  std::optional<Duration> duration = std::chrono::seconds(30)) {
  ParsedParams p = parse(pairs);
  REQUIRE(p.errors.empty());
  return memory_pressure_cross_check(p.params, duration, ProcessSelector{});
}

std::string first_error(const Pairs& pairs) {
  ParsedParams p = parse(pairs);
  REQUIRE(p.errors.size() == 1);
  return p.errors[0].message;
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("memory_pressure: defaults and the values each parameter takes", "[memory_pressure]") {
  ParsedParams p = parse({{"bytes", "256MiB"}});
  REQUIRE(p.errors.empty());
  CHECK(p.params.bytes("bytes") == 256 * kMiB);
  CHECK(p.params.text("mode") == "add");
  CHECK(p.params.text("into") == "own");
  CHECK(p.params.integer("workers") == 1);
  CHECK_FALSE(p.params.has("ramp"));
  CHECK(problems({{"bytes", "256MiB"}}).empty());
  CHECK(problems({{"percent", "20"}, {"of", "memavailable"}, {"ramp", "5s"}, {"workers", "4"}})
            .empty());
  CHECK(problems({{"percent", "100%"}, {"of", "target_limit"}, {"mode", "fill_to"},
                  {"into", "target"}})
            .empty());
}

TEST_CASE("memory_pressure: each parameter's bad value is named", "[memory_pressure]") {
  CHECK(first_error({{"bytes", "512KiB"}}) == "bytes must be between 1MiB and 4TiB (got 512KiB)");
  CHECK(first_error({{"bytes", "1.5GiB"}}).starts_with("bytes: "));
  CHECK(first_error({{"percent", "150"}}) == "percent must be between 0.1% and 100% (got 150%)");
  CHECK(first_error({{"of", "total"}}).starts_with(
      "of must be one of memtotal, memavailable, target_limit (got 'total')"));
  CHECK(first_error({{"mode", "fill"}}).starts_with(
      "mode must be one of add, fill_to (got 'fill')"));
  CHECK(first_error({{"into", "container"}}).starts_with(
      "into must be one of own, target (got 'container')"));
  CHECK(first_error({{"workers", "0"}}) == "workers must be between 1 and 64 (got 0)");
  CHECK(first_error({{"ramp", "10ms"}}) == "ramp must be between 100ms and 1h (got 10ms)");
}

TEST_CASE("memory_pressure: the checks between parameters", "[memory_pressure]") {
  CHECK(problems({{"bytes", "64MiB"}, {"percent", "10"}, {"of", "memtotal"}}) ==
        Strings{"give bytes or percent, not both"});
  CHECK(problems({}) ==
        Strings{"memory_pressure needs bytes (e.g. bytes: 256MiB) or percent with of (e.g. "
                "percent: 20, of: memavailable)"});
  CHECK(problems({{"percent", "10"}}) ==
        Strings{"percent needs of: memtotal, memavailable or target_limit (a share of what)"});
  CHECK(problems({{"bytes", "64MiB"}, {"of", "memtotal"}}) ==
        Strings{"of goes with percent, not with bytes"});
  CHECK(problems({{"bytes", "64MiB"}, {"mode", "fill_to"}}) ==
        Strings{"mode fill_to fills the target's cgroup up to a level, so it needs into: "
                "target"});
  CHECK(problems({{"bytes", "4MiB"}, {"workers", "8"}}) ==
        Strings{"8 workers would hold less than 1MiB each; use fewer workers"});
  CHECK(problems({{"bytes", "64MiB"}, {"ramp", "30s"}}, std::chrono::seconds(30)) ==
        Strings{"ramp 30s must be shorter than the duration 30s"});
}

TEST_CASE("memory_pressure: the reserve and the own cgroup's limit", "[memory_pressure]") {
  CHECK(memory_reserve(1 * kGiB) == 256 * kMiB);
  CHECK(memory_reserve(100 * kGiB) == 5 * kGiB);
  // Page tables (1/512 of the fill) fit in the 1/256 allowed, plus 4 MiB a worker.
  CHECK(own_cgroup_limit(256 * kMiB, 2) == 256 * kMiB + kMiB + 8 * kMiB);
}

TEST_CASE("memory_pressure: create_fault refuses what the cross checks refuse",
          "[memory_pressure]") {
  FaultRequest r;
  r.kind = "memory_pressure";
  r.params = parse({{"percent", "10"}}).params;
  r.duration = std::chrono::seconds(5);
  auto fault = create_fault(r);
  REQUIRE_FALSE(fault);
  CHECK(fault.error().message ==
        "percent needs of: memtotal, memavailable or target_limit (a share of what)");
  r.duration.reset();
  CHECK(create_fault(r).error().message == "memory_pressure needs a duration");
}

}  // namespace faultline
