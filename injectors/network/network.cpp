#include "injectors/network/network.h"

#include "injectors/network/backend_choice.h"
#include "injectors/network/kernel_support.h"
#include "injectors/network/netem_options.h"
#include "injectors/network/scoped_fault.h"
#include "injectors/network/userspace/userspace_fault.h"

namespace faultline {
namespace {

const std::vector<ParamSpec>& specs() {
  static const std::vector<ParamSpec> all = [] {
    std::vector<ParamSpec> s = network_common_specs();
    for (const ParamSpec& p : netem_param_specs()) s.push_back(p);
    s.push_back(backend_param_spec());
    return s;
  }();
  return all;
}

// Supported when either backend can run here: auto finds which.
Support supported() {
  if (auto choice = choose_network_backend(Params{}); !choice)
    return {false, choice.error().message};
  return {};
}

std::vector<std::string> cross_check(const Params& p, std::optional<Duration>,
                                     const ProcessSelector&) {
  std::vector<std::string> problems = check_scope(p);
  for (std::string& s : check_netem(p)) problems.push_back(std::move(s));
  return problems;
}

// What plan prints for the fault: the backend it will use here, and why.
Result<std::string> reach_check(const FaultRequest& request) {
  const BackendChoice choice = FL_TRY(choose_network_backend(request.params));
  return fmt::format("use the {} backend: {}", backend_name(choice.backend), choice.reason);
}

Result<std::unique_ptr<Fault>> create(FaultRequest request) {
  const NetemOptions options = FL_TRY(NetemOptions::from_params(request.params));
  const BackendChoice choice = FL_TRY(choose_network_backend(request.params));
  if (choice.backend == NetworkBackend::Userspace)
    return std::make_unique<UserspaceNetworkFault>(std::move(request), options, choice.reason);
  FaultQdisc qdisc{"netem", [options](nl_msg* msg) { return put_netem_options(msg, options); }};
  return std::make_unique<ScopedNetworkFault>(
      std::move(request), std::move(qdisc), options.describe(),
      nlohmann::json{{"backend", "netem"}, {"backend_reason", choice.reason}});
}

}  // namespace

InjectorDescriptor network_descriptor() {
  return {.kind = "network",
          .summary = "delay, drop, duplicate, corrupt or reorder the scoped traffic (netem, or "
                     "NFQUEUE in userspace where the kernel has no netem)",
          .params = specs(),
          .targets_processes = false,
          .duration = DurationRule::Required,
          .supported = supported,
          .cross_check = cross_check,
          .create = create,
          .host_check = network_host_check,
          .reach_check = reach_check};
}

}  // namespace faultline
