// The controller's inventory: a good file read field by field, TLS paths resolved against the
// file's directory, and every mistake reported at its place with the fix.
#include "controller/inventory/inventory.h"

#include <catch2/catch.hpp>

namespace faultline {
namespace {

Inventory parse_valid(const std::string& text, const std::string& file = "inv.yaml") {
  ParsedInventory parsed = parse_inventory_text(text, file);
  for (const Diagnostic& d : parsed.errors) UNSCOPED_INFO(format_diagnostic(d));
  REQUIRE(parsed.errors.empty());
  REQUIRE(parsed.inventory.has_value());
  return std::move(*parsed.inventory);
}

std::vector<std::string> errors_of(const std::string& text) {
  const ParsedInventory parsed = parse_inventory_text(text, "inv.yaml");
  CHECK_FALSE(parsed.inventory.has_value());
  std::vector<std::string> out;
  for (const Diagnostic& d : parsed.errors) out.push_back(format_diagnostic(d));
  return out;
}

constexpr const char* kTls = "tls: {ca: ca.pem, cert: c.pem, key: c.key}\n";

}  // namespace

TEST_CASE("the fixture inventory reads as written, TLS paths next to the file", "[inventory]") {
  const std::string dir = FAULTLINE_SOURCE_DIR "/tests/controller/fixtures";
  const ParsedInventory parsed = parse_inventory_file(dir + "/inventory.yaml");
  for (const Diagnostic& d : parsed.errors) UNSCOPED_INFO(format_diagnostic(d));
  REQUIRE(parsed.inventory.has_value());
  const Inventory& inv = *parsed.inventory;
  CHECK(inv.file == dir + "/inventory.yaml");
  const TlsFiles base{dir + "/certs/ca.pem", dir + "/certs/controller.pem",
                      dir + "/certs/controller.key"};
  CHECK(inv.tls == base);
  REQUIRE(inv.agents.size() == 6);
  CHECK(inv.names() ==
        std::vector<std::string_view>{"web-1", "web-2", "web-3", "web-4", "db-1", "db-2"});

  const Agent& web1 = inv.agents[0];
  CHECK(web1.name == "web-1");
  CHECK(web1.address == "10.213.0.11:7443");
  CHECK(web1.host == "10.213.0.11");
  CHECK(web1.port == 7443);
  CHECK(web1.labels == std::map<std::string, std::string>{{"role", "app"}, {"zone", "a"}});
  CHECK(web1.tls == base);
  CHECK_FALSE(web1.plaintext);
  CHECK(web1.at.line == 7);
  CHECK(web1.at.column == 5);

  const Agent& db2 = inv.agents[5];
  CHECK(db2.address == "[fd00:213::22]:7443");
  CHECK(db2.host == "fd00:213::22");
  CHECK(db2.port == 7443);
  // Its own client certificate, the inventory's CA.
  CHECK(db2.tls == TlsFiles{dir + "/certs/ca.pem", "/etc/faultline/db-client.pem",
                            "/etc/faultline/db-client.key"});
  CHECK(inv.agent("db-2") == &db2);
  CHECK(inv.agent("db-3") == nullptr);
}

TEST_CASE("relative TLS paths resolve against the inventory's directory", "[inventory]") {
  const std::string text = R"(tls: {ca: ../ca.pem, cert: certs/c.pem, key: /abs/c.key}
agents: [{name: a, address: "10.0.0.1:1"}]
)";
  CHECK(parse_valid(text, "lab/run/inv.yaml").tls ==
        TlsFiles{"lab/ca.pem", "lab/run/certs/c.pem", "/abs/c.key"});
  CHECK(parse_valid(text, "inv.yaml").tls == TlsFiles{"../ca.pem", "certs/c.pem", "/abs/c.key"});
}

