// libFuzzer target: a controller inventory (agents, addresses, TLS files).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "controller/inventory/inventory.h"
#include "injectors/network/address.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const faultline::ParsedInventory parsed =
      faultline::parse_inventory_text(text, "/fuzz/inventory.yaml");
  if (parsed.inventory.has_value() != parsed.errors.empty()) std::abort();
  if (parsed.inventory)
    for (const faultline::Agent& a : parsed.inventory->agents) {
      // An accepted agent has a port, and plaintext only on loopback.
      if (a.port == 0 || (a.plaintext && !faultline::is_loopback_address(a.host))) std::abort();
      if (parsed.inventory->agent(a.name) == nullptr) std::abort();
    }
  for (const faultline::Diagnostic& d : parsed.errors) (void)faultline::format_diagnostic(d);
  return 0;
}
