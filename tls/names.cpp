#include <arpa/inet.h>

#include <set>

#include "tls/certs.h"

namespace faultline::tls {

Result<void> check_name(std::string_view name) {
  constexpr size_t kMaxLength = 63;  // one DNS label, and short enough for a file name
  const auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-';
  };
  bool ok = !name.empty() && name.size() <= kMaxLength;
  for (char c : name) ok = ok && allowed(c);
  // "." and ".." would name the directory itself in DIR/NAME.pem.
  if (ok && name.find_first_not_of('.') == std::string_view::npos) ok = false;
  if (!ok)
    return fail("invalid name '{}': use 1 to 63 letters, digits, '.' or '-', e.g. web-1", name);
  return {};
}

namespace {

bool is_ip_address(const std::string& text) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

}  // namespace

Result<std::vector<AgentName>> parse_agent_list(std::string_view text) {
  std::vector<AgentName> agents;
  std::set<std::string> seen;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view item = text.substr(start, comma - start);
    start = comma + 1;
    AgentName agent;
    const size_t eq = item.find('=');
    agent.name = std::string(item.substr(0, eq));
    FL_TRY_VOID(check_name(agent.name));
    if (eq != std::string_view::npos) {
      agent.address = std::string(item.substr(eq + 1));
      if (!is_ip_address(*agent.address))
        return fail("agent '{}': '{}' is not an IPv4 or IPv6 address, e.g. {}=10.0.0.11",
                    agent.name, *agent.address, agent.name);
    }
    if (!seen.insert(agent.name).second)
      return fail("agent '{}' is named twice in --agents", agent.name);
    agents.push_back(std::move(agent));
  }
  return agents;
}

}  // namespace faultline::tls
