#include "controller/inventory/inventory.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <utility>

#include "controller/inventory/host_name.h"
#include "injectors/network/address.h"
#include "yaml/yaml_reader.h"
#include "core/result.h"

namespace faultline {
namespace {

constexpr std::string_view kTopKeys[] = {"tls", "agents"};
constexpr std::string_view kAgentKeys[] = {"name", "address", "labels", "tls", "plaintext"};
constexpr std::string_view kTlsKeys[] = {"ca", "cert", "key"};
constexpr size_t kMaxDnsNameLength = 253;

// A `tls:` as written: an agent's may give only the files that differ from the default.
struct TlsOverride {
  std::optional<std::string> ca, cert, key;
};

struct HostAndPort {
  std::string host;
  uint16_t port = 0;
};

bool is_ipv4(const std::string& text) {
  in_addr a{};
  return inet_pton(AF_INET, text.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& text) {
  in6_addr a{};
  return inet_pton(AF_INET6, text.c_str(), &a) == 1;
}

// "10.0.0.11:7443", "[fd00::11]:7443", "db-1.lan:7443" -> host and port; the error says what
// to write instead.
Result<HostAndPort> split_address(const std::string& address) {
  constexpr std::string_view kExample = "e.g. 10.0.0.11:7443 or [fd00::11]:7443";
  HostAndPort out;
  std::string port_text;
  if (address.starts_with('[')) {
    const size_t close = address.find(']');
    if (close == std::string::npos)
      return fail("'{}' opens '[' but never closes it; write [IPV6]:PORT, {}", address, kExample);
    out.host = address.substr(1, close - 1);
    if (!is_ipv6(out.host))
      return fail("'{}' is not an IPv6 address inside '[...]'; {}", out.host, kExample);
    if (close + 1 >= address.size() || address[close + 1] != ':')
      return fail("'{}' has no port; write [IPV6]:PORT, {}", address, kExample);
    port_text = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string::npos)
      return fail("'{}' has no port; write HOST:PORT, {}", address, kExample);
    out.host = address.substr(0, colon);
    port_text = address.substr(colon + 1);
    if (out.host.find(':') != std::string::npos)
      return fail("'{}': an IPv6 address goes in brackets, as in [{}]:{}", address, out.host,
                  port_text);
    if (out.host.empty()) return fail("'{}' has no host before the port; {}", address, kExample);
    const bool looks_ipv4 = out.host.find_first_not_of("0123456789.") == std::string::npos;
    if (looks_ipv4 && !is_ipv4(out.host))
      return fail("'{}' is not an IPv4 address; {}", out.host, kExample);
    if (!looks_ipv4 && (out.host.size() > kMaxDnsNameLength ||
                        out.host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
                                                   "TUVWXYZ0123456789.-") != std::string::npos))
      return fail("'{}' is neither an IP address nor a DNS name; {}", out.host, kExample);
  }
  int port = 0;
  const bool digits = !port_text.empty() && port_text.size() <= 5 &&
                      port_text.find_first_not_of("0123456789") == std::string::npos;
  if (digits) port = std::stoi(port_text);
  if (!digits || port < 1 || port > 65535 || std::to_string(port) != port_text)
    return fail("'{}': the port must be a number from 1 to 65535 (got '{}'); {}", address,
                port_text, kExample);
  out.port = static_cast<uint16_t>(port);
  return out;
}

class InventoryParser {
 public:
  InventoryParser(const std::string& file, Diagnostics& errors)
      : r_(file, errors), directory_(std::filesystem::path(file).parent_path()) {}

