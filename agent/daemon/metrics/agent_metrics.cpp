#include "agent/daemon/metrics/agent_metrics.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>

namespace faultline {
namespace {

constexpr std::array kReasons = {RevertReason::End,      RevertReason::Revert,
                                 RevertReason::Lease,    RevertReason::Deadline,
                                 RevertReason::Shutdown, RevertReason::Recovery};

double seconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

std::string_view revert_reason_name(RevertReason reason) {
  switch (reason) {
    case RevertReason::End:
      return "end";
    case RevertReason::Revert:
      return "revert";
    case RevertReason::Lease:
      return "lease";
    case RevertReason::Deadline:
      return "deadline";
    case RevertReason::Shutdown:
      return "shutdown";
    case RevertReason::Recovery:
      break;
  }
  return "recovery";
}

const std::vector<double>& AgentMetrics::latency_buckets() {
  static const std::vector<double> buckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                              0.25,  0.5,    1,     2.5,  5,     10};
  return buckets;
}

AgentMetrics::AgentMetrics(const std::vector<std::string_view>& kinds, std::string_view version)
    : kinds_(kinds.begin(), kinds.end()),
      registry_(std::make_shared<prometheus::Registry>()),
      applied_(prometheus::BuildCounter()
                   .Name("faultline_agent_faults_applied_total")
                   .Help("Faults applied, by kind.")
                   .Register(*registry_)),
      reverted_(prometheus::BuildCounter()
                    .Name("faultline_agent_faults_reverted_total")
                    .Help("Faults reverted, by kind and by why: end, revert, lease, deadline, "
                          "shutdown, recovery.")
                    .Register(*registry_)),
      revert_failed_(prometheus::BuildCounter()
                         .Name("faultline_agent_faults_revert_failed_total")
                         .Help("Faults whose revert failed (once per fault; the agent retries "
                               "every 100 ms), by kind.")
                         .Register(*registry_)),
      rpcs_(prometheus::BuildCounter()
                .Name("faultline_agent_rpcs_total")
                .Help("RPCs answered, by method and gRPC status code.")
                .Register(*registry_)),
      lease_expiries_(prometheus::BuildCounter()
                          .Name("faultline_agent_lease_expiries_total")
                          .Help("Faults ended because their lease ran out (the controller "
                                "stopped renewing).")
                          .Register(*registry_)
                          .Add({})),
      active_(prometheus::BuildGauge()
                  .Name("faultline_agent_faults_active")
                  .Help("Faults active now, by kind.")
                  .Register(*registry_)),
      build_info_(prometheus::BuildGauge()
                      .Name("faultline_agent_build_info")
                      .Help("The agent's version; always 1.")
                      .Register(*registry_)),
      apply_seconds_(prometheus::BuildHistogram()
                         .Name("faultline_agent_apply_duration_seconds")
                         .Help("Time from an Apply request to its fault in place (finding the "
                               "targets, keeping the undo on disk, the injector), by kind.")
                         .Register(*registry_)),
      rpc_seconds_(prometheus::BuildHistogram()
                       .Name("faultline_agent_rpc_duration_seconds")
                       .Help("Time to answer an RPC, by method.")
                       .Register(*registry_)) {
  for (const std::string& kind : kinds_) {
    applied_.Add({{"kind", kind}});
    for (RevertReason r : kReasons)
      reverted_.Add({{"kind", kind}, {"reason", std::string(revert_reason_name(r))}});
    revert_failed_.Add({{"kind", kind}});
    active_.Add({{"kind", kind}});
  }
  build_info_.Add({{"version", std::string(version)}}).Set(1);
}

void AgentMetrics::fault_applied(std::string_view kind, Duration took) {
  applied_.Add({{"kind", std::string(kind)}}).Increment();
  apply_seconds_.Add({{"kind", std::string(kind)}}, latency_buckets()).Observe(seconds(took));
}

void AgentMetrics::fault_reverted(std::string_view kind, RevertReason reason) {
  reverted_.Add({{"kind", std::string(kind)}, {"reason", std::string(revert_reason_name(reason))}})
      .Increment();
}

void AgentMetrics::revert_failed(std::string_view kind) {
  revert_failed_.Add({{"kind", std::string(kind)}}).Increment();
}

void AgentMetrics::lease_expired() {
  lease_expiries_.Increment();
}

void AgentMetrics::rpc_done(std::string_view method, std::string_view code, Duration took) {
  rpcs_.Add({{"method", std::string(method)}, {"code", std::string(code)}}).Increment();
  rpc_seconds_.Add({{"method", std::string(method)}}, latency_buckets()).Observe(seconds(took));
}

std::string AgentMetrics::exposition(const std::map<std::string, size_t>& active) {
  std::lock_guard lock(exposition_mutex_);
  for (const std::string& kind : kinds_) {
    const auto it = active.find(kind);
    active_.Add({{"kind", kind}}).Set(it == active.end() ? 0.0 : static_cast<double>(it->second));
  }
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  // prometheus-cpp keeps a family's series in a hash map: sorted, a scrape reads the same way
  // each time (and a test can pin it).
  for (prometheus::MetricFamily& f : families)
    std::stable_sort(f.metric.begin(), f.metric.end(),
                     [](const prometheus::ClientMetric& a, const prometheus::ClientMetric& b) {
                       return a.label < b.label;
                     });
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace faultline
