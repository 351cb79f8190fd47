// The scenario's blast_radius.protected reaches the agents: a real agent, two processes of the
// same name, one of them protected by the scenario (by its pid file). The agent picks only the
// other one and never signals the protected one; its own policy still holds beside the
// scenario's, which can add to it but never loosen it. Container fields the agent must not take
// (too long, of the wrong form) are refused by name before anything is looked at.
#include <catch2/catch.hpp>

#include "controller/fleet/agent_client.h"
#include "tests/support/agent_process.h"
#include "tests/support/require_ok.h"
#include "tests/support/child_process.h"

using namespace faultline;
using namespace faultline::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* kTwin = "fl-test-twin";

// Two sleeping processes both named kTwin, and the pid file of each.
struct Twins {
  ChildProcess kept{"/bin/sleep", kTwin, {"1000"}};
  ChildProcess other{"/bin/sleep", kTwin, {"1000"}};
  std::string kept_pidfile, other_pidfile;

  explicit Twins(const TempDir& dir)
      : kept_pidfile(dir.file("kept.pid")), other_pidfile(dir.file("other.pid")) {
    write_text(kept_pidfile, std::to_string(kept.pid()) + "\n");
    write_text(other_pidfile, std::to_string(other.pid()) + "\n");
  }
};

ProcessSelector by_pidfile(const std::string& path) {
  ProcessSelector s;
  s.pidfile = path;
  return s;
}

RemoteFault pause_twins(const std::string& id, const std::string& count) {
  RemoteFault f;
  f.owner = "prot-run";
  f.fault_id = id;
  f.kind = "process_pause";
  f.params = {{"count", count}};
  f.selector.name = kTwin;
  f.duration = 30s;
  f.lease = 10s;
  f.max_processes = 2;
  return f;
}

std::vector<pid_t> paused_pids(const FaultReport& r) {
  std::vector<pid_t> out;
  for (const auto& t : r.observed["processes"]) out.push_back(t["pid"].get<pid_t>());
  return out;
}

}  // namespace

TEST_CASE("a run's blast_radius.protected keeps a process of the target's name from the agent",
          "[agent]") {
  skip_unless_root("the agent kills processes");
  TempDir dir;
  AgentProcess agent(dir, "prot-run-1", "plaintext: true\n");
  REQUIRE_OK(agent.start());
  Twins twins(dir);
  const std::string inventory = dir.file("inventory.yaml");
  write_text(inventory, fmt::format("agents:\n  - {{name: prot-run-1, address: \"{}\", "
                                    "plaintext: true}}\n",
                                    agent.address()));
  const std::string scenario = dir.file("scenario.yaml");
  // count: all, and room for both: only the scenario's protection keeps the first twin alive.
  write_text(scenario, fmt::format(R"(version: 1
title: kill every twin but the protected one
targets:
  twins:
    hosts: {{names: [prot-run-1]}}
    processes: {{name: {}}}
blast_radius:
  max_duration: 1m
  max_processes: 2
  protected:
    - pidfile: {}
phases: {{before: 200ms, after: 200ms}}
recovery: {{within: 200ms}}
faults:
  - name: kill
    target: twins
    at: 0s
    process_kill: {{count: all}}
)",
                                   kTwin, twins.kept_pidfile));
  const CommandResult r =
      run_command({FAULTLINE_BINARY, "run", scenario, "--inventory", inventory, "--seed", "1"});
  INFO(r.out << r.err << "\nagent log:\n" << agent.log());
  CHECK(r.exit_code == 0);
  CHECK(twins.other.wait_exit(5000));
  // Never signalled: alive and not stopped.
  CHECK_FALSE(twins.kept.exited());
  CHECK(twins.kept.state() == 'S');
  CHECK(r.out.find("kill [process_kill] on prot-run-1, applied at") != std::string::npos);
  CHECK(r.out.find(fmt::format("SIGKILL to all (name='{}'): 1/1 exited", kTwin)) !=
        std::string::npos);
  CHECK(agent.stop() == 0);
}

