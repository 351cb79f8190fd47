#pragma once
// The controller's inventory: one agent per host, where it listens, what labels target groups
// select it by, and the TLS files the controller connects with. Parsed and checked whole before
// anything uses it; immutable afterwards. Format: docs/agent.md, "Controller side".
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"

namespace faultline {

// Paths as the controller will open them: a relative path in the file is resolved against the
// directory of the inventory file. Read when connecting, not when parsing.
struct TlsFiles {
  std::string ca;    // agents' certificates must chain to this CA
  std::string cert;  // the controller's client certificate
  std::string key;   // and its key
  bool operator==(const TlsFiles&) const = default;
};

struct Agent {
  std::string name;     // unique; a DNS name in the agent's certificate
  std::string address;  // as written: "10.0.0.11:7443", "[fd00::11]:7443", "db-1.lan:7443"
  std::string host;     // the host part, without brackets
  uint16_t port = 0;
  std::map<std::string, std::string> labels;
  // The files to connect with (the inventory's, with what this agent overrides); nullopt
  // exactly when `plaintext` is set.
  std::optional<TlsFiles> tls;
  bool plaintext = false;  // only ever true for a loopback address
  SourceLocation at;
};

struct Inventory {
  std::string file;
  std::optional<TlsFiles> tls;  // the top-level default
  std::vector<Agent> agents;    // in file order

  const Agent* agent(std::string_view name) const;
  std::vector<std::string_view> names() const;
};

struct ParsedInventory {
  std::optional<Inventory> inventory;  // set only when there are no diagnostics
  Diagnostics errors;                  // sorted by line and column
};

ParsedInventory parse_inventory_text(const std::string& text, const std::string& file);
ParsedInventory parse_inventory_file(const std::string& path);

}  // namespace faultline
