// The userspace network backend end to end, through the faultline binary: what a user runs on a
// kernel without sch_netem. faultline acts in a namespace the test made (the `netns` parameter),
// never in the host's.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/defer.h"
#include "core/poll.h"
#include "injectors/network/backend_choice.h"
#include "injectors/process/proc.h"
#include "tests/support/child_process.h"
#include "tests/support/netns.h"
#include "tests/support/require_ok.h"
#include "tests/support/rtt_probe.h"
#include "tests/support/temp_dir.h"

using namespace faultline;
using namespace faultline::test;
using namespace std::chrono_literals;

namespace {

void skip_without_userspace_backend() {
  Params p;
  p.set("backend", std::string("userspace"));
  if (auto choice = choose_network_backend(p); !choice) {
    std::printf("SKIPPED: %s\n", choice.error().message.c_str());
    std::fflush(stdout);
    std::_Exit(77);
  }
}

// One UDP echo round trip from namespace a, in ms (-1 when no answer came within `wait_ms`).
double one_echo(const NamespacePair& net, int wait_ms) {
  double rtt = -1;
  net.run_in(net.a(), [&] {
    const auto rtts = udp_echo_rtts(TestNetwork::kAddress4B, 7777, 1, wait_ms);
    if (!rtts.empty()) rtt = rtts.front();
  });
  return rtt;
}

}  // namespace

TEST_CASE("faultline inject SIGKILLed mid-fault: the scoped traffic flows again within 1 s and "
          "no rule or queue or process is left",
          "[network-userspace]") {
  skip_without_userspace_backend();
  NamespacePair net;
  NetnsThread b(net.b());
  UdpEcho echo(b, 7777);
  // The guardian outlives faultline; as a subreaper this test inherits it and reaps it.
  REQUIRE(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
  Defer no_longer_subreaper([] { prctl(PR_SET_CHILD_SUBREAPER, 0); });
  TempDir run_dir;
  ::setenv("FAULTLINE_RUN_DIR", run_dir.path().c_str(), 1);
  Defer unset([] { ::unsetenv("FAULTLINE_RUN_DIR"); });
  ChildProcess tool(FAULTLINE_BINARY, "faultline",
                    {"inject", "network", "--duration", "60s", "interface=fl-a",
                     "netns=" + net.a(), "delay=100ms", "destination=10.200.0.2/32",
                     "backend=userspace"});
  REQUIRE(poll_until([&] { return one_echo(net, 1000) >= 95.0; }, 20s, 10ms));
  pid_t guardian = 0;
  for (const ProcessInfo& p : scan_processes(false))
    if (p.ppid == tool.pid() && p.comm == "faultline-guard") guardian = p.pid;

  const auto killed = std::chrono::steady_clock::now();
  ::kill(tool.pid(), SIGKILL);
  // Echoes every few ms until one comes back undelayed.
  double flowing_after_ms = -1;
  while (std::chrono::steady_clock::now() - killed < 5s) {
    const double rtt = one_echo(net, 15);
    if (rtt >= 0 && rtt < 10.0) {
      flowing_after_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - killed)
              .count();
      break;
    }
  }
  std::printf("SIGKILL of faultline: traffic undelayed again after %.1f ms\n", flowing_after_ms);
  std::fflush(stdout);
  REQUIRE(tool.wait_exit(2000));
  CHECK(flowing_after_ms >= 0);
  CHECK(flowing_after_ms < 1000.0);
  if (guardian != 0)
    CHECK(poll_until([&] { return waitpid(guardian, nullptr, WNOHANG) == guardian; }, 5s));
  std::string tables, queues;
  net.exec(net.a(), "nft list tables", &tables);
  net.exec(net.a(), "cat /proc/net/netfilter/nfnetlink_queue", &queues);
  CHECK(tables.empty());
  CHECK(queues.empty());
}

TEST_CASE("scenarios/slow-network.yaml runs: the probe sees the delay during the fault and the "
          "journal shows how long packets were held",
          "[network-userspace]") {
  NamespacePair net;
  // A listener on 18080 inside namespace a, where faultline runs the scenario (its `lo`).
  NetnsThread a(net.a());
  Listener listener(a, {18080});
  TempDir dir;
  const std::string journal = dir.path() + "/journal.json";
  std::string out;
  const int code = net.exec(net.a(), std::string(FAULTLINE_BINARY) + " run " +
                                         FAULTLINE_SOURCE_DIR "/scenarios/slow-network.yaml" +
                                         " --journal " + journal,
                            &out);
  INFO(out);
  REQUIRE(code == 0);
  std::ifstream in(journal);
  const nlohmann::json j = nlohmann::json::parse(in);
  const nlohmann::json& fault = j["faults"][0];
  INFO(fault.dump(2));
  CHECK(fault["confirmed"] == true);
  Params auto_backend;
  const auto here = choose_network_backend(auto_backend);
  REQUIRE_OK(here);
  CHECK(fault["observed"]["backend"] == std::string(backend_name(here->backend)));
  if (here->backend == NetworkBackend::Userspace) {
    // Every SYN to 18080 during the fault was held for the delay (100 ms; the verdict a few
    // hundred microseconds late at most).
    const nlohmann::json& held = fault["observed"]["queue"]["held"];
    CHECK(held["samples"].get<int>() >= 10);
    CHECK(held["p50_us"].get<double>() >= 100000.0);
    CHECK(held["p50_us"].get<double>() <= 102000.0);
  }
  // The probe's connects while the fault was on took the delay; before it, they did not. The
  // window is the journal's own apply and revert times (applied_ms is when apply began), less
  // half a second at the start for apply itself on a loaded machine, and a check's length at the
  // end (a SYN held when the fault is reverted leaves at once).
  const double applied = fault["applied_ms"].get<double>();
  const double reverted = fault["reverted_ms"].get<double>();
  int slow_during = 0, during = 0, slow_before = 0;
  for (const nlohmann::json& check : j["probes"][0]["checks"]) {
    if (!check.contains("latency_ms")) continue;
    const bool slow = check["latency_ms"].get<double>() >= 99.0;
    if (check["phase"] == "before" && slow) ++slow_before;
    if (check["t_ms"].get<double>() > applied + 500.0 &&
        check["t_ms"].get<double>() < reverted - 250.0) {
      ++during;
      if (slow) ++slow_during;
    }
  }
  CHECK(slow_before == 0);
  INFO("applied at " << applied << " ms, reverted at " << reverted << " ms");
  CHECK(during >= 8);
  CHECK(slow_during == during);
}
