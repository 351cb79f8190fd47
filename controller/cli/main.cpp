// faultline: run chaos scenarios on this host, or on many through their agents. See README.md for
// the exit codes.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "controller/cli/commands.h"
#include "core/duration.h"
#include "injectors/injector.h"

namespace {

// The report files a run or a game day writes as it ends.
void add_report_file_options(CLI::App& command, faultline::ReportFiles& files) {
  command.add_option("--junit", files.junit, "write a JUnit XML report (for CI) to this path");
  command.add_option("--html", files.html, "write a self-contained HTML report to this path");
  command.add_option("--markdown", files.markdown,
                     "write a Markdown report (a PR comment, $GITHUB_STEP_SUMMARY) to this path");
  command.add_option("--metrics-textfile", files.metrics_textfile,
                     "write the results for node_exporter's textfile collector to this path");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace faultline;
  CLI::App app{
      "faultline: fault injection with a steady-state hypothesis, on this host or on "
      "many through their agents",
      "faultline"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("faultline ") + FAULTLINE_VERSION);
  app.footer(
      "exit codes: 0 held, 1 deviated, 2 invalid input or refused, 3 aborted, 4 error, "
      "5 a fault could not be reverted; gameday: 6 outside its window, 7 another game day "
      "holds its lock");

  std::vector<std::string> files;
  auto* validate = app.add_subcommand("validate", "check scenario files; report every problem");
  validate->add_option("FILE", files, "scenario files")->required();

  std::string plan_file;
  std::optional<std::string> plan_inventory;
  std::optional<uint64_t> plan_seed;
  auto* plan = app.add_subcommand("plan", "dry run: targets now, timeline, blast-radius verdict");
  plan->add_option("FILE", plan_file, "scenario file")->required();
  plan->add_option("--inventory", plan_inventory,
                   "the agents (one per host) that target groups with 'hosts:' select from");
  plan->add_option("--seed", plan_seed, "seed for choosing hosts, as 'run --seed' would");

  std::string run_file;
  std::optional<std::string> journal;
  std::optional<uint64_t> seed;
  auto* run = app.add_subcommand("run", "run a scenario: inject, observe, revert, report");
  std::optional<std::string> run_inventory;
  run->add_option("FILE", run_file, "scenario file")->required();
  run->add_option("--inventory", run_inventory,
                  "the agents (one per host) that target groups with 'hosts:' select from");
  run->add_option("--journal", journal, "write the journal (JSON) to this path as the run goes");
  run->add_option("--seed", seed, "seed for random choices, to replay a run");
  std::string lease_text = "5s";
  run->add_option("--lease", lease_text,
                  "lease of each fault on an agent: if faultline dies, agents revert within it");
  ReportFiles run_reports;
  add_report_file_options(*run, run_reports);

  std::vector<std::string> report_journals;
  std::string report_format = "text";
  std::optional<std::string> report_out;
  auto* report = app.add_subcommand(
      "report", "reports from saved journals; several journals make one report, a scenario's "
                "older journals its history");
  report->add_option("JOURNAL", report_journals, "journal files written by --journal")
      ->required();
  report
      ->add_option("--format", report_format,
                   "text (the run's summary), json, junit, html, markdown or metrics "
                   "(node_exporter textfile)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json", "junit", "html", "markdown", "metrics"}));
  report->add_option("--out", report_out, "write to this file (atomically) instead of stdout");

  GamedayOptions gameday_options;
  auto* gameday = app.add_subcommand(
      "gameday", "run a game-day suite: its scenarios in order, in its time window, one combined "
                 "report (docs/gameday.md, docs/ci.md)");
  gameday->add_option("FILE", gameday_options.file, "game-day suite file")->required();
  gameday->add_option("--inventory", gameday_options.inventory,
                      "the inventory every scenario runs with, instead of the suite's own");
  gameday->add_option("--history", gameday_options.history,
                      "keep the last journals of each scenario here; reports show their trend");
  gameday->add_option("--journal-dir", gameday_options.journal_dir,
                      "keep this run's journals here (default: a temporary folder)");
  gameday->add_flag("--ignore-window", gameday_options.ignore_window,
                    "run even outside the suite's time window (a manual run)");
  std::string gameday_lease = "5s";
  gameday->add_option("--lease", gameday_lease, "as for run: the lease of each fault on an agent");
  add_report_file_options(*gameday, gameday_options.reports);

  std::string agents_inventory;
  auto* agents = app.add_subcommand("agents",
                                    "every agent of an inventory: health, version, "
                                    "what it can do here");
  agents->add_option("--inventory", agents_inventory, "the inventory file")->required();

  std::string kind;
  std::optional<std::string> duration;
  std::vector<std::string> assignments;
  int64_t max_processes = 1;
  std::string kinds_help = "fault kind: ";
  for (std::string_view k : injector_kinds()) kinds_help += std::string(k) + " ";
  auto* inject = app.add_subcommand("inject", "one ad-hoc fault, reverted at its end or on Ctrl-C");
  inject->add_option("KIND", kind, kinds_help)->required();
  inject->add_option("KEY=VALUE", assignments,
                     "parameters and process selector, named as in scenario files");
  inject->add_option("--duration", duration, "how long the fault lasts, e.g. 30s");
  inject
      ->add_option("--max-processes", max_processes,
                   "blast radius: most processes the fault may touch")
      ->check(CLI::Range(int64_t{1}, int64_t{100000}));
  inject->add_option("--seed", seed, "seed for choosing among matching processes");

  RecoverOptions recover_options;
  auto* recover = app.add_subcommand(
      "recover", "undo what a faultline that died (with its guardian) left on this host");
  recover->add_flag("--scan", recover_options.scan,
                    "also find faultline's leftovers by name: fa01: qdiscs, flifb* devices, "
                    "faultline_* nftables tables, faultline-* cgroups");
  recover->add_option("--state", recover_options.state_files,
                      "an agent's state file to perform (its agent is not running)");

  CertsOptions certs_options;
  auto* certs = app.add_subcommand(
      "certs", "make mutual-TLS material: a CA, a certificate per agent, one for the controller");
  certs->add_option("--out", certs_options.out, "directory for the PEM files (made 0700)")
      ->required();
  certs
      ->add_option("--agents", certs_options.agents,
                   "NAME[=ADDRESS],... e.g. web-1=10.0.0.11,db-1 (ADDRESS: IPv4 or IPv6)")
      ->required();
  certs
      ->add_option("--controller-name", certs_options.controller_name,
                   "name (CN and DNS SAN) of the controller's client certificate")
      ->capture_default_str();
  certs->add_option("--days", certs_options.days, "validity of the certificates made")
      ->capture_default_str()
      ->check(CLI::Range(1, 36500));
  certs->add_flag("--force", certs_options.force,
                  "replace existing agent and controller files (an existing CA is always reused)");

  LabOptions lab_options;
  auto* lab = app.add_subcommand(
      "lab", "many hosts on one machine: network namespaces on a bridge, an agent in each");
  lab->require_subcommand(1);
  auto* lab_up = lab->add_subcommand(
      "up", "make fl-lab-1..N on bridge fl-lab0 (10.213.0.1/24), certificates, agents");
  lab_up->add_option("--hosts", lab_options.hosts, "how many lab hosts")
      ->required()
      ->check(CLI::Range(1, 60));
  lab_up->add_flag("--no-agents", lab_options.no_agents, "make the network and files only");
  lab_up->add_option("--agent-binary", lab_options.agent_binary,
                     "faultline-agent to start (default: next to faultline)");
  auto* lab_down = lab->add_subcommand(
      "down", "stop the lab's agents, remove its namespaces, links and bridge (found by name)");
  auto* lab_status = lab->add_subcommand("status", "the lab's hosts and whether their agents run");
  for (CLI::App* sub : {lab_up, lab_down, lab_status})
    sub->add_option("--dir", lab_options.dir,
                    "the lab's certificates, agent configs, inventory, logs")
        ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitInvalid;
  }
  // FAULTLINE_ARGS_ONLY=1: the command line is accepted, and nothing is done. The tests check
  // every faultline command line of the docs and manifests this way, so they cannot drift.
  if (const char* only = std::getenv("FAULTLINE_ARGS_ONLY"); only && std::string_view(only) == "1")
    return 0;
  if (*validate) return validate_command(files);
  if (*plan) return plan_command(plan_file, plan_inventory, plan_seed);
  if (*run) {
    auto lease = parse_duration(lease_text);
    if (!lease || *lease < std::chrono::milliseconds(500) || *lease > std::chrono::minutes(5)) {
      std::fprintf(stderr,
                   "faultline run: error: --lease '%s' must be a duration from 500ms to "
                   "5m, e.g. --lease 5s\n",
                   lease_text.c_str());
      return kExitInvalid;
    }
    return run_command(RunCommandOptions{run_file, run_inventory, journal, seed, *lease,
                                         run_reports});
  }
  if (*gameday) {
    auto lease = parse_duration(gameday_lease);
    if (!lease || *lease < std::chrono::milliseconds(500) || *lease > std::chrono::minutes(5)) {
      std::fprintf(stderr,
                   "faultline gameday: error: --lease '%s' must be a duration from 500ms to "
                   "5m, e.g. --lease 5s\n",
                   gameday_lease.c_str());
      return kExitInvalid;
    }
    gameday_options.lease = *lease;
    return gameday_command(gameday_options);
  }
  if (*report) return report_command(report_journals, report_format, report_out);
  if (*agents) return agents_command(agents_inventory);
  if (*certs) return certs_command(certs_options);
  if (*lab_up) return lab_up_command(lab_options);
  if (*lab_down) return lab_down_command(lab_options);
  if (*lab_status) return lab_status_command(lab_options);
  if (*inject) return inject_command(kind, duration, assignments, max_processes, seed);
  if (*recover) return recover_command(recover_options);
  return kExitInvalid;
}
