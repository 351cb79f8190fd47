// A fleet's inventory at scale: parse, validate, select and plan for N hosts (default 10,000),
// in process, part by part; then the whole `faultline plan --inventory` command as a user runs
// it, next to the bare start of the same binary (`faultline --version`) measured in the same run.
//
//   inventory_scale_bench [HOSTS=10000] [RUNS=10]
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "bench/bench_util.h"
#include "bench/fleet_util.h"
#include "controller/inventory/inventory.h"
#include "controller/plan/blast_radius.h"
#include "controller/plan/host_plan.h"
#include "controller/plan/timeline.h"
#include "controller/scenario/parse.h"

using namespace faultline;
using Ms = std::chrono::duration<double, std::milli>;

namespace {

// N agents in 10 zones and 4 roles, on addresses of a documentation range (never contacted:
// planning only reads the inventory).
std::string inventory_text(size_t n) {
  std::string s =
      "tls: {ca: certs/ca.pem, cert: certs/controller.pem, key: certs/controller.key}\n"
      "agents:\n";
  static constexpr const char* kRoles[] = {"app", "db", "cache", "queue"};
  for (size_t i = 0; i < n; ++i)
    s += fmt::format(
        "  - {{name: host-{:05}, address: \"198.18.{}.{}:7443\", labels: {{role: {}, zone: "
        "z{}, rack: r{}}}}}\n",
        i, i / 250, i % 250 + 1, kRoles[i % 4], i % 10, i % 100);
  return s;
}

// Faults on a share of the app hosts in one zone, on one database, and on every cache host of
// two racks: three label selections over the whole inventory.
constexpr const char* kScenario = R"(version: 1
title: a game day across the fleet
targets:
  app:
    hosts: {labels: {role: app, zone: z2}, percent: 10%}
    processes: {name: worker}
  db:
    hosts: {labels: {role: db}, count: 1}
    processes: {name: postgres}
  cache:
    hosts: {labels: {role: cache, rack: r42}}
blast_radius:
  max_duration: 10m
  max_hosts: 200
  max_host_percent: 5%
  max_processes: 2
phases: {before: 5s, after: 30s}
recovery: {within: 30s}
faults:
  - {name: kill-workers, target: app, at: 0s, process_kill: {count: 1}}
  - {name: pause-db, target: db, at: 10s, duration: 20s, process_pause: {count: 1}}
  - {name: cpu-cache, target: cache, at: 30s, duration: 1m, cpu_stress: {load: 50%}}
)";

struct Parts {
  double inventory_ms = 0, scenario_ms = 0, select_ms = 0, plan_ms = 0;
  size_t hosts = 0, touched = 0;
  double total() const { return inventory_ms + scenario_ms + select_ms + plan_ms; }
};

Parts in_process(const std::string& inventory_file, const std::string& scenario_file) {
  Parts p;
  TimePoint t = Clock::now();
  ParsedInventory inventory = parse_inventory_file(inventory_file);
  p.inventory_ms = Ms(Clock::now() - t).count();
  if (!inventory.errors.empty() || !inventory.inventory)
    throw std::runtime_error("the generated inventory is invalid: " +
                             format_diagnostic(inventory.errors.front()));
  p.hosts = inventory.inventory->agents.size();
  t = Clock::now();
  ParsedScenario parsed = parse_scenario_file(scenario_file);
  p.scenario_ms = Ms(Clock::now() - t).count();
  if (!parsed.scenario)
    throw std::runtime_error("the scenario is invalid: " +
                             format_diagnostic(parsed.errors.front()));
  const Scenario* scenario = &*parsed.scenario;
  t = Clock::now();
  auto hosts = select_hosts(*scenario, *inventory.inventory, 42);
  p.select_ms = Ms(Clock::now() - t).count();
  if (!hosts) throw std::runtime_error(format_diagnostic(hosts.error().front()));
  t = Clock::now();
  const Timeline timeline = plan_timeline(*scenario);
  const BlastRadiusVerdict blast = check_blast_radius(*scenario, timeline);
  const std::vector<std::string> problems = host_radius_problems(*scenario, *hosts);
  p.plan_ms = Ms(Clock::now() - t).count();
  if (!blast.problems.empty() || !problems.empty())
    throw std::runtime_error("the plan is refused: " +
                             (problems.empty() ? blast.problems.front() : problems.front()));
  p.touched = hosts->touched.size();
  return p;
}

double command_ms(const std::vector<std::string>& argv) {
  const TimePoint t = Clock::now();
  const pid_t pid = bench::spawn(argv);
  (void)bench::wait_cpu_seconds(pid);
  return Ms(Clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10000;
  const int runs = argc > 2 ? std::atoi(argv[2]) : 10;
  if (n == 0 || runs <= 0) {
    std::fprintf(stderr, "usage: inventory_scale_bench [HOSTS=10000] [RUNS=10]\n");
    return 2;
  }
  try {
    bench::ScratchDir dir;
    const std::string inventory = dir.path() + "/inventory.yaml";
    const std::string scenario = dir.path() + "/gameday.yaml";
    const std::string text = inventory_text(n);
    std::ofstream(inventory) << text;
    std::ofstream(scenario) << kScenario;

    std::vector<double> inv, scen, sel, plan, total, command, floor;
    Parts last;
    for (int r = 0; r < runs; ++r) {
      last = in_process(inventory, scenario);
      inv.push_back(last.inventory_ms);
      scen.push_back(last.scenario_ms);
      sel.push_back(last.select_ms);
      plan.push_back(last.plan_ms);
      total.push_back(last.total());
      const std::string tool = bench::faultline_binary();
      command.push_back(
          command_ms({tool, "plan", scenario, "--inventory", inventory, "--seed", "42"}));
      floor.push_back(command_ms({tool, "--version"}));
    }
    std::printf(
        "inventory_scale_bench: %zu hosts (%.1f MB inventory), %zu touched by the plan, "
        "%d runs, %s\n",
        last.hosts, static_cast<double>(text.size()) / 1e6, last.touched, runs,
        bench::load_note().c_str());
    auto row = [](const char* what, const std::vector<double>& v) {
      const bench::Stats s = bench::stats(v);
      std::printf("  %-34s median %7.1f ms  max %7.1f ms\n", what, s.median, s.max);
    };
    row("parse + validate the inventory", inv);
    row("parse + validate the scenario", scen);
    row("select hosts", sel);
    row("timeline + blast radius", plan);
    row("in process, all four", total);
    row("`faultline plan --inventory`", command);
    row("peer: `faultline --version`", floor);
    std::printf("  goal: all four under 200 ms: %s\n",
                bench::stats(total).median < 200 ? "met" : "NOT MET");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "inventory_scale_bench: %s\n", e.what());
    return 1;
  }
}
