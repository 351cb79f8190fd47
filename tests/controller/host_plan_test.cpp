// The hosts of a whole scenario: per fault, the union the run touches, probes placed on hosts,
// the blast radius over hosts; and `faultline plan` and `run` with an inventory.
#include "controller/plan/host_plan.h"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "controller/scenario/parse.h"
#include "tests/support/parse_scenario.h"

namespace faultline {
namespace {

const std::string kFixtures = FAULTLINE_SOURCE_DIR "/tests/controller/fixtures";
const std::string kInventoryFile = kFixtures + "/inventory.yaml";
const std::string kScenarioFile = kFixtures + "/multi-host.yaml";

const Inventory& fixture_inventory() {
  static const Inventory inventory = [] {
    ParsedInventory parsed = parse_inventory_file(kInventoryFile);
    REQUIRE(parsed.inventory.has_value());
    return std::move(*parsed.inventory);
  }();
  return inventory;
}

Scenario fixture_scenario() {
  ParsedScenario parsed = parse_scenario_file(kScenarioFile);
  for (const Diagnostic& d : parsed.errors) UNSCOPED_INFO(format_diagnostic(d));
  REQUIRE(parsed.scenario.has_value());
  return std::move(*parsed.scenario);
}

std::vector<std::string> agent_names(const std::vector<Agent>& agents) {
  std::vector<std::string> out;
  for (const Agent& a : agents) out.push_back(a.name);
  return out;
}

// Two groups of app hosts and one of databases, bounded by `radius` (YAML flow mapping keys).
Scenario three_groups(const std::string& radius) {
  return test::parse_or_fail(fmt::format(R"(version: 1
title: three groups
targets:
  zone-a: {{hosts: {{labels: {{zone: a}}}}}}
  web-2: {{hosts: {{names: [web-2]}}}}
  dbs: {{hosts: {{labels: {{role: db}}}}}}
  here: {{host: local}}
blast_radius: {{max_duration: 1m{}}}
faults:
  - {{name: a, target: zone-a, at: 0s, duration: 1s, cpu_stress: {{}}}}
  - {{name: b, target: web-2, at: 0s, duration: 1s, cpu_stress: {{}}}}
  - {{name: c, target: zone-a, at: 2s, duration: 1s, cpu_stress: {{}}}}
  - {{name: d, target: here, at: 0s, duration: 1s, cpu_stress: {{}}}}
  - {{name: e, at: 0s, duration: 1s, cpu_stress: {{}}}}
)",
                                         radius));
}

struct Command {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the faultline binary with `args`, capturing both streams.
Command faultline(const std::string& args) {
  const std::string err_path = fmt::format("/tmp/fl-test-{}-host-plan.err", getpid());
  Command c;
  FILE* pipe = popen(fmt::format("{} {} 2>{}", FAULTLINE_BINARY, args, err_path).c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) c.out.append(buffer, n);
  const int status = pclose(pipe);
  c.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(err_path);
  std::ostringstream text;
  text << err.rdbuf();
  c.err = text.str();
  std::remove(err_path.c_str());
  return c;
}

}  // namespace

TEST_CASE("each fault gets the hosts of its group, and the run touches their union", "[hosts]") {
  const Scenario s = three_groups(", max_hosts: 6");
  auto plan = select_hosts(s, fixture_inventory(), 7);
  REQUIRE(plan.has_value());
  CHECK(plan->seed == 7);
  CHECK(plan->inventory_hosts == 6);
  REQUIRE(plan->faults.size() == 5);
  CHECK(agent_names(plan->faults[0].agents) == std::vector<std::string>{"db-1", "web-1", "web-3"});
  CHECK(plan->faults[0].candidates == 3);
  CHECK_FALSE(plan->faults[0].local);
  CHECK(agent_names(plan->faults[1].agents) == std::vector<std::string>{"web-2"});
  // One group, one choice: two faults on it act on the same hosts.
  CHECK(agent_names(plan->faults[2].agents) == agent_names(plan->faults[0].agents));
  CHECK(plan->faults[3].local);
  CHECK(plan->faults[3].agents.empty());
  CHECK(plan->faults[4].local);
  // 'dbs' is used by no fault: resolved (so its mistakes show) but touches nothing.
  CHECK(plan->touched == std::vector<std::string>{"db-1", "web-1", "web-2", "web-3"});
  CHECK(plan->remote());
  // The engine gets everything it needs to connect.
  const Agent& web1 = plan->faults[0].agents[1];
  CHECK(web1.address == "10.213.0.11:7443");
  CHECK(web1.tls == TlsFiles{kFixtures + "/certs/ca.pem", kFixtures + "/certs/controller.pem",
                             kFixtures + "/certs/controller.key"});
}

TEST_CASE("the hosts a run touches are bounded by max_hosts and max_host_percent", "[hosts]") {
  SECTION("within both bounds") {
    const Scenario s = three_groups(", max_hosts: 4, max_host_percent: 67%");
    auto plan = plan_hosts(s, fixture_inventory(), 7);
    REQUIRE(plan.has_value());
    CHECK(host_radius_problems(s, *plan).empty());
  }
  SECTION("over max_hosts") {
    const Scenario s = three_groups(", max_hosts: 3");
    auto plan = plan_hosts(s, fixture_inventory(), 7);
    REQUIRE_FALSE(plan.has_value());
    CHECK(plan.error().refused);
    CHECK(plan.error().message ==
          "the run would touch 4 hosts (db-1, web-1, web-2, web-3), more than "
          "blast_radius.max_hosts 3; select fewer hosts or raise max_hosts");
  }
  SECTION("over max_host_percent: 4 of 6 is 66.66%, and 66% of 6 allows 3") {
    const Scenario s = three_groups(", max_hosts: 10, max_host_percent: 66%");
    auto plan = plan_hosts(s, fixture_inventory(), 7);
    REQUIRE_FALSE(plan.has_value());
    CHECK(plan.error().refused);
    CHECK(plan.error().message ==
          "the run would touch 4 of the inventory's 6 hosts (66.66%), more than "
          "blast_radius.max_host_percent 66% (at most 3 of 6); select fewer hosts or raise "
          "max_host_percent");
  }
  SECTION("over both: each is named") {
    const Scenario s = three_groups(", max_hosts: 2, max_host_percent: 50%");
    const auto plan = select_hosts(s, fixture_inventory(), 7);
    REQUIRE(plan.has_value());
    CHECK(host_radius_problems(s, *plan) ==
          std::vector<std::string>{
              "the run would touch 4 hosts (db-1, web-1, web-2, web-3), more than "
              "blast_radius.max_hosts 2; select fewer hosts or raise max_hosts",
              "the run would touch 4 of the inventory's 6 hosts (66.66%), more than "
              "blast_radius.max_host_percent 50% (at most 3 of 6); select fewer hosts or raise "
              "max_host_percent"});
  }
  SECTION("without either bound, one host") {
    const Scenario s = three_groups("");
    CHECK(s.blast_radius.max_hosts == 1);
    CHECK_FALSE(s.blast_radius.max_host_percent.has_value());
    auto plan = plan_hosts(s, fixture_inventory(), 7);
    REQUIRE_FALSE(plan.has_value());
    CHECK(plan.error().message ==
          "the run would touch 4 hosts (db-1, web-1, web-2, web-3), more than "
          "blast_radius.max_hosts 1; select fewer hosts or raise max_hosts");
  }
  SECTION("a share alone bounds the run") {
    const Scenario s = three_groups(", max_host_percent: 70%");
    CHECK_FALSE(s.blast_radius.max_hosts.has_value());
    CHECK(plan_hosts(s, fixture_inventory(), 7).has_value());
  }
}

TEST_CASE("selection problems come back as located errors, not refusals", "[hosts]") {
  const Scenario s = test::parse_or_fail(R"(version: 1
title: wrong names
targets:
  g: {hosts: {names: [web-9]}}
blast_radius: {max_duration: 1m}
steady_state:
  - name: p
    on: db-3
    command: {run: "true"}
    expect: {exit_code: 0}
faults:
  - {name: a, target: g, at: 0s, duration: 1s, cpu_stress: {}}
)");
  auto plan = plan_hosts(s, fixture_inventory(), 1);
  REQUIRE_FALSE(plan.has_value());
  CHECK_FALSE(plan.error().refused);
  CHECK(plan.error().message ==
        fmt::format("test.yaml:4:23: error: target 'g'.hosts.names: 'web-9' is not in the "
                    "inventory {0} (did you mean 'web-1'?)\n"
                    "test.yaml:8:9: error: probe 'p'.on: 'db-3' is not in the inventory {0} "
                    "(did you mean 'db-1'?)",
                    kInventoryFile));
}

TEST_CASE("a scenario with hosts needs an inventory, and one without does not", "[hosts]") {
  const Scenario remote = fixture_scenario();
  REQUIRE(inventory_needed(remote).has_value());
  CHECK(format_diagnostic(*inventory_needed(remote)) ==
        kScenarioFile +
            ":5:12: error: target 'app' selects hosts of an inventory: plan or run it with "
            "--inventory FILE");
  auto without = select_hosts(remote, Inventory{}, 1);
  REQUIRE_FALSE(without.has_value());
  CHECK(without.error().size() == 1);

  const Scenario local = test::parse_or_fail(R"(version: 1
title: here only
blast_radius: {max_duration: 1m}
faults:
  - {name: a, at: 0s, duration: 1s, cpu_stress: {}}
)");
  CHECK_FALSE(inventory_needed(local).has_value());
  auto plan = plan_hosts(local, Inventory{}, 1);
  REQUIRE(plan.has_value());
  CHECK_FALSE(plan->remote());
  CHECK(plan->touched.empty());
}

TEST_CASE("faultline plan shows the hosts of a multi-host scenario", "[hosts][cli]") {
  const Command c =
      faultline(fmt::format("plan {} --inventory {} --seed 7", kScenarioFile, kInventoryFile));
  INFO(c.err);
  CHECK(c.exit_code == 0);
  CHECK(c.err.empty());
  // The second line names this machine; the rest is the same everywhere.
  const size_t host_line_end = c.out.find('\n', c.out.find('\n') + 1);
  CHECK(c.out.substr(0, c.out.find('\n')) ==
        fmt::format("scenario: workers die on some app hosts while one database is slow ({})",
                    kScenarioFile));
  CHECK(c.out.substr(host_line_end + 1) == fmt::format(R"(inventory: {} (6 hosts); seed 7

faults and their targets (now):
  kill-workers [process_kill] count=1 replacement_window=10s signal=SIGKILL
    hosts of 'app': labels {{role: app}}, percent 50% -> 2 of 4 candidate(s): web-1, web-2
    processes: name='fl-test-worker', chosen on each host by its agent when the fault starts (at most 1 per host)
  slow-db [cpu_stress] load=50% workers=1
    hosts of 'db': labels {{role: db}}, count 1 -> 1 of 2 candidate(s): db-1

hosts touched: 3 of 6 in the inventory (db-1, web-1, web-2); blast radius max_hosts 3, max_host_percent 50% (at most 3 of 6)
probe 'db-answers' runs on web-1 (10.213.0.11:7443)

steady state:
  db-answers: tcp 10.213.0.21:5432 connects, every 1s in before/during/after; allowed failed: before 0%, during 0%, after 0%

timeline (17s in all; recovery expected within 5s):
  +0s        phase  before
  +1s        phase  during
  +1s        apply  kill-workers (process_kill count=1 replacement_window=10s signal=SIGKILL)
  +2s        apply  slow-db (cpu_stress load=50% workers=1, for 10s)
  +12s       revert slow-db
  +12s       phase  after
  +17s       end

blast radius: max_duration 1m (run takes 17s), max_processes 1 per fault
verdict: within the blast radius; nothing was changed (this was a dry run)
)",
                                                       kInventoryFile));
}

