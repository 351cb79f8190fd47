// The resource kinds' blast radius as plan and run enforce it: blast_radius.protected_paths and
// max_memory refuse a fault before anything is touched (exit 2), and plan shows what a fault
// that fits would take.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "controller/plan/blast_radius.h"
#include "tests/support/child_process.h"
#include "tests/support/parse_scenario.h"
#include "tests/support/scratch_fs.h"
#include "tests/support/temp_dir.h"

using namespace faultline;

namespace {

std::string fill_scenario(const std::string& dir, const std::string& blast_extra) {
  return fmt::format(R"(version: 1
title: the service stops writing cleanly when its disk is full
blast_radius:
  max_duration: 1m
{}
faults:
  - name: fill
    at: 0s
    duration: 2s
    disk_fill: {{path: {}, leave: 1MiB}}
)",
                     blast_extra, dir);
}

}  // namespace

TEST_CASE("resource bounds: a protected filesystem and max_memory refuse faults in plan and run",
          "[resource-bounds]") {
  test::skip_unless_root("mounts a scratch filesystem");
  test::ScratchFs fs(test::ScratchKind::Ext4, 64, "-m 0");
  INFO(fs.skip_reason());
  REQUIRE(fs.ok());
  const std::string dir = fs.mount_point();

  // Protected through another path on the same filesystem: the filesystem is what counts.
  std::ofstream(dir + "/marker") << "x";
  const Scenario guarded = test::parse_or_fail(
      fill_scenario(dir, fmt::format("  protected_paths: [{}/marker]", dir)));
  const BlastRadiusVerdict refused = check_blast_radius(guarded, plan_timeline(guarded));
  REQUIRE(refused.problems.size() == 1);
  CHECK(refused.problems[0] ==
        fmt::format("fault 'fill': {0} is on the same filesystem as {0}/marker, which "
                    "blast_radius.protected_paths protects; choose a path on another filesystem "
                    "or remove it from blast_radius.protected_paths",
                    dir));

  const Scenario open = test::parse_or_fail(fill_scenario(dir, "  protected_paths: [/proc]"));
  const BlastRadiusVerdict fits = check_blast_radius(open, plan_timeline(open));
  CHECK(fits.ok);
  REQUIRE(fits.faults.size() == 1);
  REQUIRE(fits.faults[0].resources.size() == 1);
  CHECK(fits.faults[0].resources[0].starts_with(fmt::format("fill {} (ext4 on {})", dir, fs.device())));

  const Scenario hungry = test::parse_or_fail(R"(version: 1
title: memory pressure within bounds
blast_radius:
  max_duration: 1m
  max_memory: 32MiB
faults:
  - name: squeeze
    at: 0s
    duration: 2s
    memory_pressure: {bytes: 64MiB}
)");
  const BlastRadiusVerdict over = check_blast_radius(hungry, plan_timeline(hungry));
  REQUIRE(over.problems.size() == 1);
  CHECK(over.problems[0] ==
        "fault 'squeeze': would hold 64.0 MiB of memory, more than blast_radius.max_memory "
        "32MiB; ask for less or raise it");

  // The commands: plan shows the refusal and exits 2; run refuses before touching the disk.
  test::TempDir tmp;
  const std::string file = tmp.file("fill.yaml");
  std::ofstream(file) << fill_scenario(dir, fmt::format("  protected_paths: [{}]", dir));
  const int64_t free_before = fs.free_bytes();
  const auto plan = test::run_command({FAULTLINE_BINARY, "plan", file});
  INFO(plan.out << plan.err);
  CHECK(plan.exit_code == 2);
  CHECK(plan.out.find(fmt::format("    REFUSED: {} is on the same filesystem as {}", dir, dir)) !=
        std::string::npos);
  CHECK(plan.out.find(fmt::format(", protected paths {}\n", dir)) != std::string::npos);
  const auto run = test::run_command({FAULTLINE_BINARY, "run", file, "--journal", tmp.file("j.json")});
  INFO(run.out << run.err);
  CHECK(run.exit_code == 2);
  CHECK(fs.free_bytes() == free_before);

  std::ofstream(file) << fill_scenario(dir, "");
  const auto shown = test::run_command({FAULTLINE_BINARY, "plan", file});
  INFO(shown.out << shown.err);
  CHECK(shown.exit_code == 0);
  CHECK(shown.out.find(fmt::format("    would fill {} (ext4 on {})", dir, fs.device())) !=
        std::string::npos);
}
