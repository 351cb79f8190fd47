#pragma once
// DNS messages on the wire, read and built with libldns (Debian's libldns3). libldns is opened
// on first use, never linked: it needs the shared libcrypto, and faultline-agent links OpenSSL
// statically. No ldns type leaves dns_message.cpp.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "injectors/dns/dns_spec.h"

namespace faultline {

using DnsWire = std::vector<uint8_t>;

// The one question of a query.
struct DnsQuestion {
  uint16_t id = 0;
  std::string name;  // as asked, with its trailing dot: "api.example.com."
  uint16_t type = 0;
};

enum class DnsRcode : uint8_t { NoError = 0, ServFail = 2, NxDomain = 3, Refused = 5 };

// Reads the question of a query; an error for what is not a query with one question.
Result<DnsQuestion> read_question(std::span<const uint8_t> query);

// The reply to `query` with `rcode` and no records: its id, opcode, RD and CD flags and its
// question, with QR and RA set.
Result<DnsWire> error_reply(std::span<const uint8_t> query, DnsRcode rcode);

// A NOERROR reply to `query` holding `address` as its one answer (TTL `ttl`) when it fits the
// question's type (IPv4 for A, IPv6 for AAAA); for any other type, none (NODATA), so that a
// client asking for both families gets only the spoofed one.
Result<DnsWire> address_reply(std::span<const uint8_t> query, const SpoofAddress& address,
                              uint32_t ttl);

// A recursive query (RD set) for `name` and `type`, class IN.
Result<DnsWire> build_query(uint16_t id, const std::string& name, uint16_t type);

// A reply as a client sees it.
struct DnsAnswer {
  uint16_t id = 0;
  std::string rcode;                 // "NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", "RCODE9"
  std::vector<std::string> records;  // the answer section's data: "10.0.0.1", "fd00::1"
  bool truncated = false;
};
Result<DnsAnswer> read_answer(std::span<const uint8_t> reply);

// "NOERROR", "SERVFAIL", ... for an rcode number.
std::string rcode_name(unsigned rcode);

// Whether libldns can be loaded here, and what to install when not.
Result<void> ldns_usable();

}  // namespace faultline