TEST_CASE("faultline plan and run refuse a multi-host scenario without an inventory",
          "[hosts][cli]") {
  const Command plan = faultline(fmt::format("plan {}", kScenarioFile));
  CHECK(plan.exit_code == 2);
  CHECK(plan.out.empty());
  CHECK(plan.err == kScenarioFile +
                        ":5:12: error: target 'app' selects hosts of an inventory: plan or run "
                        "it with --inventory FILE\n");
  const Command run = faultline(fmt::format("run {}", kScenarioFile));
  CHECK(run.exit_code == 2);
  CHECK(run.err == plan.err);
  // validate checks the file alone, without an inventory.
  const Command validate = faultline(fmt::format("validate {}", kScenarioFile));
  CHECK(validate.exit_code == 0);
  CHECK(validate.out == kScenarioFile + ": ok (1 probe(s), 2 fault(s))\n");
}

TEST_CASE("faultline run checks the plan, then asks every agent it needs before anything runs",
          "[hosts][cli]") {
  // The fixture inventory's certificates do not exist: no agent can be asked, so nothing runs.
  const Command run =
      faultline(fmt::format("run {} --inventory {} --seed 7", kScenarioFile, kInventoryFile));
  CHECK(run.exit_code == 2);
  CHECK(run.out.empty());
  const std::string ca = FAULTLINE_SOURCE_DIR "/tests/controller/fixtures/certs/ca.pem";
  CHECK(run.err ==
        fmt::format("{0}: error: agent db-1: cannot read the CA certificate '{1}': No such file "
                    "or directory\n"
                    "{0}: error: agent web-1: cannot read the CA certificate '{1}': No such file "
                    "or directory\n"
                    "{0}: error: agent web-2: cannot read the CA certificate '{1}': No such file "
                    "or directory\n"
                    "nothing was injected; `faultline agents --inventory {2}` shows every "
                    "agent's state\n",
                    kScenarioFile, ca, kInventoryFile));
}

