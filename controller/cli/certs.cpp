// `faultline certs`: a cluster's mutual-TLS material in one command (see docs/agent.md).
#include "tls/certs.h"

#include <cstdio>

#include "controller/cli/commands.h"

namespace faultline {

int certs_command(const CertsOptions& options) {
  auto agents = tls::parse_agent_list(options.agents);
  if (!agents) {
    std::fprintf(stderr, "faultline certs: error: %s\n", agents.error().message.c_str());
    return kExitInvalid;
  }
  tls::IssueOptions issue;
  issue.dir = options.out;
  issue.agents = std::move(*agents);
  issue.controller_name = options.controller_name;
  issue.days = options.days;
  issue.force = options.force;
  auto report = tls::issue_cluster_certs(issue);
  if (!report) {
    std::fprintf(stderr, "faultline certs: error: %s\n", report.error().message.c_str());
    return report.error().refused ? kExitInvalid : kExitError;
  }
  if (report->reused_ca)
    std::printf("reusing the CA in %s/ca.pem (valid until %s)\n", options.out.c_str(),
                report->ca_not_after.c_str());
  else
    std::printf("made a new CA (valid until %s)\n", report->ca_not_after.c_str());
  for (const std::string& path : report->written) std::printf("wrote %s\n", path.c_str());
  return 0;
}

}  // namespace faultline
