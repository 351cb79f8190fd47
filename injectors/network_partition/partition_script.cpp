#include "injectors/network_partition/partition_script.h"

#include <charconv>

#include "injectors/network/lifelines.h"

namespace faultline {
namespace {


// Before conntrack (-200) and every ordinary filter chain (0), so a packet that matches is
// counted and cut here whatever other tables do with it afterwards.
constexpr int kChainPriority = -300;

std::string_view protocol_name(PartitionProtocol p) {
  switch (p) {
    case PartitionProtocol::Tcp:
      return "tcp";
    case PartitionProtocol::Udp:
      return "udp";
    case PartitionProtocol::Icmp:
      return "icmp";
    case PartitionProtocol::All:
      break;
  }
  return "all";
}

std::string ports_text(const PortList& ports) {
  std::vector<std::string> parts;
  for (const PortRange& p : ports) parts.push_back(p.text());
  return fmt::format("{}", fmt::join(parts, ","));
}

std::string cidrs_text(const CidrList& cidrs) {
  std::vector<std::string> parts;
  for (const Cidr& c : cidrs) parts.push_back(c.text());
  return fmt::format("{}", fmt::join(parts, ","));
}

// "port 8080", "ports 80,443", "ports 8000-8080".
std::string port_words(const PortList& ports) {
  const bool one = ports.size() == 1 && ports[0].first == ports[0].last;
  return fmt::format("{} {}", one ? "port" : "ports", ports_text(ports));
}

// An nft value or, for several, an anonymous set: "8080" or "{ 80, 443 }".
std::string nft_set(const std::vector<std::string>& items) {
  if (items.size() == 1) return items.front();
  return fmt::format("{{ {} }}", fmt::join(items, ", "));
}

std::string nft_ports(const PortList& ports) {
  std::vector<std::string> items;
  for (const PortRange& p : ports) items.push_back(p.text());
  return nft_set(items);
}

std::vector<std::string> problems_with_ports(const PortList& ports, std::string_view name,
                                             PartitionProtocol protocol) {
  std::vector<std::string> problems;
  if (ports.empty()) return problems;
  if (protocol != PartitionProtocol::Tcp && protocol != PartitionProtocol::Udp) {
    problems.push_back(fmt::format("{} '{}' needs protocol tcp or udp (protocol is '{}')", name,
                                   ports_text(ports), protocol_name(protocol)));
    return problems;
  }
  for (const PortRange& p : ports)
    if (protocol == PartitionProtocol::Tcp && p.first == kSshPort && p.last == kSshPort)
      problems.push_back(
          fmt::format("{} '{}': TCP port 22 (SSH) is never cut, so '22' would cut "
                      "nothing; remove it",
                      name, ports_text(ports)));
  return problems;
}

// The rules of one chain: packets sent to the scope (output) or received from it (input).
void append_chain(std::string& script, const PartitionSpec& spec, std::string_view table,
                  bool outgoing) {
  const std::string_view chain = outgoing ? "output" : "input";
  const std::string_view remote_address = outgoing ? "daddr" : "saddr";
  const std::string_view remote_port = outgoing ? "dport" : "sport";
  const std::string_view local_port = outgoing ? "sport" : "dport";
  const std::string prefix = fmt::format("add rule inet {} {} ", table, chain);

  script +=
      fmt::format("add chain inet {} {} {{ type filter hook {} priority {}; policy accept; }}\n",
                  table, chain, chain, kChainPriority);
  // The lifelines (SSH, the agent's control port) are accepted before any cut, both ways.
  for (uint16_t port : lifeline_ports()) {
    script += fmt::format("{}tcp dport {} accept\n", prefix, port);
    script += fmt::format("{}tcp sport {} accept\n", prefix, port);
  }

  // One rule per address family named (an nft rule matches one family's header), or one rule
  // for any address.
  struct Group {
    int family;  // 4, 6, or 0 for any address
    std::vector<std::string> addresses;
  };
  std::vector<Group> groups;
  for (int family : {4, 6}) {
    Group g{family, {}};
    for (const Cidr& c : spec.destination)
      if (c.family == family) g.addresses.push_back(c.text());
    if (!g.addresses.empty()) groups.push_back(std::move(g));
  }
  if (spec.destination.empty()) groups.push_back({0, {}});

  const std::string_view protocol = protocol_name(spec.protocol);
  for (const Group& g : groups) {
    std::vector<std::string> match;
    if (g.family != 0)
      match.push_back(fmt::format("{} {} {}", g.family == 4 ? "ip" : "ip6", remote_address,
                                  nft_set(g.addresses)));
    switch (spec.protocol) {
      case PartitionProtocol::Tcp:
      case PartitionProtocol::Udp:
        if (!spec.ports.empty())
          match.push_back(fmt::format("{} {} {}", protocol, remote_port, nft_ports(spec.ports)));
        if (!spec.local_ports.empty())
          match.push_back(
              fmt::format("{} {} {}", protocol, local_port, nft_ports(spec.local_ports)));
        if (spec.ports.empty() && spec.local_ports.empty())
          match.push_back(fmt::format("meta l4proto {}", protocol));
        break;
      case PartitionProtocol::Icmp:
        match.push_back(g.family == 4   ? "meta l4proto icmp"
                        : g.family == 6 ? "meta l4proto ipv6-icmp"
                                        : "meta l4proto { icmp, ipv6-icmp }");
        break;
      case PartitionProtocol::All:
        break;
    }
    match.push_back("counter");
    if (spec.action == PartitionAction::Drop)
      match.push_back("drop");
    else
      // A TCP reset makes connect() fail at once with ECONNREFUSED; anything else gets the
      // ICMP error nft picks for the family (port unreachable).
      match.push_back(spec.protocol == PartitionProtocol::Tcp ? "reject with tcp reset" : "reject");
    script += prefix + fmt::format("{}", fmt::join(match, " ")) + "\n";
  }
}

uint64_t number_after(std::string_view line, std::string_view key) {
  const size_t at = line.find(key);
  if (at == std::string_view::npos) return 0;
  const char* first = line.data() + at + key.size();
  uint64_t value = 0;
  std::from_chars(first, line.data() + line.size(), value);
  return value;
}

}  // namespace

PartitionSpec partition_spec(const Params& params) {
  PartitionSpec spec;
  if (params.has("destination")) spec.destination = params.cidrs("destination");
  if (params.has("ports")) spec.ports = params.ports("ports");
  if (params.has("local_ports")) spec.local_ports = params.ports("local_ports");
  const std::string& protocol = params.text("protocol");
  spec.protocol = protocol == "tcp"    ? PartitionProtocol::Tcp
                  : protocol == "udp"  ? PartitionProtocol::Udp
                  : protocol == "icmp" ? PartitionProtocol::Icmp
                                       : PartitionProtocol::All;
  const std::string& direction = params.text("direction");
  spec.direction = direction == "outgoing"   ? PartitionDirection::Outgoing
                   : direction == "incoming" ? PartitionDirection::Incoming
                                             : PartitionDirection::Both;
  spec.action = params.text("action") == "reject" ? PartitionAction::Reject : PartitionAction::Drop;
  return spec;
}

std::vector<std::string> partition_problems(const PartitionSpec& spec) {
  std::vector<std::string> problems;
  if (spec.destination.empty() && spec.ports.empty() && spec.local_ports.empty())
    problems.push_back(
        "network_partition needs at least one of destination, ports or local_ports: a "
        "partition of all traffic would cut this host off, the operator's SSH session included");
  for (auto& p : problems_with_ports(spec.ports, "ports", spec.protocol))
    problems.push_back(std::move(p));
  for (auto& p : problems_with_ports(spec.local_ports, "local_ports", spec.protocol))
    problems.push_back(std::move(p));
  return problems;
}

std::string partition_script(const PartitionSpec& spec, std::string_view table) {
  // `create` rather than `add`: it fails if the table exists, so the script never adds rules
  // to a table that someone else made.
  std::string script = fmt::format("create table inet {}\n", table);
  if (spec.direction != PartitionDirection::Outgoing) append_chain(script, spec, table, false);
  if (spec.direction != PartitionDirection::Incoming) append_chain(script, spec, table, true);
  return script;
}

std::string_view partition_verb(PartitionAction action) {
  return action == PartitionAction::Drop ? "dropped" : "rejected";
}

std::string describe_partition(const PartitionSpec& spec) {
  std::string out(partition_verb(spec.action));
  out += spec.protocol == PartitionProtocol::All ? " all traffic"
                                                 : fmt::format(" {}", protocol_name(spec.protocol));
  if (!spec.destination.empty())
    out += fmt::format(" {} {}", spec.direction == PartitionDirection::Incoming ? "from" : "to",
                       cidrs_text(spec.destination));
  if (!spec.ports.empty()) out += " " + port_words(spec.ports);
  if (!spec.local_ports.empty()) out += " local " + port_words(spec.local_ports);
  switch (spec.direction) {
    case PartitionDirection::Both:
      out += " both ways";
      break;
    case PartitionDirection::Outgoing:
      out += " outgoing only";
      break;
    case PartitionDirection::Incoming:
      out += " incoming only";
      break;
  }
  return out;
}

std::vector<RuleCounter> read_counters(std::string_view listing) {
  std::vector<RuleCounter> out;
  std::string chain;
  size_t start = 0;
  while (start < listing.size()) {
    size_t end = listing.find('\n', start);
    if (end == std::string_view::npos) end = listing.size();
    std::string_view line = listing.substr(start, end - start);
    start = end + 1;
    while (!line.empty() && (line.front() == '\t' || line.front() == ' ')) line.remove_prefix(1);
    if (line.starts_with("chain ")) {
      line.remove_prefix(6);
      chain = std::string(line.substr(0, line.find(' ')));
    } else if (line.find("counter packets ") != std::string_view::npos) {
      out.push_back({chain, std::string(line), number_after(line, "counter packets "),
                     number_after(line, " bytes ")});
    }
  }
  return out;
}

}  // namespace faultline
