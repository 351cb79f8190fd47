// Local runs keep every fault's undo on disk and with a guardian (agent/local/local_undo.h): whatever
// kind the fault is, a SIGKILL of faultline leaves nothing applied, and when the guardian dies
// too, `faultline recover` puts the host back from the file. Each test keeps its undo files in
// a directory of its own (FAULTLINE_RUN_DIR), so that it sees only its own leftovers.
#include <signal.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/poll.h"
#include "tests/support/agent_process.h"
#include "tests/support/child_process.h"
#include "tests/support/guardian.h"
#include "tests/support/netns.h"
#include "tests/support/temp_dir.h"
#include "tests/support/journal_schema.h"

using namespace faultline;
using namespace faultline::test;
using namespace std::chrono_literals;

namespace {

// What a network fault may leave in namespace `ns`: its qdiscs and its links.
std::string network_state(const NamespacePair& net, const std::string& ns) {
  std::string qdiscs, links;
  net.exec(ns, "tc qdisc show", &qdiscs);
  net.exec(ns, "ip -o link show", &links);
  return qdiscs + links;
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& item : std::filesystem::directory_iterator(dir, ec))
    out.push_back(item.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// A scenario: throttle fl-a both ways (htb root, tbf, ingress qdisc, an IFB) for a minute.
std::string throttle_scenario(const TempDir& dir, const std::string& netns) {
  const std::string path = dir.file("throttle.yaml");
  write_text(path, fmt::format(R"(version: 1
title: throttle both ways, then faultline dies
blast_radius: {{max_duration: 2m}}
phases: {{before: 100ms}}
faults:
  - name: throttle
    at: 0s
    duration: 60s
    bandwidth: {{interface: fl-a, netns: {}, rate: 1mbit, direction: both}}
)",
                               netns));
  return path;
}

bool throttled(const NamespacePair& net) {
  const std::string s = network_state(net, net.a());
  return s.find("qdisc htb fa01: dev fl-a root") != std::string::npos &&
         s.find("qdisc ingress") != std::string::npos && s.find("flifb") != std::string::npos;
}

// What `faultline recover` (without --scan) prints when no file holds an undo.
constexpr const char* kNothingToRecover =
    "nothing to recover (--scan also looks for what faultline left without a record)\n";

struct RunDir {
  TempDir dir;
  RunDir() { ::setenv("FAULTLINE_RUN_DIR", dir.path().c_str(), 1); }
  ~RunDir() { ::unsetenv("FAULTLINE_RUN_DIR"); }
  std::string local() const { return dir.file("local"); }
};

}  // namespace

TEST_CASE("faultline run SIGKILLed mid-fault: the guardian removes the tc tree, ingress and IFB",
          "[undo]") {
  skip_unless_root("the fault programs a network namespace's qdiscs");
  NamespacePair net;
  RunDir run_dir;
  const std::string before = network_state(net, net.a());
  ChildProcess tool(FAULTLINE_BINARY, "faultline",
                    {"run", throttle_scenario(run_dir.dir, net.a())});
  REQUIRE(poll_until([&] { return throttled(net); }, 10s));
  // The undo is on disk while the fault is on.
  const std::vector<std::string> during = files_in(run_dir.local());
  REQUIRE(during.size() == 2);  // run-PID-MS.json and its .lock
  CHECK(read_text(run_dir.local() + "/" + during[0]).find("remove_ingress_redirect") !=
        std::string::npos);

  ::kill(tool.pid(), SIGKILL);
  REQUIRE(tool.wait_exit(2000));
  std::string after;
  CHECK(poll_until(
      [&] {
        after = network_state(net, net.a());
        return after == before;
      },
      5s));
  CHECK(after == before);
  // All undone: the guardian removed the run's file and its lock.
  CHECK(poll_until([&] { return files_in(run_dir.local()).empty(); }, 5s));
}

