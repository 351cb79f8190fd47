#include "agent/daemon/agent_config.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "injectors/container/container_limits.h"
#include "core/suggest.h"
#include "injectors/injector.h"
#include "injectors/network/address.h"
#include "yaml/yaml_reader.h"

namespace faultline {
namespace {

constexpr std::string_view kTopKeys[] = {"host",       "labels", "listen", "tls",    "plaintext",
                                         "state_file", "scope",  "lease",  "policy", "metrics"};
constexpr std::string_view kTlsKeys[] = {"ca", "cert", "key", "allowed_clients"};
constexpr std::string_view kScopeKeys[] = {"netns"};
constexpr std::string_view kLeaseKeys[] = {"default", "max"};
constexpr std::string_view kMetricsKeys[] = {"listen", "allow_remote"};
constexpr std::string_view kPolicyKeys[] = {
    "allowed_kinds", "protected_processes", "protected_containers", "protected_interfaces",
    "max_memory", "protected_paths",
    "max_duration",  "max_faults",          "allow_command_probes"};
constexpr std::string_view kProtectedContainerKeys[] = {"runtime", "name", "id", "image", "labels"};

// Host names and labels travel in RPC replies and name certificates: keep them plain.
bool plain_name(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_')
      return false;
  return true;
}

// "127.0.0.1:7443" -> "127.0.0.1"; "[::1]:7443" -> "::1".
std::string listen_host(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  std::string host = listen.substr(0, colon == std::string::npos ? listen.size() : colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return host;
}

// "127.0.0.1:7443" -> "7443".
std::string listen_port(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  return colon == std::string::npos ? "" : listen.substr(colon + 1);
}

// An IPv4 address and a port: what the metrics server binds. It resolves no names, and Debian's
// civetweb is built without IPv6.
bool ipv4_literal(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  in_addr address{};
  return colon != std::string::npos &&
         inet_pton(AF_INET, listen.substr(0, colon).c_str(), &address) == 1;
}

class ConfigParser {
 public:
  ConfigParser(const std::string& file, Diagnostics& errors) : r_(file, errors) {}

  AgentConfig parse(const yaml::Node& root) {
    AgentConfig c;
    c.file = r_.file();
    if (!r_.mapping(root, "the agent config", kTopKeys)) return c;
    if (auto h = r_.text(root, "host", "host")) {
      if (!plain_name(*h, 63))
        r_.error(root["host"], fmt::format("host '{}' must be 1 to 63 letters, digits, '-', '.' "
                                           "or '_'",
                                           *h));
      c.host = *h;
    } else {
      char name[256] = {};
      gethostname(name, sizeof name - 1);
      c.host = name;
    }
    if (root["labels"]) parse_labels(root["labels"], c);
    bool listen_ok = false;
    if (r_.require(root, "listen", "the agent config")) {
      c.listen = r_.text(root, "listen", "listen").value_or("");
      listen_ok = valid_listen(c.listen);
      if (!c.listen.empty() && !listen_ok)
        r_.error(root["listen"], fmt::format("listen '{}' must be ADDRESS:PORT, e.g. "
                                             "0.0.0.0:7443 or [::]:7443",
                                             c.listen));
    }
    c.plaintext = r_.boolean(root, "plaintext", "plaintext").value_or(false);
    if (root["tls"]) parse_tls(root["tls"], c);
    if (c.plaintext && root["tls"])
      r_.error(root["plaintext"], "plaintext and tls exclude each other; remove one");
    // A listen that is not ADDRESS:PORT was reported above; its host is not worth a second error.
    if (c.plaintext && listen_ok && !is_loopback_address(listen_host(c.listen)))
      r_.error(root["plaintext"],
               fmt::format("plaintext is allowed only on a loopback address, and listen is '{}'; "
                           "give a tls section (faultline certs makes the files) or listen on "
                           "127.0.0.1",
                           c.listen));
    if (!c.plaintext && !root["tls"] && root.is_map())
      r_.error(r_.where(root), "the agent config needs a tls section (ca, cert, key); "
                               "`faultline certs` makes the files. plaintext: true is allowed "
                               "only for a loopback listen address");
    if (auto s = r_.text(root, "state_file", "state_file")) {
      if (!s->starts_with('/'))
        r_.error(root["state_file"], fmt::format("state_file '{}' must be an absolute path", *s));
      c.state_file = *s;
    }
    if (root["scope"] && r_.mapping(root["scope"], "scope", kScopeKeys)) {
      if (auto n = r_.text(root["scope"], "netns", "scope.netns")) {
        if (*n == "own")
          c.scope_own_netns = true;
        else if (*n != "all")
          r_.error(root["scope"]["netns"],
                   fmt::format("scope.netns '{}' must be 'own' (only processes in the agent's "
                               "network namespace) or 'all'",
                               *n));
      }
    }
    if (root["lease"] && r_.mapping(root["lease"], "lease", kLeaseKeys)) {
      const yaml::Node l = root["lease"];
      if (auto d = r_.duration(l, "default", "lease.default", std::chrono::milliseconds(100)))
        c.lease_default = *d;
      if (auto d = r_.duration(l, "max", "lease.max", std::chrono::milliseconds(100)))
        c.lease_max = *d;
      if (c.lease_default > c.lease_max)
        r_.error(l, fmt::format("lease.default ({}) is longer than lease.max ({})",
                                format_duration(c.lease_default), format_duration(c.lease_max)));
    }
    if (root["policy"]) parse_policy(root["policy"], c.policy);
    if (root["metrics"]) parse_metrics(root["metrics"], c, listen_ok);
    return c;
  }

 private:
  static bool valid_listen(const std::string& listen) {
    const size_t colon = listen.rfind(':');
    if (colon == std::string::npos || colon == 0) return false;
    const std::string port = listen.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos)
      return false;
    const int p = std::stoi(port);
    return p >= 1 && p <= 65535;
  }

  void parse_metrics(const yaml::Node& node, AgentConfig& c, bool listen_ok) {
    if (!r_.mapping(node, "metrics", kMetricsKeys)) return;
    AgentMetricsConfig m;
    m.allow_remote = r_.boolean(node, "allow_remote", "metrics.allow_remote").value_or(false);
    if (!r_.require(node, "listen", "metrics")) return;
    m.listen = r_.text(node, "listen", "metrics.listen").value_or("");
    if (m.listen.empty()) return;
    const yaml::Node at = node["listen"];
    if (!valid_listen(m.listen) || !ipv4_literal(m.listen))
      r_.error(at, fmt::format("metrics.listen '{}' must be IPV4-ADDRESS:PORT (not a name; the "
                               "metrics server has no IPv6), e.g. 127.0.0.1:9464",
                               m.listen));
    else if (listen_ok && listen_port(m.listen) == listen_port(c.listen))
      r_.error(at, fmt::format("metrics.listen '{}' has the port of listen '{}', the agent's "
                               "gRPC port; give the metrics a port of their own, e.g. "
                               "127.0.0.1:9464",
                               m.listen, c.listen));
    else if (!m.allow_remote && !is_loopback_address(listen_host(m.listen)))
      r_.error(at, fmt::format("metrics.listen '{}' is not a loopback address, and the metrics "
                               "are plain HTTP with no authentication; listen on 127.0.0.1, or "
                               "set metrics.allow_remote: true to serve them to other hosts",
                               m.listen));
    c.metrics = std::move(m);
  }

  void parse_labels(const yaml::Node& node, AgentConfig& c) {
    if (!node.is_map()) {
      r_.error(node, "labels must be a mapping of names to values, e.g. {role: app}");
      return;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string key = it->first.scalar();
      if (!it->second.is_scalar()) {
        r_.error(it->second, fmt::format("label '{}' must have a plain value", key));
        continue;
      }
      const std::string value = it->second.scalar();
      if (!plain_name(key, 63) || !plain_name(value, 63))
        r_.error(it->first, fmt::format("label '{}: {}' must use 1 to 63 letters, digits, '-', "
                                        "'.' or '_' on both sides",
                                        key, value));
      c.labels[key] = value;
    }
  }

  void parse_tls(const yaml::Node& node, AgentConfig& c) {
    if (!r_.mapping(node, "tls", kTlsKeys)) return;
    AgentTls tls;
    for (auto [key, field] : {std::pair{"ca", &tls.ca}, {"cert", &tls.cert}, {"key", &tls.key}})
      if (r_.require(node, key, "tls")) {
        *field = r_.text(node, key, fmt::format("tls.{}", key)).value_or("");
        if (field->empty()) continue;
        if (!field->starts_with('/')) *field = directory_of_file() + *field;
        if (access(field->c_str(), R_OK) != 0)
          r_.error(node[key], fmt::format("tls.{} '{}' cannot be read: {}", key, *field,
                                          std::strerror(errno)));
      }
    tls.allowed_clients = r_.text_list(node, "allowed_clients", "tls.allowed_clients");
    c.tls = std::move(tls);
  }

  std::string directory_of_file() const {
    const size_t slash = r_.file().rfind('/');
    return slash == std::string::npos ? "" : r_.file().substr(0, slash + 1);
  }

  void parse_policy(const yaml::Node& node, AgentPolicy& p) {
    if (!r_.mapping(node, "policy", kPolicyKeys)) return;
    if (node["allowed_kinds"]) {
      const std::vector<std::string_view> kinds = injector_kinds();
      for (const std::string& k : r_.text_list(node, "allowed_kinds", "policy.allowed_kinds")) {
        if (find_injector(k) == nullptr)
          r_.error(node["allowed_kinds"],
                   fmt::format("policy.allowed_kinds: unknown fault kind '{}'{}; known kinds: {}",
                               k, did_you_mean(k, kinds), fmt::join(kinds, ", ")));
        p.allowed_kinds.insert(k);
      }
      if (p.allowed_kinds.empty())
        r_.error(node["allowed_kinds"], "policy.allowed_kinds is empty: no fault could run; list "
                                        "the kinds this host allows");
    }
    if (const yaml::Node list = node["protected_processes"]; list) {
      if (r_.sequence(list, "policy.protected_processes"))
        for (const yaml::Node& item : list) {
          ProcessSelector sel;
          if (!r_.mapping(item, "a protected process", selector_keys())) continue;
          for (std::string_view key : selector_keys())
            if (auto v = r_.text(item, key, fmt::format("policy.protected_processes.{}", key)))
              sel.set(key, *v);
          if (sel.empty()) {
            r_.error(item, fmt::format("a protected process needs one of {}",
                                       fmt::join(selector_keys(), ", ")));
            continue;
          }
          if (auto m = ProcessMatcher::compile(sel); !m)
            r_.error(item, fmt::format("policy.protected_processes: {}", m.error().message));
          p.protected_processes.push_back(std::move(sel));
        }
    }
    if (const yaml::Node list = node["protected_containers"]; list)
      parse_protected_containers(list, p);
    p.protected_interfaces =
        r_.text_list(node, "protected_interfaces", "policy.protected_interfaces");
    if (auto text = r_.text(node, "max_memory", "policy.max_memory")) {
      if (auto b = parse_memory_bound(*text))
        p.max_memory = *b;
      else
        r_.error(node["max_memory"], fmt::format("policy.max_memory: {}", b.error().message));
    }
    if (const yaml::Node list = node["protected_paths"]; list && r_.sequence(list, "policy.protected_paths")) {
      size_t i = 0;
      for (const yaml::Node& item : list) {
        const std::string what = fmt::format("policy.protected_paths[{}]", i++);
        if (!item.is_scalar()) {
          r_.error(item, fmt::format("{} must be a path, e.g. /var/lib/postgresql", what));
        } else if (auto ok = check_protected_path_text(item.scalar()); !ok) {
          r_.error(item, fmt::format("{}: {}", what, ok.error().message));
        } else {
          p.protected_paths.push_back(item.scalar());
        }
      }
    }
    if (auto d = r_.duration(node, "max_duration", "policy.max_duration",
                             std::chrono::milliseconds(1)))
      p.max_duration = *d;
    if (auto n = r_.integer(node, "max_faults", "policy.max_faults", 1, 1000)) p.max_faults = *n;
    p.allow_command_probes =
        r_.boolean(node, "allow_command_probes", "policy.allow_command_probes").value_or(false);
  }

  // The limits a controller's protected_containers have (container_limits.h), each problem at
  // the value at fault.
  void parse_protected_containers(const yaml::Node& list, AgentPolicy& p) {
    if (!r_.sequence(list, "policy.protected_containers")) return;
    if (list.size() > kMaxProtectedSelectors) {
      r_.error(list, fmt::format("policy.protected_containers has {} entries; at most {} are "
                                 "taken",
                                 list.size(), kMaxProtectedSelectors));
      return;
    }
    size_t i = 0;
    for (const yaml::Node& item : list) {
      const std::string what = fmt::format("policy.protected_containers[{}]", i++);
      if (!r_.mapping(item, what, kProtectedContainerKeys)) continue;
      ContainerSelector sel;
      if (auto runtime = r_.text(item, "runtime", what + ".runtime")) sel.runtime = *runtime;
      sel.name = r_.text(item, "name", what + ".name");
      sel.id = r_.text(item, "id", what + ".id");
      sel.image = r_.text(item, "image", what + ".image");
      if (item["labels"]) sel.labels = r_.labels(item["labels"], what + ".labels");
      if (auto problem = container_selector_problem(sel, what)) {
        const yaml::Node at = item[problem->field];
        r_.error(at ? at : item, problem->message);
        continue;
      }
      // A runtime alone would protect every container of it: say which containers.
      if (sel.empty()) {
        r_.error(item, fmt::format("{} protects nothing; give name, id, image or labels", what));
        continue;
      }
      p.protected_containers.push_back(std::move(sel));
    }
  }

  YamlReader r_;
};

}  // namespace

AgentConfigResult parse_agent_config(const std::string& text, const std::string& file) {
  AgentConfigResult out;
  const std::unique_ptr<yaml::Document> doc = load_yaml_document(
      text, file, "an agent config needs at least listen and tls (see docs/agent.md)", out.errors);
  if (!doc) return out;
  AgentConfig config = ConfigParser(file, out.errors).parse(doc->root());
  if (out.errors.empty()) out.config = std::move(config);
  return out;
}

AgentConfigResult read_agent_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    AgentConfigResult out;
    out.errors.push_back(
        {{path, 0, 0}, fmt::format("cannot read the agent config: {}", std::strerror(errno))});
    return out;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_agent_config(text.str(), path);
}

}  // namespace faultline
