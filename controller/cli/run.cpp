#include <cstdio>
#include <random>

#include "agent/local/local_undo.h"
#include "controller/cli/commands.h"
#include "controller/cli/console.h"
#include "core/stop_signal.h"
#include "controller/inventory/inventory.h"
#include "controller/fleet/preflight.h"
#include "controller/plan/blast_radius.h"
#include "controller/plan/host_plan.h"
#include "controller/report/run_journal.h"
#include "controller/report/report_files.h"
#include "controller/report/text_report.h"
#include "controller/scenario/parse.h"
#include "injectors/linux/cgroup.h"

namespace faultline {

int run_command(const RunCommandOptions& o) {
  const std::string& file = o.file;
  const std::optional<std::string>& inventory_file = o.inventory;
  const std::optional<std::string>& journal = o.journal;
  const std::optional<uint64_t>& seed = o.seed;
  const Duration lease = o.lease;
  auto loaded = load_scenario_or_report(file);
  if (!loaded) return kExitInvalid;
  warn_about_leftovers(stderr);
  const Scenario& s = *loaded;
  const std::optional<Inventory> inventory = load_inventory_or_report(inventory_file);
  if (!inventory) return kExitInvalid;
  // One seed for the choice of hosts and for everything the run chooses, so that a journal's
  // seed replays both.
  const uint64_t run_seed = seed.value_or(std::random_device{}());
  const std::optional<HostPlan> hosts = select_hosts_or_report(s, *inventory, run_seed);
  if (!hosts) return kExitInvalid;
  const BlastRadiusVerdict blast = check_blast_radius(s, plan_timeline(s));
  std::vector<std::string> problems = blast.problems;
  for (std::string& p : host_radius_problems(s, *hosts)) problems.push_back(std::move(p));
  if (!problems.empty()) {
    for (const std::string& p : problems)
      std::fprintf(stderr, "%s: error: refused by the blast radius: %s\n", file.c_str(), p.c_str());
    std::fprintf(stderr, "nothing was injected; see 'faultline plan %s%s%s'\n", file.c_str(),
                 inventory_file ? " --inventory " : "", inventory_file.value_or("").c_str());
    return kExitInvalid;
  }
  // The connections made by the preflight serve the run.
  auto agents = std::make_shared<AgentPool>();
  if (hosts->remote()) {
    // Every agent the run needs answers and can do its part, or nothing starts anywhere.
    const std::vector<std::string> preflight =
        preflight_problems(*agents, s, *hosts, *inventory, lease);
    for (const std::string& p : preflight)
      std::fprintf(stderr, "%s: error: %s\n", file.c_str(), p.c_str());
    if (!preflight.empty()) {
      std::fprintf(stderr,
                   "nothing was injected; `faultline agents --inventory %s` shows every "
                   "agent's state\n",
                   inventory_file.value_or("").c_str());
      return kExitInvalid;
    }
  }
  remove_stale_cgroups();
  // Every local fault's undo is on disk, and with the guardian, before it touches the host.
  auto keeper = open_local_keeper("run");
  if (!keeper) {
    std::fprintf(stderr, "%s: error: nothing was injected: %s\n", file.c_str(),
                 keeper.error().message.c_str());
    return kExitError;
  }
  (*keeper)->start_guardian();  // before any thread: it is a fork
  install_stop_handlers();
  Console console;
  RunOptions options;
  options.seed = run_seed;
  options.journal_path = journal;
  options.log = [&](const std::string& line) { console.log(line); };
  options.status = [&](const LiveStatus& st) { console.status(st); };
  options.interrupt_signal = &stop_signal();
  options.hosts = &*hosts;
  options.lease = lease;
  options.keeper = keeper->get();
  options.agents = agents;
  RunResult result = run_scenario(s, options);
  // What could not be reverted stays in the file: the guardian tries again as we exit, and
  // `faultline recover` after that.
  if ((*keeper)->close() > 0)
    std::fprintf(stderr, "faultline: undo kept in %s; `faultline recover` performs it\n",
                 (*keeper)->path().c_str());
  console.finish();
  // The summary and every report are made from the journal, as `faultline report` makes them
  // later from the saved file: the same text, whichever made it.
  auto read = read_journal(nlohmann::json::parse(result.journal), journal.value_or(file));
  if (!read) {
    std::fprintf(stderr, "faultline: error: %s\n", read.error().message.c_str());
    return kExitError;
  }
  std::fputs(format_text(*read).c_str(), stdout);
  if (journal) std::printf("journal: %s\n", journal->c_str());
  if (o.reports.any()) {
    const ReportSet set = make_report_set({std::move(*read)});
    if (auto w = write_reports(set, o.reports); !w) {
      std::fprintf(stderr, "faultline: error: %s\n", w.error().message.c_str());
      return std::max(exit_code(result.verdict.status), kExitError);
    }
  }
  return exit_code(result.verdict.status);
}

}  // namespace faultline
