// The agent's dead-man's switches, tested rather than assumed: a controller killed mid-fault
// leaves every agent to revert by lease; an agent killed mid-fault is undone by its guardian at
// once; an agent killed with its guardian reverts what it left behind when it starts again,
// before it serves.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <optional>
#include <thread>

#include "controller/fleet/agent_client.h"
#include "core/poll.h"
#include "tests/support/agent_process.h"
#include "tests/support/child_process.h"
#include "tests/support/guardian.h"
#include "tests/support/netns.h"
#include "tests/support/require_ok.h"

using namespace faultline;
using namespace faultline::test;
using namespace std::chrono_literals;

namespace {

// A bandwidth fault (a tc tree) through `agent` on fl-a of `net`; the qdiscs during it.
std::string apply_throttle(AgentProcess& agent, NamespacePair& net) {
  AgentClient client(agent.endpoint());
  RemoteFault f;
  f.owner = "run-crash";
  f.fault_id = "throttle";
  f.kind = "bandwidth";
  f.params = {{"interface", "fl-a"}, {"netns", net.a()}, {"rate", "1mbit"}};
  f.duration = 60s;
  f.lease = 60s;
  auto applied = client.apply(f, 5s);
  REQUIRE(applied);
  CHECK(applied->active);
  std::string during;
  net.exec(net.a(), "tc qdisc show dev fl-a", &during);
  REQUIRE(during.find("qdisc htb fa01: root") != std::string::npos);
  return during;
}

}  // namespace

TEST_CASE("an agent SIGKILLed mid-fault: its guardian puts the host back at once", "[agent]") {
  skip_unless_root("the agent programs a network namespace's qdiscs");
  NamespacePair net;
  TempDir dir;
  AgentProcess agent(dir, "crash-0", "plaintext: true\n");
  REQUIRE_OK(agent.start());
  std::string before, after;
  net.exec(net.a(), "tc qdisc show dev fl-a", &before);
  apply_throttle(agent, net);
  REQUIRE(guardian_of(agent.pid()));

  agent.kill_hard();
  // Nothing else is left to act: no controller revert, no lease, no restart.
  CHECK(poll_until(
      [&] {
        net.exec(net.a(), "tc qdisc show dev fl-a", &after);
        return after == before;
      },
      5s));
  CHECK(after == before);
  CHECK(poll_until(
      [&] { return read_text(agent.state_file()).find("throttle") == std::string::npos; }, 5s));
  // The next agent finds nothing to recover.
  REQUIRE_OK(agent.start());
  CHECK(agent.log().find("event=recovered") == std::string::npos);
  CHECK(agent.stop() == 0);
}

TEST_CASE(
    "an agent killed mid-fault with its guardian reverts its leftovers when it starts "
    "again, before serving",
    "[agent]") {
  skip_unless_root("the agent programs a network namespace's qdiscs");
  NamespacePair net;
  TempDir dir;
  AgentProcess agent(dir, "crash-1", "plaintext: true\n", true);
  REQUIRE_OK(agent.start());
  std::string before, after;
  net.exec(net.a(), "tc qdisc show dev fl-a", &before);
  const std::string during = apply_throttle(agent, net);

  // The OOM killer or `kill -9 -PGID`: the guardian goes too, and only the state file is left.
  REQUIRE(kill_guardian_of(agent.pid()));
  agent.kill_hard();
  std::this_thread::sleep_for(300ms);
  net.exec(net.a(), "tc qdisc show dev fl-a", &after);
  REQUIRE(after == during);  // nobody put it back: the agent died without a word
  CHECK(read_text(agent.state_file()).find("remove_tc_root") != std::string::npos);

  // start() returns once the port accepts connections: by then recovery must be done.
  REQUIRE_OK(agent.start());
  net.exec(net.a(), "tc qdisc show dev fl-a", &after);
  CHECK(after == before);
  // The port accepts a moment before the agent logs that it is ready: wait for the second
  // start's "ready" line, then check that recovery came before it.
  auto readies = [&] {
    const std::string text = agent.log();
    size_t n = 0;
    for (size_t at = text.find("event=ready"); at != std::string::npos;
         at = text.find("event=ready", at + 1))
      ++n;
    return n;
  };
  CHECK(poll_until([&] { return readies() >= 2; }, 5s));
  const std::string log = agent.log();
  CHECK(log.find("event=recovered owner=run-crash fault=throttle kind=bandwidth steps=1") !=
        std::string::npos);
  CHECK(log.rfind("event=recovered") < log.rfind("event=ready"));
  // Counted where Prometheus reads it: the metrics port opens before the gRPC port.
  const CommandResult scrape =
      run_command({"/usr/bin/curl", "-sS", "http://" + agent.metrics_address() + "/metrics"});
  REQUIRE(scrape.exit_code == 0);
  CHECK(scrape.out.find("\nfaultline_agent_faults_reverted_total{kind=\"bandwidth\","
                        "reason=\"recovery\"} 1\n") != std::string::npos);
  CHECK(read_text(agent.state_file()).find("throttle") == std::string::npos);
  AgentClient client(agent.endpoint());
  auto listed = client.list("", 2s);
  REQUIRE_OK(listed);
  CHECK(listed->empty());
  CHECK(agent.stop() == 0);
}

