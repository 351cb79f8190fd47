#include <cstdio>
#include <random>

#include "controller/cli/commands.h"
#include "controller/cli/console.h"
#include "controller/cli/signals.h"
#include "controller/plan/blast_radius.h"
#include "controller/report/summary.h"
#include "controller/scenario/parse.h"
#include "injectors/linux/cgroup.h"
#include "injectors/linux/undo_guard.h"

namespace faultline {

int run_command(const std::string& file, const std::optional<std::string>& journal,
                std::optional<uint64_t> seed) {
  auto loaded = load_scenario_or_report(file);
  if (!loaded) return kExitInvalid;
  const Scenario& s = *loaded;
  const BlastRadiusVerdict blast = check_blast_radius(s, plan_timeline(s));
  if (!blast.ok) {
    for (const std::string& p : blast.problems)
      std::fprintf(stderr, "%s: error: refused by the blast radius: %s\n", file.c_str(), p.c_str());
    std::fprintf(stderr, "nothing was injected; see 'faultline plan %s'\n", file.c_str());
    return kExitInvalid;
  }
  remove_stale_cgroups();
  UndoGuard::start();  // before any thread: it is a fork
  install_stop_handlers();
  Console console;
  RunOptions options;
  options.seed = seed.value_or(std::random_device{}());
  options.journal_path = journal;
  options.log = [&](const std::string& line) { console.log(line); };
  options.status = [&](const LiveStatus& st) { console.status(st); };
  options.interrupt_signal = &stop_signal();
  RunResult result = run_scenario(s, options);
  if (result.verdict.status != RunStatus::RevertFailed) UndoGuard::stop();
  console.finish();
  std::fputs(format_summary(s, result.record, result.verdict).c_str(), stdout);
  if (journal) std::printf("journal: %s\n", journal->c_str());
  return exit_code(result.verdict.status);
}

}  // namespace faultline
