// The inventory and the hosts of a scenario, for the commands that need them (plan and run).
#include <cstdio>

#include "controller/cli/commands.h"
#include "controller/inventory/inventory.h"
#include "controller/plan/host_plan.h"
#include "controller/scenario/scenario.h"

namespace faultline {

std::optional<Inventory> load_inventory_or_report(const std::optional<std::string>& file) {
  if (!file) return Inventory{};
  ParsedInventory parsed = parse_inventory_file(*file);
  for (const Diagnostic& d : parsed.errors)
    std::fprintf(stderr, "%s\n", format_diagnostic(d).c_str());
  return std::move(parsed.inventory);
}

std::optional<HostPlan> select_hosts_or_report(const Scenario& scenario, const Inventory& inventory,
                                               uint64_t seed) {
  auto plan = select_hosts(scenario, inventory, seed);
  if (plan) return std::move(*plan);
  for (const Diagnostic& d : plan.error())
    std::fprintf(stderr, "%s\n", format_diagnostic(d).c_str());
  return std::nullopt;
}

}  // namespace faultline