TEST_CASE("a controller killed mid-run leaves every agent to revert within its lease", "[agent]") {
  skip_unless_root("the agents pause processes");
  TempDir dir;
  constexpr int kAgents = 3;
  std::vector<std::unique_ptr<AgentProcess>> agents;
  std::vector<std::unique_ptr<ChildProcess>> sleepers;
  std::string inventory = "agents:\n";
  for (int i = 1; i <= kAgents; ++i) {
    const std::string name = fmt::format("ctl-{}", i);
    // Every "host" is this one machine: each agent's policy protects the other agents' targets,
    // so that each pauses its own sleeper only and its lease alone can resume it.
    agents.push_back(std::make_unique<AgentProcess>(
        dir, name,
        fmt::format("plaintext: true\npolicy:\n  protected_processes: [{{cmdline: "
                    "\"^fl-test-ctl-[^{}]\"}}]\n",
                    i)));
    REQUIRE_OK(agents.back()->start());
    inventory += fmt::format(
        "  - {{name: {}, address: \"{}\", plaintext: true, labels: {{role: "
        "app}}}}\n",
        name, agents.back()->address());
    sleepers.push_back(std::make_unique<ChildProcess>(
        "/bin/sleep", fmt::format("fl-test-ctl-{}", i), std::vector<std::string>{"1000"}));
  }
  write_text(dir.file("inventory.yaml"), inventory);
  write_text(dir.file("scenario.yaml"), R"(version: 1
title: pause one process on every app host, then lose the controller
targets:
  app:
    hosts: {labels: {role: app}}
    processes: {cmdline: "^fl-test-ctl-"}
blast_radius: {max_duration: 2m, max_processes: 3, max_hosts: 3}
phases: {before: 200ms}
faults:
  - name: pause
    target: app
    at: 0s
    duration: 60s
    process_pause: {count: all}
)");
  const pid_t controller = fork();
  REQUIRE(controller >= 0);
  if (controller == 0) {
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execl(FAULTLINE_BINARY, "faultline", "run", dir.file("scenario.yaml").c_str(), "--inventory",
          dir.file("inventory.yaml").c_str(), "--lease", "2s", nullptr);
    _exit(127);
  }
  // Each agent pauses its own sleeper; wait for all three.
  const TimePoint start = Clock::now();
  bool paused = false;
  while (!paused && Clock::now() - start < 10s) {
    paused = true;
    for (auto& s : sleepers) paused &= s->state() == 'T';
    std::this_thread::sleep_for(10ms);
  }
  REQUIRE(paused);
  std::this_thread::sleep_for(500ms);  // the run is renewing leases by now
  kill(controller, SIGKILL);
  waitpid(controller, nullptr, 0);
  const TimePoint killed = Clock::now();
  std::vector<Duration> resumed(kAgents, Duration::max());
  while (Clock::now() - killed < 5s) {
    for (int i = 0; i < kAgents; ++i)
      if (resumed[i] == Duration::max() && sleepers[i]->state() != 'T')
        resumed[i] = Clock::now() - killed;
    if (std::all_of(resumed.begin(), resumed.end(),
                    [](Duration d) { return d != Duration::max(); }))
      break;
    std::this_thread::sleep_for(5ms);
  }
  for (int i = 0; i < kAgents; ++i) {
    INFO("agent ctl-" << i + 1 << " resumed after " << to_ms(resumed[i]) << " ms");
    CHECK(resumed[i] <= 3s);  // lease 2 s + 1 s
    // No agent reverted while the controller was alive and renewing.
    CHECK(resumed[i] >= 1s);
  }
  for (auto& a : agents) {
    AgentClient client(a->endpoint());
    // A process resumes a moment before its revert returns and the fault is marked ended.
    Result<std::vector<FaultReport>> listed;
    poll_until(
        [&] {
          listed = client.list("", 2s);
          return listed && std::none_of(listed->begin(), listed->end(),
                                        [](const FaultReport& r) { return r.active; });
        },
        1s);
    REQUIRE_OK(listed);
    for (const FaultReport& r : *listed) {
      CHECK_FALSE(r.active);
      CHECK(r.ended_by == "lease");
    }
  }
}