  Inventory parse(const yaml::Node& root) {
    Inventory inv;
    inv.file = r_.file();
    if (!r_.mapping(root, "the inventory", kTopKeys)) return inv;
    const yaml::Node tls = root["tls"];
    if (tls) {
      const TlsOverride given = parse_tls(tls, "tls");
      if (tls.is_map())
        for (std::string_view key : kTlsKeys) r_.require(tls, key, "tls");
      if (given.ca && given.cert && given.key)
        inv.tls = TlsFiles{*given.ca, *given.cert, *given.key};
    }
    if (!r_.require(root, "agents", "the inventory") || !r_.sequence(root["agents"], "agents"))
      return inv;
    if (root["agents"].size() == 0)
      r_.error(root["agents"],
               "agents is empty; list one entry per host, such as "
               "- {name: web-1, address: 10.0.0.11:7443, labels: {role: app}}");
    // Agents with problems are kept too, so that later ones are checked against their names
    // and addresses; an inventory with any problem is not returned at all.
    for (const yaml::Node& node : root["agents"])
      if (auto agent = parse_agent(node, tls.defined(), inv)) {
        // Indexed as they come, so that each later agent is checked against them in
        // logarithmic time: an inventory of 10,000 hosts compared every pair (0.6 s).
        by_name_.emplace(agent->name, inv.agents.size());
        if (!agent->host.empty())
          by_address_.emplace(std::pair{agent->host, agent->port}, inv.agents.size());
        inv.agents.push_back(std::move(*agent));
      }
    return inv;
  }

 private:
  // The agent as far as it could be read; nullopt when it is not a mapping.
  std::optional<Agent> parse_agent(const yaml::Node& node, bool top_tls_given,
                                   const Inventory& inv) {
    Agent a;
    a.at = r_.where(node);
    const std::string name =
        node.is_map() && node["name"] && node["name"].is_scalar() ? node["name"].scalar() : "";
    if (!r_.mapping(node, name.empty() ? "an agent" : fmt::format("agent '{}'", name), kAgentKeys))
      return std::nullopt;
    if (r_.require(node, "name", "an agent")) {
      a.name = r_.text(node, "name", "the agent name").value_or("");
      const auto named = a.name.empty() ? by_name_.end() : by_name_.find(a.name);
      const Agent* same = named == by_name_.end() ? nullptr : &inv.agents[named->second];
      if (auto problem = host_name_problem(a.name)) {
        r_.error(node["name"], fmt::format("agent name {}", *problem));
      } else if (a.name == "local") {
        r_.error(node["name"],
                 "agent name 'local' is reserved for the controller's own host "
                 "(host: local in a scenario); give this agent its host's name");
      } else if (same != nullptr) {
        r_.error(node["name"], fmt::format("an agent named '{}' is already listed at line {}; "
                                           "give each agent its own name",
                                           a.name, same->at.line));
      }
    }
    const std::string what = a.name.empty() ? "the agent" : fmt::format("agent '{}'", a.name);
    if (r_.require(node, "address", what)) {
      if (auto address = r_.text(node, "address", what + ".address")) {
        a.address = *address;
        if (auto split = split_address(*address); !split) {
          r_.error(node["address"], fmt::format("{}.address {}", what, split.error().message));
        } else {
          a.host = split->host;
          a.port = split->port;
          if (auto it = by_address_.find({a.host, a.port}); it != by_address_.end()) {
            const Agent& other = inv.agents[it->second];
            r_.error(node["address"],
                     fmt::format("{}.address {} is already the address of agent '{}' (line "
                                 "{}); each agent listens at an address of its own",
                                 what, a.address, other.name, other.at.line));
          }
        }
      }
    }
    if (node["labels"]) a.labels = r_.labels(node["labels"], what + ".labels");
    const std::optional<bool> plaintext = r_.boolean(node, "plaintext", what + ".plaintext");
    a.plaintext = plaintext.value_or(false);
    if (node["plaintext"] && !plaintext) {
      // Reported; whether the agent needs TLS is not known.
    } else if (a.plaintext) {
      if (node["tls"]) {
        r_.error(node["plaintext"],
                 fmt::format("{} has both plaintext: true and tls; keep one", what));
      } else if (!a.host.empty() && !is_loopback_address(a.host)) {
        r_.error(node["plaintext"],
                 fmt::format("{} has plaintext: true, but {}; plaintext is only allowed on "
                             "127.0.0.0/8 or [::1]: remove it and connect with tls",
                             what,
                             is_ipv4(a.host) || is_ipv6(a.host)
                                 ? fmt::format("{} is not a loopback address", a.host)
                                 : fmt::format("'{}' is a name, not a loopback address (write "
                                               "127.0.0.1 or [::1] if it is this machine)",
                                               a.host)));
      }
    } else if (node["tls"]) {
      const TlsOverride own = parse_tls(node["tls"], what + ".tls");
      const std::optional<TlsFiles>& base = inv.tls;
      TlsFiles files;
      std::vector<std::string_view> missing;
      auto take = [&](const std::optional<std::string>& given, const std::string* fallback,
                      std::string_view key, std::string& into) {
        if (given)
          into = *given;
        else if (fallback != nullptr)
          into = *fallback;
        else
          missing.push_back(key);
      };
      take(own.ca, base ? &base->ca : nullptr, "ca", files.ca);
      take(own.cert, base ? &base->cert : nullptr, "cert", files.cert);
      take(own.key, base ? &base->key : nullptr, "key", files.key);
      if (!missing.empty() && node["tls"].is_map() && !top_tls_given) {
        r_.error(node["tls"],
                 fmt::format("{}.tls is missing {}, and the inventory has no top-level tls to "
                             "take {} from; add {} here or a top-level tls",
                             what, fmt::join(missing, " and "), missing.size() == 1 ? "it" : "them",
                             fmt::join(missing, ", ")));
      }
      if (missing.empty()) a.tls = files;
    } else if (inv.tls) {
      a.tls = inv.tls;
    } else if (!top_tls_given) {  // an incomplete top-level tls was reported already
      r_.error(node, fmt::format("{} has no TLS files: add a top-level 'tls: {{ca, cert, key}}' "
                                 "for every agent or 'tls:' to this agent ('plaintext: true' only "
                                 "for a loopback address)",
                                 what));
    }
    return a;
  }

