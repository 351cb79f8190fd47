#pragma once
// Mutual-TLS material for a cluster: one CA, a server certificate per agent and a client
// certificate for the controller (`faultline certs`, `faultline lab up`), and the small readers
// the agent and the controller need. No OpenSSL type appears here.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace faultline::tls {

// A host or controller name as it appears in a certificate and a file name: 1 to 63 letters,
// digits, '.' or '-'. The error quotes the name and says what is allowed.
Result<void> check_name(std::string_view name);

struct AgentName {
  std::string name;
  std::optional<std::string> address;  // an IPv4 or IPv6 address for an IP SAN
};

// "web-1=10.0.0.11,db-1,db-2=fd00::21" → names with optional addresses. Every name is checked,
// duplicates are refused.
Result<std::vector<AgentName>> parse_agent_list(std::string_view text);

struct IssueOptions {
  std::string dir;
  std::vector<AgentName> agents;
  std::string controller_name = "controller";
  int days = 825;      // validity of every certificate made (and of a new CA)
  bool force = false;  // overwrite agent and controller files that exist
};

struct IssueReport {
  bool reused_ca = false;
  std::string ca_not_after;          // "2027-04-01 12:00:00 UTC"
  std::vector<std::string> written;  // paths, in the order written
};

// Writes DIR/ca.pem + ca.key (or reuses them when both exist), DIR/NAME.pem + NAME.key per agent
// (serverAuth, SAN DNS:NAME and IP:ADDRESS) and DIR/CONTROLLER.pem + .key (clientAuth). Keys
// are 0600; a directory made here is 0700. Everything is checked before the first file is
// written: an existing agent or controller file is refused unless `force`.
Result<IssueReport> issue_cluster_certs(const IssueOptions& options);

// The text of a PEM file (a certificate or a key), with errors that name the file and the
// problem: missing, unreadable, empty, not PEM.
Result<std::string> read_pem_file(const std::string& path);

struct CertificateInfo {
  std::string common_name;
  std::vector<std::string> dns_names;            // subjectAltName DNS entries, in order
  std::vector<std::string> ip_addresses;         // subjectAltName IP entries, as text
  std::vector<std::string> extended_key_usages;  // "serverAuth", "clientAuth", or the OID
  bool is_ca = false;
  std::chrono::system_clock::time_point not_after;
};

// The first certificate in `pem`.
Result<CertificateInfo> describe_certificate(std::string_view pem);

// The names a peer presenting this certificate answers to: its CN, then its DNS names, without
// repeats. What an agent's `allowed_clients` is matched against.
Result<std::vector<std::string>> certificate_names(std::string_view pem);

}  // namespace faultline::tls