namespace {

RemoteFault pause_of(const std::string& name) {
  RemoteFault f;
  f.owner = "run-fails";
  f.fault_id = "pause";
  f.kind = "process_pause";
  f.params = {{"count", "1"}};
  f.selector.name = name;
  f.duration = 60s;
  f.lease = 60s;
  f.max_processes = 1;
  return f;
}

// FAULTLINE_TEST_FAIL_REVERTS for the agents started while it lives.
struct FailingReverts {
  explicit FailingReverts(int n) {
    ::setenv("FAULTLINE_TEST_FAIL_REVERTS", std::to_string(n).c_str(), 1);
  }
  ~FailingReverts() { ::unsetenv("FAULTLINE_TEST_FAIL_REVERTS"); }
};

}  // namespace

TEST_CASE("a revert that fails: the agent keeps the undo in its state file and tries again",
          "[agent]") {
  skip_unless_root("the agent pauses a process");
  TempDir dir;
  ChildProcess sleeper("/bin/sleep", "fl-test-retry", {"1000"});
  std::optional<FailingReverts> failing(3);
  AgentProcess agent(dir, "retry-1", "plaintext: true\n");
  REQUIRE_OK(agent.start());
  failing.reset();
  AgentClient client(agent.endpoint());
  REQUIRE(client.apply(pause_of("fl-test-retry"), 5s));
  REQUIRE(sleeper.state() == 'T');
  auto reverted = client.revert("run-fails", "pause", 5s);
  REQUIRE(reverted);
  REQUIRE(reverted->size() == 1);
  CHECK((*reverted)[0].active);
  CHECK((*reverted)[0].revert_error ==
        "the revert failed on purpose (FAULTLINE_TEST_FAIL_REVERTS)");
  CHECK(sleeper.state() == 'T');
  // The undo stays on disk, with why it is still there.
  const std::string state = read_text(agent.state_file());
  CHECK(state.find("\"resume\"") != std::string::npos);
  CHECK(state.find("the revert failed on purpose") != std::string::npos);
  // Tried again every tick: the third failure is the last, and the next try works.
  CHECK(poll_until([&] { return sleeper.state() != 'T'; }, 3s));
  CHECK(poll_until(
      [&] { return read_text(agent.state_file()).find("resume") == std::string::npos; }, 3s));
  // The process resumes a moment before the revert returns and the fault is marked ended.
  Result<std::vector<FaultReport>> listed;
  CHECK(poll_until(
      [&] {
        listed = client.list("run-fails", 2s);
        return listed && listed->size() == 1 && !(*listed)[0].active;
      },
      2s));
  REQUIRE(listed);
  REQUIRE(listed->size() == 1);
  CHECK_FALSE((*listed)[0].active);
  CHECK((*listed)[0].revert_error.empty());
  const std::string log = agent.log();
  CHECK(
      log.find("event=revert_failed owner=run-fails fault=pause ended_by=controller attempts=1") !=
      std::string::npos);
  CHECK(agent.stop() == 0);
}

TEST_CASE(
    "SIGTERM while an undo cannot be done: the agent exits non-zero and its guardian "
    "puts the host back",
    "[agent]") {
  skip_unless_root("the agent pauses a process");
  TempDir dir;
  ChildProcess sleeper("/bin/sleep", "fl-test-term-fail", {"1000"});
  std::optional<FailingReverts> failing(1000000);
  AgentProcess agent(dir, "termfail-1", "plaintext: true\n");
  REQUIRE_OK(agent.start());
  failing.reset();
  AgentClient client(agent.endpoint());
  REQUIRE(client.apply(pause_of("fl-test-term-fail"), 5s));
  REQUIRE(sleeper.state() == 'T');
  CHECK(agent.stop() == 1);
  CHECK(agent.log().find("event=stopped reverted_all=false") != std::string::npos);
  // The agent is gone; its guardian performs the undo that the agent's own revert could not.
  CHECK(poll_until([&] { return sleeper.state() != 'T'; }, 5s));
  CHECK(poll_until(
      [&] { return read_text(agent.state_file()).find("resume") == std::string::npos; }, 5s));
}