TEST_CASE(
    "the agent picks only unprotected processes, and refuses when the protection covers "
    "them all",
    "[agent]") {
  skip_unless_root("the agent pauses processes");
  TempDir dir;
  AgentProcess agent(dir, "prot-1", "plaintext: true\n");
  REQUIRE_OK(agent.start());
  Twins twins(dir);
  AgentClient client(agent.endpoint());

  SECTION("count 2 finds one eligible twin and pauses only it") {
    RemoteFault f = pause_twins("two", "2");
    f.protected_processes = {by_pidfile(twins.kept_pidfile)};
    auto applied = client.apply(f, 5s);
    INFO("agent log:\n" << agent.log());
    REQUIRE(applied);
    CHECK(paused_pids(*applied) == std::vector<pid_t>{twins.other.pid()});
    CHECK(twins.other.state() == 'T');
    CHECK(twins.kept.state() == 'S');
    auto reverted = client.revert("prot-run", "two", 5s);
    REQUIRE(reverted);
    CHECK(twins.other.state() == 'S');
  }
  SECTION("both protected: refused, with the first protected one and why") {
    RemoteFault f = pause_twins("all", "all");
    f.protected_processes = {by_pidfile(twins.kept_pidfile), by_pidfile(twins.other_pidfile)};
    auto applied = client.apply(f, 5s);
    REQUIRE_FALSE(applied);
    const pid_t first = std::min(twins.kept.pid(), twins.other.pid());
    CHECK(applied.error().message ==
          fmt::format("agent prot-1: apply all: name='{}' matches only protected processes (pid "
                      "{}: protected by blast_radius.protected: pidfile='{}')",
                      kTwin, first,
                      first == twins.kept.pid() ? twins.kept_pidfile : twins.other_pidfile));
  }
  CHECK(twins.kept.state() == 'S');
  CHECK(twins.other.state() == 'S');
  CHECK(agent.stop() == 0);
}

TEST_CASE("the scenario's protection adds to the agent's policy and cannot loosen it", "[agent]") {
  skip_unless_root("the agent pauses processes");
  TempDir dir;
  Twins twins(dir);
  // The agent's own policy protects one twin, the scenario the other (and asks for nothing
  // about the first): both hold, so nothing is left to pause.
  AgentProcess agent(dir, "prot-2",
                     fmt::format("plaintext: true\npolicy:\n  protected_processes: "
                                 "[{{pidfile: {}}}]\n",
                                 twins.kept_pidfile));
  REQUIRE_OK(agent.start());
  AgentClient client(agent.endpoint());
  RemoteFault f = pause_twins("both", "all");
  f.protected_processes = {by_pidfile(twins.other_pidfile)};
  auto applied = client.apply(f, 5s);
  REQUIRE_FALSE(applied);
  const pid_t first = std::min(twins.kept.pid(), twins.other.pid());
  const std::string why =
      first == twins.kept.pid()
          ? fmt::format(
                "protected by the agent's policy.protected_processes: "
                "pidfile='{}'",
                twins.kept_pidfile)
          : fmt::format("protected by blast_radius.protected: pidfile='{}'", twins.other_pidfile);
  CHECK(applied.error().message ==
        fmt::format("agent prot-2: apply both: name='{}' matches only protected processes (pid "
                    "{}: {})",
                    kTwin, first, why));
  CHECK(twins.kept.state() == 'S');
  CHECK(twins.other.state() == 'S');

  // A selector the agent must not take is refused before anything is looked at.
  RemoteFault bad = pause_twins("bad", "all");
  bad.protected_processes = {ProcessSelector{}};
  auto refused = client.apply(bad, 5s);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message ==
        "agent prot-2: apply bad: protected_processes[0] selects nothing");
  CHECK(agent.stop() == 0);
}

TEST_CASE("container fields an agent must not take are refused by name and none applied",
          "[agent]") {
  skip_unless_root("the agent runs as root");
  TempDir dir;
  AgentProcess agent(dir, "prot-3",
                     "plaintext: true\npolicy:\n  protected_containers: [{name: 'etcd-*'}]\n");
  REQUIRE_OK(agent.start());
  AgentClient client(agent.endpoint());
  ContainerSelector web;
  web.runtime = "docker";
  web.name = "web-*";

  RemoteFault runtime = pause_twins("bad-runtime", "1");
  runtime.containers = web;
  runtime.containers->runtime = "rkt";
  runtime.max_containers = 1;
  auto refused = client.apply(runtime, 5s);
  REQUIRE_FALSE(refused);
  CHECK_FALSE(refused.error().refused);
  CHECK(refused.error().message ==
        "agent prot-3: apply bad-runtime: containers.runtime 'rkt' is not known; use auto, "
        "docker, podman, containerd or cri-o");

  RemoteFault too_many = pause_twins("too-many", "1");
  too_many.containers = web;
  too_many.max_containers = 100001;
  refused = client.apply(too_many, 5s);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message ==
        "agent prot-3: apply too-many: max_containers 100001 is not 1 to 100000");

  RemoteFault image = pause_twins("long-image", "1");
  image.containers = web;
  image.max_containers = 1;
  image.protected_containers = {ContainerSelector{.image = std::string(256, 'i')}};
  refused = client.apply(image, 5s);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message ==
        "agent prot-3: apply long-image: protected_containers[0].image is longer than 255 "
        "characters");

  auto listed = client.list("prot-run", 5s);
  REQUIRE(listed);
  CHECK(listed->empty());
  CHECK(agent.stop() == 0);
}
