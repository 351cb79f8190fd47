// Real agents in the lab: mutual TLS over the lab's bridge, agents that see only their own lab
// host's processes, and a network cut between the controller and one agent in the middle of a
// run. Only the lab's 10.213.0.0/24 is touched; `lab down` runs whichever way a test ends.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "controller/fleet/agent_client.h"
#include "controller/inventory/inventory.h"
#include "tests/support/agent_process.h"
#include "tests/support/child_process.h"
#include "tests/support/journal_schema.h"
#include "tests/support/lab_guard.h"
#include "tests/support/require_ok.h"

using namespace faultline;
using namespace faultline::test;
using namespace std::chrono_literals;

namespace {

// A sleeping process named `name` inside lab host `host`'s network namespace.
std::unique_ptr<ChildProcess> sleeper_in_lab(int host, const std::string& name) {
  auto child = std::make_unique<ChildProcess>(
      ip_binary(), "ip",
      std::vector<std::string>{"netns", "exec", "fl-lab-" + std::to_string(host), "bash", "-c",
                               "exec -a " + name + " sleep 1000"});
  // `ip netns exec` and bash exec in place: the pid is the sleeper's once its name shows.
  for (int i = 0; i < 500; ++i) {
    std::ifstream cmdline("/proc/" + std::to_string(child->pid()) + "/cmdline");
    std::string first;
    std::getline(cmdline, first, '\0');
    if (first == name) break;
    std::this_thread::sleep_for(2ms);
  }
  return child;
}

AgentEndpoint endpoint(const Inventory& inventory, const std::string& name) {
  const Agent* a = inventory.agent(name);
  REQUIRE(a != nullptr);
  REQUIRE(a->tls);
  return {a->name, a->address, ClientTls{a->tls->ca, a->tls->cert, a->tls->key}};
}

}  // namespace

TEST_CASE("lab agents answer over mutual TLS and act only on their own lab host", "[lab][agent]") {
  LabGuard lab;
  const CommandResult up = lab.lab("up", {"--hosts", "2"});
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);
  const std::string inventory_file = lab.dir + "/inventory.yaml";
  const CommandResult agents =
      run_command({FAULTLINE_BINARY, "agents", "--inventory", inventory_file});
  INFO(agents.out << agents.err);
  CHECK(agents.exit_code == 0);
  CHECK(agents.out.find("2 of 2 agents up") != std::string::npos);

  const ParsedInventory parsed = parse_inventory_file(inventory_file);
  REQUIRE(parsed.inventory);
  auto inside = sleeper_in_lab(1, "fl-test-lab-scope");
  ChildProcess outside("/bin/sleep", "fl-test-lab-scope", {"1000"});
  AgentClient client(endpoint(*parsed.inventory, "lab-1"));
  RemoteFault f;
  f.owner = "scope-test";
  f.fault_id = "pause";
  f.kind = "process_pause";
  f.params = {{"count", "all"}};
  f.selector.name = "fl-test-lab-scope";
  f.duration = 30s;
  f.lease = 5s;
  f.max_processes = 5;
  auto applied = client.apply(f, 5s);
  INFO((applied ? applied->summary : applied.error().message));
  REQUIRE_OK(applied);
  CHECK(inside->state() == 'T');
  CHECK(outside.state() != 'T');  // the same name, but not in lab-1: out of that agent's scope
  REQUIRE_OK(client.revert("scope-test", "", 5s));
  CHECK(inside->state() != 'T');
}

TEST_CASE(
    "a network cut between the controller and one agent: that agent reverts by lease, and "
    "the run reports it",
    "[lab][agent]") {
  LabGuard lab;
  const CommandResult up = lab.lab("up", {"--hosts", "2"});
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);
  auto kept = sleeper_in_lab(1, "fl-test-lab-cut");
  auto cut = sleeper_in_lab(2, "fl-test-lab-cut");
  const std::string scenario = lab.dir + "/cut.yaml";
  std::ofstream(scenario) << R"(version: 1
