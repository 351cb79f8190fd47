// faultline-agent's Prometheus metrics, read the way a user reads them: a real Prometheus
// (Debian's) scrapes a real agent (mutual TLS on its gRPC port, metrics on a loopback port of
// their own) while faults are applied, fail to revert, are reverted, run out of lease and are
// refused; then Prometheus's HTTP API must return those counts.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "controller/fleet/agent_client.h"
#include "tests/support/agent_process.h"
#include "tests/support/child_process.h"
#include "tests/support/prometheus_server.h"
#include "tests/support/require_ok.h"

using namespace faultline;
using namespace faultline::test;
using namespace std::chrono_literals;

namespace {

RemoteFault pause_fault(const std::string& id, const std::string& name, Duration lease) {
  RemoteFault f;
  f.owner = "run-metrics";
  f.fault_id = id;
  f.kind = "process_pause";
  f.params = {{"count", "1"}};
  f.selector.name = name;
  f.duration = 60s;
  f.lease = lease;
  f.max_processes = 1;
  return f;
}

// Waits up to `limit` for `cond`.
template <typename F>
bool wait_for(F&& cond, Duration limit) {
  const TimePoint until = Clock::now() + limit;
  while (Clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

bool port_accepts(const std::string& address) {
  const size_t colon = address.rfind(':');
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  inet_pton(AF_INET, address.substr(0, colon).c_str(), &a.sin_addr);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

// What Prometheus answers for each query, once every one has its expected value or `until`
// has passed (the values as last read, for the caller to compare).
std::map<std::string, std::optional<double>> settle(
    const PrometheusServer& prometheus, const std::map<std::string, std::optional<double>>& want,
    TimePoint until) {
  std::map<std::string, std::optional<double>> got;
  for (;;) {
    for (const auto& [query, value] : want) {
      auto answer = prometheus.query(query);
      REQUIRE_OK(answer);
      got[query] = *answer;
    }
    if (got == want || Clock::now() >= until) return got;
    std::this_thread::sleep_for(100ms);
  }
}

// One line per query: "QUERY = VALUE".
std::string describe(const std::map<std::string, std::optional<double>>& values) {
  std::string out;
  for (const auto& [query, value] : values)
    out += query + " = " + (value ? fmt::format("{}", *value) : "(no series)") + "\n";
  return out;
}

}  // namespace

TEST_CASE("Prometheus scrapes the agent's metrics while faults come and go", "[agent][metrics]") {
  skip_unless_root("the agent pauses processes");
  PrometheusServer::skip_unless_installed();
  TempDir dir;
  ClusterCerts certs(dir.file("certs"), {"metrics-1"});
  ChildProcess a("/bin/sleep", "fl-test-metrics-a", {"1000"});
  ChildProcess b("/bin/sleep", "fl-test-metrics-b", {"1000"});

  AgentProcess agent(dir, "metrics-1",
                     certs.agent_config("metrics-1") + "policy: {allowed_kinds: [process_pause]}\n",
                     true);
  const std::string metrics_address = agent.metrics_address();
  // The agent's first revert fails (as a real failure would leave it); it retries on its tick.
  REQUIRE_OK(agent.start({"FAULTLINE_TEST_FAIL_REVERTS=1"}));
  PrometheusServer prometheus(dir, "faultline-agent", {metrics_address}, 250ms);
  REQUIRE_OK(prometheus.start());

  AgentClient client(agent.endpoint(certs.controller()));
  // Applied, then reverted by the controller; the first try fails, the agent's retry works.
  REQUIRE_OK(client.apply(pause_fault("m-1", "fl-test-metrics-a", 10s), 5s));
  REQUIRE(a.state() == 'T');
  REQUIRE_OK(client.revert("run-metrics", "m-1", 5s));
  REQUIRE(wait_for([&] { return a.state() != 'T'; }, 10s));
  // Applied with a short lease that nobody renews: the agent ends it.
  REQUIRE_OK(client.apply(pause_fault("m-2", "fl-test-metrics-a", 500ms), 5s));
  REQUIRE(wait_for([&] { return a.state() != 'T'; }, 10s));
  // Applied and left active.
  REQUIRE_OK(client.apply(pause_fault("m-3", "fl-test-metrics-b", 60s), 5s));
  REQUIRE(b.state() == 'T');
  // Refused by the agent's policy: PERMISSION_DENIED.
  RemoteFault cpu = pause_fault("m-4", "fl-test-metrics-b", 10s);
  cpu.kind = "cpu_stress";
  cpu.params = {{"load", "50"}};
  REQUIRE_FALSE(client.apply(cpu, 5s));

  // Prometheus scrapes every 250 ms, starting up to 5 s after it is ready.
  const std::string pause = R"(kind="process_pause")";
  const std::map<std::string, std::optional<double>> while_active = {
      {R"(up{job="faultline-agent"})", 1},
      {"faultline_agent_build_info{version=\"" FAULTLINE_VERSION "\"}", 1},
      {"sum(faultline_agent_faults_applied_total)", 3},
      {"faultline_agent_faults_applied_total{" + pause + "}", 3},
      {"faultline_agent_faults_reverted_total{" + pause + ",reason=\"revert\"}", 1},
      {"faultline_agent_faults_reverted_total{" + pause + ",reason=\"lease\"}", 1},
      {"sum(faultline_agent_faults_reverted_total)", 2},
      {"faultline_agent_faults_revert_failed_total{" + pause + "}", 1},
      {"faultline_agent_lease_expiries_total", 1},
      {"faultline_agent_faults_active{" + pause + "}", 1},
      {"sum(faultline_agent_faults_active)", 1},
      {R"(faultline_agent_rpcs_total{method="Apply",code="OK"})", 3},
      {R"(faultline_agent_rpcs_total{method="Apply",code="PERMISSION_DENIED"})", 1},
      {R"(faultline_agent_rpcs_total{method="Revert",code="OK"})", 1},
      {"faultline_agent_apply_duration_seconds_count{" + pause + "}", 3},
      {R"(faultline_agent_rpc_duration_seconds_count{method="Apply"})", 4},
      // Every Apply answered within 10 s: the +Inf bucket and the 10 s one agree.
      {R"(faultline_agent_rpc_duration_seconds_bucket{method="Apply",le="10"})", 4},
  };
  const auto seen = settle(prometheus, while_active, Clock::now() + 30s);
  INFO("prometheus log:\n" << prometheus.log());
  CHECK(describe(seen) == describe(while_active));

  // The last fault goes: the gauge comes down, and the revert is counted.
  REQUIRE_OK(client.revert("run-metrics", "m-3", 5s));
  REQUIRE(wait_for([&] { return b.state() != 'T'; }, 10s));
  const std::map<std::string, std::optional<double>> after = {
      {"faultline_agent_faults_active{" + pause + "}", 0},
      {"faultline_agent_faults_reverted_total{" + pause + ",reason=\"revert\"}", 2},
      {R"(faultline_agent_rpcs_total{method="Revert",code="OK"})", 2},
  };
  const auto seen_after = settle(prometheus, after, Clock::now() + 15s);
  CHECK(describe(seen_after) == describe(after));

  // The metrics port closes with the agent, which exits 0 (everything reverted).
  CHECK(agent.stop() == 0);
  CHECK_FALSE(port_accepts(metrics_address));
  CHECK(prometheus.stop() == 0);
}
