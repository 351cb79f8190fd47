#pragma once
// Every report format, by name, and writing them to files: one place for `faultline run
// --junit ...`, `faultline report --format ...` and `faultline gameday`.
#include <optional>
#include <string>
#include <string_view>

#include "controller/report/report_set.h"
#include "core/result.h"

namespace faultline {

enum class ReportFormat { Text, Json, Junit, Html, Markdown, Metrics };

// "text", "json", "junit", "html", "markdown", "metrics".
Result<ReportFormat> parse_report_format(std::string_view name);
std::string render_report(const ReportSet& set, ReportFormat format);

// A suite's summary: a line per scenario (its verdict, and its history), then the set's
// verdict. `faultline gameday` prints it after the scenarios' own summaries.
std::string format_suite_summary(const ReportSet& set);

// The files a run or a game day writes its reports to; each is written atomically (temp file
// and rename), so a CI job or node_exporter never reads half a report.
struct ReportFiles {
  std::optional<std::string> junit, html, markdown, metrics_textfile;
  bool any() const { return junit || html || markdown || metrics_textfile; }
};

// Writes every file asked for; the error names each file that could not be written.
Result<void> write_reports(const ReportSet& set, const ReportFiles& files);

}  // namespace faultline
