#pragma once
// A scenario with many faults, for the tests of validation at scale.
#include <fmt/format.h>

#include <string>

namespace faultline::test {

// `faults` faults of two kinds; with `dangling`, each names a target that does not exist.
inline std::string scenario_with_faults(int faults, bool dangling) {
  std::string s = R"(version: 1
title: many faults
targets:
  workers: {processes: {name: worker, cmdline: "worker [0-9]+"}}
blast_radius: {max_duration: 1000h, max_processes: 3}
steady_state:
  - name: web
    http: {url: "http://127.0.0.1:8080/", timeout: 1s}
    expect: {status: [200, 204], max_latency: 200ms}
faults:
)";
  const char* target = dangling ? "nobody" : "workers";
  for (int i = 0; i < faults; ++i) {
    if (i % 2 == 0)
      s += fmt::format("  - {{name: kill-{}, target: {}, at: {}s, process_kill: {{count: 1}}}}\n",
                       i, target, i);
    else
      s += fmt::format(
          "  - {{name: pause-{}, target: {}, at: {}s, duration: 500ms, process_pause: {{}}}}\n", i,
          target, i);
  }
  return s;
}

}  // namespace faultline::test
