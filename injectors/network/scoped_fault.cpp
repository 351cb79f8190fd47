#include "injectors/network/scoped_fault.h"

#include <net/if.h>

namespace faultline {

std::vector<ParamSpec> network_common_specs() {
  std::vector<ParamSpec> specs = {
      {.name = "interface", .type = ParamType::Text, .help = "the network interface, e.g. eth0"}};
  for (const ParamSpec& s : scope_param_specs()) specs.push_back(s);
  return specs;
}

Result<void> network_host_check(const Params& params) {
  const std::string& name = params.text("interface");
  if (if_nametoindex(name.c_str()) == 0)
    return fail("interface '{}' does not exist here (see 'ip link')", name);
  return {};
}

ScopedNetworkFault::ScopedNetworkFault(FaultRequest request, FaultQdisc qdisc,
                                       std::string requested)
    : request_(std::move(request)),
      qdisc_(std::move(qdisc)),
      requested_(std::move(requested)),
      scope_(NetworkScope::from_params(request_.params)),
      tree_(request_.params.text("interface")) {}

ScopedNetworkFault::~ScopedNetworkFault() {
  (void)revert();
}

Result<void> ScopedNetworkFault::prepare() {
  return tree_.prepare();
}

Result<void> ScopedNetworkFault::apply(TimePoint) {
  FL_TRY_VOID(tree_.apply(scope_, qdisc_));
  applied_ = true;
  // Observe, don't assume: what the kernel holds now is what the journal records.
  tree_after_apply_ = tree_.read_back();
  return {};
}

Result<void> ScopedNetworkFault::revert() {
  if (!applied_ || reverted_) return {};
  FL_TRY_VOID(tree_.revert());
  reverted_ = true;
  return {};
}

nlohmann::json ScopedNetworkFault::observed() const {
  nlohmann::json out = {{"interface", tree_.interface()},
                        {"scope", scope_.describe()},
                        {"tree_after_apply", tree_after_apply_}};
  if (auto stats = tree_.fault_qdisc_stats())
    out["fault_qdisc"] = {{"kind", stats->kind},
                          {"packets", stats->packets},
                          {"bytes", stats->bytes},
                          {"drops", stats->drops}};
  return out;
}

std::string ScopedNetworkFault::summary() const {
  std::string out =
      fmt::format("{} on {} for {}", requested_, tree_.interface(), scope_.describe());
  if (auto stats = tree_.fault_qdisc_stats())
    out += fmt::format(": {} packets went through the fault ({} dropped)", stats->packets,
                       stats->drops);
  return out;
}

bool ScopedNetworkFault::confirmed() const {
  // Confirmed when the kernel showed our qdisc in place after applying.
  for (const auto& q : tree_after_apply_)
    if (q.value("handle", "") == tc_handle_text(kFaultHandle) && q.value("kind", "") == qdisc_.kind)
      return true;
  return false;
}

}  // namespace faultline
