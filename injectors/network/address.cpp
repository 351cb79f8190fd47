#include "injectors/network/address.h"

#include <arpa/inet.h>

#include <charconv>

namespace faultline {
namespace {

std::vector<std::string_view> split_commas(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    std::string_view item = text.substr(start, comma == text.npos ? text.npos : comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    out.push_back(item);
    if (comma == text.npos) break;
    start = comma + 1;
  }
  return out;
}

bool parse_number(std::string_view text, int& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string Cidr::text() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == 4 ? AF_INET : AF_INET6, address.data(), buffer, sizeof buffer);
  return fmt::format("{}/{}", buffer, prefix);
}

std::string PortRange::text() const {
  return first == last ? std::to_string(first) : fmt::format("{}-{}", first, last);
}

Result<Cidr> parse_cidr(std::string_view text) {
  Cidr c;
  const size_t slash = text.find('/');
  const std::string host(text.substr(0, slash));
  if (inet_pton(AF_INET, host.c_str(), c.address.data()) == 1) {
    c.family = 4;
    c.prefix = 32;
  } else if (inet_pton(AF_INET6, host.c_str(), c.address.data()) == 1) {
    c.family = 6;
    c.prefix = 128;
  } else {
    return fail("'{}' is not an IPv4 or IPv6 address; write e.g. 10.0.0.0/24 or fd00::/64", text);
  }
  if (slash != std::string_view::npos) {
    const int max = c.family == 4 ? 32 : 128;
    if (!parse_number(text.substr(slash + 1), c.prefix) || c.prefix < 0 || c.prefix > max)
      return fail("'{}' has a prefix length that is not between 0 and {}", text, max);
  }
  const int bytes = c.family == 4 ? 4 : 16;
  for (int bit = c.prefix; bit < bytes * 8; ++bit)
    if (c.address[static_cast<size_t>(bit / 8)] & (0x80 >> (bit % 8)))
      return fail("'{}' has host bits set below its /{} prefix; did you mean {}?", text, c.prefix,
                  [&] {
                    Cidr network = c;
                    for (int b = c.prefix; b < bytes * 8; ++b)
                      network.address[static_cast<size_t>(b / 8)] &=
                          static_cast<uint8_t>(~(0x80 >> (b % 8)));
                    return network.text();
                  }());
  return c;
}

Result<std::vector<Cidr>> parse_cidr_list(std::string_view text) {
  std::vector<Cidr> out;
  for (std::string_view item : split_commas(text)) out.push_back(FL_TRY(parse_cidr(item)));
  return out;
}

Result<std::vector<PortRange>> parse_port_list(std::string_view text) {
  std::vector<PortRange> out;
  for (std::string_view item : split_commas(text)) {
    const size_t dash = item.find('-');
    int first = 0, last = 0;
    const bool ok = dash == std::string_view::npos
                        ? parse_number(item, first) && (last = first, true)
                        : parse_number(item.substr(0, dash), first) &&
                              parse_number(item.substr(dash + 1), last);
    if (!ok || first < 1 || last > 65535)
      return fail("'{}' is not a port (1-65535) or a range such as 8000-8080", item);
    if (last < first)
      return fail("the port range '{}' runs backwards; write '{}-{}'", item, last, first);
    out.push_back({static_cast<uint16_t>(first), static_cast<uint16_t>(last)});
  }
  return out;
}

std::vector<std::pair<uint16_t, uint16_t>> port_range_masks(PortRange range) {
  // Greedy: at each step take the largest aligned block that starts at `first` and fits.
  std::vector<std::pair<uint16_t, uint16_t>> out;
  uint32_t first = range.first;
  const uint32_t last = range.last;
  while (first <= last) {
    uint32_t size = 1;
    while ((first & (size * 2 - 1)) == 0 && first + size * 2 - 1 <= last && size < 65536) size *= 2;
    out.push_back({static_cast<uint16_t>(first), static_cast<uint16_t>(~(size - 1) & 0xffff)});
    first += size;
  }
  return out;
}

bool is_loopback_address(std::string_view host) {
  const std::string text(host);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

}  // namespace faultline