TEST_CASE("plaintext is accepted on loopback addresses, without TLS", "[inventory]") {
  const Inventory inv = parse_valid(R"(agents:
  - {name: lab-1, address: "127.0.0.1:7443", plaintext: true}
  - {name: lab-2, address: "127.8.9.10:7443", plaintext: true, labels: {role: app}}
  - {name: lab-3, address: "[::1]:7444", plaintext: true}
  - {name: lab-4, address: "db.example.org:7443", plaintext: false, tls: {ca: a, cert: b, key: c}}
)");
  REQUIRE(inv.agents.size() == 4);
  CHECK(inv.agents[0].plaintext);
  CHECK_FALSE(inv.agents[0].tls.has_value());
  CHECK(inv.agents[1].host == "127.8.9.10");
  CHECK(inv.agents[2].host == "::1");
  CHECK(inv.agents[2].port == 7444);
  CHECK_FALSE(inv.tls.has_value());
  CHECK(inv.agents[3].host == "db.example.org");
  CHECK(inv.agents[3].tls == TlsFiles{"a", "b", "c"});
}

TEST_CASE("every problem of an inventory is reported at its place, with the fix", "[inventory]") {
  SECTION("a misspelt top-level key") {
    CHECK(errors_of(std::string(kTls) + "agent: []\n") ==
          std::vector<std::string>{
              "inv.yaml:2:1: error: unknown key 'agent' in the inventory (did you mean "
              "'agents'?); allowed keys: tls, agents"});
  }
  SECTION("no agents") {
    CHECK(errors_of(kTls) ==
          std::vector<std::string>{"inv.yaml:1:1: error: the inventory is missing the required "
                                   "key 'agents'"});
    CHECK(errors_of(std::string(kTls) + "agents: []\n") ==
          std::vector<std::string>{
              "inv.yaml:2:9: error: agents is empty; list one entry per host, such as - {name: "
              "web-1, address: 10.0.0.11:7443, labels: {role: app}}"});
    CHECK(errors_of(std::string(kTls) + "agents: {web-1: 10.0.0.1:1}\n") ==
          std::vector<std::string>{
              "inv.yaml:2:9: error: agents must be a list, not a mapping; start each item with "
              "'- '"});
  }
  SECTION("an unknown agent key") {
    CHECK(errors_of(std::string(kTls) +
                    "agents: [{name: a, address: \"10.0.0.1:1\", lables: {role: app}}]\n") ==
          std::vector<std::string>{
              "inv.yaml:2:43: error: unknown key 'lables' in agent 'a' (did you mean 'labels'?); "
              "allowed keys: name, address, labels, tls, plaintext"});
  }
  SECTION("names") {
    CHECK(errors_of(std::string(kTls) + R"(agents:
  - {name: web_1, address: "10.0.0.1:1"}
  - {name: "", address: "10.0.0.2:1"}
  - {name: a23456789012345678901234567890123456789012345678901234567890123x, address: "10.0.0.3:1"}
  - {name: local, address: "10.0.0.4:1"}
  - {name: db-1, address: "10.0.0.5:1"}
  - {name: db-1, address: "10.0.0.6:1"}
  - {address: "10.0.0.7:1"}
)") == std::vector<std::string>{
           "inv.yaml:3:12: error: agent name 'web_1' is not a valid host name: use 1 to 63 "
           "letters, digits, '.' and '-' (did you mean 'web-1'?)",
           "inv.yaml:4:12: error: agent name '' is not a valid host name: use 1 to 63 "
           "letters, digits, '.' and '-'",
           "inv.yaml:5:12: error: agent name "
           "'a23456789012345678901234567890123456789012345678901234567890123x' is not a valid "
           "host name: use 1 to 63 letters, digits, '.' and '-' (did you mean "
           "'a23456789012345678901234567890123456789012345678901234567890123'?)",
           "inv.yaml:6:12: error: agent name 'local' is reserved for the controller's own "
           "host (host: local in a scenario); give this agent its host's name",
           "inv.yaml:8:12: error: an agent named 'db-1' is already listed at line 7; give "
           "each agent its own name",
           "inv.yaml:9:5: error: an agent is missing the required key 'name'"});
  }
  SECTION("addresses") {
    CHECK(errors_of(std::string(kTls) + R"(agents:
  - {name: a, address: "10.0.0.1"}
  - {name: b, address: "10.0.0.2:70000"}
  - {name: c, address: "fd00::3:7443"}
  - {name: d, address: "10.0.0.300:7443"}
  - {name: e, address: "[fd00::5:7443"}
  - {name: f, address: "[10.0.0.6]:7443"}
  - {name: g, address: "db_1.lan:7443"}
  - {name: h, address: ":7443"}
  - {name: i, address: "[fd00::9]"}
  - {name: j}
  - {name: k, address: [10.0.0.1, 7443]}
)") == std::vector<std::string>{
           "inv.yaml:3:24: error: agent 'a'.address '10.0.0.1' has no port; write HOST:PORT, "
           "e.g. 10.0.0.11:7443 or [fd00::11]:7443",
           "inv.yaml:4:24: error: agent 'b'.address '10.0.0.2:70000': the port must be a "
           "number from 1 to 65535 (got '70000'); e.g. 10.0.0.11:7443 or [fd00::11]:7443",
           "inv.yaml:5:24: error: agent 'c'.address 'fd00::3:7443': an IPv6 address goes in "
           "brackets, as in [fd00::3]:7443",
           "inv.yaml:6:24: error: agent 'd'.address '10.0.0.300' is not an IPv4 address; e.g. "
           "10.0.0.11:7443 or [fd00::11]:7443",
           "inv.yaml:7:24: error: agent 'e'.address '[fd00::5:7443' opens '[' but never "
           "closes it; write [IPV6]:PORT, e.g. 10.0.0.11:7443 or [fd00::11]:7443",
           "inv.yaml:8:24: error: agent 'f'.address '10.0.0.6' is not an IPv6 address inside "
           "'[...]'; e.g. 10.0.0.11:7443 or [fd00::11]:7443",
           "inv.yaml:9:24: error: agent 'g'.address 'db_1.lan' is neither an IP address nor "
           "a DNS name; e.g. 10.0.0.11:7443 or [fd00::11]:7443",
           "inv.yaml:10:24: error: agent 'h'.address ':7443' has no host before the port; "
           "e.g. 10.0.0.11:7443 or [fd00::11]:7443",
           "inv.yaml:11:24: error: agent 'i'.address '[fd00::9]' has no port; write "
           "[IPV6]:PORT, e.g. 10.0.0.11:7443 or [fd00::11]:7443",
           "inv.yaml:12:5: error: agent 'j' is missing the required key 'address'",
           "inv.yaml:13:24: error: agent 'k'.address must be a single value, not a list"});
  }
  SECTION("two agents at one address") {
    CHECK(errors_of(std::string(kTls) + R"(agents:
  - {name: a, address: "10.0.0.1:7443"}
  - {name: b, address: "10.0.0.1:7443"}
  - {name: c, address: "10.0.0.1:7444"}
)") == std::vector<std::string>{
           "inv.yaml:4:24: error: agent 'b'.address 10.0.0.1:7443 is already the address of "
           "agent 'a' (line 3); each agent listens at an address of its own"});
  }
  SECTION("plaintext") {
    CHECK(errors_of(R"(agents:
  - {name: a, address: "10.0.0.1:7443", plaintext: true}
  - {name: b, address: "localhost:7443", plaintext: true}
  - {name: c, address: "[fd00::1]:7443", plaintext: true}
  - {name: d, address: "127.0.0.1:7443", plaintext: true, tls: {ca: a, cert: b, key: c}}
  - {name: e, address: "127.0.0.1:7444", plaintext: yes}
)") == std::vector<std::string>{
           "inv.yaml:2:52: error: agent 'a' has plaintext: true, but 10.0.0.1 is not a "
           "loopback address; plaintext is only allowed on 127.0.0.0/8 or [::1]: remove it "
           "and connect with tls",
           "inv.yaml:3:53: error: agent 'b' has plaintext: true, but 'localhost' is a name, "
           "not a loopback address (write 127.0.0.1 or [::1] if it is this machine); "
           "plaintext is only allowed on 127.0.0.0/8 or [::1]: remove it and connect with tls",
           "inv.yaml:4:53: error: agent 'c' has plaintext: true, but fd00::1 is not a "
           "loopback address; plaintext is only allowed on 127.0.0.0/8 or [::1]: remove it "
           "and connect with tls",
           "inv.yaml:5:53: error: agent 'd' has both plaintext: true and tls; keep one",
           "inv.yaml:6:53: error: agent 'e'.plaintext must be true or false (got 'yes')"});
  }
  SECTION("TLS") {
    CHECK(errors_of(R"(agents:
  - {name: a, address: "10.0.0.1:7443"}
  - {name: b, address: "10.0.0.2:7443", tls: {cert: b.pem}}
  - {name: c, address: "10.0.0.3:7443", tls: {ca: "", cert: c.pem, key: c.key, crt: x}}
)") == std::vector<std::string>{
           "inv.yaml:2:5: error: agent 'a' has no TLS files: add a top-level 'tls: {ca, "
           "cert, key}' for every agent or 'tls:' to this agent ('plaintext: true' only for "
           "a loopback address)",
           "inv.yaml:3:46: error: agent 'b'.tls is missing ca and key, and the inventory has "
           "no top-level tls to take them from; add ca, key here or a top-level tls",
           "inv.yaml:4:46: error: agent 'c'.tls is missing ca, and the inventory has no "
           "top-level tls to take it from; add ca here or a top-level tls",
           "inv.yaml:4:51: error: agent 'c'.tls.ca is empty; name a file",
           "inv.yaml:4:80: error: unknown key 'crt' in agent 'c'.tls (did you mean "
           "'cert'?); allowed keys: ca, cert, key"});
    CHECK(errors_of(R"(tls: {ca: ca.pem, cert: c.pem}
agents:
  - {name: a, address: "10.0.0.1:7443"}
)") == std::vector<std::string>{"inv.yaml:1:6: error: tls is missing the required key 'key'"});
    CHECK(errors_of(R"(tls: certs/
agents:
  - {name: a, address: "10.0.0.1:7443"}
)") == std::vector<std::string>{
           "inv.yaml:1:6: error: tls must be a mapping of keys to values, not a scalar"});
  }
  SECTION("labels") {
    CHECK(errors_of(std::string(kTls) + R"(agents:
  - {name: a, address: "10.0.0.1:1", labels: [app]}
  - {name: b, address: "10.0.0.2:1", labels: {}}
  - {name: c, address: "10.0.0.3:1", labels: {role: [app, db]}}
  - {name: d, address: "10.0.0.4:1", labels: {role: app, role: db}}
)") == std::vector<std::string>{
           "inv.yaml:3:46: error: agent 'a'.labels must be a mapping of label names to "
           "values, such as {role: app}",
           "inv.yaml:4:46: error: agent 'b'.labels is empty; give at least one label, such "
           "as {role: app}, or leave labels out",
           "inv.yaml:5:53: error: agent 'c'.labels.role must be a single, non-empty value",
           "inv.yaml:6:58: error: agent 'd'.labels gives label 'role' twice; keep one "
           "value"});
  }
  SECTION("YAML syntax, an empty file, a missing file") {
    CHECK(errors_of("agents:\n  - {name: a\n") ==
          std::vector<std::string>{
              "inv.yaml:3:1: error: YAML syntax: did not find expected ',' or '}': a '{' is not closed; "
              "add the missing '}'"});
    CHECK(errors_of("# nothing yet\n") ==
          std::vector<std::string>{
              "inv.yaml:1:1: error: the file is empty; an inventory lists its hosts under "
              "'agents:' (see docs/agent.md)"});
    const ParsedInventory missing = parse_inventory_file("/nonexistent/inv.yaml");
    REQUIRE(missing.errors.size() == 1);
    CHECK(format_diagnostic(missing.errors[0]) ==
          "/nonexistent/inv.yaml: error: cannot read the file: No such file or directory");
  }
}

}  // namespace faultline
