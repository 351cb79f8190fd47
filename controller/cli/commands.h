#pragma once
// The faultline subcommands; each returns the process exit code (see docs/exit-codes in README).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace faultline {

// Exit codes shared by every command.
inline constexpr int kExitInvalid = 2;

int validate_command(const std::vector<std::string>& files);
int plan_command(const std::string& file, const std::optional<std::string>& inventory,
                 std::optional<uint64_t> seed);
int run_command(const std::string& file, const std::optional<std::string>& inventory,
                const std::optional<std::string>& journal, std::optional<uint64_t> seed);
int inject_command(const std::string& kind, const std::optional<std::string>& duration,
                   const std::vector<std::string>& assignments, int64_t max_processes,
                   std::optional<uint64_t> seed);

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
