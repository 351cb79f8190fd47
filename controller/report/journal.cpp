#include "controller/report/journal.h"

#include <unistd.h>

#include <ctime>

#include "controller/verdict/network_effect.h"

namespace faultline {
namespace {

std::string iso8601(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  const std::time_t seconds = static_cast<std::time_t>(ms.count() / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:03}Z", buffer, ms.count() % 1000);
}

nlohmann::json optional_ms(const std::optional<Duration>& d) {
  return d ? nlohmann::json(to_ms(*d)) : nlohmann::json(nullptr);
}

std::string this_host() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

std::string_view probe_type_name(ProbeType t) {
  switch (t) {
    case ProbeType::Http:
      return "http";
    case ProbeType::Tcp:
      return "tcp";
    case ProbeType::Command:
      return "command";
    case ProbeType::Process:
      return "process";
  }
  return "unknown";
}

nlohmann::json phase_json(const PhaseResult& r) {
  nlohmann::json j = {{"checks", r.checks},
                      {"passed", r.passed},
                      {"allowed_failed", format_percent(r.allowed_failed)},
                      {"ok", r.ok}};
  if (r.recovering > 0) j["recovering"] = r.recovering;
  if (r.p95_ms) j["p95_ms"] = *r.p95_ms;
  return j;
}

}  // namespace

nlohmann::json journal_json(const Scenario& s, const RunRecord& r, const Verdict* verdict) {
  nlohmann::json j;
  j["journal_version"] = kJournalVersion;
  j["faultline_version"] = FAULTLINE_VERSION;
  j["host"] = this_host();
  j["scenario"] = {{"file", r.scenario_file}, {"title", r.title}};
  j["seed"] = r.seed;
  j["started_at"] = iso8601(r.started_wall);
  j["ended_at"] =
      r.ended_at
          ? nlohmann::json(iso8601(
                r.started_wall +
                std::chrono::duration_cast<std::chrono::system_clock::duration>(*r.ended_at)))
          : nlohmann::json(nullptr);
  j["complete"] = verdict != nullptr;
  j["status"] = verdict ? nlohmann::json(status_name(verdict->status)) : "running";
  j["exit_code"] = verdict ? nlohmann::json(exit_code(verdict->status)) : nlohmann::json(nullptr);
  j["reason"] = verdict ? nlohmann::json(verdict->reason) : nlohmann::json(nullptr);
  j["phases"] = {{"before_ms", 0.0},
                 {"during_start_ms", optional_ms(r.during_start)},
                 {"during_end_ms", optional_ms(r.during_end)},
                 {"end_ms", optional_ms(r.ended_at)}};
  if (r.stop_reason) j["stop_reason"] = *r.stop_reason;
  if (!r.error.empty()) j["error"] = r.error;
  j["faults_skipped"] = r.faults_skipped;
  j["recovery_within_ms"] = to_ms(s.recovery.within);

  nlohmann::json probes = nlohmann::json::array();
  for (size_t i = 0; i < r.probes.size(); ++i) {
    const ProbeRecord& p = r.probes[i];
    nlohmann::json checks = nlohmann::json::array();
    for (const CheckRecord& c : p.checks) {
      nlohmann::json cj = {{"t_ms", to_ms(c.t)},
                           {"phase", phase_name(c.phase)},
                           {"ok", c.ok},
                           {"observed", c.observed}};
      if (c.latency) cj["latency_ms"] = to_ms(*c.latency);
      if (c.could_not_run) cj["could_not_run"] = true;
      checks.push_back(std::move(cj));
    }
    nlohmann::json pj = {{"name", p.name}, {"expected", p.expected}};
    if (i < s.steady_state.size()) {
      const ProbeSpec& spec = s.steady_state[i];
      pj["type"] = probe_type_name(spec.type);
      pj["on"] = spec.on;
      pj["interval_ms"] = to_ms(spec.interval);
      pj["max_latency_ms"] = optional_ms(spec.expect.max_latency);
    }
    pj["checks"] = std::move(checks);
    if (verdict != nullptr && i < verdict->probes.size()) {
      const ProbeVerdict& pv = verdict->probes[i];
      nlohmann::json phases = nlohmann::json::object();
      for (const auto& [phase, result] : pv.phases)
        phases[std::string(phase_name(phase))] = phase_json(result);
      pj["phases"] = phases;
      if (const auto& o = pv.longest_outage)
        pj["longest_outage"] = {{"start_ms", to_ms(o->start)},
                                {"length_ms", to_ms(o->length)},
                                {"failed_checks", o->failed_checks},
                                {"ended", o->ended},
                                {"first_observed", o->first_observed}};
      if (pv.judged_recovery)
        pj["recovery"] = {{"recovered", pv.recovered},
                          {"needed", pv.needed_recovery},
                          {"time_to_recover_ms", optional_ms(pv.time_to_recover)},
                          {"within_ms", to_ms(s.recovery.within)}};
    }
    probes.push_back(std::move(pj));
  }
  j["probes"] = probes;

  nlohmann::json faults = nlohmann::json::array();
  for (const FaultRecord& f : r.faults) {
    nlohmann::json fj = {{"name", f.name},
                         {"kind", f.kind},
                         {"target", f.target},
                         {"host", f.host},
                         {"requested", f.requested},
                         {"duration_ms", optional_ms(f.duration)},
                         {"scheduled_ms", to_ms(f.scheduled_at)},
                         {"applied_ms", optional_ms(f.applied_at)},
                         {"reverted_ms", optional_ms(f.reverted_at)},
                         {"confirmed", f.confirmed},
                         {"observed", f.observed},
                         {"summary", f.summary}};
    if (f.reverted_by_deadline) fj["reverted_by_deadline"] = true;
    if (!f.ended_by.empty()) fj["ended_by"] = f.ended_by;
    if (!f.apply_error.empty()) fj["apply_error"] = f.apply_error;
    if (!f.revert_error.empty()) fj["revert_error"] = f.revert_error;
    faults.push_back(std::move(fj));
  }
  j["faults"] = faults;
  nlohmann::json host_events = nlohmann::json::array();
  for (const RunRecord::HostEvent& e : r.host_events)
    host_events.push_back({{"host", e.host}, {"at_ms", to_ms(e.at)}, {"what", e.what}});
  j["host_events"] = host_events;
  nlohmann::json effects = nlohmann::json::array();
  for (const NetworkEffect& e : network_effects(s, r)) {
    nlohmann::json ej = {{"fault", e.fault},
                         {"probe", e.probe},
                         {"checks", e.checks},
                         {"observed_failed_percent", e.observed_failed_percent}};
    if (e.requested_delay) ej["requested_delay_ms"] = to_ms(*e.requested_delay);
    if (e.observed_delay_ms) ej["observed_added_latency_ms"] = *e.observed_delay_ms;
    if (e.requested_loss) ej["requested_loss"] = format_percent(*e.requested_loss);
    effects.push_back(std::move(ej));
  }
  j["network_effects"] = effects;
  if (verdict != nullptr && verdict->time_to_recover)
    j["time_to_recover_ms"] = to_ms(*verdict->time_to_recover);
  return j;
}

}  // namespace faultline
