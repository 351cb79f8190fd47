#include "controller/report/summary.h"

#include "probes/probe.h"
#include "controller/verdict/network_effect.h"

namespace faultline {

std::string format_phase(Phase phase, const PhaseResult& r) {
  std::string out = fmt::format("{} {}/{} ok", phase_name(phase), r.passed, r.checks);
  if (r.checks == 0) out = fmt::format("{} no checks", phase_name(phase));
  if (r.p95_ms) out += fmt::format(", p95 {:.1f} ms", *r.p95_ms);
  if (r.allowed_failed.basis_points > 0 || !r.ok)
    out += fmt::format(" (allowed {} failed)", format_percent(r.allowed_failed));
  if (!r.ok) out += " DEVIATED";
  return out;
}

std::string format_summary(const Scenario& s, const RunRecord& r, const Verdict& v) {
  std::string out = fmt::format("\n== {} ==\n", s.title);
  out += "steady state (expected -> observed):\n";
  for (size_t i = 0; i < s.steady_state.size(); ++i) {
    const ProbeSpec& spec = s.steady_state[i];
    const ProbeVerdict& pv = v.probes[i];
    out += fmt::format("  {} {}: {}\n",
                       s.steady_state[i].type == ProbeType::Http ? "http"
                       : spec.type == ProbeType::Tcp             ? "tcp"
                       : spec.type == ProbeType::Command         ? "command"
                                                                 : "process",
                       spec.name, describe_expectation(spec));
    std::vector<std::string> parts;
    for (const auto& [phase, result] : pv.phases) {
      if (phase == Phase::During && r.faults_skipped) continue;
      if (phase == Phase::After && r.faults_skipped) continue;
      std::string part = format_phase(phase, result);
      if (phase == Phase::After && pv.judged_recovery) {
        if (!pv.time_to_recover)
          part += "; NOT recovered";
        else if (pv.needed_recovery || !pv.recovered)
          part += fmt::format("; recovered {:.2f} s after the faults ended{}",
                              to_ms(*pv.time_to_recover) / 1000.0, pv.recovered ? "" : " (LATE)");
      }
      parts.push_back(std::move(part));
    }
    out += fmt::format("      {}\n", fmt::join(parts, "; "));
    if (const auto& o = pv.longest_outage)
      out += fmt::format(
          "      longest outage {:.2f} s{} from +{:.2f} s: {} failed check{}, "
          "first: {}\n",
          to_ms(o->length) / 1000.0, o->ended ? "" : " (still failing at the end)",
          to_ms(o->start) / 1000.0, o->failed_checks, o->failed_checks == 1 ? "" : "s",
          o->first_observed);
  }
  if (!r.faults.empty()) {
    out += "faults (requested -> observed):\n";
    for (const FaultRecord& f : r.faults) {
      out += fmt::format("  {} [{}]{}", f.name, f.kind,
                         f.host == "local" ? "" : fmt::format(" on {}", f.host));
      if (f.duration) out += fmt::format(" for {}", format_duration(*f.duration));
      if (f.applied_at)
        out += fmt::format(", applied at +{:.2f} s", to_ms(*f.applied_at) / 1000.0);
      else
        out += ", not applied";
      if (f.reverted_at && f.duration)
        out += fmt::format(", reverted at +{:.2f} s{}", to_ms(*f.reverted_at) / 1000.0,
                           f.ended_by == "lease"      ? " (by the agent: lease ran out)"
                           : f.reverted_by_deadline ? " (by deadline)"
                                                      : "");
      out += "\n";
      if (!f.summary.empty())
        out += fmt::format(
            "      {}{}\n", f.summary,
            f.applied_at && !f.confirmed && f.apply_error.empty() ? "  [NOT CONFIRMED]" : "");
      if (!f.apply_error.empty()) out += fmt::format("      apply failed: {}\n", f.apply_error);
      if (!f.revert_error.empty()) out += fmt::format("      REVERT FAILED: {}\n", f.revert_error);
    }
  }
  if (const auto effects = network_effects(s, r); !effects.empty()) {
    out += "network faults as the probes saw them:\n";
    for (const NetworkEffect& e : effects) out += fmt::format("  {}\n", describe(e));
  }
  bool needed_recovery = false;
  for (const ProbeVerdict& pv : v.probes) needed_recovery |= pv.needed_recovery;
  if (needed_recovery && v.time_to_recover)
    out += fmt::format("time to recover: {:.2f} s after the last fault ended (allowed {})\n",
                       to_ms(*v.time_to_recover) / 1000.0, format_duration(s.recovery.within));
  else if (r.during_end && !r.faults_skipped)
    out += "time to recover: none needed (every probe passed when the last fault ended)\n";
  if (!v.host_events.empty()) {
    out += "agents during the run:\n";
    for (const std::string& e : v.host_events) out += fmt::format("  {}\n", e);
  }
  out += fmt::format("verdict: {} (exit {}): {}\n", status_name(v.status), exit_code(v.status),
                     v.reason);
  out += fmt::format("seed: {} (replay with --seed {})\n", r.seed, r.seed);
  return out;
}

}  // namespace faultline
