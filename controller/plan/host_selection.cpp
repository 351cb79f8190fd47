#include "controller/plan/host_selection.h"

#include <fmt/format.h>

#include <algorithm>
#include <random>
#include <set>

#include "core/suggest.h"

namespace faultline {
namespace {

// A uniform integer in [0, n) from the engine's raw output. std::uniform_int_distribution is
// not the same algorithm in every standard library; this is, so a seed replays anywhere.
uint64_t uniform_below(std::mt19937_64& engine, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;  // 2^64 mod n: raw values below it would bias
  for (;;)
    if (const uint64_t raw = engine(); raw >= threshold) return raw % n;
}

std::string format_labels(const std::map<std::string, std::string>& labels) {
  std::vector<std::string> pairs;
  for (const auto& [key, value] : labels) pairs.push_back(fmt::format("{}: {}", key, value));
  return fmt::format("{{{}}}", fmt::join(pairs, ", "));
}

bool has_labels(const Agent& agent, const std::map<std::string, std::string>& wanted) {
  for (const auto& [key, value] : wanted) {
    const auto it = agent.labels.find(key);
    if (it == agent.labels.end() || it->second != value) return false;
  }
  return true;
}

// "role=app, role=db, zone=a": every label of the inventory, once each.
std::string inventory_labels(const Inventory& inventory) {
  std::set<std::string> pairs;
  for (const Agent& a : inventory.agents)
    for (const auto& [key, value] : a.labels) pairs.insert(fmt::format("{}={}", key, value));
  if (pairs.empty()) return "the inventory's hosts have no labels";
  return fmt::format("labels in the inventory: {}", fmt::join(pairs, ", "));
}

std::string agent_names(const std::vector<const Agent*>& agents) {
  std::vector<std::string_view> names;
  for (const Agent* a : agents) names.push_back(a->name);
  return fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

uint64_t stable_hash(std::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

size_t hosts_for_share(size_t candidates, Percent share) {
  const auto bp = static_cast<uint64_t>(share.basis_points);
  return static_cast<size_t>((candidates * bp + 9999) / 10000);
}

std::string describe_host_selection(const HostSelection& h) {
  std::vector<std::string> parts;
  if (!h.names.empty()) {
    std::vector<std::string_view> names;
    for (const HostSelection::Name& n : h.names) names.push_back(n.name);
    parts.push_back(fmt::format("names [{}]", fmt::join(names, ", ")));
  }
  if (!h.labels.empty()) parts.push_back(fmt::format("labels {}", format_labels(h.labels)));
  switch (h.mode) {
    case HostSelection::Mode::All:
      parts.push_back("all");
      break;
    case HostSelection::Mode::Count:
      parts.push_back(fmt::format("count {}", h.count));
      break;
    case HostSelection::Mode::Percent:
      parts.push_back(fmt::format("percent {}", format_percent(h.percent)));
      break;
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::expected<GroupHosts, Diagnostics> select_group_hosts(const TargetGroup& group,
                                                          const Inventory& inventory,
                                                          uint64_t seed) {
  const HostSelection& h = *group.hosts;
  Diagnostics problems;
  for (const HostSelection::Name& n : h.names)
    if (inventory.agent(n.name) == nullptr)
      problems.push_back(
          {n.at,
           fmt::format("target '{}'.hosts.names: '{}' is not in the inventory {}{}", group.name,
                       n.name, inventory.file, did_you_mean(n.name, inventory.names()))});
  if (!problems.empty()) return std::unexpected(std::move(problems));

  std::vector<const Agent*> candidates;
  for (const Agent& a : inventory.agents) {
    const bool named = h.names.empty() ||
                       std::any_of(h.names.begin(), h.names.end(),
                                   [&](const HostSelection::Name& n) { return n.name == a.name; });
    if (named && has_labels(a, h.labels)) candidates.push_back(&a);
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const Agent* a, const Agent* b) { return a->name < b->name; });
  if (candidates.empty()) {
    std::vector<std::string_view> named;
    for (const HostSelection::Name& n : h.names) named.push_back(n.name);
    const std::string which = h.names.empty()
                                  ? fmt::format("has labels {}", format_labels(h.labels))
                                  : fmt::format("among {} has labels {}", fmt::join(named, ", "),
                                                format_labels(h.labels));
    problems.push_back({h.at, fmt::format("target '{}' selects no host: no host {} ({} hosts in "
                                          "{}; {})",
                                          group.name, which, inventory.agents.size(),
                                          inventory.file, inventory_labels(inventory))});
    return std::unexpected(std::move(problems));
  }

  size_t wanted = candidates.size();
  if (h.mode == HostSelection::Mode::Count) {
    if (static_cast<size_t>(h.count) > candidates.size()) {
      problems.push_back(
          {h.at, fmt::format("target '{}' asks for {} hosts, but only {} match ({}); lower "
                             "hosts.count to at most {} or select more hosts",
                             group.name, h.count, candidates.size(), agent_names(candidates),
                             candidates.size())});
      return std::unexpected(std::move(problems));
    }
    wanted = static_cast<size_t>(h.count);
  } else if (h.mode == HostSelection::Mode::Percent) {
    wanted = hosts_for_share(candidates.size(), h.percent);
  }

  // A partial Fisher-Yates shuffle: the first `wanted` places end up a uniform choice.
  std::mt19937_64 engine(seed + stable_hash(group.name));
  for (size_t i = 0; i < wanted && wanted < candidates.size(); ++i) {
    const size_t j = i + static_cast<size_t>(uniform_below(engine, candidates.size() - i));
    std::swap(candidates[i], candidates[j]);
  }
  GroupHosts out;
  out.candidates = candidates.size();
  out.agents.assign(candidates.begin(), candidates.begin() + static_cast<ptrdiff_t>(wanted));
  std::sort(out.agents.begin(), out.agents.end(),
            [](const Agent* a, const Agent* b) { return a->name < b->name; });
  return out;
}

}  // namespace faultline
