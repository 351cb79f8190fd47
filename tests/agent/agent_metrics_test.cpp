// The agent's metrics as Prometheus reads them: the exact exposition text (names, HELP and TYPE
// lines, label order, histogram buckets), the active gauge following each scrape, and counts
// that add up when the services count from several threads at once.
#include "agent/daemon/metrics/agent_metrics.h"

#include <catch2/catch.hpp>
#include <sstream>
#include <thread>

using namespace faultline;
using namespace std::chrono_literals;

namespace {

// The lines of `text` that start with `prefix`.
std::vector<std::string> lines_of(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(prefix)) out.push_back(line);
  return out;
}

}  // namespace

TEST_CASE("the agent's metrics print as Prometheus text, series sorted by labels", "[metrics]") {
  AgentMetrics metrics({"process_pause"}, "1.2.3");
  // Durations whose sums print exactly.
  metrics.fault_applied("process_pause", 250ms);
  metrics.fault_applied("process_pause", 1500ms);
  metrics.fault_reverted("process_pause", RevertReason::Lease);
  metrics.fault_reverted("process_pause", RevertReason::Recovery);
  metrics.revert_failed("process_pause");
  metrics.lease_expired();
  metrics.rpc_done("Apply", "OK", 125ms);
  metrics.rpc_done("Apply", "PERMISSION_DENIED", 500us);
  CHECK(metrics.exposition({{"process_pause", 2}}) ==
        R"(# HELP faultline_agent_faults_applied_total Faults applied, by kind.
# TYPE faultline_agent_faults_applied_total counter
faultline_agent_faults_applied_total{kind="process_pause"} 2
# HELP faultline_agent_faults_reverted_total Faults reverted, by kind and by why: end, revert, lease, deadline, shutdown, recovery.
# TYPE faultline_agent_faults_reverted_total counter
faultline_agent_faults_reverted_total{kind="process_pause",reason="deadline"} 0
faultline_agent_faults_reverted_total{kind="process_pause",reason="end"} 0
faultline_agent_faults_reverted_total{kind="process_pause",reason="lease"} 1
faultline_agent_faults_reverted_total{kind="process_pause",reason="recovery"} 1
faultline_agent_faults_reverted_total{kind="process_pause",reason="revert"} 0
faultline_agent_faults_reverted_total{kind="process_pause",reason="shutdown"} 0
# HELP faultline_agent_faults_revert_failed_total Faults whose revert failed (once per fault; the agent retries every 100 ms), by kind.
# TYPE faultline_agent_faults_revert_failed_total counter
faultline_agent_faults_revert_failed_total{kind="process_pause"} 1
# HELP faultline_agent_rpcs_total RPCs answered, by method and gRPC status code.
# TYPE faultline_agent_rpcs_total counter
faultline_agent_rpcs_total{code="OK",method="Apply"} 1
faultline_agent_rpcs_total{code="PERMISSION_DENIED",method="Apply"} 1
# HELP faultline_agent_lease_expiries_total Faults ended because their lease ran out (the controller stopped renewing).
# TYPE faultline_agent_lease_expiries_total counter
faultline_agent_lease_expiries_total 1
# HELP faultline_agent_faults_active Faults active now, by kind.
# TYPE faultline_agent_faults_active gauge
faultline_agent_faults_active{kind="process_pause"} 2
# HELP faultline_agent_build_info The agent's version; always 1.
# TYPE faultline_agent_build_info gauge
faultline_agent_build_info{version="1.2.3"} 1
# HELP faultline_agent_apply_duration_seconds Time from an Apply request to its fault in place (finding the targets, keeping the undo on disk, the injector), by kind.
# TYPE faultline_agent_apply_duration_seconds histogram
faultline_agent_apply_duration_seconds_count{kind="process_pause"} 2
faultline_agent_apply_duration_seconds_sum{kind="process_pause"} 1.75
faultline_agent_apply_duration_seconds_bucket{kind="process_pause",le="0.001"} 0
faultline_agent_apply_duration_seconds_bucket{kind="process_pause",le="0.0025"} 0
faultline_agent_apply_duration_seconds_bucket{kind="process_pause",le="0.005"} 0
faultline_agent_apply_duration_seconds_bucket{kind="process_pause",le="0.01"} 0
faultline_agent_apply_duration_seconds_bucket{kind="process_pause",le="0.025"} 0
faultline_agent_apply_duration_seconds_bucket{kind="process_pause",le="0.05"} 0
faultline_agent_apply_duration_seconds_bucket{kind="process_pause",le="0.1"} 0
faultline_agent_apply_duration_seconds_bucket{kind="process_pause",le="0.25"} 1
faultline_agent_apply_duration_seconds_bucket{kind="process_pause",le="0.5"} 1
faultline_agent_apply_duration_seconds_bucket{kind="process_pause",le="1"} 1
faultline_agent_apply_duration_seconds_bucket{kind="process_pause",le="2.5"} 2
faultline_agent_apply_duration_seconds_bucket{kind="process_pause",le="5"} 2
faultline_agent_apply_duration_seconds_bucket{kind="process_pause",le="10"} 2
faultline_agent_apply_duration_seconds_bucket{kind="process_pause",le="+Inf"} 2
# HELP faultline_agent_rpc_duration_seconds Time to answer an RPC, by method.
# TYPE faultline_agent_rpc_duration_seconds histogram
faultline_agent_rpc_duration_seconds_count{method="Apply"} 2
faultline_agent_rpc_duration_seconds_sum{method="Apply"} 0.1255
faultline_agent_rpc_duration_seconds_bucket{method="Apply",le="0.001"} 1
faultline_agent_rpc_duration_seconds_bucket{method="Apply",le="0.0025"} 1
faultline_agent_rpc_duration_seconds_bucket{method="Apply",le="0.005"} 1
faultline_agent_rpc_duration_seconds_bucket{method="Apply",le="0.01"} 1
faultline_agent_rpc_duration_seconds_bucket{method="Apply",le="0.025"} 1
faultline_agent_rpc_duration_seconds_bucket{method="Apply",le="0.05"} 1
faultline_agent_rpc_duration_seconds_bucket{method="Apply",le="0.1"} 1
faultline_agent_rpc_duration_seconds_bucket{method="Apply",le="0.25"} 2
faultline_agent_rpc_duration_seconds_bucket{method="Apply",le="0.5"} 2
faultline_agent_rpc_duration_seconds_bucket{method="Apply",le="1"} 2
faultline_agent_rpc_duration_seconds_bucket{method="Apply",le="2.5"} 2
faultline_agent_rpc_duration_seconds_bucket{method="Apply",le="5"} 2
faultline_agent_rpc_duration_seconds_bucket{method="Apply",le="10"} 2
faultline_agent_rpc_duration_seconds_bucket{method="Apply",le="+Inf"} 2
)");
  // Each scrape sets the gauge from what is active then: a kind with nothing active is 0.
  CHECK(lines_of(metrics.exposition({}), "faultline_agent_faults_active") ==
        std::vector<std::string>{R"(faultline_agent_faults_active{kind="process_pause"} 0)"});
}

