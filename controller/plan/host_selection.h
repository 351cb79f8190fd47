#pragma once
// Which inventory hosts one target group acts on: the candidates its names and labels match,
// then all of them, a number of them or a share of them. The choice is random but reproducible:
// the same seed, group and inventory always give the same hosts.
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "controller/inventory/inventory.h"
#include "controller/scenario/scenario.h"
#include "core/diagnostic.h"

namespace faultline {

struct GroupHosts {
  size_t candidates = 0;             // hosts that match the group's names and labels
  std::vector<const Agent*> agents;  // those chosen, sorted by name; never empty
};

// The hosts of `group`, which must have `hosts:`; or every problem, each at its place in the
// scenario: a name the inventory lacks (with did-you-mean), a selection that matches no host
// (with the inventory's labels as a hint), a count above the candidates.
std::expected<GroupHosts, Diagnostics> select_group_hosts(const TargetGroup& group,
                                                          const Inventory& inventory,
                                                          uint64_t seed);

// How many of `candidates` hosts a share selects: rounded up, so at least one of one or more.
size_t hosts_for_share(size_t candidates, Percent share);

// FNV-1a, 64 bits: the same on every platform and build, unlike std::hash.
uint64_t stable_hash(std::string_view text);

// "names [db-1, db-2], labels {role: db}, count 1" (what the group asked for).
std::string describe_host_selection(const HostSelection& selection);

}  // namespace faultline