TEST_CASE("faultline inject SIGKILLed mid-fault: the guardian removes the tc tree", "[undo]") {
  skip_unless_root("the fault programs a network namespace's qdiscs");
  NamespacePair net;
  RunDir run_dir;
  const std::string before = network_state(net, net.a());
  ChildProcess tool(FAULTLINE_BINARY, "faultline",
                    {"inject", "bandwidth", "--duration", "60s", "interface=fl-a",
                     "netns=" + net.a(), "rate=1mbit", "direction=both"});
  REQUIRE(poll_until([&] { return throttled(net); }, 10s));
  ::kill(tool.pid(), SIGKILL);
  REQUIRE(tool.wait_exit(2000));
  std::string after;
  CHECK(poll_until(
      [&] {
        after = network_state(net, net.a());
        return after == before;
      },
      5s));
  CHECK(after == before);
  CHECK(poll_until([&] { return files_in(run_dir.local()).empty(); }, 5s));
}

TEST_CASE(
    "faultline and its guardian both killed: run, inject and plan warn, and recover puts "
    "the host back",
    "[undo]") {
  skip_unless_root("the fault programs a network namespace's qdiscs and pauses a process");
  NamespacePair net;
  RunDir run_dir;
  ChildProcess sleeper("/bin/sleep", "fl-test-double", {"1000"});
  const std::string before = network_state(net, net.a());
  const std::string scenario = run_dir.dir.file("both.yaml");
  write_text(scenario, fmt::format(R"(version: 1
title: two faults, then faultline and its guardian die
targets:
  sleeper: {{processes: {{name: fl-test-double}}}}
blast_radius: {{max_duration: 2m, max_processes: 1}}
phases: {{before: 100ms}}
faults:
  - name: throttle
    at: 0s
    duration: 60s
    bandwidth: {{interface: fl-a, netns: {}, rate: 1mbit, direction: both}}
  - name: pause
    target: sleeper
    at: 0s
    duration: 60s
    process_pause: {{}}
)",
                                   net.a()));
  ChildProcess tool(FAULTLINE_BINARY, "faultline", {"run", scenario});
  REQUIRE(poll_until([&] { return throttled(net) && sleeper.state() == 'T'; }, 10s));
  // As `kill -9 -PGID` or the OOM killer would: the guardian first, so it cannot act.
  REQUIRE(kill_guardian_of(tool.pid()));
  ::kill(tool.pid(), SIGKILL);
  REQUIRE(tool.wait_exit(2000));
  std::this_thread::sleep_for(300ms);
  CHECK(throttled(net));
  CHECK(sleeper.state() == 'T');
  const std::vector<std::string> left = files_in(run_dir.local());
  REQUIRE(left.size() == 2);
  const std::string file = run_dir.local() + "/" + left[0];

  // Every command that may touch the host says so before it does anything.
  const std::string warning = fmt::format(
      "faultline: warning: a faultline that is gone left 2 fault(s) applied: bandwidth "
      "'throttle', process_pause 'pause' on this host ({}); `faultline recover` puts them back\n",
      file);
  const CommandResult plan = run_command({FAULTLINE_BINARY, "plan", scenario});
  CHECK(plan.err.starts_with(warning));
  const CommandResult inject = run_command({FAULTLINE_BINARY, "inject", "nope"});
  CHECK(inject.exit_code == 2);  // an unknown kind: refused before the warning matters
  const CommandResult validate_only =
      run_command({FAULTLINE_BINARY, "inject", "cpu_stress", "load=500"});
  CHECK(validate_only.exit_code == 2);
  const CommandResult run_bad = run_command({FAULTLINE_BINARY, "run", scenario + ".missing"});
  CHECK(run_bad.exit_code == 2);

  const CommandResult recovered = run_command({FAULTLINE_BINARY, "recover"});
  INFO(recovered.out << recovered.err);
  CHECK(recovered.exit_code == 0);
  CHECK(recovered.out.find("put back: bandwidth 'throttle'") != std::string::npos);
  CHECK(recovered.out.find("put back: process_pause 'pause'") != std::string::npos);
  CHECK(recovered.out.find("2 put back, 0 could not be\n") != std::string::npos);
  CHECK(network_state(net, net.a()) == before);
  CHECK(sleeper.state() != 'T');
  CHECK(files_in(run_dir.local()).empty());
  // Nothing is left to warn of, or to recover.
  CHECK(run_command({FAULTLINE_BINARY, "plan", scenario}).err.find("warning: a faultline") ==
        std::string::npos);
  const CommandResult again = run_command({FAULTLINE_BINARY, "recover"});
  CHECK(again.exit_code == 0);
  CHECK(again.out == kNothingToRecover);
}

