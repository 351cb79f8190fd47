#include "injectors/dns/dns_spec.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace faultline {
namespace {

constexpr size_t kMaxName = 253;  // RFC 1035, as written in text without the trailing dot
constexpr size_t kMaxLabel = 63;

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_commas(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    out.push_back(
        trim(text.substr(start, comma == std::string_view::npos ? comma : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

// Why `domain` (lower case, no trailing dot, no wildcard) is not a name; empty when it is.
std::string name_problem(std::string_view domain) {
  if (domain.empty()) return "it is empty";
  if (domain.size() > kMaxName) return fmt::format("it is longer than {} characters", kMaxName);
  size_t start = 0;
  while (start <= domain.size()) {
    size_t dot = domain.find('.', start);
    if (dot == std::string_view::npos) dot = domain.size();
    const std::string_view label = domain.substr(start, dot - start);
    if (label.empty()) return "it has an empty label (two dots in a row, or a leading dot)";
    if (label.size() > kMaxLabel)
      return fmt::format("its label '{}' is longer than {} characters", label, kMaxLabel);
    // Letters, digits, '-' and '_' (service names such as _http._tcp): what names hold in
    // practice; anything else is a typo far more often than a name.
    for (char c : label)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
        return fmt::format("'{}' is not a character of a host name", c);
    start = dot + 1;
  }
  return "";
}

std::string_view strip_trailing_dot(std::string_view name) {
  if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);
  return name;
}

}  // namespace

Result<std::vector<NamePattern>> parse_name_patterns(std::string_view text) {
  std::vector<NamePattern> out;
  for (std::string_view item : split_commas(text)) {
    NamePattern p;
    std::string_view rest = strip_trailing_dot(item);
    if (rest.starts_with("*.")) {
      p.wildcard = true;
      rest.remove_prefix(2);
    }
    if (rest.find('*') != std::string_view::npos)
      return fail(
          "names: '{}': a wildcard is '*.' at the start followed by a domain, e.g. "
          "*.example.com",
          item);
    if (const std::string why = name_problem(rest); !why.empty())
      return fail("names: '{}' is not a DNS name: {}", item, why);
    p.domain = lower(rest);
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(std::move(p));
  }
  return out;
}

Result<std::vector<uint16_t>> parse_record_types(std::string_view text) {
  std::vector<uint16_t> out;
  bool any = false;
  for (std::string_view item : split_commas(text)) {
    const std::string t = lower(item);
    uint16_t type = 0;
    if (t == "any")
      any = true;
    else if (t == "a")
      type = kTypeA;
    else if (t == "aaaa")
      type = kTypeAaaa;
    else if (t == "srv")
      type = kTypeSrv;
    else
      return fail("types: '{}' is not one of A, AAAA, SRV, any", item);
    if (type != 0 && std::find(out.begin(), out.end(), type) == out.end()) out.push_back(type);
  }
  if (any) out.clear();
  return out;
}

Result<SpoofAddress> parse_spoof_address(std::string_view text) {
  const std::string s(trim(text));
  unsigned char bytes[16];
  char back[INET6_ADDRSTRLEN];
  for (const int family : {4, 6}) {
    const int af = family == 4 ? AF_INET : AF_INET6;
    if (inet_pton(af, s.c_str(), bytes) == 1 && inet_ntop(af, bytes, back, sizeof back))
      return SpoofAddress{family, back};
  }
  return fail("address: '{}' is not an IPv4 or IPv6 address (e.g. 10.0.0.9 or fd00::9)", text);
}

bool name_matches(const std::vector<NamePattern>& patterns, std::string_view name) {
  const std::string n = lower(strip_trailing_dot(name));
  for (const NamePattern& p : patterns) {
    if (!p.wildcard) {
      if (n == p.domain) return true;
    } else if (n.size() > p.domain.size() + 1 && n.ends_with(p.domain) &&
               n[n.size() - p.domain.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

bool type_matches(const std::vector<uint16_t>& types, uint16_t type) {
  return types.empty() || std::find(types.begin(), types.end(), type) != types.end();
}

std::vector<std::string> dns_problems(const Params& params) {
  std::vector<std::string> problems;
  if (auto names = parse_name_patterns(params.text("names")); !names)
    problems.push_back(names.error().message);
  auto types = parse_record_types(params.text("types"));
  if (!types) problems.push_back(types.error().message);
  const std::string& action = params.text("action");
  if (action == "delay" && !params.has("delay"))
    problems.push_back("action: delay needs delay, e.g. delay: 2s");
  if (action != "delay" && params.has("delay"))
    problems.push_back(fmt::format("delay only with action: delay (action is {})", action));
  if (action == "spoof" && !params.has("address"))
    problems.push_back(
        "action: spoof needs address (an IPv4 address answers A queries, an IPv6 address AAAA)");
  if (action != "spoof" && params.has("address"))
    problems.push_back(fmt::format("address only with action: spoof (action is {})", action));
  if (action == "spoof" && params.has("address")) {
    auto address = parse_spoof_address(params.text("address"));
    if (!address) {
      problems.push_back(address.error().message);
    } else if (types && !types->empty()) {
      const uint16_t answered = address->family == 4 ? kTypeA : kTypeAaaa;
      if (!type_matches(*types, answered))
        problems.push_back(fmt::format(
            "action: spoof with the IPv{} address {} answers {} queries, but types is {}",
            address->family, address->text, type_name(answered), params.text("types")));
    }
  }
  return problems;
}

DnsSpec dns_spec(const Params& params) {
  DnsSpec spec;
  spec.names = parse_name_patterns(params.text("names")).value_or(std::vector<NamePattern>{});
  spec.types = parse_record_types(params.text("types")).value_or(std::vector<uint16_t>{});
  const std::string& action = params.text("action");
  constexpr DnsAction kAll[] = {DnsAction::Nxdomain, DnsAction::Servfail, DnsAction::Refused,
                                DnsAction::Drop,     DnsAction::Delay,    DnsAction::Spoof};
  for (DnsAction a : kAll)
    if (action_name(a) == action) spec.action = a;
  if (params.has("delay")) spec.delay = params.duration("delay");
  if (params.has("address"))
    if (auto a = parse_spoof_address(params.text("address"))) spec.address = *a;
  spec.probability = params.percent("probability");
  return spec;
}

std::string_view action_name(DnsAction action) {
  switch (action) {
    case DnsAction::Nxdomain:
      return "nxdomain";
    case DnsAction::Servfail:
      return "servfail";
    case DnsAction::Refused:
      return "refused";
    case DnsAction::Drop:
      return "drop";
    case DnsAction::Delay:
      return "delay";
    case DnsAction::Spoof:
      break;
  }
  return "spoof";
}

std::string type_name(uint16_t type) {
  switch (type) {
    case kTypeA:
      return "A";
    case kTypeAaaa:
      return "AAAA";
    case kTypeSrv:
      return "SRV";
    default:
      return fmt::format("TYPE{}", type);
  }
}

std::string describe_dns(const DnsSpec& spec) {
  std::vector<std::string> names, types;
  for (const NamePattern& p : spec.names) names.push_back((p.wildcard ? "*." : "") + p.domain);
  for (uint16_t t : spec.types) types.push_back(type_name(t));
  std::string what(action_name(spec.action));
  if (spec.delay) what += " " + format_duration(*spec.delay);
  if (spec.address) what += " to " + spec.address->text;
  std::string out =
      fmt::format("{} for {} ({})", what, fmt::join(names, ","),
                  types.empty() ? "any type" : fmt::format("{}", fmt::join(types, ",")));
  if (spec.probability != Percent::whole(100))
    out += fmt::format(" {} of the time", format_percent(spec.probability));
  return out;
}

}  // namespace faultline
