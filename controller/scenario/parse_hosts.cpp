#include "controller/scenario/parse_hosts.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "controller/inventory/host_name.h"
#include "controller/scenario/scalar_items.h"

namespace faultline::scenario_parts {
namespace {

constexpr std::string_view kHostsKeys[] = {"names", "labels", "count", "percent"};

}  // namespace

HostSelection parse_hosts(YamlReader& r, const yaml::Node& node, const std::string& what) {
  HostSelection h;
  h.at = r.where(node);
  if (node.is_sequence()) {
    r.error(node, fmt::format("{} must be a mapping such as {{names: [web-1, web-2]}} or "
                              "{{labels: {{role: app}}, percent: 30%}}; a list of hosts goes "
                              "under 'names:'",
                              what));
    return h;
  }
  if (!r.mapping(node, what, kHostsKeys)) return h;
  if (node["names"]) {
    const auto names = scalar_items(r, node["names"], what + ".names");
    if (names.empty() && node["names"].is_sequence())
      r.error(node["names"], fmt::format("{}.names is empty; list the hosts' names, or leave "
                                         "names out to select by labels",
                                         what));
    for (const auto& [name, name_node] : names) {
      if (auto problem = host_name_problem(name)) {
        r.error(name_node, fmt::format("{}.names: {}", what, *problem));
        continue;
      }
      const auto same = std::find_if(h.names.begin(), h.names.end(),
                                     [&](const HostSelection::Name& n) { return n.name == name; });
      if (same != h.names.end()) {
        r.error(name_node, fmt::format("{}.names lists '{}' twice (first at line {}); list "
                                       "each host once",
                                       what, name, same->at.line));
        continue;
      }
      h.names.push_back({name, r.where(name_node)});
    }
  }
  if (node["labels"]) h.labels = r.labels(node["labels"], what + ".labels");
  // A misspelt `names` or `labels` was reported as an unknown key; that says it all.
  bool unknown_key = false;
  for (auto it = node.begin(); it != node.end(); ++it)
    unknown_key |= std::find(std::begin(kHostsKeys), std::end(kHostsKeys), it->first.scalar()) ==
                   std::end(kHostsKeys);
  if (!node["names"] && !node["labels"] && !unknown_key)
    r.error(node, fmt::format("{} does not say which hosts; give names: [...], labels: "
                              "{{...}}, or both (a host then needs both)",
                              what));
  if (node["count"] && node["percent"]) {
    r.error(node["percent"],
            fmt::format("{} has both count and percent; keep one (neither: all the hosts "
                        "selected)",
                        what));
  } else if (auto n = r.integer(node, "count", what + ".count", 1, 100000)) {
    h.mode = HostSelection::Mode::Count;
    h.count = *n;
  } else if (auto p = host_share(r, node, "percent", what + ".percent")) {
    h.mode = HostSelection::Mode::Percent;
    h.percent = *p;
  }
  return h;
}

std::optional<Percent> host_share(YamlReader& r, const yaml::Node& map, std::string_view key,
                                  const std::string& what) {
  auto text = r.text(map, key, what);
  if (!text) return std::nullopt;
  const yaml::Node value = map[key];
  auto p = parse_percent(*text);
  if (!p) {
    r.error(value, fmt::format("{}: {}", what, p.error().message));
    return std::nullopt;
  }
  if (*p < Percent::whole(1) || *p > Percent::whole(100)) {
    r.error(value,
            fmt::format("{} must be between 1% and 100% (got {})", what, format_percent(*p)));
    return std::nullopt;
  }
  return *p;
}

}  // namespace faultline::scenario_parts
