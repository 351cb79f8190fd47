// A run injects nothing on no evidence: `faultline run` with a probe that completes no check in
// the before phase ends as an error that says why, and the fault's target is never touched.
#include <catch2/catch.hpp>
#include <fstream>

#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

using faultline::test::ChildProcess;
using faultline::test::run_command;
using faultline::test::TempDir;

TEST_CASE("a steady state never checked before the faults is an error, and nothing is injected",
          "[run][evidence]") {
  ChildProcess target("/bin/sleep", "fl-test-evidence", {"1000"});
  TempDir dir;
  const std::string scenario = dir.file("slow-probe.yaml");
  std::ofstream(scenario) << R"(version: 1
title: the probe is slower than the before phase
targets:
  sleeper: {processes: {name: fl-test-evidence}}
blast_radius: {max_duration: 1m}
phases: {before: 300ms, after: 100ms}
recovery: {within: 100ms}
steady_state:
  - name: slow
    command: {run: "sleep 1.5", timeout: 5s}
    expect: {exit_code: 0}
faults:
  - name: kill
    target: sleeper
    at: 0s
    process_kill: {}
)";
  const auto r = run_command({FAULTLINE_BINARY, "run", scenario}, 30000);
  INFO("faultline run " << scenario << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.exit_code == 4);
  CHECK_THAT(r.out,
             Catch::Contains("verdict: error (exit 4): probe 'slow' completed no check in the "
                             "before phase, so the steady state was never seen and no fault was "
                             "injected; make phases.before (300ms) longer than its "
                             "command.timeout (5s), or shorten the timeout\n"));
  CHECK_FALSE(target.exited());
  CHECK(target.state() != 'Z');
}
