#pragma once
// Which backend a `network` fault uses, and why: netem (a qdisc in the kernel) where the kernel
// has it, else the userspace backend (injectors/network/userspace: NFQUEUE and late verdicts).
// The scenario's `backend: auto | netem | userspace` picks; plan prints the choice with its
// reason and the journal records both.
#include <string>
#include <string_view>

#include "core/result.h"
#include "injectors/params/params.h"

namespace faultline {

enum class NetworkBackend { Netem, Userspace };

struct BackendChoice {
  NetworkBackend backend = NetworkBackend::Netem;
  std::string reason;  // "this kernel has no netem qdisc (sch_netem)", "asked for (backend: ...)"
};

std::string_view backend_name(NetworkBackend backend);

// The `backend` parameter's spec.
ParamSpec backend_param_spec();

// The backend `params` asks for, checked against this kernel; refused with how to fix it when
// the one asked for (or, for auto, both) cannot run here. Changes nothing on the host.
Result<BackendChoice> choose_network_backend(const Params& params);

}  // namespace faultline