title: pause a process on both lab hosts while one of them is cut off
targets:
  both:
    hosts: {labels: {lab: "true"}}
    processes: {name: fl-test-lab-cut}
blast_radius: {max_duration: 1m, max_processes: 1, max_hosts: 2}
phases: {before: 200ms, after: 500ms}
recovery: {within: 500ms}
faults:
  - name: pause
    target: both
    at: 0s
    duration: 8s
    process_pause: {count: 1}
)";
  const std::string out_file = lab.dir + "/run.out";
  const pid_t run = fork();
  REQUIRE(run >= 0);
  if (run == 0) {
    const int out = open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(out, 2);
    execl(FAULTLINE_BINARY, "faultline", "run", scenario.c_str(), "--inventory",
          (lab.dir + "/inventory.yaml").c_str(), "--lease", "2s", "--journal",
          (lab.dir + "/journal.json").c_str(), nullptr);
    _exit(127);
  }
  const TimePoint start = Clock::now();
  while ((kept->state() != 'T' || cut->state() != 'T') && Clock::now() - start < 10s)
    std::this_thread::sleep_for(10ms);
  INFO(read_text(out_file));
  REQUIRE(kept->state() == 'T');
  REQUIRE(cut->state() == 'T');
  std::this_thread::sleep_for(500ms);
  // The host side of lab-2's veth goes down: the controller cannot reach lab-2's agent.
  REQUIRE(run_command({ip_binary(), "link", "set", "fl-lab-2-h", "down"}).exit_code == 0);
  const TimePoint cut_at = Clock::now();
  while (cut->state() == 'T' && Clock::now() - cut_at < 5s) std::this_thread::sleep_for(5ms);
  const Duration resumed_after = Clock::now() - cut_at;
  INFO("lab-2's process resumed " << to_ms(resumed_after) << " ms after the cut");
  CHECK(cut->state() != 'T');
  CHECK(resumed_after <= 3s);   // lease 2 s + 1 s
  CHECK(kept->state() == 'T');  // lab-1's agent still hears from the controller
  REQUIRE(run_command({ip_binary(), "link", "set", "fl-lab-2-h", "up"}).exit_code == 0);
  int status = 0;
  waitpid(run, &status, 0);
  const std::string out = read_text(out_file);
  INFO(out);
  CHECK(WEXITSTATUS(status) == 4);  // error: a fault did not last as the run meant
  CHECK(out.find("agent lab-2: UNREACHABLE, its faults end by their lease within 2s") !=
        std::string::npos);
  CHECK(out.find("pause [process_pause] on lab-1 for 8s") != std::string::npos);
  CHECK(out.find("(by the agent: lease ran out)") != std::string::npos);
  CHECK(out.find("verdict: error (exit 4): fault 'pause' on lab-2: ended by its lease at") !=
        std::string::npos);
  CHECK(kept->state() != 'T');

  // The journal of a run across hosts, and its reports: a fault window and a JUnit case per
  // host, the lease's end an error of the run.
  const std::string journal = lab.dir + "/journal.json";
  faultline::test::check_journal_schema(journal);
  const CommandResult junit = run_command({FAULTLINE_BINARY, "report", journal, "--format", "junit"});
  INFO(junit.out << junit.err);
  REQUIRE(junit.exit_code == 0);
  CHECK(junit.out.find("name=\"fault pause on lab-1: applied and confirmed\"") != std::string::npos);
  CHECK(junit.out.find("name=\"fault pause on lab-2: applied and confirmed\"") != std::string::npos);
  const CommandResult html = run_command({FAULTLINE_BINARY, "report", journal, "--format", "html"});
  REQUIRE(html.exit_code == 0);
  CHECK(html.out.find("data-fault=\"pause\" data-host=\"lab-1\"") != std::string::npos);
  CHECK(html.out.find("data-fault=\"pause\" data-host=\"lab-2\"") != std::string::npos);
  CHECK(html.out.find("<g class=\"host-event\" data-host=\"lab-2\">") != std::string::npos);
}
