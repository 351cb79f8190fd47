// `faultline agents`: every agent of an inventory, with its health, version and what it can do.
#include <cstdio>

#include "controller/cli/commands.h"
#include "controller/fleet/preflight.h"
#include "controller/verdict/record.h"

namespace faultline {

int agents_command(const std::string& inventory_file) {
  const std::optional<Inventory> inventory = load_inventory_or_report(inventory_file);
  if (!inventory) return kExitInvalid;
  AgentPool pool;
  const std::vector<AgentHealth> health =
      describe_agents(pool, inventory->agents, std::chrono::seconds(3));
  size_t down = 0;
  for (const AgentHealth& h : health) {
    if (!h.description) {
      ++down;
      std::printf("%-16s %-22s DOWN  %s\n", h.name.c_str(), h.address.c_str(),
                  h.description.error().message.c_str());
      continue;
    }
    const AgentDescription& d = *h.description;
    std::vector<std::string> labels, kinds, missing;
    for (const auto& [k, v] : d.labels) labels.push_back(k + "=" + v);
    for (const auto& k : d.kinds)
      (k.supported ? kinds : missing).push_back(k.supported ? k.kind : k.kind + " (" + k.reason + ")");
    std::printf("%-16s %-22s up    %s, %.1f ms, %u active fault(s), labels %s\n", h.name.c_str(),
                h.address.c_str(), d.version.c_str(), to_ms(h.round_trip), d.active_faults,
                labels.empty() ? "-" : fmt::format("{}", fmt::join(labels, ",")).c_str());
    std::printf("%-16s   can: %s\n", "", fmt::format("{}", fmt::join(kinds, ", ")).c_str());
    for (const std::string& m : missing) std::printf("%-16s   cannot: %s\n", "", m.c_str());
  }
  std::printf("%zu of %zu agents up\n", health.size() - down, health.size());
  return down == 0 ? 0 : exit_code(RunStatus::Error);
}

}  // namespace faultline
