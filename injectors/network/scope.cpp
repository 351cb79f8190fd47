#include "injectors/network/scope.h"

#include <netinet/in.h>

#include <algorithm>
#include <optional>

#include "injectors/network/lifelines.h"

namespace faultline {
namespace {

constexpr std::string_view kProtocols[] = {"all", "tcp", "udp", "icmp"};

// Words of a CIDR as (value, mask) pairs at consecutive offsets from `base`.
void add_cidr_keys(const Cidr& c, int base, std::vector<U32Key>& keys) {
  const int words = c.family == 4 ? 1 : 4;
  for (int w = 0; w < words; ++w) {
    const int bits = std::clamp(c.prefix - w * 32, 0, 32);
    if (bits == 0) continue;
    const uint32_t mask = bits == 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
    uint32_t value = 0;
    for (int b = 0; b < 4; ++b) value = (value << 8) | c.address[static_cast<size_t>(w * 4 + b)];
    keys.push_back({value & mask, mask, base + w * 4});
  }
}

int protocol_number(const std::string& protocol, int family) {
  if (protocol == "tcp") return IPPROTO_TCP;
  if (protocol == "udp") return IPPROTO_UDP;
  if (protocol == "icmp") return family == 4 ? int{IPPROTO_ICMP} : int{IPPROTO_ICMPV6};
  return -1;
}

struct Parts {
  std::vector<Cidr> destination, source;
  std::vector<PortRange> ports, source_ports;
  std::vector<std::string> protocols;
};

std::vector<U32Match> expand(const Parts& p) {
  std::vector<U32Match> out;
  std::vector<int> families;
  for (const Cidr& c : p.destination) families.push_back(c.family);
  for (const Cidr& c : p.source) families.push_back(c.family);
  if (families.empty()) families = {4, 6};
  std::sort(families.begin(), families.end());
  families.erase(std::unique(families.begin(), families.end()), families.end());
  auto masks = [](const std::vector<PortRange>& ranges) {
    std::vector<std::optional<std::pair<uint16_t, uint16_t>>> pairs;
    for (PortRange r : ranges)
      for (auto m : port_range_masks(r)) pairs.push_back(m);
    if (pairs.empty()) pairs.push_back(std::nullopt);
    return pairs;
  };
  const auto dports = masks(p.ports), sports = masks(p.source_ports);
  const bool with_ports = !p.ports.empty() || !p.source_ports.empty();
  for (int family : families) {
    auto of_family = [&](const std::vector<Cidr>& list) {
      std::vector<std::optional<Cidr>> chosen;
      for (const Cidr& c : list)
        if (c.family == family) chosen.push_back(c);
      if (list.empty()) chosen.push_back(std::nullopt);
      return chosen;
    };
    const auto dsts = of_family(p.destination), srcs = of_family(p.source);
    for (const std::string& protocol : p.protocols)
      for (const auto& dst : dsts)
        for (const auto& src : srcs)
          for (const auto& dport : dports)
            for (const auto& sport : sports) {
              U32Match m;
              m.family = family;
              const int proto = protocol_number(protocol, family);
              if (family == 4) {
                if (with_ports) m.keys.push_back({0x05000000, 0x0f000000, 0});  // IHL 5
                if (proto >= 0)
                  m.keys.push_back({static_cast<uint32_t>(proto) << 16, 0x00ff0000, 8});
                if (src) add_cidr_keys(*src, 12, m.keys);
                if (dst) add_cidr_keys(*dst, 16, m.keys);
              } else {
                if (proto >= 0)
                  m.keys.push_back({static_cast<uint32_t>(proto) << 8, 0x0000ff00, 4});
                if (src) add_cidr_keys(*src, 8, m.keys);
                if (dst) add_cidr_keys(*dst, 24, m.keys);
              }
              const int transport = family == 4 ? 20 : 40;
              if (sport || dport) {
                uint32_t value = 0, mask = 0;
                if (sport) {
                  value |= static_cast<uint32_t>(sport->first) << 16;
                  mask |= static_cast<uint32_t>(sport->second) << 16;
                }
                if (dport) {
                  value |= dport->first;
                  mask |= dport->second;
                }
                m.keys.push_back({value, mask, transport});
              }
              if (m.keys.empty()) m.keys.push_back({0, 0, 0});  // match every packet
              out.push_back(std::move(m));
            }
  }
  return out;
}

std::vector<std::string> protocols_for(const std::string& protocol, bool ports) {
  if (protocol != "all") return {protocol};
  return ports ? std::vector<std::string>{"tcp", "udp"} : std::vector<std::string>{"all"};
}

}  // namespace

std::vector<ParamSpec> scope_param_specs() {
  return {
      {.name = "destination",
       .type = ParamType::CidrList,
       .optional = true,
       .help = "remote addresses, e.g. 10.0.0.5/32,fd00::/64"},
      {.name = "source", .type = ParamType::CidrList, .optional = true, .help = "local addresses"},
      {.name = "ports",
       .type = ParamType::PortList,
       .optional = true,
       .help = "remote ports, e.g. 5432 or 8000-8080"},
      {.name = "source_ports",
       .type = ParamType::PortList,
       .optional = true,
       .help = "local ports"},
      {.name = "protocol",
       .type = ParamType::Choice,
       .default_value = "all",
       .choices = kProtocols,
       .help = "tcp, udp, icmp or all"},
      {.name = "exclude_destination",
       .type = ParamType::CidrList,
       .optional = true,
       .help = "remote addresses never touched"},
      {.name = "exclude_ports",
       .type = ParamType::PortList,
       .optional = true,
       .help = "remote ports never touched"},
  };
}

NetworkScope NetworkScope::from_params(const Params& p) {
  NetworkScope s;
  if (p.has("destination")) s.destination = p.cidrs("destination");
  if (p.has("source")) s.source = p.cidrs("source");
  if (p.has("ports")) s.ports = p.ports("ports");
  if (p.has("source_ports")) s.source_ports = p.ports("source_ports");
  if (p.has("protocol")) s.protocol = p.text("protocol");
  if (p.has("exclude_destination")) s.exclude_destination = p.cidrs("exclude_destination");
  if (p.has("exclude_ports")) s.exclude_ports = p.ports("exclude_ports");
  return s;
}

std::string NetworkScope::describe() const {
  std::vector<std::string> parts;
  auto list = [](const auto& items) {
    std::vector<std::string> t;
    for (const auto& i : items) t.push_back(i.text());
    return fmt::format("{}", fmt::join(t, ","));
  };
  if (protocol != "all") parts.push_back(protocol);
  if (!destination.empty()) parts.push_back("to " + list(destination));
  if (!ports.empty()) parts.push_back("port " + list(ports));
  if (!source.empty()) parts.push_back("from " + list(source));
  if (!source_ports.empty()) parts.push_back("source port " + list(source_ports));
  if (!exclude_destination.empty()) parts.push_back("except to " + list(exclude_destination));
  if (!exclude_ports.empty()) parts.push_back("except port " + list(exclude_ports));
  return parts.empty() ? "all traffic" : fmt::format("{}", fmt::join(parts, " "));
}

std::vector<std::string> check_scope(const Params& p) {
  std::vector<std::string> problems;
  const bool ports = p.has("ports") || p.has("source_ports") || p.has("exclude_ports");
  const std::string protocol = p.has("protocol") ? p.text("protocol") : "all";
  if (ports && protocol == "icmp")
    problems.push_back("ports were given with protocol icmp, which has no ports; use tcp or udp");
  if (p.has("destination") && p.has("source")) {
    bool shared_family = false;
    for (const Cidr& d : p.cidrs("destination"))
      for (const Cidr& s : p.cidrs("source")) shared_family |= d.family == s.family;
    if (!shared_family)
      problems.push_back(
          "destination and source are of different address families (IPv4 and "
          "IPv6), so no packet could match both");
  }
  return problems;
}

std::vector<U32Match> scope_matches(const NetworkScope& s) {
  const bool ports = !s.ports.empty() || !s.source_ports.empty();
  return expand(
      {s.destination, s.source, s.ports, s.source_ports, protocols_for(s.protocol, ports)});
}

std::vector<U32Match> exclusion_matches(const NetworkScope& s) {
  // SSH and the agent's control port, either way, whatever the scope says (lifelines.h).
  std::vector<U32Match> out;
  for (uint16_t port : lifeline_ports()) {
    const auto to = expand({{}, {}, {{port, port}}, {}, {"tcp"}});
    const auto from = expand({{}, {}, {}, {{port, port}}, {"tcp"}});
    out.insert(out.end(), to.begin(), to.end());
    out.insert(out.end(), from.begin(), from.end());
  }
  if (!s.exclude_destination.empty()) {
    const auto e = expand({s.exclude_destination, {}, {}, {}, {"all"}});
    out.insert(out.end(), e.begin(), e.end());
  }
  if (!s.exclude_ports.empty()) {
    const auto e = expand({{}, {}, s.exclude_ports, {}, {"tcp", "udp"}});
    out.insert(out.end(), e.begin(), e.end());
  }
  if (!s.exclude_source.empty()) {
    const auto e = expand({{}, s.exclude_source, {}, {}, {"all"}});
    out.insert(out.end(), e.begin(), e.end());
  }
  if (!s.exclude_source_ports.empty()) {
    const auto e = expand({{}, {}, {}, s.exclude_source_ports, {"tcp", "udp"}});
    out.insert(out.end(), e.begin(), e.end());
  }
  return out;
}

}  // namespace faultline
