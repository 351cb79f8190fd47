#include "controller/scenario/parse_selector.h"

#include <fmt/format.h>

#include <optional>
#include <string>

#include "core/user_regex.h"
#include "probes/probe_limits.h"

namespace faultline::scenario_parts {
namespace {

void check_selector(YamlReader& r, const yaml::Node& node, const ProcessSelector& sel,
                    std::string_view what) {
  using namespace probe_limits;
  const auto longer = [&](const std::optional<std::string>& value, std::string_view key,
                          size_t max) {
    if (!value) return false;
    auto problem = length_problem(fmt::format("{}.{}", what, key), *value, max);
    if (problem) r.error(node[key], std::move(*problem));
    return problem.has_value();
  };
  longer(sel.name, "name", kMaxSelectorName);
  longer(sel.pidfile, "pidfile", kMaxSelectorPath);
  longer(sel.parent_pidfile, "parent_pidfile", kMaxSelectorPath);
  longer(sel.cgroup, "cgroup", kMaxSelectorPath);
  if (sel.cmdline && !longer(sel.cmdline, "cmdline", kMaxRegex)) {
    if (auto re = UserRegex::compile(*sel.cmdline, fmt::format("{}.cmdline", what)); !re)
      r.error(node["cmdline"], re.error().message);
  }
  if (sel.cgroup && !sel.cgroup->starts_with('/'))
    r.error(node["cgroup"], fmt::format("{}.cgroup must be an absolute cgroup v2 path such as "
                                        "/system.slice/nginx.service",
                                        what));
}

}  // namespace

ProcessSelector parse_selector(YamlReader& r, const yaml::Node& node, std::string_view what) {
  ProcessSelector sel;
  if (!r.mapping(node, what, selector_keys())) return sel;
  for (std::string_view key : selector_keys())
    if (auto v = r.text(node, key, fmt::format("{}.{}", what, key))) {
      if (v->empty()) r.error(node[key], fmt::format("{}.{} is empty", what, key));
      sel.set(key, *v);
    }
  if (sel.empty() && node.size() == 0)
    r.error(node, fmt::format("{} selects nothing; give at least one of {}", what,
                              fmt::join(selector_keys(), ", ")));
  check_selector(r, node, sel, what);
  return sel;
}

}  // namespace faultline::scenario_parts