  TlsOverride parse_tls(const yaml::Node& node, const std::string& what) {
    TlsOverride out;
    if (!r_.mapping(node, what, kTlsKeys)) return out;
    out.ca = path(node, "ca", what);
    out.cert = path(node, "cert", what);
    out.key = path(node, "key", what);
    return out;
  }

  // A file named in the inventory, as the controller will open it.
  std::optional<std::string> path(const yaml::Node& map, std::string_view key,
                                  const std::string& what) {
    const std::string full = fmt::format("{}.{}", what, key);
    auto text = r_.text(map, key, full);
    if (!text) return std::nullopt;
    if (text->empty()) {
      r_.error(map[key], fmt::format("{} is empty; name a file", full));
      return std::nullopt;
    }
    const std::filesystem::path p(*text);
    if (p.is_absolute()) return *text;
    return (directory_ / p).lexically_normal().string();
  }

  YamlReader r_;
  std::filesystem::path directory_;
  std::map<std::string, size_t, std::less<>> by_name_;                // the first agent of a name
  std::map<std::pair<std::string, uint16_t>, size_t> by_address_;  // the first at an address
};

}  // namespace

const Agent* Inventory::agent(std::string_view name) const {
  for (const Agent& a : agents)
    if (a.name == name) return &a;
  return nullptr;
}

std::vector<std::string_view> Inventory::names() const {
  std::vector<std::string_view> out;
  for (const Agent& a : agents) out.push_back(a.name);
  return out;
}

ParsedInventory parse_inventory_text(const std::string& text, const std::string& file) {
  ParsedInventory out;
  const std::unique_ptr<yaml::Document> doc = load_yaml_document(
      text, file, "an inventory lists its hosts under 'agents:' (see docs/agent.md)", out.errors);
  if (!doc) return out;
  Inventory inv = InventoryParser(file, out.errors).parse(doc->root());
  if (out.errors.empty()) out.inventory = std::move(inv);
  sort_by_place(out.errors);
  return out;
}

ParsedInventory parse_inventory_file(const std::string& path) {
  ParsedInventory out;
  if (std::optional<std::string> text = read_text_file(path, out.errors))
    return parse_inventory_text(*text, path);
  return out;
}

}  // namespace faultline
