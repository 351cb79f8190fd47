#include "controller/report/markdown_report.h"

#include "controller/report/markup.h"
#include "controller/report/report_words.h"

namespace faultline {
namespace {

std::string cell(std::string_view text) { return escape_markdown_cell(text); }

std::string phase_column(const RunJournal& r, const JournalProbe& p, Phase phase) {
  for (const JournalPhase& ph : p.phases) {
    if (ph.phase != phase) continue;
    if (phase != Phase::Before && r.faults_skipped) return "skipped";
    std::string out = (ph.ok ? "" : "**DEVIATED** ") + cell(phase_cell(ph));
    if (phase == Phase::After && p.recovery && p.recovery->needed && p.recovery->time_to_recover_ms)
      out += fmt::format("; recovered in {:.2f} s", *p.recovery->time_to_recover_ms / 1000.0);
    else if (phase == Phase::After && p.recovery && !p.recovery->time_to_recover_ms)
      out += "; **not recovered**";
    return out;
  }
  return "-";
}

std::string scenario_section(const ScenarioReport& s, bool heading) {
  const RunJournal& r = s.run;
  std::string out;
  if (heading)
    out += fmt::format("### {}: {}\n\n", cell(r.title), status_headline(r));
  out += fmt::format("**{}** (exit {}): {}\n\n", status_headline(r), r.exit_code.value_or(-1),
                     cell(r.reason));
  if (r.time_to_recover_ms)
    out += fmt::format("Time to recover: **{:.2f} s** after the last fault ended (allowed {}).\n\n",
                       *r.time_to_recover_ms / 1000.0,
                       format_duration(from_ms(r.recovery_within_ms)));
  if (const std::string h = describe_history(s); !h.empty()) out += fmt::format("History: {}.\n\n", h);
  if (!r.probes.empty()) {
    out += "| probe | expected | before | during | after | longest outage |\n";
    out += "|---|---|---|---|---|---|\n";
    for (const JournalProbe& p : r.probes)
      out += fmt::format(
          "| {} | {} | {} | {} | {} | {} |\n", cell(p.name), cell(p.expected),
          phase_column(r, p, Phase::Before), phase_column(r, p, Phase::During),
          phase_column(r, p, Phase::After),
          p.longest_outage ? cell(fmt::format("{:.2f} s from +{:.2f} s",
                                              p.longest_outage->length_ms / 1000.0,
                                              p.longest_outage->start_ms / 1000.0))
                           : std::string("none"));
    out += "\n";
  }
  if (!r.faults.empty()) {
    out += "| fault | kind | host | applied | reverted | observed | confirmed |\n";
    out += "|---|---|---|---|---|---|---|\n";
    for (const JournalFault& f : r.faults) {
      const auto at = [](const std::optional<double>& ms) {
        return ms ? fmt::format("+{:.2f} s", *ms / 1000.0) : std::string("-");
      };
      std::string observed = f.summary;
      if (!f.apply_error.empty()) observed = "apply failed: " + f.apply_error;
      if (!f.revert_error.empty()) observed += "; REVERT FAILED: " + f.revert_error;
      out += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", cell(f.name), cell(f.kind),
                         cell(f.host), at(f.applied_ms), at(f.reverted_ms), cell(observed),
                         f.confirmed ? "yes" : "**no**");
    }
    out += "\n";
  }
  if (!r.host_events.empty()) {
    out += "Agents during the run:\n\n";
    for (const JournalHostEvent& e : r.host_events) out += fmt::format("- {}\n", cell(describe_event(e)));
    out += "\n";
  }
  out += fmt::format("<sub>seed {} · faultline {} on {} · started {}</sub>\n\n", r.seed,
                     cell(r.faultline_version), cell(r.host), r.started_at);
  return out;
}

}  // namespace

std::string format_markdown(const ReportSet& set) {
  if (set.scenarios.size() == 1 && set.note.empty())
    return fmt::format("## faultline: {}\n\n", cell(set.title)) +
           scenario_section(set.scenarios.front(), false);
  const int code = loudest_exit_code(set);
  std::string out = fmt::format("## faultline: {}\n\n", cell(set.title));
  size_t held = 0;
  for (const ScenarioReport& s : set.scenarios) held += s.run.complete && s.run.status == "held";
  out += fmt::format("**{}** (exit {}): {} of {} scenarios held{}.\n\n",
                     code == 0 ? "HELD" : "NOT HELD", code, held, set.scenarios.size(),
                     set.note.empty() ? "" : "; " + cell(set.note));
  out += "| scenario | verdict | time to recover | history |\n|---|---|---|---|\n";
  for (const ScenarioReport& s : set.scenarios)
    out += fmt::format("| {} | {} | {} | {} |\n", cell(s.run.title), status_headline(s.run),
                       s.run.time_to_recover_ms
                           ? fmt::format("{:.2f} s", *s.run.time_to_recover_ms / 1000.0)
                           : std::string("-"),
                       cell(describe_history(s)));
  out += "\n";
  for (const ScenarioReport& s : set.scenarios) out += scenario_section(s, true);
  return out;
}

}  // namespace faultline
