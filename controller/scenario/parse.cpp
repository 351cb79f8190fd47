#include "controller/scenario/parse.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <set>
#include <unordered_map>

#include "controller/inventory/host_name.h"
#include "probes/probe_limits.h"
#include "core/user_regex.h"
#include "yaml/yaml_reader.h"
#include "core/suggest.h"
#include "injectors/injector.h"

namespace faultline {
namespace {

constexpr std::string_view kTopKeys[] = {"version", "title",        "description",  "tags",
                                         "targets", "blast_radius", "steady_state", "stop_when",
                                         "faults",  "recovery",     "phases",       "on_host_failure"};
constexpr std::string_view kTargetKeys[] = {"host", "hosts", "processes"};
constexpr std::string_view kHostsKeys[] = {"names", "labels", "count", "percent"};
constexpr std::string_view kBlastKeys[] = {"max_duration", "max_processes", "max_hosts",
                                           "max_host_percent", "protected"};
constexpr std::string_view kProbeKeys[] = {"name",    "on",     "http",     "tcp",    "command",
                                           "process", "expect", "interval", "phases", "tolerance"};
constexpr std::string_view kProbeTypes[] = {"http", "tcp", "command", "process"};
constexpr std::string_view kHttpKeys[] = {"url", "method", "timeout"};
constexpr std::string_view kTcpKeys[] = {"address", "timeout"};
constexpr std::string_view kCommandKeys[] = {"run", "timeout"};
constexpr std::string_view kProcessProbeKeys[] = {"target",  "name",           "cmdline",
                                                  "pidfile", "parent_pidfile", "cgroup"};
constexpr std::string_view kHttpExpect[] = {"status", "body_matches", "max_latency"};
constexpr std::string_view kTcpExpect[] = {"connects", "max_latency"};
constexpr std::string_view kCommandExpect[] = {"exit_code", "stdout_matches"};
constexpr std::string_view kProcessExpect[] = {"min_count", "max_count"};
constexpr std::string_view kPhaseNames[] = {"before", "during", "after"};
constexpr std::string_view kStopKeys[] = {"probe", "consecutive_failures", "failed_ratio_above",
                                          "min_checks"};
constexpr std::string_view kFaultCommonKeys[] = {"name", "target", "at", "duration"};
constexpr std::string_view kRecoveryKeys[] = {"within"};
constexpr std::string_view kMethods[] = {"GET",    "HEAD",    "POST", "PUT",
                                         "DELETE", "OPTIONS", "PATCH"};

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
      for (const yaml::Node& p : root["steady_state"]) parse_probe(p, s);
    if (root["stop_when"] && r_.sequence(root["stop_when"], "stop_when"))
      for (const yaml::Node& c : root["stop_when"]) parse_stop(c, s);
    if (r_.require(root, "faults", "the scenario") && r_.sequence(root["faults"], "faults"))
      for (const yaml::Node& f : root["faults"]) parse_fault(f, s);
    check_whole(root, s);
    return s;
  }

 private:
  ProcessSelector parse_selector(const yaml::Node& node, std::string_view what) {
    ProcessSelector sel;
    if (!r_.mapping(node, what, selector_keys())) return sel;
    for (std::string_view key : selector_keys())
      if (auto v = r_.text(node, key, fmt::format("{}.{}", what, key))) {
        if (v->empty()) r_.error(node[key], fmt::format("{}.{} is empty", what, key));
        sel.set(key, *v);
      }
    if (sel.empty() && node.size() == 0)
      r_.error(node, fmt::format("{} selects nothing; give at least one of {}", what,
                                 fmt::join(selector_keys(), ", ")));
    check_selector(node, sel, what);
    return sel;
  }

