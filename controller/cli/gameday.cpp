#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "controller/cli/commands.h"
#include "controller/gameday/run_suite.h"
#include "controller/gameday/suite.h"
#include "controller/gameday/suite_lock.h"
#include "controller/gameday/time_window.h"
#include "controller/inventory/inventory.h"
#include "controller/report/report_files.h"
#include "controller/plan/timeline.h"
#include "controller/scenario/scenario.h"
#include "core/stop_signal.h"

namespace faultline {
namespace {

// This executable, to run each scenario as `faultline run`.
std::string own_binary() {
  std::error_code error;
  const auto path = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::string("faultline") : path.string();
}

// Each scenario's journal: in --journal-dir, or a folder of our own removed at the end.
struct JournalDir {
  std::string path;
  bool ours = false;
  JournalDir() = default;
  JournalDir(const JournalDir&) = delete;
  JournalDir& operator=(const JournalDir&) = delete;
  ~JournalDir() {
    std::error_code ignored;
    if (ours) std::filesystem::remove_all(path, ignored);
  }
};

}  // namespace

int gameday_command(const GamedayOptions& o) {
  ParsedSuite parsed = parse_suite_file(o.file);
  for (const Diagnostic& d : parsed.errors)
    std::fprintf(stderr, "%s\n", format_diagnostic(d).c_str());
  if (!parsed.suite) return kExitInvalid;
  // --inventory: the same suite against other hosts (staging, then production).
  Suite suite = std::move(*parsed.suite);
  if (o.inventory) suite.inventory = std::filesystem::absolute(*o.inventory).lexically_normal();
  // Every scenario and the inventory are checked before anything runs anywhere.
  std::vector<Duration> lengths;  // each scenario's planned length
  bool invalid = false;
  for (const SuiteScenario& sc : suite.scenarios) {
    const std::optional<Scenario> s = load_scenario_or_report(sc.file);
    invalid |= !s;
    lengths.push_back(s ? plan_timeline(*s).total : Duration{});
  }
  if (!load_inventory_or_report(suite.inventory)) invalid = true;
  if (invalid) {
    std::fprintf(stderr, "%s: error: the game day was not started: fix the files above\n",
                 o.file.c_str());
    return kExitInvalid;
  }

  std::optional<std::chrono::system_clock::time_point> closes;
  if (suite.window && !o.ignore_window) {
    const auto now = std::chrono::system_clock::now();
    const std::optional<Opening> open = current_opening(*suite.window, now);
    if (!open) {
      const std::optional<Opening> next = next_opening(*suite.window, now);
      std::fprintf(stderr,
                   "%s: game day '%s' not started: outside its window (%s); opens next at %s "
                   "(in %s). --ignore-window runs it now\n",
                   o.file.c_str(), suite.title.c_str(), describe_window(*suite.window).c_str(),
                   next ? format_wall_time(*suite.window, next->opens).c_str() : "never",
                   next ? format_wait(next->opens - now).c_str() : "-");
      return kExitOutsideWindow;
    }
    closes = open->closes;
  }

  auto lock = SuiteLock::acquire({.inventory = suite.inventory, .suite_file = suite.file});
  if (!lock) {
    std::fprintf(stderr, "%s: game day '%s' not started: %s\n", o.file.c_str(),
                 suite.title.c_str(), lock.error().message.c_str());
    return kExitLocked;
  }
  if (lock->took_over()) std::fprintf(stderr, "faultline gameday: %s\n", lock->took_over()->c_str());

  JournalDir journals;
  if (o.journal_dir) {
    journals.path = *o.journal_dir;
    std::error_code error;
    std::filesystem::create_directories(journals.path, error);
    if (error) {
      std::fprintf(stderr, "faultline gameday: error: --journal-dir %s: %s\n",
                   journals.path.c_str(), error.message().c_str());
      return kExitInvalid;
    }
  } else {
    char tmpl[] = "/tmp/faultline-gameday.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      std::fprintf(stderr, "faultline gameday: error: cannot make a folder in /tmp: %s\n",
                   std::strerror(errno));
      return kExitError;
    }
    journals.path = tmpl;
    journals.ours = true;
  }

  install_stop_handlers();
  SuiteRunOptions options;
  options.faultline_binary = own_binary();
  options.journal_dir = journals.path;
  options.history_dir = o.history;
  options.lease = o.lease;
  options.ignore_window = o.ignore_window;
  options.say = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  options.interrupt = &stop_signal();
  const SuiteOutcome outcome = run_suite(suite, options, closes, lengths);

  int code = outcome.exit_code;
  std::string note = outcome.note;
  if (!outcome.not_run.empty())
    note += fmt::format("{}not run: {}", note.empty() ? "" : "; ", fmt::join(outcome.not_run, ", "));
  const std::vector<std::string> paths = report_journals(suite, outcome, o.history);
  if (paths.empty()) {
    std::fprintf(stderr, "faultline gameday: no scenario left a journal; %s\n", note.c_str());
    return std::max(code, kExitError);
  }
  auto set = load_report_set(paths, suite.title);
  if (!set) {
    std::fprintf(stderr, "faultline gameday: error: %s\n", set.error().message.c_str());
    return kExitError;
  }
  set->note = note.empty() ? "every scenario ran" : note;
  // Each scenario's summary was printed by its run; the suite's closes.
  std::fputs(format_suite_summary(*set).c_str(), stdout);
  if (auto w = write_reports(*set, o.reports); !w) {
    std::fprintf(stderr, "faultline gameday: error: %s\n", w.error().message.c_str());
    code = std::max(code, kExitError);
  }
  return code;
}

}  // namespace faultline
