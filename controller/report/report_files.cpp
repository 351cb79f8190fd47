#include "controller/report/report_files.h"

#include <nlohmann/json.hpp>

#include "controller/report/html_report.h"
#include "controller/report/junit_report.h"
#include "controller/report/markdown_report.h"
#include "controller/report/metrics_textfile.h"
#include "controller/report/report_words.h"
#include "controller/report/text_report.h"
#include "core/atomic_file.h"

namespace faultline {
namespace {

nlohmann::json optional_json(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

// The verdicts without the checks: what a script wants from a report (the checks are in the
// journals it came from).
nlohmann::json json_report(const ReportSet& set) {
  nlohmann::json scenarios = nlohmann::json::array();
  for (const ScenarioReport& s : set.scenarios) {
    const RunJournal& r = s.run;
    nlohmann::json probes = nlohmann::json::array();
    for (const JournalProbe& p : r.probes) {
      nlohmann::json phases = nlohmann::json::object();
      for (const JournalPhase& ph : p.phases)
        phases[std::string(phase_name(ph.phase))] = {{"checks", ph.checks},
                                                     {"passed", ph.passed},
                                                     {"allowed_failed", ph.allowed_failed},
                                                     {"ok", ph.ok},
                                                     {"p95_ms", optional_json(ph.p95_ms)}};
      probes.push_back({{"name", p.name},
                        {"expected", p.expected},
                        {"phases", phases},
                        {"longest_outage", p.longest_outage
                                               ? nlohmann::json(describe_outage(*p.longest_outage))
                                               : nlohmann::json(nullptr)},
                        {"time_to_recover_ms",
                         p.recovery ? optional_json(p.recovery->time_to_recover_ms) : nullptr}});
    }
    nlohmann::json faults = nlohmann::json::array();
    for (const JournalFault& f : r.faults)
      faults.push_back({{"name", f.name},
                        {"kind", f.kind},
                        {"host", f.host},
                        {"applied_ms", optional_json(f.applied_ms)},
                        {"reverted_ms", optional_json(f.reverted_ms)},
                        {"confirmed", f.confirmed},
                        {"summary", f.summary},
                        {"apply_error", f.apply_error},
                        {"revert_error", f.revert_error}});
    nlohmann::json history = nlohmann::json::array();
    for (const HistoryPoint& h : s.history)
      history.push_back({{"started_at", h.started_at},
                         {"status", h.status},
                         {"seed", h.seed},
                         {"time_to_recover_ms", optional_json(h.time_to_recover_ms)}});
    scenarios.push_back({{"title", r.title},
                         {"file", r.scenario_file},
                         {"journal", r.source},
                         {"status", r.complete ? r.status : "incomplete"},
                         {"exit_code", r.complete ? r.exit_code.value_or(4) : 4},
                         {"reason", r.reason},
                         {"seed", r.seed},
                         {"started_at", r.started_at},
                         {"time_to_recover_ms", optional_json(r.time_to_recover_ms)},
                         {"probes", probes},
                         {"faults", faults},
                         {"history", history},
                         {"history_summary", describe_history(s)}});
  }
  return {{"title", set.title},
          {"exit_code", loudest_exit_code(set)},
          {"note", set.note},
          {"scenarios", scenarios}};
}

std::string text_report(const ReportSet& set) {
  if (set.scenarios.size() == 1 && set.note.empty()) return format_text(set.scenarios.front().run);
  std::string out;
  for (const ScenarioReport& s : set.scenarios) out += format_text(s.run);
  return out + format_suite_summary(set);
}

}  // namespace

std::string format_suite_summary(const ReportSet& set) {
  std::string out = fmt::format("\n== {} ==\n", set.title);
  size_t held = 0;
  for (const ScenarioReport& s : set.scenarios) {
    const RunJournal& r = s.run;
    held += r.complete && r.status == "held";
    out += fmt::format("  {:<13} {}{}\n", r.complete ? r.status : "incomplete", r.title,
                       r.status == "held" ? "" : ": " + r.reason);
    if (const std::string h = describe_history(s); !h.empty())
      out += fmt::format("  {:<13} history: {}\n", "", h);
  }
  out += fmt::format("{} of {} scenarios held{}; exit {}\n", held, set.scenarios.size(),
                     set.note.empty() ? "" : "; " + set.note, loudest_exit_code(set));
  return out;
}

Result<ReportFormat> parse_report_format(std::string_view name) {
  const std::pair<std::string_view, ReportFormat> names[] = {
      {"text", ReportFormat::Text},   {"json", ReportFormat::Json},
      {"junit", ReportFormat::Junit}, {"html", ReportFormat::Html},
      {"markdown", ReportFormat::Markdown}, {"metrics", ReportFormat::Metrics}};
  for (const auto& [n, f] : names)
    if (n == name) return f;
  return fail("'{}' is not a report format: use text, json, junit, html, markdown or metrics",
              name);
}

std::string render_report(const ReportSet& set, ReportFormat format) {
  switch (format) {
    case ReportFormat::Text:
      return text_report(set);
    case ReportFormat::Json:
      return json_report(set).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    case ReportFormat::Junit:
      return format_junit(set);
    case ReportFormat::Html:
      return format_html(set);
    case ReportFormat::Markdown:
      return format_markdown(set);
    case ReportFormat::Metrics:
      return format_metrics_textfile(set);
  }
  return "";
}

Result<void> write_reports(const ReportSet& set, const ReportFiles& files) {
  std::vector<std::string> problems;
  const std::pair<const std::optional<std::string>*, ReportFormat> wanted[] = {
      {&files.junit, ReportFormat::Junit},
      {&files.html, ReportFormat::Html},
      {&files.markdown, ReportFormat::Markdown},
      {&files.metrics_textfile, ReportFormat::Metrics}};
  for (const auto& [path, format] : wanted) {
    if (!*path) continue;
    if (auto w = write_file_atomically(**path, render_report(set, format)); !w)
      problems.push_back(w.error().message);
  }
  if (!problems.empty()) return fail("cannot write a report: {}", fmt::join(problems, "; "));
  return {};
}

}  // namespace faultline