TEST_CASE("before any fault, every known kind and reason is there at zero", "[metrics]") {
  AgentMetrics metrics({"process_kill", "cpu_stress"}, "0.1.0");
  const std::string text = metrics.exposition({});
  CHECK(lines_of(text, "faultline_agent_faults_applied_total") ==
        std::vector<std::string>{R"(faultline_agent_faults_applied_total{kind="cpu_stress"} 0)",
                                 R"(faultline_agent_faults_applied_total{kind="process_kill"} 0)"});
  CHECK(lines_of(text, "faultline_agent_faults_reverted_total").size() == 12);
  CHECK(lines_of(text, "faultline_agent_lease_expiries_total") ==
        std::vector<std::string>{"faultline_agent_lease_expiries_total 0"});
  // No RPC or apply yet: those families have no series, and print nothing at all.
  CHECK(text.find("rpcs_total") == std::string::npos);
  CHECK(text.find("duration_seconds") == std::string::npos);
  CHECK(revert_reason_name(RevertReason::End) == "end");
  CHECK(revert_reason_name(RevertReason::Revert) == "revert");
  CHECK(revert_reason_name(RevertReason::Lease) == "lease");
  CHECK(revert_reason_name(RevertReason::Deadline) == "deadline");
  CHECK(revert_reason_name(RevertReason::Shutdown) == "shutdown");
  CHECK(revert_reason_name(RevertReason::Recovery) == "recovery");
}

TEST_CASE("counts from several threads at once add up, while scrapes read", "[metrics]") {
  AgentMetrics metrics({"process_pause"}, "0.1.0");
  constexpr int kThreads = 4, kEach = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        metrics.fault_applied("process_pause", 1ms);
        metrics.rpc_done("Renew", "OK", 1ms);
        if (i % 100 == 0) (void)metrics.exposition({});
      }
    });
  for (std::thread& t : threads) t.join();
  const std::string text = metrics.exposition({});
  CHECK(lines_of(text, "faultline_agent_faults_applied_total") ==
        std::vector<std::string>{
            R"(faultline_agent_faults_applied_total{kind="process_pause"} 8000)"});
  CHECK(lines_of(text, "faultline_agent_rpcs_total") ==
        std::vector<std::string>{R"(faultline_agent_rpcs_total{code="OK",method="Renew"} 8000)"});
  CHECK(lines_of(text, "faultline_agent_rpc_duration_seconds_count") ==
        std::vector<std::string>{
            R"(faultline_agent_rpc_duration_seconds_count{method="Renew"} 8000)"});
}
