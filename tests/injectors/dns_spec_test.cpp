// The dns fault's pure half: parameters through its ParamSpecs and the checks between them (exact
// messages), name and type matching, the nft script, and the replies it builds (read back with
// the same libldns).
#include "injectors/dns/dns_spec.h"

#include <catch2/catch.hpp>

#include "injectors/dns/dns_message.h"
#include "injectors/dns/redirect_script.h"
#include "injectors/injector.h"
#include "tests/support/require_ok.h"

namespace faultline {
namespace {

const InjectorDescriptor& descriptor() {
  const InjectorDescriptor* d = find_injector("dns");
  REQUIRE(d != nullptr);
  return *d;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

ParsedParams parse(const Pairs& pairs) {
  std::vector<RawParam> raw;
  for (auto& [k, v] : pairs) raw.push_back({k, v, {"t.yaml", 1, 1}, {"t.yaml", 1, 9}});
  return parse_params(descriptor().params, raw, {"t.yaml", 1, 1}, "fault 'dns'");
}

std::vector<std::string> problems(const Pairs& pairs) {
  ParsedParams p = parse(pairs);
  INFO((p.errors.empty() ? std::string() : p.errors.front().message));
  REQUIRE(p.errors.empty());
  return descriptor().cross_check(p.params, std::chrono::seconds(10), ProcessSelector{});
}

DnsSpec spec(const Pairs& pairs) {
  REQUIRE(problems(pairs).empty());
  return dns_spec(parse(pairs).params);
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("dns is a fault with a required duration that acts in a network namespace") {
  CHECK_FALSE(descriptor().targets_processes);
  CHECK(descriptor().duration == DurationRule::Required);
  CHECK(descriptor().host_check != nullptr);
}

TEST_CASE("dns parameters: names and action are required, the rest has defaults") {
  ParsedParams none = parse({});
  REQUIRE(none.errors.size() == 2);
  const Pairs minimal = {{"names", "api.example.com"}, {"action", "nxdomain"}};
  const DnsSpec s = spec(minimal);
  CHECK(s.names == std::vector<NamePattern>{{"api.example.com", false}});
  CHECK(s.types.empty());
  CHECK(s.action == DnsAction::Nxdomain);
  CHECK(s.probability == Percent::whole(100));
  CHECK_FALSE(s.delay);
  CHECK_FALSE(s.address);
  CHECK(describe_dns(s) == "nxdomain for api.example.com (any type)");

  ParsedParams bad_action = parse({{"names", "a.b"}, {"action", "timeout"}});
  REQUIRE(bad_action.errors.size() == 1);
  CHECK(bad_action.errors[0].message.find("timeout") != std::string::npos);
  ParsedParams zero = parse({{"names", "a.b"}, {"action", "drop"}, {"probability", "0"}});
  REQUIRE(zero.errors.size() == 1);
  CHECK(zero.errors[0].message == "probability must be between 0.01% and 100% (got 0%)");
}

TEST_CASE("dns cross checks: each action with its own parameter, and only with it") {
  CHECK(problems({{"names", "a.example"}, {"action", "spoof"}}) ==
        Strings{"action: spoof needs address (an IPv4 address answers A queries, an IPv6 "
                "address AAAA)"});
  CHECK(problems({{"names", "a.example"}, {"action", "delay"}}) ==
        Strings{"action: delay needs delay, e.g. delay: 2s"});
  CHECK(problems({{"names", "a.example"}, {"action", "nxdomain"}, {"delay", "2s"}}) ==
        Strings{"delay only with action: delay (action is nxdomain)"});
  CHECK(problems({{"names", "a.example"}, {"action", "drop"}, {"address", "10.0.0.1"}}) ==
        Strings{"address only with action: spoof (action is drop)"});
  CHECK(problems({{"names", "a.example"}, {"action", "spoof"}, {"address", "10.0.0"}}) ==
        Strings{"address: '10.0.0' is not an IPv4 or IPv6 address (e.g. 10.0.0.9 or fd00::9)"});
  CHECK(problems({{"names", "a.example"},
                  {"action", "spoof"},
                  {"address", "10.0.0.9"},
                  {"types", "AAAA"}}) ==
        Strings{"action: spoof with the IPv4 address 10.0.0.9 answers A queries, but types is "
                "AAAA"});
  CHECK(problems({{"names", "a..example"}, {"action", "refused"}, {"types", "MX"}}) ==
        Strings{"names: 'a..example' is not a DNS name: it has an empty label (two dots in a "
                "row, or a leading dot)",
                "types: 'MX' is not one of A, AAAA, SRV, any"});
  CHECK(problems({{"names", "api*.example.com"}, {"action", "refused"}}) ==
        Strings{"names: 'api*.example.com': a wildcard is '*.' at the start followed by a "
                "domain, e.g. *.example.com"});
  CHECK(problems({{"names", "a.example,"}, {"action", "refused"}}) ==
        Strings{"names: '' is not a DNS name: it is empty"});
  CHECK(problems({{"names", "a b.example"}, {"action", "refused"}}) ==
        Strings{"names: 'a b.example' is not a DNS name: ' ' is not a character of a host name"});
}

TEST_CASE("dns parameters read into the spec: delay, spoof, types, probability") {
  const DnsSpec d = spec({{"names", "*.Svc.Local.,db.internal"},
                          {"action", "delay"},
                          {"delay", "1500ms"},
                          {"types", "a, SRV,A"},
                          {"probability", "12.5%"}});
  CHECK(d.names == std::vector<NamePattern>{{"svc.local", true}, {"db.internal", false}});
  CHECK(d.types == std::vector<uint16_t>{kTypeA, kTypeSrv});
  CHECK(d.delay == std::chrono::milliseconds(1500));
  CHECK(d.probability == Percent{1250});
  CHECK(describe_dns(d) == "delay 1.5s for *.svc.local,db.internal (A,SRV) 12.5% of the time");

  const DnsSpec s = spec({{"names", "x.test"}, {"action", "spoof"}, {"address", "FD00:0::9"}});
  CHECK(s.address == SpoofAddress{6, "fd00::9"});
  CHECK(describe_dns(s) == "spoof to fd00::9 for x.test (any type)");
  // "any" among others is any.
  CHECK(spec({{"names", "x.test"}, {"action", "drop"}, {"types", "A,any"}}).types.empty());
}

TEST_CASE("dns name matching: exact names, wildcards, case and the trailing dot") {
  const auto patterns = parse_name_patterns("api.example.com,*.svc.local");
  REQUIRE_OK(patterns);
  CHECK(name_matches(*patterns, "api.example.com"));
  CHECK(name_matches(*patterns, "api.example.com."));
  CHECK(name_matches(*patterns, "API.Example.COM."));
  CHECK_FALSE(name_matches(*patterns, "www.api.example.com"));
  CHECK_FALSE(name_matches(*patterns, "example.com"));
  CHECK_FALSE(name_matches(*patterns, "xapi.example.com"));
  // A wildcard covers every name below its domain, at any depth, but not the domain itself.
  CHECK(name_matches(*patterns, "db.svc.local."));
  CHECK(name_matches(*patterns, "a.b.SVC.local"));
  CHECK_FALSE(name_matches(*patterns, "svc.local."));
  CHECK_FALSE(name_matches(*patterns, "xsvc.local"));
  CHECK_FALSE(name_matches(*patterns, "svc.local.evil"));

  CHECK(type_matches({}, 15));
  CHECK(type_matches({kTypeA, kTypeAaaa}, kTypeAaaa));
  CHECK_FALSE(type_matches({kTypeA}, kTypeSrv));
  CHECK(type_name(kTypeSrv) == "SRV");
  CHECK(type_name(15) == "TYPE15");
}

TEST_CASE("dns redirect script: every served port, the mark let through first") {
  CHECK(dns_redirect_script("faultline_dns_7_1", {1001, 1002, 1003, 1004}) ==
        "create table inet faultline_dns_7_1\n"
        "add chain inet faultline_dns_7_1 output { type nat hook output priority -100; policy "
        "accept; }\n"
        "add rule inet faultline_dns_7_1 output meta mark 0x464c4453 accept\n"
        "add rule inet faultline_dns_7_1 output meta nfproto ipv4 udp dport 53 counter redirect "
        "to :1001\n"
        "add rule inet faultline_dns_7_1 output meta nfproto ipv4 tcp dport 53 counter redirect "
        "to :1002\n"
        "add rule inet faultline_dns_7_1 output meta nfproto ipv6 udp dport 53 counter redirect "
        "to :1003\n"
        "add rule inet faultline_dns_7_1 output meta nfproto ipv6 tcp dport 53 counter redirect "
        "to :1004\n");
  // A namespace without IPv6: its rules are left out.
  const std::string v4 = dns_redirect_script("faultline_dns_7_2", {1001, 1002, 0, 0});
  CHECK(v4.find("ipv6") == std::string::npos);
  CHECK(v4.find("tcp dport 53 counter redirect to :1002\n") != std::string::npos);
}

TEST_CASE("dns replies: rcodes and spoofed answers keep the query's id and question") {
  if (auto usable = ldns_usable(); !usable) {
    WARN("SKIP: " << usable.error().message);
    return;
  }
  const auto query = build_query(0x1234, "Api.Example.com.", kTypeA);
  REQUIRE_OK(query);
  const auto question = read_question(*query);
  REQUIRE_OK(question);
  CHECK(question->id == 0x1234);
  CHECK(question->name == "Api.Example.com.");
  CHECK(question->type == kTypeA);

  for (const auto& [rcode, name] :
       {std::pair{DnsRcode::NxDomain, "NXDOMAIN"}, std::pair{DnsRcode::ServFail, "SERVFAIL"},
        std::pair{DnsRcode::Refused, "REFUSED"}}) {
    const auto reply = error_reply(*query, rcode);
    REQUIRE_OK(reply);
    const auto answer = read_answer(*reply);
    REQUIRE_OK(answer);
    CHECK(answer->id == 0x1234);
    CHECK(answer->rcode == name);
    CHECK(answer->records.empty());
    // The question is echoed: a reply's question section is what clients match it by.
    CHECK((*reply)[4] == 0);
    CHECK((*reply)[5] == 1);
    CHECK((*reply)[2] == 0x81);                              // QR and RD (copied from the query)
    CHECK((*reply)[3] == (0x80 | static_cast<int>(rcode)));  // RA and the rcode
  }

  const auto spoofed = address_reply(*query, SpoofAddress{4, "10.9.8.7"}, 0);
  REQUIRE_OK(spoofed);
  const auto a = read_answer(*spoofed);
  REQUIRE_OK(a);
  CHECK(a->rcode == "NOERROR");
  CHECK(a->records == Strings{"10.9.8.7"});

  const auto query6 = build_query(7, "api.example.com", kTypeAaaa);
  REQUIRE_OK(query6);
  const auto six = read_answer(*address_reply(*query6, SpoofAddress{6, "fd00::9"}, 0));
  REQUIRE_OK(six);
  CHECK(six->records == Strings{"fd00::9"});
  // An IPv4 address for an AAAA question: an empty answer (NODATA), not a wrong record.
  const auto nodata = read_answer(*address_reply(*query6, SpoofAddress{4, "10.9.8.7"}, 0));
  REQUIRE_OK(nodata);
  CHECK(nodata->rcode == "NOERROR");
  CHECK(nodata->records.empty());

  // What is not a query is refused, with why.
  const std::vector<uint8_t> junk = {1, 2, 3};
  CHECK_FALSE(read_question(junk));
  CHECK_FALSE(read_question(*spoofed));
  CHECK(read_question(*spoofed).error().message == "a reply, not a query");
}

}  // namespace faultline
