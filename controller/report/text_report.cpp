#include "controller/report/text_report.h"

#include "controller/report/report_words.h"

namespace faultline {

std::string format_phase(const JournalPhase& r) {
  std::string out = fmt::format("{} {}/{} ok", phase_name(r.phase), r.passed, r.checks);
  if (r.checks == 0) out = fmt::format("{} no checks", phase_name(r.phase));
  if (r.p95_ms) out += fmt::format(", p95 {:.1f} ms", *r.p95_ms);
  if (r.allowed_failed != "0%" || !r.ok) out += fmt::format(" (allowed {} failed)", r.allowed_failed);
  if (!r.ok) out += " DEVIATED";
  return out;
}

std::string format_text(const RunJournal& r) {
  std::string out = fmt::format("\n== {} ==\n", r.title);
  out += "steady state (expected -> observed):\n";
  for (const JournalProbe& p : r.probes) {
    out += fmt::format("  {} {}: {}\n", p.type, p.name, p.expected);
    std::vector<std::string> parts;
    for (const JournalPhase& result : p.phases) {
      if (result.phase != Phase::Before && r.faults_skipped) continue;
      std::string part = format_phase(result);
      if (result.phase == Phase::After && p.recovery) {
        const JournalRecovery& rec = *p.recovery;
        if (!rec.time_to_recover_ms)
          part += "; NOT recovered";
        else if (rec.needed || !rec.recovered)
          part += fmt::format("; recovered {:.2f} s after the faults ended{}",
                              *rec.time_to_recover_ms / 1000.0, rec.recovered ? "" : " (LATE)");
      }
      parts.push_back(std::move(part));
    }
    out += fmt::format("      {}\n", fmt::join(parts, "; "));
    if (const auto& o = p.longest_outage)
      out += fmt::format("      {}, first: {}\n", describe_outage(*o), o->first_observed);
  }
  if (!r.faults.empty()) {
    out += "faults (requested -> observed):\n";
    for (const JournalFault& f : r.faults) {
      out += fmt::format("  {} [{}]{}", f.name, f.kind,
                         f.host == "local" ? "" : fmt::format(" on {}", f.host));
      if (f.duration_ms) out += fmt::format(" for {}", format_duration(from_ms(*f.duration_ms)));
      if (f.applied_ms)
        out += fmt::format(", applied at +{:.2f} s", *f.applied_ms / 1000.0);
      else
        out += ", not applied";
      if (f.reverted_ms && f.duration_ms)
        out += fmt::format(", reverted at +{:.2f} s{}", *f.reverted_ms / 1000.0,
                           f.ended_by == "lease"      ? " (by the agent: lease ran out)"
                           : f.reverted_by_deadline ? " (by deadline)"
                                                      : "");
      out += "\n";
      if (!f.summary.empty())
        out += fmt::format("      {}{}\n", f.summary,
                           f.applied_ms && !f.confirmed && f.apply_error.empty()
                               ? "  [NOT CONFIRMED]"
                               : "");
      if (!f.apply_error.empty()) out += fmt::format("      apply failed: {}\n", f.apply_error);
      if (!f.revert_error.empty()) out += fmt::format("      REVERT FAILED: {}\n", f.revert_error);
    }
  }
  if (!r.network_effects.empty()) {
    out += "network faults as the probes saw them:\n";
    for (const JournalNetworkEffect& e : r.network_effects)
      out += fmt::format("  {}\n", describe_effect(e));
  }
  bool needed_recovery = false;
  for (const JournalProbe& p : r.probes) needed_recovery |= p.recovery && p.recovery->needed;
  if (needed_recovery && r.time_to_recover_ms)
    out += fmt::format("time to recover: {:.2f} s after the last fault ended (allowed {})\n",
                       *r.time_to_recover_ms / 1000.0,
                       format_duration(from_ms(r.recovery_within_ms)));
  else if (r.during_end_ms && !r.faults_skipped)
    out += "time to recover: none needed (every probe passed when the last fault ended)\n";
  if (!r.host_events.empty()) {
    out += "agents during the run:\n";
    for (const JournalHostEvent& e : r.host_events) out += fmt::format("  {}\n", describe_event(e));
  }
  out += fmt::format("verdict: {} (exit {}): {}\n", r.status, r.exit_code.value_or(-1), r.reason);
  out += fmt::format("seed: {} (replay with --seed {})\n", r.seed, r.seed);
  return out;
}

}  // namespace faultline
