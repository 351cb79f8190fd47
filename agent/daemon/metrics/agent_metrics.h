#pragma once
// faultline-agent's Prometheus metrics: what it applied and reverted, and why; what is active;
// its leases and RPCs. The services count events as they happen; exposition() renders the text
// format that the metrics server (metrics_server.h) serves. Built on prometheus-cpp's registry
// (Debian's prometheus-cpp-dev); every call is safe from any thread.
//
// Labels are kept to small, fixed sets (fault kind, revert reason, RPC method and status code):
// no fault id, owner or client is ever a label, so a busy agent's series do not grow.
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/duration.h"

namespace faultline {

// Why a fault was reverted; the `reason` label of faultline_agent_faults_reverted_total.
enum class RevertReason {
  End,       // a fault without a duration (process_kill) that finished by itself
  Revert,    // a controller's Revert call
  Lease,     // its lease ran out: the controller stopped renewing
  Deadline,  // it outlived its duration (and the grace after it) without a revert
  Shutdown,  // the agent was stopping (SIGTERM, SIGINT)
  Recovery,  // left by a previous agent that died, undone at start-up
};
std::string_view revert_reason_name(RevertReason reason);

class AgentMetrics {
 public:
  // `kinds`: the fault kinds this build knows, whose series exist (at zero) from the start, so
  // that a query finds 0 rather than nothing before the first fault.
  AgentMetrics(const std::vector<std::string_view>& kinds, std::string_view version);

  // A fault applied; `took` from the Apply request to the fault in place.
  void fault_applied(std::string_view kind, Duration took);
  void fault_reverted(std::string_view kind, RevertReason reason);
  // A fault whose revert failed (counted once per fault, however often it is retried).
  void revert_failed(std::string_view kind);
  void lease_expired();
  // One RPC answered: its method ("Apply"), gRPC status code name ("OK") and time taken.
  void rpc_done(std::string_view method, std::string_view code, Duration took);

  // The text exposition format (version 0.0.4), series sorted by their labels. `active` is the
  // number of faults active now, by kind; a kind given at construction that is missing there
  // is 0 (every fault an agent applies is of one of those kinds).
  std::string exposition(const std::map<std::string, size_t>& active);

  // Histogram buckets, in seconds, of both latencies: an injector's apply takes from under a
  // millisecond (a signal) to seconds (a process scan of a large host, a cgroup of many pids).
  static const std::vector<double>& latency_buckets();

 private:
  std::vector<std::string> kinds_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& applied_;
  prometheus::Family<prometheus::Counter>& reverted_;
  prometheus::Family<prometheus::Counter>& revert_failed_;
  prometheus::Family<prometheus::Counter>& rpcs_;
  prometheus::Counter& lease_expiries_;
  prometheus::Family<prometheus::Gauge>& active_;
  prometheus::Family<prometheus::Gauge>& build_info_;
  prometheus::Family<prometheus::Histogram>& apply_seconds_;
  prometheus::Family<prometheus::Histogram>& rpc_seconds_;
  std::mutex exposition_mutex_;  // one scrape sets the active gauges and reads them at a time
};

}  // namespace faultline
