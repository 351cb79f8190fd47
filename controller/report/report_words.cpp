#include "controller/report/report_words.h"

#include "controller/verdict/network_effect.h"
#include "core/percent.h"

namespace faultline {

std::string describe_outage(const JournalOutage& o) {
  return fmt::format("longest outage {:.2f} s{} from +{:.2f} s: {} failed check{}",
                     o.length_ms / 1000.0, o.ended ? "" : " (still failing at the end)",
                     o.start_ms / 1000.0, o.failed_checks, o.failed_checks == 1 ? "" : "s");
}

std::string describe_effect(const JournalNetworkEffect& e) {
  NetworkEffect effect;
  effect.fault = e.fault;
  effect.probe = e.probe;
  effect.checks = e.checks;
  effect.observed_failed_percent = e.observed_failed_percent;
  effect.observed_delay_ms = e.observed_added_latency_ms;
  if (e.requested_delay_ms) effect.requested_delay = from_ms(*e.requested_delay_ms);
  if (e.requested_loss)
    if (auto loss = parse_percent(*e.requested_loss)) effect.requested_loss = *loss;
  return describe(effect);
}

std::string describe_event(const JournalHostEvent& e) {
  return fmt::format("+{:.1f} s agent {}: {}", e.at_ms / 1000.0, e.host, e.what);
}

std::string phase_words(Phase phase) {
  return fmt::format("{} the faults", phase == Phase::Before   ? "before"
                                      : phase == Phase::During ? "during"
                                                               : "after");
}

std::string describe_phase_failure(const JournalProbe& p, const JournalPhase& r) {
  std::string out = fmt::format("{}/{} checks failed {}, allowed {}", r.checks - r.passed,
                                r.checks, phase_words(r.phase), r.allowed_failed);
  if (r.phase != Phase::Before && p.longest_outage)
    out += fmt::format("; longest outage {:.2f} s from +{:.2f} s",
                       p.longest_outage->length_ms / 1000.0,
                       p.longest_outage->start_ms / 1000.0);
  if (r.phase == Phase::After && p.recovery && !p.recovery->recovered)
    out += p.recovery->time_to_recover_ms
               ? fmt::format("; recovered {:.2f} s after the faults ended, allowed {:.2f} s",
                             *p.recovery->time_to_recover_ms / 1000.0,
                             p.recovery->within_ms / 1000.0)
               : std::string("; not recovered");
  return out;
}

std::string status_headline(const RunJournal& r) {
  if (!r.complete) return "INCOMPLETE";
  if (r.status == "held") return "HELD";
  if (r.status == "deviated") return "DEVIATED";
  if (r.status == "aborted") return "ABORTED";
  if (r.status == "revert_failed") return "REVERT FAILED";
  return "ERROR";
}

std::string phase_cell(const JournalPhase& r) {
  if (r.checks == 0) return "no checks";
  std::string out = fmt::format("{}/{} ok", r.passed, r.checks);
  if (r.p95_ms) out += fmt::format(", p95 {:.1f} ms", *r.p95_ms);
  if (!r.ok) out += fmt::format(" (allowed {} failed)", r.allowed_failed);
  return out;
}

}  // namespace faultline
