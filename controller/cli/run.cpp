#include <cstdio>
#include <random>

#include "controller/cli/commands.h"
#include "controller/cli/console.h"
#include "controller/cli/signals.h"
#include "controller/fleet/inventory.h"
#include "controller/plan/blast_radius.h"
#include "controller/plan/host_plan.h"
#include "controller/report/summary.h"
#include "controller/scenario/parse.h"
#include "injectors/linux/cgroup.h"
#include "injectors/linux/undo_guard.h"

namespace faultline {

int run_command(const std::string& file, const std::optional<std::string>& inventory_file,
                const std::optional<std::string>& journal, std::optional<uint64_t> seed) {
  auto loaded = load_scenario_or_report(file);
  if (!loaded) return kExitInvalid;
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
  if (hosts->remote()) {
    // The plan is sound, but this build's engine acts only on this host.
    for (const FaultHosts& f : hosts->faults) {
      if (f.local) continue;
      std::vector<std::string_view> names;
      for (const Agent& a : f.agents) names.push_back(a.name);
      std::fprintf(stderr, "%s: error: fault '%s' would act on %s through their agents\n",
                   file.c_str(), s.faults[f.fault].name.c_str(),
                   fmt::format("{}", fmt::join(names, ", ")).c_str());
    }
    for (const ProbeHost& p : hosts->probes)
      if (p.agent)
        std::fprintf(stderr, "%s: error: probe '%s' would run on %s through its agent\n",
                     file.c_str(), s.steady_state[p.probe].name.c_str(), p.agent->name.c_str());
    std::fprintf(stderr,
                 "remote execution is not available in this build: faultline run acts on this "
                 "host only; nothing was injected (seed %llu)\n",
                 static_cast<unsigned long long>(run_seed));
    return kExitInvalid;
  }
  remove_stale_cgroups();
  UndoGuard::start();  // before any thread: it is a fork
  install_stop_handlers();
  Console console;
  RunOptions options;
  options.seed = run_seed;
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