TEST_CASE("faultline plan refuses a run over its host bounds, naming both numbers",
          "[hosts][cli]") {
  const std::string path = fmt::format("/tmp/fl-test-{}-wide-hosts.yaml", getpid());
  std::ofstream(path) << R"(version: 1
title: every app host
targets:
  app: {hosts: {labels: {role: app}}}
blast_radius: {max_duration: 1m, max_hosts: 2}
faults:
  - {name: burn, target: app, at: 0s, duration: 1s, cpu_stress: {}}
)";
  const Command plan = faultline(fmt::format("plan {} --inventory {}", path, kInventoryFile));
  CHECK(plan.exit_code == 2);
  CHECK(plan.err == path +
                        ": error: refused by the blast radius: the run would touch 4 hosts "
                        "(web-1, web-2, web-3, web-4), more than blast_radius.max_hosts 2; "
                        "select fewer hosts or raise max_hosts\n");
  CHECK(plan.out.ends_with("verdict: REFUSED; nothing would be injected\n"));
  const Command bad_inventory = faultline(fmt::format("plan {} --inventory {}", path, path));
  CHECK(bad_inventory.exit_code == 2);
  CHECK(
      bad_inventory.err.starts_with(path + ":1:1: error: unknown key 'version' in the inventory"));
  std::remove(path.c_str());
}

}  // namespace faultline
