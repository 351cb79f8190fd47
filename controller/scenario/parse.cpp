#include "controller/scenario/parse.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "controller/scenario/check_scenario.h"
#include "controller/scenario/parse_containers.h"
#include "controller/scenario/parse_hosts.h"
#include "controller/scenario/parse_probe.h"
#include "controller/scenario/parse_selector.h"
#include "core/suggest.h"
#include "injectors/injector.h"
#include "yaml/yaml_reader.h"

namespace faultline {
namespace {

using scenario_parts::check_whole;
using scenario_parts::host_share;
using scenario_parts::parse_containers;
using scenario_parts::parse_hosts;
using scenario_parts::parse_protected_container;
using scenario_parts::parse_probe;
using scenario_parts::parse_selector;

constexpr std::string_view kTopKeys[] = {
    "version",      "title",     "description", "tags",     "targets", "blast_radius",
    "steady_state", "stop_when", "faults",      "recovery", "phases",  "on_host_failure"};
constexpr std::string_view kTargetKeys[] = {"host", "hosts", "containers", "pods", "processes"};
constexpr std::string_view kBlastKeys[] = {"max_duration",     "max_processes", "max_hosts",
                                           "max_host_percent", "protected",     "max_containers",
                                           "protected_containers", "max_memory",
                                           "protected_paths"};
constexpr std::string_view kStopKeys[] = {"probe", "consecutive_failures", "failed_ratio_above",
                                          "min_checks"};
constexpr std::string_view kFaultCommonKeys[] = {"name", "target", "at", "duration"};
constexpr std::string_view kRecoveryKeys[] = {"within"};

class ScenarioParser {
 public:
  ScenarioParser(const std::string& file, Diagnostics& errors) : r_(file, errors) {}

  Scenario parse(const yaml::Node& root) {
    Scenario s;
    s.file = r_.file();
    if (!r_.mapping(root, "the scenario", kTopKeys)) return s;
    if (r_.require(root, "version", "the scenario")) {
      auto v = r_.integer(root, "version", "version", 1, std::numeric_limits<int64_t>::max());
      if (v && *v != 1)
        r_.error(root["version"],
                 fmt::format("version {} is not supported; this faultline reads version 1", *v));
    }
    if (r_.require(root, "title", "the scenario"))
      s.title = r_.text(root, "title", "title").value_or("");
    s.description = r_.text(root, "description", "description").value_or("");
    s.tags = r_.text_list(root, "tags", "tags");
    if (root["targets"]) parse_targets(root["targets"], s);
    if (r_.require(root, "blast_radius", "the scenario"))
      parse_blast_radius(root["blast_radius"], s);
    if (root["phases"]) parse_phases(root["phases"], s);
    if (root["recovery"]) parse_recovery(root["recovery"], s);
    if (auto policy = r_.text(root, "on_host_failure", "on_host_failure")) {
      if (*policy == "continue")
        s.on_host_failure = HostFailurePolicy::Continue;
      else if (*policy != "abort")
        r_.error(root["on_host_failure"],
                 fmt::format("on_host_failure '{}' must be 'abort' (revert everywhere and stop, "
                             "the default) or 'continue' (go on with the hosts that applied)",
                             *policy));
    }
    if (root["steady_state"] && r_.sequence(root["steady_state"], "steady_state"))
      for (const yaml::Node& p : root["steady_state"])
        if (auto target_at = parse_probe(r_, p, s))
          notes_.probe_targets.push_back({s.steady_state.size() - 1, *target_at});
    if (root["stop_when"] && r_.sequence(root["stop_when"], "stop_when"))
      for (const yaml::Node& c : root["stop_when"]) parse_stop(c, s);
    if (r_.require(root, "faults", "the scenario") && r_.sequence(root["faults"], "faults"))
      for (const yaml::Node& f : root["faults"]) parse_fault(f, s);
    check_whole(r_, root, s, notes_);
    return s;
  }

