#pragma once
// What a network partition cuts, as an immutable value, and the pure functions around it: the
// checks between its parameters, the nft script that applies it, the words that describe it,
// and the counters read back from the kernel's listing. Nothing here touches the host.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "injectors/params/params.h"

namespace faultline {

enum class PartitionProtocol { Tcp, Udp, Icmp, All };
enum class PartitionDirection { Both, Outgoing, Incoming };
enum class PartitionAction { Drop, Reject };

struct PartitionSpec {
  CidrList destination;  // remote addresses; empty: any
  PortList ports;        // remote ports; empty: any
  PortList local_ports;  // this host's ports; empty: any
  PartitionProtocol protocol = PartitionProtocol::All;
  PartitionDirection direction = PartitionDirection::Both;
  PartitionAction action = PartitionAction::Drop;
};

// From parameters parsed against network_partition's ParamSpecs (choices are already valid).
PartitionSpec partition_spec(const Params& params);

// Every reason this spec must not be applied; empty when it may.
std::vector<std::string> partition_problems(const PartitionSpec& spec);

// The nft script that creates `table` (family inet) with its chains and rules, to be run as
// one transaction. TCP port 22 is accepted before any cut, so SSH always stays up.
std::string partition_script(const PartitionSpec& spec, std::string_view table);

// "dropped tcp to 10.200.0.2/32 port 8080 both ways".
std::string describe_partition(const PartitionSpec& spec);

// The past participle of the action: "dropped" or "rejected".
std::string_view partition_verb(PartitionAction action);

// One rule with a counter, as the kernel listed it.
struct RuleCounter {
  std::string chain;
  std::string rule;  // the rule as listed, counter included
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

// The rules that carry a counter in an `nft list table` listing, in listing order.
std::vector<RuleCounter> read_counters(std::string_view listing);

}  // namespace faultline