TEST_CASE("a live run's undo file is no leftover: recover leaves it alone", "[undo]") {
  skip_unless_root("the fault pauses a process");
  RunDir run_dir;
  ChildProcess sleeper("/bin/sleep", "fl-test-live", {"1000"});
  ChildProcess tool(FAULTLINE_BINARY, "faultline",
                    {"inject", "process_pause", "--duration", "30s", "name=fl-test-live"});
  REQUIRE(poll_until([&] { return sleeper.state() == 'T'; }, 10s));
  const CommandResult recovered = run_command({FAULTLINE_BINARY, "recover"});
  CHECK(recovered.exit_code == 0);
  CHECK(recovered.out == kNothingToRecover);
  CHECK(sleeper.state() == 'T');  // still the live inject's to end
  ::kill(tool.pid(), SIGINT);
  REQUIRE(tool.wait_exit(5000));
  CHECK(sleeper.state() != 'T');
  CHECK(files_in(run_dir.local()).empty());
}

TEST_CASE("a revert that fails on purpose: run exits 5, says so, and the guardian puts it back",
          "[undo]") {
  skip_unless_root("the fault pauses a process");
  RunDir run_dir;
  ChildProcess sleeper("/bin/sleep", "fl-test-fail-revert", {"1000"});
  const std::string scenario = run_dir.dir.file("pause.yaml");
  write_text(scenario, R"(version: 1
title: a pause whose revert fails
targets:
  sleeper: {processes: {name: fl-test-fail-revert}}
blast_radius: {max_duration: 1m, max_processes: 1}
phases: {before: 100ms, after: 100ms}
recovery: {within: 100ms}
faults:
  - name: pause
    target: sleeper
    at: 0s
    duration: 300ms
    process_pause: {}
)");
  const std::string journal = run_dir.dir.file("journal.json");
  ::setenv("FAULTLINE_TEST_FAIL_REVERTS", "1000", 1);
  const CommandResult r = run_command({FAULTLINE_BINARY, "run", scenario, "--journal", journal});
  ::unsetenv("FAULTLINE_TEST_FAIL_REVERTS");
  INFO(r.out << r.err);
  CHECK(r.exit_code == 5);
  CHECK(r.out.find("revert_failed") != std::string::npos);
  const nlohmann::json j = nlohmann::json::parse(read_text(journal));
  faultline::test::check_journal_schema(journal);
  CHECK(j["status"] == "revert_failed");
  REQUIRE(j["faults"].size() == 1);
  CHECK(j["faults"][0]["revert_error"] ==
        "the revert failed on purpose (FAULTLINE_TEST_FAIL_REVERTS)");
  CHECK(r.err.find("faultline: undo kept in " + run_dir.local() + "/run-") != std::string::npos);
  // faultline has exited; its guardian performs the kept undo (the undo steps themselves work).
  CHECK(poll_until([&] { return sleeper.state() != 'T'; }, 5s));
  CHECK(poll_until([&] { return files_in(run_dir.local()).empty(); }, 5s));
}

TEST_CASE(
    "recover --scan: what nothing recorded is found by name and removed, and a live run's "
    "fault is left alone",
    "[undo]") {
  skip_unless_root("the faults program network namespaces' qdiscs and nftables");
  NamespacePair net;
  RunDir run_dir;
  const std::string before_a = network_state(net, net.a());
  const std::string before_b = network_state(net, net.b());
  // A run killed with its guardian, whose file is lost too (a container's /run is gone).
  ChildProcess dead(FAULTLINE_BINARY, "faultline",
                    {"run", throttle_scenario(run_dir.dir, net.a())});
  REQUIRE(poll_until([&] { return throttled(net); }, 10s));
  REQUIRE(kill_guardian_of(dead.pid()));
  ::kill(dead.pid(), SIGKILL);
  REQUIRE(dead.wait_exit(2000));
  std::filesystem::remove_all(run_dir.local());
  // A live inject on the other side of the pair: its tree is held, and must stay.
  ChildProcess live(FAULTLINE_BINARY, "faultline",
                    {"inject", "bandwidth", "--duration", "30s", "interface=fl-b",
                     "netns=" + net.b(), "rate=2mbit"});
  REQUIRE(poll_until(
      [&] {
        return network_state(net, net.b()).find("qdisc htb fa01: dev fl-b root") !=
               std::string::npos;
      },
      10s));

  CHECK(run_command({FAULTLINE_BINARY, "recover"}).out.starts_with("nothing to recover"));
  const CommandResult scanned = run_command({FAULTLINE_BINARY, "recover", "--scan"});
  INFO(scanned.out << scanned.err);
  CHECK(scanned.exit_code == 0);
  CHECK(scanned.out.find("removed: tc root fa01: on fl-a") != std::string::npos);
  CHECK(scanned.out.find("removed: IFB flifb") != std::string::npos);
  CHECK(scanned.out.find("left alone (held by a running faultline): tc root fa01: on fl-b") !=
        std::string::npos);
  CHECK(network_state(net, net.a()) == before_a);
  CHECK(network_state(net, net.b()) != before_b);

  ::kill(live.pid(), SIGINT);
  REQUIRE(live.wait_exit(5000));
  CHECK(network_state(net, net.b()) == before_b);
}