 private:
  void parse_targets(const yaml::Node& node, Scenario& s) {
    if (!node.is_map()) {
      r_.error(node, "targets must be a mapping from a group name to its hosts and processes");
      return;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      TargetGroup g;
      g.name = it->first.scalar();
      g.at = r_.where(it->first);
      const std::string what = fmt::format("target '{}'", g.name);
      if (r_.mapping(it->second, what, kTargetKeys)) {
        const yaml::Node hosts = it->second["hosts"];
        if (hosts && it->second["host"]) {
          r_.error(hosts, fmt::format("{} has both host and hosts; keep 'host: local' for this "
                                      "machine or 'hosts:' for hosts of the inventory, not both",
                                      what));
        } else if (auto host = r_.text(it->second, "host", what + ".host")) {
          if (*host != "local")
            r_.error(it->second["host"],
                     fmt::format("{}.host '{}' is not available: host takes only 'local' (this "
                                 "machine); for hosts of the inventory write 'hosts: {{names: "
                                 "[{}]}}' and plan or run with --inventory FILE",
                                 what, *host, *host));
        } else if (hosts) {
          g.hosts = parse_hosts(r_, hosts, what + ".hosts");
        }
        const yaml::Node containers = it->second["containers"];
        const yaml::Node pods = it->second["pods"];
        if (containers && pods) {
          r_.error(pods, fmt::format("{} has both containers and pods; a pod selector is a "
                                     "container selector, keep one",
                                     what));
          notes_.selector_reported.insert(g.name);  // its faults need say no more
        }
        else if (containers)
          g.containers = parse_containers(r_, containers, what + ".containers", false);
        else if (pods)
          g.containers = parse_containers(r_, pods, what + ".pods", true);
        if (it->second["processes"]) {
          g.processes = parse_selector(r_, it->second["processes"], what + ".processes");
          if (g.containers && g.processes.cgroup)
            r_.error(it->second["processes"]["cgroup"],
                     fmt::format("{}.processes.cgroup cannot be used with {}: the processes are "
                                 "picked in each container's own cgroup",
                                 what, containers ? "containers" : "pods"));
          // An empty result here was reported at the selector; uses of the group say no more.
          if (g.processes.empty()) notes_.selector_reported.insert(g.name);
        }
      }
      s.targets.push_back(std::move(g));
    }
  }

  void parse_blast_radius(const yaml::Node& node, Scenario& s) {
    if (!r_.mapping(node, "blast_radius", kBlastKeys)) return;
    if (r_.require(node, "max_duration", "blast_radius"))
      if (auto d = r_.duration(node, "max_duration", "blast_radius.max_duration",
                               std::chrono::seconds(1)))
        s.blast_radius.max_duration = *d;
    if (auto n = r_.integer(node, "max_processes", "blast_radius.max_processes", 1, 100000))
      s.blast_radius.max_processes = *n;
    if (auto n = r_.integer(node, "max_containers", "blast_radius.max_containers", 1, 100000))
      s.blast_radius.max_containers = *n;
    if (node["protected_containers"] &&
        r_.sequence(node["protected_containers"], "blast_radius.protected_containers")) {
      if (node["protected_containers"].size() > kMaxProtectedSelectors)
        r_.error(node["protected_containers"],
                 fmt::format("blast_radius.protected_containers has {} entries; at most {} are "
                             "allowed",
                             node["protected_containers"].size(), kMaxProtectedSelectors));
      size_t i = 0;
      for (const yaml::Node& p : node["protected_containers"])
        s.blast_radius.container_protection.selectors.push_back(parse_protected_container(
            r_, p, fmt::format("blast_radius.protected_containers[{}]", i++)));
    }
    s.blast_radius.max_hosts = r_.integer(node, "max_hosts", "blast_radius.max_hosts", 1, 100000);
    s.blast_radius.max_host_percent =
        host_share(r_, node, "max_host_percent", "blast_radius.max_host_percent");
    // Hosts are bounded by default, as processes are; a share alone is bound enough.
    if (!node["max_hosts"] && !node["max_host_percent"]) s.blast_radius.max_hosts = 1;
    parse_resource_bounds(node, s.blast_radius.resources);
    if (node["protected"] && r_.sequence(node["protected"], "blast_radius.protected")) {
      // Each goes to every agent the run uses, which takes no more than this.
      if (node["protected"].size() > kMaxProtectedSelectors)
        r_.error(node["protected"],
                 fmt::format("blast_radius.protected has {} selectors; at most {} are allowed",
                             node["protected"].size(), kMaxProtectedSelectors));
      size_t i = 0;
      for (const yaml::Node& p : node["protected"])
        s.blast_radius.protection.selectors.push_back(
            parse_selector(r_, p, fmt::format("blast_radius.protected[{}]", i++)));
    }
  }

