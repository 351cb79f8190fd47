#include "controller/report/junit_report.h"

#include "controller/report/markup.h"
#include "controller/report/report_words.h"

namespace faultline {
namespace {

struct TestCase {
  std::string classname, name;
  double seconds = 0;
  std::string outcome;  // "", "failure", "error", "skipped"
  std::string type, message, details;
};

struct Suite {
  std::vector<TestCase> cases;
  size_t failures = 0, errors = 0, skipped = 0;
  void add(TestCase c) {
    failures += c.outcome == "failure";
    errors += c.outcome == "error";
    skipped += c.outcome == "skipped";
    cases.push_back(std::move(c));
  }
};

double phase_seconds(const RunJournal& r, Phase phase) {
  const double end = r.end_ms.value_or(0);
  const double during_start = r.during_start_ms.value_or(end);
  const double during_end = r.during_end_ms.value_or(end);
  const double ms = phase == Phase::Before   ? during_start
                    : phase == Phase::During ? during_end - during_start
                                             : end - during_end;
  return std::max(0.0, ms / 1000.0);
}

std::string checks_details(const JournalProbe& p, Phase phase) {
  std::string out;
  size_t shown = 0;
  for (const JournalCheck& c : p.checks) {
    if (c.phase != phase || c.ok) continue;
    if (++shown > 20) {
      out += "...\n";
      break;
    }
    out += fmt::format("+{:.2f} s: {}{}\n", c.t_ms / 1000.0,
                       c.could_not_run ? "could not run: " : "", c.observed);
  }
  return out;
}

Suite scenario_cases(const RunJournal& r) {
  Suite suite;
  const std::string base = "faultline." + slug(r.title);
  for (const JournalProbe& p : r.probes) {
    for (const JournalPhase& ph : p.phases) {
      TestCase c{base + ".steady-state",
                 fmt::format("probe {}: {}", p.name, phase_words(ph.phase)),
                 phase_seconds(r, ph.phase)};
      if (ph.phase != Phase::Before && r.faults_skipped) {
        c.outcome = "skipped";
        c.message = "no fault was injected: the steady state did not hold before the faults";
      } else if (!ph.ok) {
        c.outcome = "failure";
        c.type = "deviation";
        c.message = describe_phase_failure(p, ph);
        c.details = fmt::format("expected: {}\n{}", p.expected, checks_details(p, ph.phase));
      }
      suite.add(std::move(c));
    }
  }
  std::string revert_failures;
  for (const JournalFault& f : r.faults) {
    TestCase c{base + ".faults",
               fmt::format("fault {}{}: applied and confirmed", f.name,
                           f.host == "local" ? "" : " on " + f.host)};
    if (f.applied_ms && f.reverted_ms) c.seconds = (*f.reverted_ms - *f.applied_ms) / 1000.0;
    if (!f.apply_error.empty()) {
      c.outcome = "error";
      c.type = "apply_failed";
      c.message = "could not apply: " + f.apply_error;
    } else if (!f.applied_ms) {
      c.outcome = "skipped";
      c.message = "not applied: the run ended before its time";
    } else if (!f.confirmed) {
      c.outcome = "failure";
      c.type = "not_confirmed";
      c.message = fmt::format("applied, but not seen to take effect: {}", f.summary);
    }
    c.details = fmt::format("{} [{}] target {}: {}\nrequested: {}\n", f.name, f.kind, f.target,
                            f.summary, f.requested.dump());
    suite.add(std::move(c));
    if (!f.revert_error.empty())
      revert_failures += fmt::format("{} on {}: {}\n", f.name, f.host, f.revert_error);
  }
  if (!r.faults.empty()) {
    TestCase c{base + ".faults", "revert: every fault undone"};
    if (!revert_failures.empty()) {
      c.outcome = "failure";
      c.type = "revert_failed";
      c.message = "could not revert; the host still has the fault (faultline recover undoes it)";
      c.details = revert_failures;
    }
    suite.add(std::move(c));
  }
  // A run that ended in an error or was aborted, with no case failing, must not look green.
  const bool loud = !r.complete || r.status == "error" || r.status == "aborted";
  if (loud && suite.failures + suite.errors == 0) {
    TestCase c{base + ".run", "run: ends held or deviated"};
    c.outcome = "error";
    c.type = r.complete ? r.status : "incomplete";
    c.message = r.complete ? r.reason : "the journal ends while the run was going on";
    suite.add(std::move(c));
  }
  return suite;
}

std::string junit_timestamp(const std::string& iso) {
  // "2026-12-07T03:17:24.123Z" -> "2026-12-07T03:17:24": the form JUnit's schema and Jenkins take.
  return iso.substr(0, std::min<size_t>(iso.size(), 19));
}

}  // namespace

std::string format_junit(const ReportSet& set) {
  std::string body;
  size_t tests = 0, failures = 0, errors = 0, skipped = 0;
  double seconds = 0;
  for (const ScenarioReport& s : set.scenarios) {
    const RunJournal& r = s.run;
    const Suite suite = scenario_cases(r);
    const double suite_seconds = r.end_ms.value_or(0) / 1000.0;
    tests += suite.cases.size();
    failures += suite.failures;
    errors += suite.errors;
    skipped += suite.skipped;
    seconds += suite_seconds;
    body += fmt::format(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" "
        "time=\"{:.3f}\" timestamp=\"{}\" hostname=\"{}\">\n",
        escape_xml(r.title), suite.cases.size(), suite.failures, suite.errors, suite.skipped,
        suite_seconds, junit_timestamp(r.started_at), escape_xml(r.host));
    body += "    <properties>\n";
    const std::pair<const char*, std::string> properties[] = {
        {"scenario", r.scenario_file},
        {"seed", std::to_string(r.seed)},
        {"faultline_version", r.faultline_version},
        {"host", r.host},
        {"status", r.status},
        {"reason", r.reason},
        {"history", describe_history(s)}};
    for (const auto& [name, value] : properties)
      if (!value.empty())
        body += fmt::format("      <property name=\"{}\" value=\"{}\"/>\n", name, escape_xml(value));
    body += "    </properties>\n";
    for (const TestCase& c : suite.cases) {
      body += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\"",
                          escape_xml(c.classname), escape_xml(c.name), c.seconds);
      if (c.outcome.empty()) {
        body += "/>\n";
        continue;
      }
      body += ">\n";
      if (c.outcome == "skipped")
        body += fmt::format("      <skipped message=\"{}\"/>\n", escape_xml(c.message));
      else
        body += fmt::format("      <{} message=\"{}\" type=\"{}\">{}</{}>\n", c.outcome,
                            escape_xml(c.message), escape_xml(c.type), escape_xml(c.details),
                            c.outcome);
      body += "    </testcase>\n";
    }
    body += fmt::format("    <system-out>{}</system-out>\n",
                        escape_xml(fmt::format("verdict: {} (exit {}): {}\nseed: {}\n", r.status,
                                               r.exit_code.value_or(-1), r.reason, r.seed)));
    body += "  </testsuite>\n";
  }
  return fmt::format(
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" "
             "time=\"{:.3f}\">\n",
             escape_xml(set.title), tests, failures, errors, skipped, seconds) +
         body + "</testsuites>\n";
}

}  // namespace faultline