// Found by the kill-anywhere soak (tests/soak/): a run killed with its guardian before its first
// fault leaves only its lock, which no leftover lists; recover must not leave it there forever.
TEST_CASE("faultline and its guardian both killed before any fault: recover removes the lock",
          "[undo]") {
  skip_unless_root("faultline run keeps its undo under a run directory with a lock");
  RunDir run_dir;
  ChildProcess sleeper("/bin/sleep", "fl-test-early", {"1000"});
  const std::string scenario = run_dir.dir.file("early.yaml");
  write_text(scenario, R"(version: 1
title: killed in the before phase, with its guardian
targets:
  sleeper: {processes: {name: fl-test-early}}
blast_radius: {max_duration: 2m, max_processes: 1}
phases: {before: 60s}
faults:
  - name: pause
    target: sleeper
    at: 0s
    duration: 1s
    process_pause: {}
)");
  ChildProcess tool(FAULTLINE_BINARY, "faultline", {"run", scenario});
  REQUIRE(poll_until([&] { return guardian_of(tool.pid()).has_value(); }, 10s));
  REQUIRE(kill_guardian_of(tool.pid()));
  ::kill(tool.pid(), SIGKILL);
  REQUIRE(tool.wait_exit(2000));
  const std::vector<std::string> left = files_in(run_dir.local());
  REQUIRE(left.size() == 1);
  CHECK(left[0].ends_with(".json.lock"));

  const CommandResult recovered = run_command({FAULTLINE_BINARY, "recover"});
  INFO(recovered.out << recovered.err);
  CHECK(recovered.exit_code == 0);
  CHECK(recovered.out == kNothingToRecover);
  CHECK(files_in(run_dir.local()).empty());
  CHECK(sleeper.state() != 'T');
}

TEST_CASE("recover leaves a live run's lock alone, even before its first undo", "[undo]") {
  skip_unless_root("faultline run keeps its undo under a run directory with a lock");
  RunDir run_dir;
  ChildProcess sleeper("/bin/sleep", "fl-test-early-live", {"1000"});
  const std::string scenario = run_dir.dir.file("early.yaml");
  write_text(scenario, R"(version: 1
title: alive in the before phase
targets:
  sleeper: {processes: {name: fl-test-early-live}}
blast_radius: {max_duration: 2m, max_processes: 1}
phases: {before: 60s}
faults:
  - name: pause
    target: sleeper
    at: 0s
    duration: 1s
    process_pause: {}
)");
  ChildProcess tool(FAULTLINE_BINARY, "faultline", {"run", scenario});
  REQUIRE(poll_until([&] { return guardian_of(tool.pid()).has_value(); }, 10s));
  const std::vector<std::string> before = files_in(run_dir.local());
  REQUIRE(before.size() == 1);
  const CommandResult recovered = run_command({FAULTLINE_BINARY, "recover"});
  CHECK(recovered.out == kNothingToRecover);
  CHECK(files_in(run_dir.local()) == before);
  ::kill(tool.pid(), SIGINT);
  REQUIRE(tool.wait_exit(5000));
  CHECK(files_in(run_dir.local()).empty());
}