  // max_memory: "2GiB" or "50%" (of each host's memory); protected_paths: filesystems that no
  // resource fault may fill, stress or throttle.
  void parse_resource_bounds(const yaml::Node& node, ResourceBounds& bounds) {
    if (auto text = r_.text(node, "max_memory", "blast_radius.max_memory")) {
      if (auto b = parse_memory_bound(*text))
        bounds.max_memory = *b;
      else
        r_.error(node["max_memory"],
                 fmt::format("blast_radius.max_memory: {}", b.error().message));
    }
    const yaml::Node paths = node["protected_paths"];
    if (!paths || !r_.sequence(paths, "blast_radius.protected_paths")) return;
    if (paths.size() > kMaxProtectedSelectors)
      r_.error(paths, fmt::format("blast_radius.protected_paths has {} entries; at most {} are "
                                  "allowed",
                                  paths.size(), kMaxProtectedSelectors));
    size_t i = 0;
    for (const yaml::Node& p : paths) {
      const std::string what = fmt::format("blast_radius.protected_paths[{}]", i++);
      if (!p.is_scalar()) {
        r_.error(p, fmt::format("{} must be a path, e.g. /var/lib/postgresql", what));
        continue;
      }
      if (auto ok = check_protected_path_text(p.scalar()); !ok) {
        r_.error(p, fmt::format("{}: {}", what, ok.error().message));
        continue;
      }
      bounds.protected_paths.push_back({p.scalar(), "blast_radius.protected_paths"});
    }
  }

  void parse_phases(const yaml::Node& node, Scenario& s) {
    constexpr std::string_view keys[] = {"before", "after"};
    if (!r_.mapping(node, "phases", keys)) return;
    if (auto d = r_.duration(node, "before", "phases.before", std::chrono::milliseconds(100)))
      s.before = *d;
    if (auto d = r_.duration(node, "after", "phases.after")) {
      s.after = *d;
      notes_.after_given = true;
    }
  }

  void parse_recovery(const yaml::Node& node, Scenario& s) {
    if (!r_.mapping(node, "recovery", kRecoveryKeys)) return;
    if (auto d = r_.duration(node, "within", "recovery.within")) s.recovery.within = *d;
  }

  void parse_stop(const yaml::Node& node, Scenario& s) {
    StopCondition c;
    c.at = r_.where(node);
    if (!r_.mapping(node, "a stop_when condition", kStopKeys)) return;
    if (r_.require(node, "probe", "a stop_when condition")) {
      c.probe = r_.text(node, "probe", "stop_when.probe").value_or("");
      notes_.stop_probe_at.push_back(r_.where(node["probe"]));
    } else {
      notes_.stop_probe_at.push_back(c.at);
    }
    c.consecutive_failures =
        r_.integer(node, "consecutive_failures", "stop_when.consecutive_failures", 1, 1000000);
    c.failed_ratio_above = r_.percent(node, "failed_ratio_above", "stop_when.failed_ratio_above");
    if (auto m = r_.integer(node, "min_checks", "stop_when.min_checks", 1, 1000000))
      c.min_checks = *m;
    if (!node["consecutive_failures"] && !node["failed_ratio_above"])
      r_.error(node, "a stop_when condition needs consecutive_failures or failed_ratio_above");
    s.stop_when.push_back(std::move(c));
  }

