// faultline run across several agents: a host that cannot apply a fault either stops the run
// and reverts everywhere (on_host_failure: abort, the default) or is reported while the run goes
// on (continue). The agents are real processes on loopback ports.
#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "tests/support/agent_process.h"
#include "tests/support/child_process.h"
#include "tests/support/require_ok.h"

using namespace faultline;
using namespace faultline::test;
using namespace std::chrono_literals;

namespace {

struct TwoHosts {
  TempDir dir;
  std::unique_ptr<AgentProcess> good, refusing;
  std::unique_ptr<ChildProcess> sleeper;
  std::string inventory;

  TwoHosts() {
    skip_unless_root("the agents pause processes");
    good = std::make_unique<AgentProcess>(dir, "mh-good", "plaintext: true\n");
    // Its policy protects the only process the fault could act on: apply fails there.
    refusing = std::make_unique<AgentProcess>(
        dir, "mh-refusing",
        "plaintext: true\npolicy:\n  protected_processes: [{name: fl-test-mh}]\n");
    REQUIRE_OK(good->start());
    REQUIRE_OK(refusing->start());
    sleeper = std::make_unique<ChildProcess>("/bin/sleep", "fl-test-mh",
                                             std::vector<std::string>{"1000"});
    inventory = dir.file("inventory.yaml");
    write_text(inventory,
               fmt::format("agents:\n"
                           "  - {{name: mh-good, address: \"{}\", plaintext: true}}\n"
                           "  - {{name: mh-refusing, address: \"{}\", plaintext: true}}\n",
                           good->address(), refusing->address()));
  }

  CommandResult run(const std::string& policy) {
    const std::string scenario = dir.file("scenario-" + policy + ".yaml");
    write_text(scenario, fmt::format(R"(version: 1
title: pause on two hosts, one of which refuses
on_host_failure: {}
targets:
  both:
    hosts: {{names: [mh-good, mh-refusing]}}
    processes: {{name: fl-test-mh}}
blast_radius: {{max_duration: 1m, max_processes: 1, max_hosts: 2}}
phases: {{before: 200ms, after: 200ms}}
recovery: {{within: 200ms}}
faults:
  - name: pause
    target: both
    at: 0s
    duration: 2s
    process_pause: {{count: 1}}
)",
                                     policy));
    return run_command(
        {FAULTLINE_BINARY, "run", scenario, "--inventory", inventory, "--seed", "1"});
  }
};

}  // namespace

TEST_CASE("on_host_failure: abort reverts on every host and stops the run", "[agent]") {
  TwoHosts hosts;
  const CommandResult r = hosts.run("abort");
  INFO(r.out << r.err);
  CHECK(r.exit_code == 4);
  CHECK(r.out.find("on_host_failure is abort: reverting everywhere\n") != std::string::npos);
  CHECK(r.err.find("applied pause (process_pause) on 1 of 2 hosts for 2s") != std::string::npos);
  CHECK(r.out.find("verdict: error (exit 4): fault 'pause' could not be applied on 1 of 2 hosts "
                   "(agent mh-refusing: apply pause: name='fl-test-mh' matches only protected "
                   "processes") != std::string::npos);
  CHECK(r.out.find("pause [process_pause] on mh-good for 2s, applied at") != std::string::npos);
  CHECK(hosts.sleeper->state() != 'T');
}

TEST_CASE("on_host_failure: continue reports the host and goes on with the others", "[agent]") {
  TwoHosts hosts;
  const CommandResult r = hosts.run("continue");
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("pause [process_pause] on mh-refusing for 2s, not applied\n"
                   "      apply failed: agent mh-refusing: apply pause: name='fl-test-mh' "
                   "matches only protected processes") != std::string::npos);
  CHECK(r.out.find("pause [process_pause] on mh-good for 2s, applied at") != std::string::npos);
  CHECK(hosts.sleeper->state() != 'T');
}

// A target with hosts and containers: the selector goes to every agent, and each one resolves it
// among the containers of its own host (here none match, so each says so in its own words).
TEST_CASE("a target's containers are resolved by each host's agent", "[agent]") {
  TwoHosts hosts;
  const std::string scenario = hosts.dir.file("scenario-containers.yaml");
  write_text(scenario, R"(version: 1
title: pause in containers on two hosts
on_host_failure: continue
targets:
  both:
    hosts: {names: [mh-good, mh-refusing]}
    containers: {runtime: podman, name: "fl-test-none-*", count: 1}
    processes: {name: sleep}
blast_radius: {max_duration: 1m, max_processes: 1, max_hosts: 2, max_containers: 1}
phases: {before: 200ms, after: 200ms}
recovery: {within: 200ms}
faults:
  - name: pause
    target: both
    at: 0s
    duration: 2s
    process_pause: {count: 1}
)");
  const CommandResult r = run_command(
      {FAULTLINE_BINARY, "run", scenario, "--inventory", hosts.inventory, "--seed", "1"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  for (const char* host : {"mh-good", "mh-refusing"})
    CHECK(r.out.find(fmt::format("pause [process_pause] on {} for 2s, not applied\n"
                                 "      apply failed: agent {}: apply pause: no running container "
                                 "matches runtime=podman name=fl-test-none-*",
                                 host, host)) != std::string::npos);
  CHECK(hosts.sleeper->state() != 'T');
}
