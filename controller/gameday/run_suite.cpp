#include "controller/gameday/run_suite.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "controller/gameday/history.h"

namespace faultline {
namespace {

using SystemClock = std::chrono::system_clock;

// Starts `faultline run` in its own process group, so that a Ctrl-C reaches it once, through
// us; it is interrupted (and reverts) if we die.
pid_t start_run(const std::vector<std::string>& argv) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGINT);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execv(args[0], args.data());
  _exit(127);
}

// Waits for the run; asks it to stop (SIGINT: it reverts and reports) when we are asked to, or
// at `deadline`. Returns its exit code, and why it was stopped.
int wait_run(pid_t pid, const SuiteRunOptions& o, SystemClock::time_point deadline,
             std::string& stopped_because) {
  bool asked = false;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return 4;  // killed by a signal: an error, and its journal says how far it got
    }
    if (r < 0 && errno != EINTR) return 4;
    if (!asked && o.interrupt != nullptr && o.interrupt->load() != 0) {
      stopped_because = fmt::format("interrupted by signal {}", o.interrupt->load());
      kill(pid, SIGINT);
      asked = true;
    } else if (!asked && SystemClock::now() >= deadline) {
      stopped_because = "the suite ran out of time (max_duration or its window's end)";
      kill(pid, SIGINT);
      asked = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Sleeps for `d`, or less if a stop signal comes.
void pause_for(Duration d, const SuiteRunOptions& o) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until &&
         (o.interrupt == nullptr || o.interrupt->load() == 0))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

}  // namespace

SuiteOutcome run_suite(const Suite& suite, const SuiteRunOptions& o,
                       std::optional<SystemClock::time_point> opening_closes,
                       const std::vector<Duration>& scenario_lengths) {
  SuiteOutcome out;
  const SystemClock::time_point started = SystemClock::now();
  const auto suite_ends =
      started + std::chrono::duration_cast<SystemClock::duration>(suite.max_duration);
  const auto deadline = opening_closes ? std::min(suite_ends, *opening_closes) : suite_ends;
  const auto skip_rest = [&](size_t from, const std::string& why) {
    for (size_t k = from; k < suite.scenarios.size(); ++k)
      out.not_run.push_back(fmt::format("{} ({})", suite.scenarios[k].written, why));
  };
  for (size_t i = 0; i < suite.scenarios.size(); ++i) {
    const SuiteScenario& sc = suite.scenarios[i];
    if (o.interrupt != nullptr && o.interrupt->load() != 0) {
      out.note = fmt::format("interrupted by signal {}", o.interrupt->load());
      skip_rest(i, "interrupted");
      break;
    }
    // A scenario that would run past the suite's end, or its window's, is not started; one
    // that runs longer than planned is interrupted there (wait_run).
    const auto length = std::chrono::duration_cast<SystemClock::duration>(scenario_lengths[i]);
    if (SystemClock::now() + length > deadline) {
      const bool window = opening_closes && *opening_closes < suite_ends;
      out.note = fmt::format(
          "'{}' was not started: its {} would run past the {}", sc.written,
          format_duration(scenario_lengths[i]),
          window ? "end of the suite's window" : "suite's max_duration");
      skip_rest(i, window ? "past the window's end" : "past the suite's max_duration");
      break;
    }
    const std::string journal =
        fmt::format("{}/{:02}-{}.json", o.journal_dir, i + 1, sc.history);
    std::vector<std::string> argv = {o.faultline_binary, "run", sc.file, "--journal", journal,
                                     "--lease", format_duration(o.lease)};
    if (suite.inventory) {
      argv.push_back("--inventory");
      argv.push_back(*suite.inventory);
    }
    if (o.say) o.say(fmt::format("game day: scenario {}/{}: {}", i + 1, suite.scenarios.size(), sc.written));
    std::remove(journal.c_str());
    const pid_t pid = start_run(argv);
    std::string stopped_because;
    const int code = pid < 0 ? 4 : wait_run(pid, o, deadline, stopped_because);
    ScenarioOutcome ran{sc.file, std::nullopt, code};
    if (access(journal.c_str(), R_OK) == 0) ran.journal = journal;
    if (ran.journal && o.history_dir) {
      if (auto stored = store_journal(*o.history_dir, sc.history, journal, suite.history_keep);
          !stored && o.say)
        o.say(fmt::format("game day: warning: not kept in the history: {}", stored.error().message));
    }
    out.ran.push_back(ran);
    // A run refused (2) or killed is an error of the suite.
    const RunStatus status = status_from_exit_code(code);
    if (loudness(status) > loudness(status_from_exit_code(out.exit_code)))
      out.exit_code = exit_code(status);
    if (!stopped_because.empty()) {
      out.note = fmt::format("'{}' was stopped: {}", sc.written, stopped_because);
      skip_rest(i + 1, "the suite was stopped");
      break;
    }
    if (stops_suite(suite.stop_on, status_from_exit_code(code)) && i + 1 < suite.scenarios.size()) {
      out.note = fmt::format("stopped after '{}' (exit {}): stop_on is {}", sc.written, code,
                             stop_on_name(suite.stop_on));
      skip_rest(i + 1, fmt::format("stopped after {}", sc.written));
      break;
    }
    if (i + 1 < suite.scenarios.size() && sc.pause_after > Duration::zero()) {
      if (o.say) o.say(fmt::format("game day: pausing {}", format_duration(sc.pause_after)));
      pause_for(sc.pause_after, o);
    }
  }
  return out;
}

std::vector<std::string> report_journals(const Suite& suite, const SuiteOutcome& outcome,
                                         const std::optional<std::string>& history_dir) {
  std::vector<std::string> paths;
  for (const ScenarioOutcome& ran : outcome.ran) {
    if (!ran.journal) continue;
    const SuiteScenario* sc = nullptr;
    for (const SuiteScenario& s : suite.scenarios)
      if (s.file == ran.file) sc = &s;
    bool from_history = false;
    if (history_dir && sc != nullptr)
      if (auto kept = history_paths(*history_dir, sc->history); kept && !kept->empty()) {
        paths.insert(paths.end(), kept->begin(), kept->end());
        from_history = true;
      }
    if (!from_history) paths.push_back(*ran.journal);
  }
  return paths;
}

}  // namespace faultline
