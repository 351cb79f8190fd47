#include "controller/report/html_report.h"

#include "controller/report/markup.h"
#include "controller/report/report_words.h"
#include "controller/report/timeline_svg.h"

namespace faultline {
namespace {

constexpr const char* kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d2330;max-width:1180px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 6px;border-top:1px solid #d5d9e0;padding-top:18px}
.meta{color:#5b6475;font-size:12px}
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;font-weight:600;color:#fff}
.v-held{background:#2e7d32}.v-deviated{background:#c62828}.v-aborted{background:#ef6c00}
.v-error,.v-incomplete{background:#6a1b9a}.v-revert_failed{background:#000}
table{border-collapse:collapse;margin:10px 0 4px;font-size:13px}
th,td{border:1px solid #d5d9e0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f8}td.bad{color:#c62828;font-weight:600}
svg.timeline{display:block;margin:12px 0;font-size:12px}
svg text{fill:#1d2330}svg .small{font-size:10px}svg .bad{fill:#c62828}
svg .lane-name,svg .axis{text-anchor:end}svg .tick{text-anchor:middle;fill:#5b6475}
.phase-before{fill:#f5f7fa}.phase-during{fill:#fff4e5}.phase-after{fill:#eef6ee}
.pass{fill:#66bb6a}.fail{fill:#e53935}.not-run{fill:#9e9e9e}
.fault{fill:#fb8c00;opacity:.85}.fault.unconfirmed{fill:#bdbdbd}
.fault-shade{fill:#fb8c00;opacity:.08}
.latency{fill:none;stroke:#1e88e5;stroke-width:1.2}
.threshold{stroke:#c62828;stroke-dasharray:5 3}
.outage line{stroke:#c62828;stroke-width:3}
.recovery line{stroke:#2e7d32;stroke-width:2;marker-end:none}
.host-event line{stroke:#6a1b9a;stroke-dasharray:2 2}.host-event circle{fill:#6a1b9a}
)";

std::string badge(const RunJournal& r) {
  return fmt::format("<span class=\"verdict v-{}\">{}</span>", r.complete ? r.status : "incomplete",
                     status_headline(r));
}

std::string td(const std::string& text, bool bad = false) {
  return fmt::format("<td{}>{}</td>", bad ? " class=\"bad\"" : "", escape_xml(text));
}

std::string probes_table(const RunJournal& r) {
  std::string out =
      "<table class=\"probes\"><tr><th>probe</th><th>expected</th><th>before</th><th>during</th>"
      "<th>after</th><th>longest outage</th><th>time to recover</th></tr>";
  for (const JournalProbe& p : r.probes) {
    out += "<tr>" + td(p.name + (p.on.empty() ? "" : " (on " + p.on + ")")) + td(p.expected);
    for (Phase phase : {Phase::Before, Phase::During, Phase::After}) {
      const JournalPhase* found = nullptr;
      for (const JournalPhase& ph : p.phases)
        if (ph.phase == phase) found = &ph;
      if (found == nullptr)
        out += td("-");
      else if (phase != Phase::Before && r.faults_skipped)
        out += td("skipped");
      else
        out += td((found->ok ? "" : "DEVIATED: ") + phase_cell(*found), !found->ok);
    }
    out += td(p.longest_outage ? describe_outage(*p.longest_outage) : "none");
    if (!p.recovery)
      out += td("-");
    else if (!p.recovery->time_to_recover_ms)
      out += td("not recovered", true);
    else
      out += td(p.recovery->needed
                    ? fmt::format("{:.2f} s (allowed {:.2f} s)", *p.recovery->time_to_recover_ms / 1000.0,
                                  p.recovery->within_ms / 1000.0)
                    : "none needed",
                !p.recovery->recovered);
    out += "</tr>";
  }
  return out + "</table>";
}

std::string faults_table(const RunJournal& r) {
  if (r.faults.empty()) return "";
  std::string out =
      "<table class=\"faults\"><tr><th>fault</th><th>kind</th><th>host</th><th>target</th>"
      "<th>requested</th><th>applied</th><th>reverted</th><th>observed</th><th>confirmed</th></tr>";
  const auto at = [](const std::optional<double>& ms) {
    return ms ? fmt::format("+{:.2f} s", *ms / 1000.0) : std::string("-");
  };
  for (const JournalFault& f : r.faults) {
    std::string observed = f.summary;
    if (!f.apply_error.empty()) observed = "apply failed: " + f.apply_error;
    if (!f.revert_error.empty()) observed += "; REVERT FAILED: " + f.revert_error;
    std::string reverted = at(f.reverted_ms);
    if (f.ended_by == "lease") reverted += " (lease ran out)";
    if (f.reverted_by_deadline) reverted += " (by deadline)";
    out += "<tr>" + td(f.name) + td(f.kind) + td(f.host) + td(f.target) +
           td(f.requested.dump()) + td(at(f.applied_ms)) + td(reverted) +
           td(observed, !f.apply_error.empty() || !f.revert_error.empty()) +
           td(f.confirmed ? "yes" : "no", f.applied_ms && !f.confirmed) + "</tr>";
  }
  return out + "</table>";
}

std::string scenario_section(const ScenarioReport& s, bool heading) {
  const RunJournal& r = s.run;
  std::string out = fmt::format("<section class=\"scenario\" id=\"{}\">", slug(r.title));
  if (heading) out += fmt::format("<h2>{} {}</h2>", escape_xml(r.title), badge(r));
  out += fmt::format("<p><b>{}</b> (exit {}): {}</p>", status_headline(r), r.exit_code.value_or(-1),
                     escape_xml(r.reason));
  if (r.time_to_recover_ms)
    out += fmt::format("<p>Time to recover: <b>{:.2f} s</b> after the last fault ended (allowed {}).</p>",
                       *r.time_to_recover_ms / 1000.0, format_duration(from_ms(r.recovery_within_ms)));
  if (const std::string h = describe_history(s); !h.empty())
    out += fmt::format("<p class=\"history\">History: {}.</p>", escape_xml(h));
  out += timeline_svg(r);
  out += "<h3>Steady state: expected against observed</h3>" + probes_table(r);
  if (!r.faults.empty()) out += "<h3>Faults: requested against observed</h3>" + faults_table(r);
  if (!r.network_effects.empty()) {
    out += "<h3>Network faults as the probes saw them</h3><ul>";
    for (const JournalNetworkEffect& e : r.network_effects)
      out += "<li>" + escape_xml(describe_effect(e)) + "</li>";
    out += "</ul>";
  }
  if (!r.host_events.empty()) {
    out += "<h3>Agents during the run</h3><ul>";
    for (const JournalHostEvent& e : r.host_events)
      out += "<li>" + escape_xml(describe_event(e)) + "</li>";
    out += "</ul>";
  }
  out += fmt::format(
      "<p class=\"meta\">scenario {} · seed {} (replay with --seed {}) · faultline {} on {} · "
      "started {}</p></section>",
      escape_xml(r.scenario_file), r.seed, r.seed, escape_xml(r.faultline_version),
      escape_xml(r.host), escape_xml(r.started_at));
  return out;
}

std::string suite_summary(const ReportSet& set) {
  std::string out =
      "<table class=\"suite\"><tr><th>scenario</th><th>verdict</th><th>time to recover</th>"
      "<th>history</th></tr>";
  for (const ScenarioReport& s : set.scenarios)
    out += fmt::format("<tr><td><a href=\"#{}\">{}</a></td><td>{}</td>{}{}</tr>", slug(s.run.title),
                       escape_xml(s.run.title), badge(s.run),
                       td(s.run.time_to_recover_ms
                              ? fmt::format("{:.2f} s", *s.run.time_to_recover_ms / 1000.0)
                              : "-"),
                       td(describe_history(s)));
  return out + "</table>";
}

}  // namespace

std::string format_html(const ReportSet& set) {
  const bool suite = set.scenarios.size() > 1 || !set.note.empty();
  const int code = loudest_exit_code(set);
  std::string out =
      "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src "
      "'unsafe-inline'\"><meta name=\"viewport\" content=\"width=device-width\">";
  out += fmt::format("<title>faultline: {}</title><style>{}</style></head><body>",
                     escape_xml(set.title), kStyle);
  out += fmt::format("<h1>faultline: {}</h1>", escape_xml(set.title));
  if (suite) {
    size_t held = 0;
    for (const ScenarioReport& s : set.scenarios) held += s.run.complete && s.run.status == "held";
    out += fmt::format(
        "<p><span class=\"verdict v-{}\">{}</span> exit {}: {} of {} scenarios held{}.</p>",
        code == 0 ? "held" : "deviated", code == 0 ? "HELD" : "NOT HELD", code, held,
        set.scenarios.size(), set.note.empty() ? "" : "; " + escape_xml(set.note));
    out += suite_summary(set);
  } else if (!set.scenarios.empty()) {
    out += fmt::format("<p>{}</p>", badge(set.scenarios.front().run));
  }
  for (const ScenarioReport& s : set.scenarios) out += scenario_section(s, suite);
  out += "</body></html>\n";
  return out;
}

}  // namespace faultline
