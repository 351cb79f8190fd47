#pragma once
// The faultline subcommands; each returns the process exit code (see docs/exit-codes in README).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "controller/report/report_files.h"
#include "core/duration.h"

namespace faultline {

// Exit codes shared by every command.
inline constexpr int kExitInvalid = 2;
inline constexpr int kExitError = 4;
// faultline gameday: nothing ran, the suite's window is closed / another game day holds the lock.
inline constexpr int kExitOutsideWindow = 6;
inline constexpr int kExitLocked = 7;

int validate_command(const std::vector<std::string>& files);
int plan_command(const std::string& file, const std::optional<std::string>& inventory,
                 std::optional<uint64_t> seed);
struct RunCommandOptions {
  std::string file;
  std::optional<std::string> inventory;
  std::optional<std::string> journal;
  std::optional<uint64_t> seed;
  Duration lease = std::chrono::seconds(5);
  ReportFiles reports;
};
int run_command(const RunCommandOptions& options);

struct GamedayOptions {
  std::string file;
  std::optional<std::string> inventory;    // --inventory: instead of the suite's
  std::optional<std::string> history;      // --history DIR
  std::optional<std::string> journal_dir;  // --journal-dir DIR
  bool ignore_window = false;
  Duration lease = std::chrono::seconds(5);
  ReportFiles reports;
};
int gameday_command(const GamedayOptions& options);

// Reports from saved journals; `format` is a name parse_report_format takes.
int report_command(const std::vector<std::string>& journals, const std::string& format,
                   const std::optional<std::string>& out);
int agents_command(const std::string& inventory);
int inject_command(const std::string& kind, const std::optional<std::string>& duration,
                   const std::vector<std::string>& assignments, int64_t max_processes,
                   std::optional<uint64_t> seed);

struct RecoverOptions {
  bool scan = false;                     // also find leftovers by name, without a state file
  std::vector<std::string> state_files;  // agents' state files to perform (agent not running)
};
int recover_command(const RecoverOptions& options);

struct CertsOptions {
  std::string out;
  std::string agents;  // NAME[=ADDRESS],...
  std::string controller_name = "controller";
  int days = 825;
  bool force = false;
};
int certs_command(const CertsOptions& options);

struct LabOptions {
  int hosts = 0;
  std::string dir = "/var/lib/faultline/lab";
  bool no_agents = false;
  std::optional<std::string> agent_binary;
};
int lab_up_command(const LabOptions& options);
int lab_down_command(const LabOptions& options);
int lab_status_command(const LabOptions& options);

// Parses and reports a scenario; nullopt (after printing every error) when it is invalid.
struct Scenario;
std::optional<Scenario> load_scenario_or_report(const std::string& file);

// The inventory given with --inventory (Inventory{} when none was), or nullopt after printing
// every problem of the file.
struct Inventory;
std::optional<Inventory> load_inventory_or_report(const std::optional<std::string>& file);

// Where each fault and probe of `scenario` acts, or nullopt after printing every problem (a
// scenario that needs an inventory without one, names the inventory lacks, empty groups).
struct HostPlan;
std::optional<HostPlan> select_hosts_or_report(const Scenario& scenario, const Inventory& inventory,
                                               uint64_t seed);

}  // namespace faultline
