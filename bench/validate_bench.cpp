// How long `faultline validate` takes on a 100-fault scenario: in-process parsing, and the whole
// command as a user runs it, next to the bare start of the same binary (`faultline --version`)
// measured in the same run.
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "bench/bench_util.h"
#include "controller/scenario/parse.h"

using namespace faultline;
using Ms = std::chrono::duration<double, std::milli>;

namespace {

std::string scenario_with_faults(int faults) {
  std::string s = R"(version: 1
title: one hundred faults
targets:
  workers: {processes: {name: worker, cmdline: "worker [0-9]+"}}
blast_radius: {max_duration: 1h, max_processes: 3}
steady_state:
  - name: web
    http: {url: "http://127.0.0.1:8080/", timeout: 1s}
    expect: {status: [200, 204], max_latency: 200ms, body_matches: "ok"}
    interval: 500ms
    tolerance: {during: 10%}
stop_when:
  - {probe: web, consecutive_failures: 5}
faults:
)";
  for (int i = 0; i < faults; ++i) {
    switch (i % 3) {
      case 0:
        s += fmt::format(
            "  - {{name: kill-{}, target: workers, at: {}s, process_kill: "
            "{{signal: SIGTERM, count: 1}}}}\n",
            i, i);
        break;
      case 1:
        s += fmt::format(
            "  - {{name: pause-{}, target: workers, at: {}s, duration: 500ms, "
            "process_pause: {{count: 2}}}}\n",
            i, i);
        break;
      default:
        s += fmt::format(
            "  - {{name: cpu-{}, at: {}s, duration: 1s, cpu_stress: "
            "{{load: 50%, workers: 2, cpus: 0-1}}}}\n",
            i, i);
    }
  }
  return s;
}

double time_command(const std::vector<std::string>& argv) {
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = bench::spawn(argv);
  bench::wait_cpu_seconds(pid);
  return Ms(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string binary = argc > 1 ? argv[1] : "build/controller/faultline";
  const std::string path = "/tmp/faultline-bench-100-faults.yaml";
  std::ofstream(path) << scenario_with_faults(100);
  constexpr int kRuns = 50;

  std::vector<double> parse_ms, command_ms, start_ms;
  for (int i = 0; i < kRuns; ++i) {
    const auto start = std::chrono::steady_clock::now();
    ParsedScenario p = parse_scenario_file(path);
    parse_ms.push_back(Ms(std::chrono::steady_clock::now() - start).count());
    if (!p.scenario) {
      std::fprintf(stderr, "the generated scenario is invalid: %s\n",
                   format_diagnostic(p.errors.front()).c_str());
      return 1;
    }
  }
  for (int i = 0; i < kRuns; ++i) {
    command_ms.push_back(time_command({binary, "validate", path}));
    start_ms.push_back(time_command({binary, "--version"}));
  }
  const auto parse = bench::stats(parse_ms), command = bench::stats(command_ms),
             bare = bench::stats(start_ms);
  std::printf("validate, 100-fault scenario (%d runs each):\n", kRuns);
  std::printf("  parse + validate in process: median %.2f ms, p95 %.2f ms\n", parse.median,
              parse.p95);
  std::printf("  `faultline validate FILE`:    median %.2f ms, p95 %.2f ms (target < 20 ms)\n",
              command.median, command.p95);
  std::printf(
      "  `faultline --version` (peer): median %.2f ms -> validate costs %.2fx a bare start\n",
      bare.median, command.median / bare.median);
  std::remove(path.c_str());
  return 0;
}
