// libFuzzer target: faultline-agent's config file (listen address, TLS, lease, policy).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "agent/daemon/agent_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const faultline::AgentConfigResult parsed =
      faultline::parse_agent_config(text, "/fuzz/agent.yaml");
  if (parsed.config.has_value() != parsed.errors.empty()) std::abort();
  if (parsed.config && parsed.config->lease_default > parsed.config->lease_max) std::abort();
  for (const faultline::Diagnostic& d : parsed.errors) (void)faultline::format_diagnostic(d);
  return 0;
}
