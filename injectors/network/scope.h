#pragma once
// Which packets a network fault touches, and the u32 matches that select exactly them.
#include <cstdint>
#include <string>
#include <vector>

#include "injectors/network/address.h"
#include "injectors/params/params.h"

namespace faultline {

struct NetworkScope {
  std::vector<Cidr> destination;          // remote addresses (empty: any)
  std::vector<Cidr> source;               // local addresses (empty: any)
  std::vector<PortRange> ports;           // remote (destination) ports
  std::vector<PortRange> source_ports;    // local ports
  std::string protocol = "all";           // tcp, udp, icmp or all
  std::vector<Cidr> exclude_destination;  // never touched, even when matched above
  std::vector<PortRange> exclude_ports;
  // Set only on a mirrored scope (incoming packets): the remote end's excludes as sources.
  std::vector<Cidr> exclude_source;
  std::vector<PortRange> exclude_source_ports;

  static NetworkScope from_params(const Params& params);
  std::string describe() const;
};

// The scope's parameters, shared by every network kind.
std::vector<ParamSpec> scope_param_specs();
// Scope problems found before anything is sent (e.g. ports without tcp or udp).
std::vector<std::string> check_scope(const Params& params);

// One u32 key: 32 bits at `offset` bytes into the network header, compared under `mask`.
// Value and mask are in host order here and converted when the filter is built.
struct U32Key {
  uint32_t value = 0;
  uint32_t mask = 0;
  int offset = 0;
  bool operator==(const U32Key&) const = default;
};

struct U32Match {
  int family = 4;            // 4 or 6: the filter's protocol is ETH_P_IP or ETH_P_IPV6
  std::vector<U32Key> keys;  // all must match (one filter: address AND port)
};

// Every filter needed so that exactly the scope's packets match, for outgoing packets. Ports are
// read at the offset that follows a header without options (IPv4 IHL 5, IPv6 without extension
// headers), as tc does; IPv4 packets with options are not matched.
std::vector<U32Match> scope_matches(const NetworkScope& scope);
// The matches that are always excluded (TCP port 22 both ways) plus the scope's own excludes.
std::vector<U32Match> exclusion_matches(const NetworkScope& scope);

}  // namespace faultline
