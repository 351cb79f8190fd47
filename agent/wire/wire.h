#pragma once
// Conversions between the agent API's messages (agent.proto) and faultline's own types, in one
// place for both ends: the controller encodes with them, the agent decodes (and checks) with them.
#include <agent.pb.h>

#include "agent/local/fault_report.h"
#include "core/result.h"
#include "injectors/container/container_selector.h"
#include "probes/probe_spec.h"

namespace faultline::wire {

namespace v1 = ::faultline::agent::v1;

// The largest request the agent reads; a fault request is well under 4 KiB.
inline constexpr int kMaxMessageBytes = 64 * 1024;

// Protobuf strings must be UTF-8; process names and command output need not be.
std::string valid_utf8(std::string_view text);

v1::ProcessSelector encode(const ProcessSelector& s);
ProcessSelector decode(const v1::ProcessSelector& s);

// The scenario's blast_radius.protected, into a request and back out of it. Decoding checks what
// the agent takes (at most kMaxProtectedSelectors, none empty, every field within its limit, a
// cmdline that compiles); the error names the selector.
void encode_protected(const std::vector<ProcessSelector>& selectors, v1::ApplyRequest& request);
Result<std::vector<ProcessSelector>> decode_protected(const v1::ApplyRequest& request);

// The containers part of an Apply request: the target group's `containers:`/`pods:` (each agent
// resolves them on its own host), the scenario's blast_radius.max_containers and its
// protected_containers.
struct ContainerTargets {
  std::optional<ContainerSelector> containers;
  int64_t max_containers = 0;  // 0: not given
  std::vector<ContainerSelector> protected_containers;
};

v1::ContainerSelector encode(const ContainerSelector& s);
// Every field but the count (which a protected entry does not have); an empty field is not given.
ContainerSelector decode(const v1::ContainerSelector& s);
void encode(const ContainerTargets& targets, v1::ApplyRequest& request);
// What the message holds, as it holds it; the one error here is a count that is not "all", a
// number from 1 to 100000 or a share such as "50%" (the message names `containers.count`). The
// agent checks the rest before using any of it (agent/daemon/fault_request.cpp).
Result<ContainerTargets> decode_container_targets(const v1::ApplyRequest& request);

v1::FaultStatus encode(const FaultReport& r);
FaultReport decode(const v1::FaultStatus& s);

v1::ProbeRequest encode(const ProbeSpec& spec);
// Checks every field as a scenario's probe would be checked; the error says which is wrong.
Result<ProbeSpec> decode(const v1::ProbeRequest& request);

}  // namespace faultline::wire
