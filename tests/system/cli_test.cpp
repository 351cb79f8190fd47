// The faultline binary as a user runs it: exit codes and exact messages.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "tests/support/child_process.h"

using faultline::test::ChildProcess;
using faultline::test::run_command;

namespace {
std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = "/tmp/fl-test-" + std::to_string(getpid()) + "-" + name;
  std::ofstream(path) << text;
  return path;
}
}  // namespace

TEST_CASE("faultline validate accepts every example scenario") {
  for (const char* name : {"nginx-demo.yaml", "process-kill-repeat.yaml", "cpu-stress.yaml",
                           "pause-freezer.yaml", "stop-conditions.yaml", "tcp-and-command.yaml",
                           "network-partition.yaml", "disk-full.yaml", "slow-network.yaml"}) {
    DYNAMIC_SECTION(name) {
      const auto r = run_command(
          {FAULTLINE_BINARY, "validate", std::string(FAULTLINE_SOURCE_DIR "/scenarios/") + name});
      INFO(r.err);
      CHECK(r.exit_code == 0);
    }
  }
}

TEST_CASE("faultline validate reports every problem as file:line:col and exits 2") {
  const std::string path = write_temp("bad.yaml", R"(version: 1
title: two problems
blast_radius: {max_duration: 1m}
faults:
  - name: burn
    at: 1s
    duration: 5s
    cpu_stress: {load: 150}
  - name: burn2
    at: -1s
    duration: 5s
    cpu_stress: {}
)");
  const auto r = run_command({FAULTLINE_BINARY, "validate", path});
  CHECK(r.exit_code == 2);
  CHECK(r.err == path + ":8:24: error: load must be between 1% and 100% (got 150%)\n" + path +
                     ":10:9: error: fault 'burn2'.at: duration '-1s' must not be negative\n");
  std::remove(path.c_str());
}

TEST_CASE("faultline plan and run refuse what the blast radius forbids, touching nothing") {
  ChildProcess a("/bin/sleep", "fl-test-cli-br", {"1000"});
  ChildProcess b("/bin/sleep", "fl-test-cli-br", {"1000"});
  const std::string path = write_temp("wide.yaml", R"(version: 1
title: too wide
targets:
  sleepers: {processes: {name: fl-test-cli-br}}
blast_radius: {max_duration: 1m, max_processes: 1}
faults:
  - name: kill-all
    target: sleepers
    at: 0s
    process_kill: {count: all}
)");
  const auto plan = run_command({FAULTLINE_BINARY, "plan", path});
  CHECK(plan.exit_code == 2);
  CHECK(plan.err == path +
                        ": error: refused by the blast radius: fault 'kill-all': would affect "
                        "2 processes, more than blast_radius.max_processes 1; lower the count "
                        "or raise max_processes\n");
  const auto run = run_command({FAULTLINE_BINARY, "run", path});
  CHECK(run.exit_code == 2);
  CHECK_FALSE(a.exited());
  CHECK_FALSE(b.exited());
  std::remove(path.c_str());
}

TEST_CASE("faultline inject refuses bad parameters with exit 2") {
  auto r = run_command({FAULTLINE_BINARY, "inject", "cpu_stress", "--duration", "1s", "load=150"});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "argument 'load=150': error: load must be between 1% and 100% (got 150%)\n");
  r = run_command({FAULTLINE_BINARY, "inject", "cpu_stres", "load=1"});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "faultline inject: error: unknown fault kind 'cpu_stres' (did you mean "
                 "'cpu_stress'?); known kinds: process_kill, process_pause, cpu_stress, "
                 "network, bandwidth, network_partition, dns, memory_pressure, disk_fill, io_throttle, io_stress\n");
  r = run_command({FAULTLINE_BINARY, "inject", "network_partition", "--duration", "1s",
                   "ports=8080"});
  CHECK(r.exit_code == 2);
  CHECK(r.err ==
        "faultline inject: error: ports '8080' needs protocol tcp or udp (protocol is 'all')\n");
  r = run_command({FAULTLINE_BINARY, "inject", "network_partition", "--duration", "1s",
                   "protocol=tcp"});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "faultline inject: error: network_partition needs at least one of destination, "
                 "ports or local_ports: a partition of all traffic would cut this host off, the "
                 "operator's SSH session included\n");
  r = run_command({FAULTLINE_BINARY, "inject", "cpu_stress", "load=50"});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "faultline inject: error: cpu_stress needs --duration, e.g. --duration 30s\n");
  r = run_command({FAULTLINE_BINARY, "inject", "process_kill", "wrkers=2", "name=x"});
  CHECK(r.exit_code == 2);
  CHECK(r.err ==
        "argument 'wrkers=2': error: unknown parameter 'wrkers' for process_kill; "
        "known: signal, count, repeat, replacement_window\n");
  r = run_command({FAULTLINE_BINARY, "run"});
  CHECK(r.exit_code == 2);
}

TEST_CASE("faultline inject process_kill kills the selected process and reports it") {
  ChildProcess victim("/bin/sleep", "fl-test-cli-kill", {"1000"});
  const auto r = run_command({FAULTLINE_BINARY, "inject", "process_kill", "name=fl-test-cli-kill"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(victim.wait_exit(1000));
  CHECK_THAT(r.out, Catch::StartsWith("process_kill: SIGKILL to 1 (name='fl-test-cli-kill'): 1/1 "
                                      "exited, median "));
}
