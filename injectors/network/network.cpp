#include "injectors/network/network.h"

#include "injectors/network/kernel_support.h"
#include "injectors/network/netem_options.h"
#include "injectors/network/scoped_fault.h"

namespace faultline {
namespace {

const std::vector<ParamSpec>& specs() {
  static const std::vector<ParamSpec> all = [] {
    std::vector<ParamSpec> s = network_common_specs();
    for (const ParamSpec& p : netem_param_specs()) s.push_back(p);
    return s;
  }();
  return all;
}

Support supported() {
  for (const char* kind : {"htb", "netem"})
    if (auto k = qdisc_kind_available(kind); !k) return {false, k.error().message};
  return {};
}

std::vector<std::string> cross_check(const Params& p, std::optional<Duration>,
                                     const ProcessSelector&) {
  std::vector<std::string> problems = check_scope(p);
  for (std::string& s : check_netem(p)) problems.push_back(std::move(s));
  return problems;
}

Result<std::unique_ptr<Fault>> create(FaultRequest request) {
  const NetemOptions options = FL_TRY(NetemOptions::from_params(request.params));
  FaultQdisc qdisc{"netem", [options](nl_msg* msg) { return put_netem_options(msg, options); }};
  return std::make_unique<ScopedNetworkFault>(std::move(request), std::move(qdisc),
                                              options.describe());
}

}  // namespace

InjectorDescriptor network_descriptor() {
  return {.kind = "network",
          .summary = "delay, drop, duplicate, corrupt or reorder the scoped traffic (netem)",
          .params = specs(),
          .targets_processes = false,
          .duration = DurationRule::Required,
          .supported = supported,
          .cross_check = cross_check,
          .create = create,
          .host_check = network_host_check};
}

}  // namespace faultline