  void check_selector(const yaml::Node& node, const ProcessSelector& sel, std::string_view what) {
    using namespace probe_limits;
    const auto longer = [&](const std::optional<std::string>& value, std::string_view key,
                            size_t max) {
      if (!value) return false;
      auto problem = length_problem(fmt::format("{}.{}", what, key), *value, max);
      if (problem) r_.error(node[key], std::move(*problem));
      return problem.has_value();
    };
    longer(sel.name, "name", kMaxSelectorName);
    longer(sel.pidfile, "pidfile", kMaxSelectorPath);
    longer(sel.parent_pidfile, "parent_pidfile", kMaxSelectorPath);
    longer(sel.cgroup, "cgroup", kMaxSelectorPath);
    if (sel.cmdline && !longer(sel.cmdline, "cmdline", kMaxRegex)) {
      if (auto re = UserRegex::compile(*sel.cmdline, fmt::format("{}.cmdline", what)); !re)
        r_.error(node["cmdline"], re.error().message);
    }
    if (sel.cgroup && !sel.cgroup->starts_with('/'))
      r_.error(node["cgroup"], fmt::format("{}.cgroup must be an absolute cgroup v2 path such as "
                                           "/system.slice/nginx.service",
                                           what));
  }

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
          g.hosts = parse_hosts(hosts, what + ".hosts");
        }
        if (it->second["processes"]) {
          g.processes = parse_selector(it->second["processes"], what + ".processes");
          // An empty result here was reported at the selector; uses of the group say no more.
          if (g.processes.empty()) selector_reported_.insert(g.name);
        }
      }
      s.targets.push_back(std::move(g));
    }
  }

  HostSelection parse_hosts(const yaml::Node& node, const std::string& what) {
    HostSelection h;
    h.at = r_.where(node);
    if (node.is_sequence()) {
      r_.error(node, fmt::format("{} must be a mapping such as {{names: [web-1, web-2]}} or "
                                 "{{labels: {{role: app}}, percent: 30%}}; a list of hosts goes "
                                 "under 'names:'",
                                 what));
      return h;
    }
    if (!r_.mapping(node, what, kHostsKeys)) return h;
    if (node["names"]) {
      const auto names = scalar_items(node["names"], what + ".names");
      if (names.empty() && node["names"].is_sequence())
        r_.error(node["names"], fmt::format("{}.names is empty; list the hosts' names, or leave "
                                            "names out to select by labels",
                                            what));
      for (const auto& [name, name_node] : names) {
        if (auto problem = host_name_problem(name)) {
          r_.error(name_node, fmt::format("{}.names: {}", what, *problem));
          continue;
        }
        const auto same =
            std::find_if(h.names.begin(), h.names.end(),
                         [&](const HostSelection::Name& n) { return n.name == name; });
        if (same != h.names.end()) {
          r_.error(name_node, fmt::format("{}.names lists '{}' twice (first at line {}); list "
                                          "each host once",
                                          what, name, same->at.line));
          continue;
        }
        h.names.push_back({name, r_.where(name_node)});
      }
    }
    if (node["labels"]) h.labels = r_.labels(node["labels"], what + ".labels");
    // A misspelt `names` or `labels` was reported as an unknown key; that says it all.
    bool unknown_key = false;
    for (auto it = node.begin(); it != node.end(); ++it)
      unknown_key |= std::find(std::begin(kHostsKeys), std::end(kHostsKeys),
                               it->first.scalar()) == std::end(kHostsKeys);
    if (!node["names"] && !node["labels"] && !unknown_key)
      r_.error(node, fmt::format("{} does not say which hosts; give names: [...], labels: "
                                 "{{...}}, or both (a host then needs both)",
                                 what));
    if (node["count"] && node["percent"]) {
      r_.error(node["percent"],
               fmt::format("{} has both count and percent; keep one (neither: all the hosts "
                           "selected)",
                           what));
    } else if (auto n = r_.integer(node, "count", what + ".count", 1, 100000)) {
      h.mode = HostSelection::Mode::Count;
      h.count = *n;
    } else if (auto p = host_share(node, "percent", what + ".percent")) {
      h.mode = HostSelection::Mode::Percent;
      h.percent = *p;
    }
    return h;
  }

  // A share of hosts, from 1% to 100% ("30%", "30", "12.5%").
  std::optional<Percent> host_share(const yaml::Node& map, std::string_view key,
                                    const std::string& what) {
    auto text = r_.text(map, key, what);
    if (!text) return std::nullopt;
    const yaml::Node value = map[key];
    auto p = parse_percent(*text);
    if (!p) {
      r_.error(value, fmt::format("{}: {}", what, p.error().message));
      return std::nullopt;
    }
    if (*p < Percent::whole(1) || *p > Percent::whole(100)) {
      r_.error(value,
               fmt::format("{} must be between 1% and 100% (got {})", what, format_percent(*p)));
      return std::nullopt;
    }
    return *p;
  }

  void parse_blast_radius(const yaml::Node& node, Scenario& s) {
    if (!r_.mapping(node, "blast_radius", kBlastKeys)) return;
    if (r_.require(node, "max_duration", "blast_radius"))
      if (auto d = r_.duration(node, "max_duration", "blast_radius.max_duration",
                               std::chrono::seconds(1)))
        s.blast_radius.max_duration = *d;
    if (auto n = r_.integer(node, "max_processes", "blast_radius.max_processes", 1, 100000))
      s.blast_radius.max_processes = *n;
    s.blast_radius.max_hosts = r_.integer(node, "max_hosts", "blast_radius.max_hosts", 1, 100000);
    s.blast_radius.max_host_percent =
        host_share(node, "max_host_percent", "blast_radius.max_host_percent");
    // Hosts are bounded by default, as processes are; a share alone is bound enough.
    if (!node["max_hosts"] && !node["max_host_percent"]) s.blast_radius.max_hosts = 1;
    if (node["protected"] && r_.sequence(node["protected"], "blast_radius.protected")) {
      // Each goes to every agent the run uses, which takes no more than this.
      if (node["protected"].size() > kMaxProtectedSelectors)
        r_.error(node["protected"],
                 fmt::format("blast_radius.protected has {} selectors; at most {} are allowed",
                             node["protected"].size(), kMaxProtectedSelectors));
      size_t i = 0;
      for (const yaml::Node& p : node["protected"])
        s.blast_radius.protection.selectors.push_back(
            parse_selector(p, fmt::format("blast_radius.protected[{}]", i++)));
    }
  }

  void parse_phases(const yaml::Node& node, Scenario& s) {
    constexpr std::string_view keys[] = {"before", "after"};
    if (!r_.mapping(node, "phases", keys)) return;
    if (auto d = r_.duration(node, "before", "phases.before", std::chrono::milliseconds(100)))
      s.before = *d;
    if (auto d = r_.duration(node, "after", "phases.after")) {
      s.after = *d;
      after_given_ = true;
    }
  }

  void parse_recovery(const yaml::Node& node, Scenario& s) {
    if (!r_.mapping(node, "recovery", kRecoveryKeys)) return;
    if (auto d = r_.duration(node, "within", "recovery.within")) s.recovery.within = *d;
  }

  void parse_probe(const yaml::Node& node, Scenario& s) {
    ProbeSpec p;
    p.at = r_.where(node);
    if (!r_.mapping(node, "a steady_state probe", kProbeKeys)) return;
    if (r_.require(node, "name", "a steady_state probe"))
      p.name = r_.text(node, "name", "the probe name").value_or("");
    const std::string what = p.name.empty() ? "the probe" : fmt::format("probe '{}'", p.name);
    if (const ProbeSpec* first = p.name.empty() ? nullptr : s.probe(p.name))
      r_.error(node["name"], fmt::format("a probe named '{}' is already defined at line {}; give "
                                         "each probe its own name",
                                         p.name, first->at.line));
    if (auto on = r_.text(node, "on", what + ".on")) {
      if (*on == "local")
        r_.error(node["on"], fmt::format("{}.on: 'local' is not an inventory host; leave 'on' out "
                                         "to run the probe on the controller",
                                         what));
      else if (auto problem = host_name_problem(*on))
        r_.error(node["on"], fmt::format("{}.on: {}", what, *problem));
      p.on = *on;
      p.on_at = r_.where(node["on"]);
    }
    std::vector<std::string_view> types;
    for (std::string_view t : kProbeTypes)
      if (node[t]) types.push_back(t);
    if (types.size() != 1) {
      r_.error(node, fmt::format("{} must have exactly one probe type: {} (it has {}){}", what,
                                 fmt::join(kProbeTypes, ", "),
                                 types.empty() ? "none" : fmt::format("{}", fmt::join(types, ", ")),
                                 types.empty() ? "" : "; split it into one probe per type"));
      return;
    }
    if (auto i = r_.duration(node, "interval", what + ".interval", std::chrono::milliseconds(10)))
      p.interval = *i;
    if (node["phases"]) {
      p.phases.clear();
      for (const auto& [ph, ph_node] : scalar_items(node["phases"], what + ".phases")) {
        if (ph == "before")
          p.phases.insert(Phase::Before);
        else if (ph == "during")
          p.phases.insert(Phase::During);
        else if (ph == "after")
          p.phases.insert(Phase::After);
        else
          r_.error(ph_node, fmt::format("{}.phases: unknown phase '{}'{}; use before, during and "
                                        "after",
                                        what, ph, did_you_mean(ph, kPhaseNames)));
      }
    }
    if (node["tolerance"] && r_.mapping(node["tolerance"], what + ".tolerance", kPhaseNames)) {
      const yaml::Node t = node["tolerance"];
      if (auto v = r_.percent(t, "before", what + ".tolerance.before")) p.tolerance_before = *v;
      if (auto v = r_.percent(t, "during", what + ".tolerance.during")) p.tolerance_during = *v;
      if (auto v = r_.percent(t, "after", what + ".tolerance.after")) p.tolerance_after = *v;
    }
    const bool has_expect = node["expect"].defined();
    if (!has_expect)
      r_.error(node, fmt::format("{} is missing the required key 'expect', which says what a "
                                 "passing check observes, e.g. expect: {}",
                                 what, expect_example(types.front())));
    const yaml::Node expect = node["expect"];
    if (node["http"]) {
      p.type = ProbeType::Http;
      parse_http(node["http"], p, what);
      if (has_expect && r_.mapping(expect, what + ".expect", kHttpExpect)) {
        if (r_.require(expect, "status", what + ".expect")) {
          for (const auto& [code, code_node] :
               scalar_items(expect["status"], what + ".expect.status")) {
            int v = 0;
            if (std::sscanf(code.c_str(), "%d", &v) != 1 || v < 100 || v > 599 ||
                std::to_string(v) != code)
              r_.error(code_node, fmt::format("{}.expect.status must be HTTP status codes from 100 "
                                              "to 599 (got '{}')",
                                              what, code));
            else
              p.expect.status.push_back(v);
          }
        }
        p.expect.body_matches = regex_text(expect, "body_matches", what + ".expect.body_matches");
        p.expect.max_latency =
            probe_timeout(expect, "max_latency", what + ".expect.max_latency", Duration::zero());
      }
    } else if (node["tcp"]) {
      p.type = ProbeType::Tcp;
      parse_tcp(node["tcp"], p, what);
      if (has_expect && r_.mapping(expect, what + ".expect", kTcpExpect)) {
        if (r_.require(expect, "connects", what + ".expect"))
          p.expect.connects =
              r_.boolean(expect, "connects", what + ".expect.connects").value_or(true);
        p.expect.max_latency =
            probe_timeout(expect, "max_latency", what + ".expect.max_latency", Duration::zero());
      }
    } else if (node["command"]) {
      p.type = ProbeType::Command;
      const yaml::Node c = node["command"];
      if (r_.mapping(c, what + ".command", kCommandKeys)) {
        if (r_.require(c, "run", what + ".command")) {
          p.command.run = r_.text(c, "run", what + ".command.run").value_or("");
          if (c["run"].is_scalar() && p.command.run.empty())
            r_.error(c["run"], fmt::format("{}.command.run is empty; give the command to run, "
                                           "e.g. run: \"pg_isready -q\"",
                                           what));
          within_limit(c["run"], what + ".command.run", p.command.run, probe_limits::kMaxCommand);
        }
        if (auto t = probe_timeout(c, "timeout", what + ".command.timeout")) p.command.timeout = *t;
      }
      if (has_expect && r_.mapping(expect, what + ".expect", kCommandExpect)) {
        if (r_.require(expect, "exit_code", what + ".expect"))
          if (auto e = r_.integer(expect, "exit_code", what + ".expect.exit_code", 0, 255))
            p.expect.exit_code = static_cast<int>(*e);
        p.expect.stdout_matches =
            regex_text(expect, "stdout_matches", what + ".expect.stdout_matches");
      }
    } else {
      p.type = ProbeType::Process;
      const yaml::Node c = node["process"];
      if (r_.mapping(c, what + ".process", kProcessProbeKeys)) {
        if (auto t = r_.text(c, "target", what + ".process.target")) {
          p.process.target = *t;
          for (std::string_view k : selector_keys())
            if (c[k])
              r_.error(c[k], fmt::format("{}.process names a target group; select processes "
                                         "there, not with '{}' here",
                                         what, k));
          pending_process_targets_.push_back({s.steady_state.size(), r_.where(c["target"])});
        } else {
          p.process.selector = parse_selector(c, what + ".process");
        }
      }
      if (has_expect && r_.mapping(expect, what + ".expect", kProcessExpect)) {
        p.expect.min_count =
            r_.integer(expect, "min_count", what + ".expect.min_count", 0, 1000000);
        p.expect.max_count =
            r_.integer(expect, "max_count", what + ".expect.max_count", 0, 1000000);
        if (!expect["min_count"] && !expect["max_count"])
          r_.error(expect, fmt::format("{}.expect needs min_count, max_count or both", what));
        if (p.expect.min_count && p.expect.max_count && *p.expect.min_count > *p.expect.max_count)
          r_.error(expect["max_count"],
                   fmt::format("{}.expect.max_count ({}) is below min_count ({})", what,
                               *p.expect.max_count, *p.expect.min_count));
      }
    }
    s.steady_state.push_back(std::move(p));
  }

  // A scalar or a list of scalars, each with its own node so that a bad item is pointed at.
  std::vector<std::pair<std::string, yaml::Node>> scalar_items(const yaml::Node& value,
                                                               const std::string& what) {
    std::vector<std::pair<std::string, yaml::Node>> out;
    if (value.is_scalar()) return {{value.scalar(), value}};
    if (!r_.sequence(value, what)) return out;
    for (const yaml::Node& item : value) {
      if (item.is_scalar())
        out.emplace_back(item.scalar(), item);
      else
        r_.error(item, fmt::format("each item of {} must be a single value", what));
    }
    return out;
  }

  static std::string_view expect_example(std::string_view probe_type) {
    if (probe_type == "http") return "{status: 200}";
    if (probe_type == "tcp") return "{connects: true}";
    if (probe_type == "command") return "{exit_code: 0}";
    return "{min_count: 1}";
  }

  std::optional<std::string> regex_text(const yaml::Node& map, std::string_view key,
                                        const std::string& what) {
    auto text = r_.text(map, key, what);
    if (!text) return std::nullopt;
    if (!within_limit(map[key], what, *text, probe_limits::kMaxRegex))
      return std::nullopt;
    if (auto re = UserRegex::compile(*text, what); !re) {
      r_.error(map[key], re.error().message);
      return std::nullopt;
    }
    return text;
  }

  // A probe's timeout or max_latency, within what a probe may take.
  std::optional<Duration> probe_timeout(const yaml::Node& map, std::string_view key,
                                        const std::string& what,
                                        Duration min = std::chrono::milliseconds(1)) {
    auto d = r_.duration(map, key, what, min);
    if (!d) return std::nullopt;
    if (auto problem = probe_limits::timeout_problem(what, *d)) {
      r_.error(map[key], std::move(*problem));
      return std::nullopt;
    }
    return d;
  }

  // False, after reporting it at `value`, when `text` is longer than `max`.
  bool within_limit(const yaml::Node& value, const std::string& what, std::string_view text,
                    size_t max) {
    auto problem = probe_limits::length_problem(what, text, max);
    if (problem) r_.error(value, std::move(*problem));
    return !problem;
  }

  void parse_http(const yaml::Node& c, ProbeSpec& p, const std::string& what) {
    if (!r_.mapping(c, what + ".http", kHttpKeys)) return;
    if (r_.require(c, "url", what + ".http")) {
      p.http.url = r_.text(c, "url", what + ".http.url").value_or("");
      within_limit(c["url"], what + ".http.url", p.http.url, probe_limits::kMaxUrl);
      if (!p.http.url.empty() && !p.http.url.starts_with("http://") &&
          !p.http.url.starts_with("https://"))
        r_.error(c["url"], fmt::format("{}.http.url '{}' must start with http:// or https://{}",
                                       what, p.http.url,
                                       p.http.url.find("://") == std::string::npos
                                           ? fmt::format(" (did you mean 'http://{}'?)", p.http.url)
                                           : ""));
    }
    if (auto m = r_.text(c, "method", what + ".http.method")) {
      bool known = false;
      for (std::string_view k : kMethods) known |= k == *m;
      // Methods are case-sensitive (RFC 9110), so 'get' is refused, with the fix suggested.
      std::string upper = *m;
      for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      if (!known)
        r_.error(c["method"],
                 fmt::format("{}.http.method '{}' is not one of {}{}", what, *m,
                             fmt::join(kMethods, ", "), did_you_mean(upper, kMethods)));
      p.http.method = *m;
    }
    if (auto t = probe_timeout(c, "timeout", what + ".http.timeout")) p.http.timeout = *t;
  }

  void parse_tcp(const yaml::Node& c, ProbeSpec& p, const std::string& what) {
    if (!r_.mapping(c, what + ".tcp", kTcpKeys)) return;
    if (r_.require(c, "address", what + ".tcp")) {
      const std::string address = r_.text(c, "address", what + ".tcp.address").value_or("");
      // host:port, or [v6]:port.
      const size_t colon = address.rfind(':');
      std::string host = colon == std::string::npos ? "" : address.substr(0, colon);
      if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
      int port = 0;
      const std::string port_text = colon == std::string::npos ? "" : address.substr(colon + 1);
      if (host.empty() || std::sscanf(port_text.c_str(), "%d", &port) != 1 || port < 1 ||
          port > 65535 || std::to_string(port) != port_text)
        r_.error(c["address"], fmt::format("{}.tcp.address '{}' must be host:port with a port "
                                           "from 1 to 65535, e.g. 127.0.0.1:5432",
                                           what, address));
      within_limit(c["address"], what + ".tcp.address's host", host, probe_limits::kMaxHost);
      p.tcp.host = host;
      p.tcp.port = port;
    }
    if (auto t = probe_timeout(c, "timeout", what + ".tcp.timeout")) p.tcp.timeout = *t;
  }

  void parse_stop(const yaml::Node& node, Scenario& s) {
    StopCondition c;
    c.at = r_.where(node);
    if (!r_.mapping(node, "a stop_when condition", kStopKeys)) return;
    if (r_.require(node, "probe", "a stop_when condition")) {
      c.probe = r_.text(node, "probe", "stop_when.probe").value_or("");
      stop_probe_at_.push_back(r_.where(node["probe"]));
    } else {
      stop_probe_at_.push_back(c.at);
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
      fault_nodes_.push_back(node);
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
    fault_nodes_.push_back(node);
    s.faults.push_back(std::move(f));
  }

  // Cross references and the run's length, once every part is read.
  void check_whole(const yaml::Node& root, Scenario& s) {
    for (const auto& [index, at] : pending_process_targets_) {
      ProbeSpec& p = s.steady_state[index];
      const std::string what = p.name.empty() ? "the probe" : fmt::format("probe '{}'", p.name);
      const TargetGroup* g = s.target(p.process.target);
      if (g == nullptr)
        r_.error(at,
                 fmt::format("{} names target '{}', which is not defined in targets{}", what,
                             p.process.target, did_you_mean(p.process.target, target_names(s))));
      else if (g->processes.empty() && !selector_reported_.contains(g->name))
        r_.error(at, fmt::format("{} names target '{}', which selects no processes; add "
                                 "'processes' to the target",
                                 what, g->name));
      else if (g->on_inventory_hosts())
        r_.error(at, fmt::format("{} names target '{}', which is on inventory hosts; a process "
                                 "probe counts on one host: select the processes here (e.g. "
                                 "name: ...) and say where with 'on: HOST'",
                                 what, g->name));
      else
        p.process.selector = g->processes;
    }
    std::vector<std::string_view> probe_names;
    for (const ProbeSpec& p : s.steady_state) probe_names.push_back(p.name);
    for (size_t i = 0; i < s.stop_when.size(); ++i) {
      const StopCondition& c = s.stop_when[i];
      if (!c.probe.empty() && !s.probe(c.probe))
        r_.error(stop_probe_at_[i], fmt::format("stop_when names probe '{}', which is not in "
                                                "steady_state{}",
                                                c.probe, did_you_mean(c.probe, probe_names)));
    }
    for (size_t fault_index = 0; fault_index < s.faults.size(); ++fault_index) {
      const FaultSpec& f = s.faults[fault_index];
      const yaml::Node& node = fault_nodes_[fault_index];
      const std::string what = f.name.empty() ? "the fault" : fmt::format("fault '{}'", f.name);
      const InjectorDescriptor* d = f.kind.empty() ? nullptr : find_injector(f.kind);
      if (!f.target.empty()) {
        const TargetGroup* g = s.target(f.target);
        if (g == nullptr) {
          r_.error(node["target"],
                   fmt::format("{} names target '{}', which is not defined in "
                               "targets{}",
                               what, f.target, did_you_mean(f.target, target_names(s))));
        } else if (d != nullptr && d->targets_processes && g->processes.empty() &&
                   !selector_reported_.contains(g->name)) {
          r_.error(node["target"], fmt::format("{} ({}) needs processes, but target '{}' selects "
                                               "none; add 'processes' to the target",
                                               what, f.kind, f.target));
        }
      } else if (d != nullptr && d->targets_processes) {
        r_.error(node, fmt::format("{} ({}) needs a target that selects processes; add 'target:' "
                                   "naming a group from targets",
                                   what, f.kind));
      }
      if (s.blast_radius.max_duration > Duration::zero()) {
        const Duration start = s.before + f.at;
        if (start >= s.blast_radius.max_duration)
          r_.error(node["at"], fmt::format("{} starts at {} into the run (phases.before {} + at "
                                           "{}), after blast_radius.max_duration {}; start it "
                                           "earlier or raise max_duration",
                                           what, format_duration(start), format_duration(s.before),
                                           format_duration(f.at),
                                           format_duration(s.blast_radius.max_duration)));
      }
    }
    for (const TargetGroup& g : s.targets) {
      if (!g.hosts || g.hosts->mode != HostSelection::Mode::Count || !s.blast_radius.max_hosts ||
          g.hosts->count <= *s.blast_radius.max_hosts)
        continue;
      r_.error(root["targets"][g.name]["hosts"]["count"],
               fmt::format("target '{}'.hosts.count {} is more than blast_radius.max_hosts {}{}; "
                           "lower the count or raise max_hosts",
                           g.name, g.hosts->count, *s.blast_radius.max_hosts,
                           root["blast_radius"]["max_hosts"] ? "" : " (the default)"));
    }
    if (!after_given_) s.after = s.recovery.within;
    if (s.after < s.recovery.within)
      r_.error(root["phases"] ? root["phases"]["after"] : root,
               fmt::format("phases.after ({}) is shorter than recovery.within ({}): recovery "
                           "could not be observed to its end; lengthen phases.after or shorten "
                           "recovery.within",
                           format_duration(s.after), format_duration(s.recovery.within)));
    if (s.blast_radius.max_duration > Duration::zero()) {
      Duration during{};
      for (const FaultSpec& f : s.faults)
        during = std::max(during, f.at + f.duration.value_or(Duration::zero()));
      const Duration total = s.before + during + s.after;
      bool every_fault_fits = true;
      for (const FaultSpec& f : s.faults)
        every_fault_fits &= s.before + f.at < s.blast_radius.max_duration;
      if (every_fault_fits && total > s.blast_radius.max_duration)
        r_.error(
            root["blast_radius"]["max_duration"],
            fmt::format("the run takes {} (before {} + faults {} + after {}), longer than "
                        "blast_radius.max_duration {}; shorten the faults or raise "
                        "max_duration",
                        format_duration(total), format_duration(s.before), format_duration(during),
                        format_duration(s.after), format_duration(s.blast_radius.max_duration)));
    }
  }

  static std::vector<std::string_view> target_names(const Scenario& s) {
    std::vector<std::string_view> out;
    for (const TargetGroup& t : s.targets) out.push_back(t.name);
    return out;
  }

  YamlReader r_;
  std::vector<std::pair<size_t, SourceLocation>> pending_process_targets_;
  std::vector<SourceLocation> stop_probe_at_;
  std::vector<yaml::Node> fault_nodes_;  // the node each of Scenario::faults was read from
  // The line of the first fault of each name: one lookup per fault, not a walk of all before it.
  std::unordered_map<std::string, int> fault_line_;
  bool after_given_ = false;
  std::set<std::string> selector_reported_;  // target groups whose `processes` had an error
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
