// How long `faultline validate` takes on a 100-fault scenario: in-process parsing, and the whole
// command as a user runs it, next to the bare start of the same binary (`faultline --version`)
// measured in the same run. Then the same command at 5,000 to 60,000 faults (a 6 MB file), valid
// and with an error in every fault, and how close to linear it grows: CPU time of the command
// (user + system), which other load on the machine barely moves, and wall time next to it.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>

#include "bench/bench_util.h"
#include "controller/scenario/parse.h"

using namespace faultline;
using Ms = std::chrono::duration<double, std::milli>;

namespace {

// With `dangling`, every fault names a target that does not exist: one error each.
std::string scenario_with_faults(int faults, bool dangling = false) {
  std::string s = R"(version: 1
title: one hundred faults
targets:
  workers: {processes: {name: worker, cmdline: "worker [0-9]+"}}
blast_radius: {max_duration: 1000h, max_processes: 3}
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
  const char* target = dangling ? "nobody" : "workers";
  for (int i = 0; i < faults; ++i) {
    switch (i % 3) {
      case 0:
        s += fmt::format(
            "  - {{name: kill-{}, target: {}, at: {}s, process_kill: "
            "{{signal: SIGTERM, count: 1}}}}\n",
            i, target, i);
        break;
      case 1:
        s += fmt::format(
            "  - {{name: pause-{}, target: {}, at: {}s, duration: 500ms, "
            "process_pause: {{count: 2}}}}\n",
            i, target, i);
        break;
      default:
        s += fmt::format(
            "  - {{name: cpu-{}, {}at: {}s, duration: 1s, cpu_stress: "
            "{{load: 50%, workers: 2, cpus: 0-1}}}}\n",
            i, dangling ? "target: nobody, " : "", i);
    }
  }
  return s;
}

struct CommandTime {
  double cpu_ms = 0, wall_ms = 0;
};

// The least CPU time of `runs` runs of the command, with its wall time.
CommandTime best_of(const std::vector<std::string>& argv, int runs) {
  CommandTime best;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const double cpu_ms = bench::wait_cpu_seconds(bench::spawn(argv)) * 1e3;
    const double wall_ms = Ms(std::chrono::steady_clock::now() - start).count();
    if (i == 0 || cpu_ms < best.cpu_ms) best = {cpu_ms, wall_ms};
  }
  return best;
}

void scaling(const std::string& binary) {
  constexpr int kSizes[] = {5'000, 10'000, 20'000, 60'000};
  std::printf("validate at scale (best of 3 runs each; CPU = user + system of the command):\n");
  std::map<std::pair<int, bool>, CommandTime> times;
  for (const bool dangling : {false, true}) {
    for (int faults : kSizes) {
      const std::string path = fmt::format("/tmp/faultline-bench-{}-faults.yaml", faults);
      const std::string text = scenario_with_faults(faults, dangling);
      std::ofstream(path) << text;
      const CommandTime t = best_of({binary, "validate", path}, 3);
      times[{faults, dangling}] = t;
      std::printf("  %6d faults (%4.1f MB, %s): CPU %8.1f ms, wall %8.1f ms\n", faults,
                  static_cast<double>(text.size()) / 1e6,
                  dangling ? "an error in each, refused" : "valid", t.cpu_ms, t.wall_ms);
      std::remove(path.c_str());
    }
  }
  for (const bool dangling : {false, true}) {
    const double small = times[{10'000, dangling}].cpu_ms, large = times[{60'000, dangling}].cpu_ms;
    std::printf("  linearity (%s): CPU(60k) / CPU(10k) = %.2f (linear: 6, quadratic: 36)\n",
                dangling ? "refused" : "valid", large / small);
  }
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
  scaling(binary);
  return 0;
}
