#pragma once
// What a dns fault does, as an immutable value, and the pure functions around it: reading it
// from the parameters, the checks between them, which queries it matches, and the words that
// describe it. Nothing here touches the host.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/duration.h"
#include "core/percent.h"
#include "core/result.h"
#include "injectors/params/params.h"

namespace faultline {

enum class DnsAction { Nxdomain, Servfail, Refused, Drop, Delay, Spoof };

// Record types by their numbers on the wire (RFC 1035, 3596, 2782).
inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kTypeSrv = 33;

// "api.example.com" (exactly that name) or "*.example.com" (any name below example.com, not
// example.com itself), lower case and without the trailing dot.
struct NamePattern {
  std::string domain;
  bool wildcard = false;
  bool operator==(const NamePattern&) const = default;
};

// An address that a spoofed answer holds: IPv4 answers A queries, IPv6 answers AAAA.
struct SpoofAddress {
  int family = 4;    // 4 or 6
  std::string text;  // as inet_ntop writes it: "10.0.0.9", "fd00::9"
  bool operator==(const SpoofAddress&) const = default;
};

struct DnsSpec {
  std::vector<NamePattern> names;
  std::vector<uint16_t> types;  // empty: any type
  DnsAction action = DnsAction::Nxdomain;
  std::optional<Duration> delay;        // with action delay
  std::optional<SpoofAddress> address;  // with action spoof
  Percent probability = Percent::whole(100);
};

// "api.example.com,*.svc.local"; case and a trailing dot do not matter. The error quotes the
// name at fault.
Result<std::vector<NamePattern>> parse_name_patterns(std::string_view text);
// "A,AAAA", "srv", "any"; empty for any.
Result<std::vector<uint16_t>> parse_record_types(std::string_view text);
Result<SpoofAddress> parse_spoof_address(std::string_view text);

// Whether `name` (as a query asks it: any case, a trailing dot or not) is one of `patterns`.
bool name_matches(const std::vector<NamePattern>& patterns, std::string_view name);
// Whether `type` is one of `types` (empty: any).
bool type_matches(const std::vector<uint16_t>& types, uint16_t type);

// Every reason these parameters do not make a dns fault; empty when they do.
std::vector<std::string> dns_problems(const Params& params);
// From parameters that dns_problems accepted.
DnsSpec dns_spec(const Params& params);

std::string_view action_name(DnsAction action);
// "A", "AAAA", "SRV", or "TYPE15" for the others.
std::string type_name(uint16_t type);
// "nxdomain for *.example.com,db.local (A,AAAA)", "delay 2s for api.local (any type) 50% of
// the time".
std::string describe_dns(const DnsSpec& spec);

}  // namespace faultline