  void parse_fault(const yaml::Node& node, Scenario& s) {
    FaultSpec f;
    f.where = r_.where(node);
    if (!node.is_map()) {
      r_.error(node, "each fault must be a mapping with name, target, at and one fault kind");
      return;
    }
    // The same for every fault: built once, not 60,000 times for a file of 60,000 faults.
    static const std::vector<std::string_view> kinds = injector_kinds();
    static const std::vector<std::string_view> allowed = [] {
      std::vector<std::string_view> keys(std::begin(kFaultCommonKeys), std::end(kFaultCommonKeys));
      keys.insert(keys.end(), kinds.begin(), kinds.end());
      return keys;
    }();
    // Unknown keys first, so that a misspelt `name` is not also reported as missing.
    const std::string fault_name =
        node["name"] && node["name"].is_scalar() ? node["name"].scalar() : "";
    r_.mapping(node, fault_name.empty() ? "a fault" : fmt::format("fault '{}'", fault_name),
               allowed);
    if (r_.require(node, "name", "a fault"))
      f.name = r_.text(node, "name", "the fault name").value_or("");
    const std::string what = f.name.empty() ? "the fault" : fmt::format("fault '{}'", f.name);
    if (!f.name.empty())
      if (const auto [first, inserted] = fault_line_.try_emplace(f.name, f.where.line); !inserted)
        r_.error(node["name"], fmt::format("a fault named '{}' is already defined at line {}; "
                                           "give each fault its own name",
                                           f.name, first->second));
    f.target = r_.text(node, "target", what + ".target").value_or("");
    if (r_.require(node, "at", what))
      f.at = r_.duration(node, "at", what + ".at").value_or(Duration::zero());
    f.duration = r_.duration(node, "duration", what + ".duration", std::chrono::milliseconds(1));

    std::vector<std::string_view> given;
    for (std::string_view k : kinds)
      if (node[k]) given.push_back(k);
    // A key that is neither a fault kind nor close to a common key is most likely a kind this
    // faultline does not have; its unknown-key report (listing the kinds) says all there is.
    bool unknown_kind_given = false;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string key = it->first.is_scalar() ? it->first.scalar() : "";
      const bool known = std::find(allowed.begin(), allowed.end(), key) != allowed.end();
      unknown_kind_given |= !known && !closest_match(key, kFaultCommonKeys);
    }
    if (given.size() > 1 || (given.empty() && !unknown_kind_given)) {
      r_.error(node,
               fmt::format("{} must have exactly one fault kind ({}); it has {}", what,
                           fmt::join(kinds, ", "),
                           given.empty() ? "none" : fmt::format("{}", fmt::join(given, ", "))));
    }
    if (given.size() != 1) {
      notes_.fault_nodes.push_back(node);
      s.faults.push_back(std::move(f));
      return;
    }
    f.kind = std::string(given.front());
    const InjectorDescriptor* d = find_injector(f.kind);
    const yaml::Node params = node[f.kind];
    std::vector<RawParam> raw;
    if (params.is_map()) {
      for (auto it = params.begin(); it != params.end(); ++it) {
        if (!it->second.is_scalar()) {
          r_.error(it->second, fmt::format("{}.{}.{} must be a single value, not {}", what, f.kind,
                                           it->first.scalar(),
                                           it->second.is_sequence() ? "a list" : "a mapping"));
          continue;
        }
        raw.push_back(
            {it->first.scalar(), it->second.scalar(), r_.where(it->first), r_.where(it->second)});
      }
    } else if (!params.is_null()) {
      r_.error(params, fmt::format("{}.{} must be a mapping of parameters (or empty for the "
                                   "defaults)",
                                   what, f.kind));
    }
    ParsedParams parsed = parse_params(d->params, raw, r_.where(params), what);
    for (Diagnostic& e : parsed.errors) r_.error(e.where, std::move(e.message));
    f.params = std::move(parsed.params);
    if (parsed.errors.empty()) {
      // Targets are read before faults, so the selector is known here when the target exists.
      const TargetGroup* group = s.target(f.target);
      const ProcessSelector no_selector;
      for (const std::string& problem :
           d->cross_check(f.params, f.duration, group ? group->processes : no_selector))
        r_.error(params, fmt::format("{}: {}", what, problem));
      // A fixed count above the blast radius can never run; say so now rather than at plan.
      if (d->targets_processes && f.params.count("count").mode == Count::Mode::Number &&
          f.params.count("count").number > s.blast_radius.max_processes)
        r_.error(params["count"],
                 fmt::format("{}: count {} is more than "
                             "blast_radius.max_processes {}; lower the count "
                             "or raise max_processes",
                             what, f.params.count("count").number, s.blast_radius.max_processes));
    }
    if (d->duration == DurationRule::Required && !node["duration"])
      r_.error(node, fmt::format("{} needs a duration: {} is undone when its duration ends", what,
                                 f.kind));
    notes_.fault_nodes.push_back(node);
    s.faults.push_back(std::move(f));
  }

  YamlReader r_;
  scenario_parts::ParseNotes notes_;  // for check_whole
  // The line of the first fault of each name: one lookup per fault, not a walk of all before it.
  std::unordered_map<std::string, int> fault_line_;
};

}  // namespace

ParsedScenario parse_scenario_text(const std::string& text, const std::string& file) {
  ParsedScenario out;
  const std::unique_ptr<yaml::Document> doc =
      load_yaml_document(text, file, "a scenario starts with 'version: 1'", out.errors);
  if (!doc) return out;
  Scenario s = ScenarioParser(file, out.errors).parse(doc->root());
  if (out.errors.empty()) out.scenario = std::move(s);
  sort_by_place(out.errors);
  return out;
}

ParsedScenario parse_scenario_file(const std::string& path) {
  ParsedScenario out;
  if (std::optional<std::string> text = read_text_file(path, out.errors))
    return parse_scenario_text(*text, path);
  return out;
}

}  // namespace faultline
