#include "controller/scenario/parse_probe.h"

#include <fmt/format.h>

#include <cctype>
#include <cstdio>
#include <string>
#include <vector>

#include "controller/inventory/host_name.h"
#include "controller/scenario/parse_selector.h"
#include "controller/scenario/scalar_items.h"
#include "core/suggest.h"
#include "core/user_regex.h"
#include "probes/probe_limits.h"

namespace faultline::scenario_parts {
namespace {

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
constexpr std::string_view kMethods[] = {"GET",    "HEAD",    "POST", "PUT",
                                         "DELETE", "OPTIONS", "PATCH"};

std::string_view expect_example(std::string_view probe_type) {
  if (probe_type == "http") return "{status: 200}";
  if (probe_type == "tcp") return "{connects: true}";
  if (probe_type == "command") return "{exit_code: 0}";
  return "{min_count: 1}";
}

// False, after reporting it at `value`, when `text` is longer than `max`.
bool within_limit(YamlReader& r, const yaml::Node& value, const std::string& what,
                  std::string_view text, size_t max) {
  auto problem = probe_limits::length_problem(what, text, max);
  if (problem) r.error(value, std::move(*problem));
  return !problem;
}

std::optional<std::string> regex_text(YamlReader& r, const yaml::Node& map, std::string_view key,
                                      const std::string& what) {
  auto text = r.text(map, key, what);
  if (!text) return std::nullopt;
  if (!within_limit(r, map[key], what, *text, probe_limits::kMaxRegex)) return std::nullopt;
  if (auto re = UserRegex::compile(*text, what); !re) {
    r.error(map[key], re.error().message);
    return std::nullopt;
  }
  return text;
}

// A probe's timeout or max_latency, within what a probe may take.
std::optional<Duration> probe_timeout(YamlReader& r, const yaml::Node& map, std::string_view key,
                                      const std::string& what,
                                      Duration min = std::chrono::milliseconds(1)) {
  auto d = r.duration(map, key, what, min);
  if (!d) return std::nullopt;
  if (auto problem = probe_limits::timeout_problem(what, *d)) {
    r.error(map[key], std::move(*problem));
    return std::nullopt;
  }
  return d;
}

void parse_http(YamlReader& r, const yaml::Node& c, ProbeSpec& p, const std::string& what) {
  if (!r.mapping(c, what + ".http", kHttpKeys)) return;
  if (r.require(c, "url", what + ".http")) {
    p.http.url = r.text(c, "url", what + ".http.url").value_or("");
    within_limit(r, c["url"], what + ".http.url", p.http.url, probe_limits::kMaxUrl);
    if (!p.http.url.empty() && !p.http.url.starts_with("http://") &&
        !p.http.url.starts_with("https://"))
      r.error(c["url"], fmt::format("{}.http.url '{}' must start with http:// or https://{}", what,
                                    p.http.url,
                                    p.http.url.find("://") == std::string::npos
                                        ? fmt::format(" (did you mean 'http://{}'?)", p.http.url)
                                        : ""));
  }
  if (auto m = r.text(c, "method", what + ".http.method")) {
    bool known = false;
    for (std::string_view k : kMethods) known |= k == *m;
    // Methods are case-sensitive (RFC 9110), so 'get' is refused, with the fix suggested.
    std::string upper = *m;
    for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (!known)
      r.error(c["method"], fmt::format("{}.http.method '{}' is not one of {}{}", what, *m,
                                       fmt::join(kMethods, ", "), did_you_mean(upper, kMethods)));
    p.http.method = *m;
  }
  if (auto t = probe_timeout(r, c, "timeout", what + ".http.timeout")) p.http.timeout = *t;
}

void parse_tcp(YamlReader& r, const yaml::Node& c, ProbeSpec& p, const std::string& what) {
  if (!r.mapping(c, what + ".tcp", kTcpKeys)) return;
  if (r.require(c, "address", what + ".tcp")) {
    const std::string address = r.text(c, "address", what + ".tcp.address").value_or("");
    // host:port, or [v6]:port.
    const size_t colon = address.rfind(':');
    std::string host = colon == std::string::npos ? "" : address.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    int port = 0;
    const std::string port_text = colon == std::string::npos ? "" : address.substr(colon + 1);
    if (host.empty() || std::sscanf(port_text.c_str(), "%d", &port) != 1 || port < 1 ||
        port > 65535 || std::to_string(port) != port_text)
      r.error(c["address"], fmt::format("{}.tcp.address '{}' must be host:port with a port "
                                        "from 1 to 65535, e.g. 127.0.0.1:5432",
                                        what, address));
    within_limit(r, c["address"], what + ".tcp.address's host", host, probe_limits::kMaxHost);
    p.tcp.host = host;
    p.tcp.port = port;
  }
  if (auto t = probe_timeout(r, c, "timeout", what + ".tcp.timeout")) p.tcp.timeout = *t;
}

}  // namespace

std::optional<SourceLocation> parse_probe(YamlReader& r, const yaml::Node& node, Scenario& s) {
  ProbeSpec p;
  p.at = r.where(node);
  std::optional<SourceLocation> target_at;  // process.target's, when given
  if (!r.mapping(node, "a steady_state probe", kProbeKeys)) return std::nullopt;
  if (r.require(node, "name", "a steady_state probe"))
    p.name = r.text(node, "name", "the probe name").value_or("");
  const std::string what = p.name.empty() ? "the probe" : fmt::format("probe '{}'", p.name);
  if (const ProbeSpec* first = p.name.empty() ? nullptr : s.probe(p.name))
    r.error(node["name"], fmt::format("a probe named '{}' is already defined at line {}; give "
                                      "each probe its own name",
                                      p.name, first->at.line));
  if (auto on = r.text(node, "on", what + ".on")) {
    if (*on == "local")
      r.error(node["on"], fmt::format("{}.on: 'local' is not an inventory host; leave 'on' out "
                                      "to run the probe on the controller",
                                      what));
    else if (auto problem = host_name_problem(*on))
      r.error(node["on"], fmt::format("{}.on: {}", what, *problem));
    p.on = *on;
    p.on_at = r.where(node["on"]);
  }
  std::vector<std::string_view> types;
  for (std::string_view t : kProbeTypes)
    if (node[t]) types.push_back(t);
  if (types.size() != 1) {
    r.error(node, fmt::format("{} must have exactly one probe type: {} (it has {}){}", what,
                              fmt::join(kProbeTypes, ", "),
                              types.empty() ? "none" : fmt::format("{}", fmt::join(types, ", ")),
                              types.empty() ? "" : "; split it into one probe per type"));
    return std::nullopt;
  }
  if (auto i = r.duration(node, "interval", what + ".interval", std::chrono::milliseconds(10)))
    p.interval = *i;
  if (node["phases"]) {
    p.phases.clear();
    for (const auto& [ph, ph_node] : scalar_items(r, node["phases"], what + ".phases")) {
      if (ph == "before")
        p.phases.insert(Phase::Before);
      else if (ph == "during")
        p.phases.insert(Phase::During);
      else if (ph == "after")
        p.phases.insert(Phase::After);
      else
        r.error(ph_node, fmt::format("{}.phases: unknown phase '{}'{}; use before, during and "
                                     "after",
                                     what, ph, did_you_mean(ph, kPhaseNames)));
    }
  }
  if (node["tolerance"] && r.mapping(node["tolerance"], what + ".tolerance", kPhaseNames)) {
    const yaml::Node t = node["tolerance"];
    if (auto v = r.percent(t, "before", what + ".tolerance.before")) p.tolerance_before = *v;
    if (auto v = r.percent(t, "during", what + ".tolerance.during")) p.tolerance_during = *v;
    if (auto v = r.percent(t, "after", what + ".tolerance.after")) p.tolerance_after = *v;
  }
  const bool has_expect = node["expect"].defined();
  if (!has_expect)
    r.error(node, fmt::format("{} is missing the required key 'expect', which says what a "
                              "passing check observes, e.g. expect: {}",
                              what, expect_example(types.front())));
  const yaml::Node expect = node["expect"];
  if (node["http"]) {
    p.type = ProbeType::Http;
    parse_http(r, node["http"], p, what);
    if (has_expect && r.mapping(expect, what + ".expect", kHttpExpect)) {
      if (r.require(expect, "status", what + ".expect")) {
        for (const auto& [code, code_node] :
             scalar_items(r, expect["status"], what + ".expect.status")) {
          int v = 0;
          if (std::sscanf(code.c_str(), "%d", &v) != 1 || v < 100 || v > 599 ||
              std::to_string(v) != code)
            r.error(code_node, fmt::format("{}.expect.status must be HTTP status codes from 100 "
                                           "to 599 (got '{}')",
                                           what, code));
          else
            p.expect.status.push_back(v);
        }
      }
      p.expect.body_matches = regex_text(r, expect, "body_matches", what + ".expect.body_matches");
      p.expect.max_latency =
          probe_timeout(r, expect, "max_latency", what + ".expect.max_latency", Duration::zero());
    }
  } else if (node["tcp"]) {
    p.type = ProbeType::Tcp;
    parse_tcp(r, node["tcp"], p, what);
    if (has_expect && r.mapping(expect, what + ".expect", kTcpExpect)) {
      if (r.require(expect, "connects", what + ".expect"))
        p.expect.connects = r.boolean(expect, "connects", what + ".expect.connects").value_or(true);
      p.expect.max_latency =
          probe_timeout(r, expect, "max_latency", what + ".expect.max_latency", Duration::zero());
    }
  } else if (node["command"]) {
    p.type = ProbeType::Command;
    const yaml::Node c = node["command"];
    if (r.mapping(c, what + ".command", kCommandKeys)) {
      if (r.require(c, "run", what + ".command")) {
        p.command.run = r.text(c, "run", what + ".command.run").value_or("");
        if (c["run"].is_scalar() && p.command.run.empty())
          r.error(c["run"], fmt::format("{}.command.run is empty; give the command to run, "
                                        "e.g. run: \"pg_isready -q\"",
                                        what));
        within_limit(r, c["run"], what + ".command.run", p.command.run, probe_limits::kMaxCommand);
      }
      if (auto t = probe_timeout(r, c, "timeout", what + ".command.timeout"))
        p.command.timeout = *t;
    }
    if (has_expect && r.mapping(expect, what + ".expect", kCommandExpect)) {
      if (r.require(expect, "exit_code", what + ".expect"))
        if (auto e = r.integer(expect, "exit_code", what + ".expect.exit_code", 0, 255))
          p.expect.exit_code = static_cast<int>(*e);
      p.expect.stdout_matches =
          regex_text(r, expect, "stdout_matches", what + ".expect.stdout_matches");
    }
  } else {
    p.type = ProbeType::Process;
    const yaml::Node c = node["process"];
    if (r.mapping(c, what + ".process", kProcessProbeKeys)) {
      if (auto t = r.text(c, "target", what + ".process.target")) {
        p.process.target = *t;
        for (std::string_view k : selector_keys())
          if (c[k])
            r.error(c[k], fmt::format("{}.process names a target group; select processes "
                                      "there, not with '{}' here",
                                      what, k));
        target_at = r.where(c["target"]);
      } else {
        p.process.selector = parse_selector(r, c, what + ".process");
      }
    }
    if (has_expect && r.mapping(expect, what + ".expect", kProcessExpect)) {
      p.expect.min_count = r.integer(expect, "min_count", what + ".expect.min_count", 0, 1000000);
      p.expect.max_count = r.integer(expect, "max_count", what + ".expect.max_count", 0, 1000000);
      if (!expect["min_count"] && !expect["max_count"])
        r.error(expect, fmt::format("{}.expect needs min_count, max_count or both", what));
      if (p.expect.min_count && p.expect.max_count && *p.expect.min_count > *p.expect.max_count)
        r.error(expect["max_count"], fmt::format("{}.expect.max_count ({}) is below min_count ({})",
                                                 what, *p.expect.max_count, *p.expect.min_count));
    }
  }
  s.steady_state.push_back(std::move(p));
  return target_at;
}

}  // namespace faultline::scenario_parts
