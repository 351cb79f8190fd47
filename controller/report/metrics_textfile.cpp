#include "controller/report/metrics_textfile.h"

#include <chrono>
#include <ctime>

namespace faultline {
namespace {

// Prometheus label values escape backslash, double quote and newline.
std::string label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// "2026-12-07T03:17:24.123Z" as seconds since the epoch; 0 if it does not parse.
double epoch_seconds(const std::string& iso) {
  std::tm t{};
  int ms = 0;
  if (std::sscanf(iso.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &t.tm_year, &t.tm_mon, &t.tm_mday,
                  &t.tm_hour, &t.tm_min, &t.tm_sec, &ms) < 6)
    return 0;
  t.tm_year -= 1900;
  t.tm_mon -= 1;
  return static_cast<double>(timegm(&t)) + ms / 1000.0;
}

struct Family {
  const char* name;
  const char* type;
  const char* help;
  std::string samples;
};

}  // namespace

std::string format_metrics_textfile(const ReportSet& set) {
  Family status{"faultline_run_exit_code", "gauge",
                "Exit code of the scenario's last run: 0 held, 1 deviated, 3 aborted, 4 error, "
                "5 a fault could not be reverted."};
  Family held{"faultline_run_held", "gauge", "1 if the steady state held in the last run."};
  Family ttr{"faultline_run_time_to_recover_seconds", "gauge",
             "From the end of the last fault until every probe passed again (0: none needed)."};
  Family duration{"faultline_run_duration_seconds", "gauge", "How long the last run took."};
  Family last{"faultline_run_last_timestamp_seconds", "gauge",
              "When the last run ended, in seconds since the epoch."};
  Family ratio{"faultline_probe_failure_ratio", "gauge",
               "Failed share of a probe's checks in a phase of the last run."};
  Family checks{"faultline_probe_checks", "gauge",
                "Checks a probe completed in a phase of the last run."};
  Family faults{"faultline_faults_confirmed", "gauge",
                "Faults of the last run seen to take effect, against all applied."};
  for (const ScenarioReport& s : set.scenarios) {
    const RunJournal& r = s.run;
    const std::string scenario = fmt::format("scenario=\"{}\"", label(r.title));
    const int code = r.complete ? r.exit_code.value_or(4) : 4;
    status.samples += fmt::format("{}{{{}}} {}\n", status.name, scenario, code);
    held.samples += fmt::format("{}{{{}}} {}\n", held.name, scenario, code == 0 ? 1 : 0);
    ttr.samples += fmt::format("{}{{{}}} {:.3f}\n", ttr.name, scenario,
                               r.time_to_recover_ms.value_or(0) / 1000.0);
    duration.samples +=
        fmt::format("{}{{{}}} {:.3f}\n", duration.name, scenario, r.end_ms.value_or(0) / 1000.0);
    last.samples += fmt::format("{}{{{}}} {:.3f}\n", last.name, scenario,
                                epoch_seconds(r.ended_at.value_or(r.started_at)));
    for (const JournalProbe& p : r.probes)
      for (const JournalPhase& ph : p.phases) {
        const std::string labels =
            fmt::format("{},probe=\"{}\",phase=\"{}\"", scenario, label(p.name), phase_name(ph.phase));
        checks.samples += fmt::format("{}{{{}}} {}\n", checks.name, labels, ph.checks);
        if (ph.checks > 0)
          ratio.samples += fmt::format(
              "{}{{{}}} {:.4f}\n", ratio.name, labels,
              static_cast<double>(ph.checks - ph.passed) / static_cast<double>(ph.checks));
      }
    size_t applied = 0, confirmed = 0;
    for (const JournalFault& f : r.faults) {
      applied += f.applied_ms.has_value();
      confirmed += f.applied_ms && f.confirmed;
    }
    faults.samples += fmt::format("{}{{{},of=\"confirmed\"}} {}\n", faults.name, scenario, confirmed);
    faults.samples += fmt::format("{}{{{},of=\"applied\"}} {}\n", faults.name, scenario, applied);
  }
  std::string out;
  for (const Family* f : {&status, &held, &ttr, &duration, &last, &ratio, &checks, &faults})
    if (!f->samples.empty())
      out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{}", f->name, f->help, f->name, f->type,
                         f->samples);
  return out;
}

}  // namespace faultline
