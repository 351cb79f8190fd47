#include "injectors/network/scoped_fault.h"

#include <net/if.h>

#include "injectors/linux/undo_steps.h"
#include "injectors/network/fault_netns.h"

namespace faultline {

std::vector<ParamSpec> network_common_specs() {
  static constexpr std::string_view kDirections[] = {"egress", "ingress", "both"};
  std::vector<ParamSpec> specs = {
      {.name = "interface", .type = ParamType::Text, .help = "the network interface, e.g. eth0"},
      {.name = "direction",
       .type = ParamType::Choice,
       .default_value = "egress",
       .choices = kDirections,
       .help = "egress (packets sent), ingress (packets received, through an IFB device) or both"},
      netns_param_spec()};
  for (const ParamSpec& s : scope_param_specs()) specs.push_back(s);
  return specs;
}

Result<void> network_host_check(const Params& params) {
  NetnsHandle netns;
  if (params.has("netns")) netns = FL_TRY(NetnsHandle::open_path(params.text("netns")));
  const std::string& name = params.text("interface");
  return netns.run([&]() -> Result<void> {
    if (if_nametoindex(name.c_str()) == 0)
      return fail("interface '{}' does not exist in {} (see 'ip link')", name,
                  netns.is_own() ? "this network namespace" : netns.description());
    return {};
  });
}

ScopedNetworkFault::ScopedNetworkFault(FaultRequest request, FaultQdisc qdisc,
                                       std::string requested, nlohmann::json notes)
    : request_(std::move(request)),
      qdisc_(std::move(qdisc)),
      requested_(std::move(requested)),
      notes_(std::move(notes)),
      scope_(NetworkScope::from_params(request_.params)),
      direction_(request_.params.text("direction")) {
  const std::string& interface = request_.params.text("interface");
  if (direction_ != "ingress") egress_ = std::make_unique<ScopedQdiscTree>(interface);
  if (direction_ != "egress") ingress_ = std::make_unique<IngressRedirect>(interface);
}

ScopedNetworkFault::~ScopedNetworkFault() {
  (void)revert();
}

Result<void> ScopedNetworkFault::prepare() {
  // Where to act: a named namespace, the namespace of the target's process, or our own.
  netns_ = FL_TRY(fault_netns(request_));
  netns_location_ = FL_TRY(netns_.location());
  auto checked = netns_.run([&]() -> Result<void> {
    if (egress_) FL_TRY_VOID(egress_->prepare());
    if (ingress_) FL_TRY_VOID(ingress_->prepare());
    return {};
  });
  prepared_ = checked.has_value();
  return checked;
}

Result<void> ScopedNetworkFault::apply(TimePoint) {
  if (!prepared_) FL_TRY_VOID(prepare());
  return netns_.run([&] { return apply_here(); });
}

Result<void> ScopedNetworkFault::revert() {
  return netns_.run([&] { return revert_here(); });
}

Result<void> ScopedNetworkFault::apply_here() {
  applied_ = true;  // from here on, revert() undoes whatever part was done
  if (egress_) FL_TRY_VOID(egress_->apply(scope_, qdisc_));
  if (ingress_) {
    if (auto r = ingress_->apply(mirrored(scope_), qdisc_); !r) {
      if (egress_) (void)egress_->revert();
      return r;
    }
  }
  // Observe, don't assume: what the kernel holds now is what the journal records.
  tree_after_apply_ = nlohmann::json::object();
  if (egress_) tree_after_apply_["egress"] = egress_->read_back();
  if (ingress_) tree_after_apply_["ingress"] = ingress_->read_back();
  return {};
}

Result<void> ScopedNetworkFault::revert_here() {
  if (!applied_ || reverted_) return {};
  std::string errors;
  if (ingress_)
    if (auto r = ingress_->revert(); !r) errors = r.error().message;
  if (egress_)
    if (auto r = egress_->revert(); !r) errors += (errors.empty() ? "" : "; ") + r.error().message;
  if (!errors.empty()) return fail("{}", errors);
  reverted_ = true;
  return {};
}

nlohmann::json ScopedNetworkFault::undo_plan() const {
  nlohmann::json plan = nlohmann::json::array();
  if (!prepared_ || reverted_) return plan;
  const std::string& interface = request_.params.text("interface");
  // Before apply, the plan (on disk first) names what apply is about to create. Once apply has
  // run, it names only what this fault did create and has not removed: a refused or half-done
  // apply must never name another fault's tree, or performing the plan would remove it.
  // In revert's order: the redirect (and the IFB with its tree), then the interface's own tree.
  if (ingress_ && (!applied_ || ingress_->created_anything()))
    plan.push_back(remove_ingress_redirect_step(netns_location_, interface, ingress_->ifb()));
  if (egress_ && (!applied_ || egress_->installed()))
    plan.push_back(remove_tc_root_step(netns_location_, interface, egress_->previous_root()));
  return plan;
}

namespace {
nlohmann::json stats_json(const std::optional<QdiscState>& s) {
  if (!s) return nullptr;
  return {{"kind", s->kind}, {"packets", s->packets}, {"bytes", s->bytes}, {"drops", s->drops}};
}
}  // namespace

nlohmann::json ScopedNetworkFault::observed() const {
  nlohmann::json out = {{"interface", request_.params.text("interface")},
                        {"network_namespace", netns_.description()},
                        {"direction", direction_},
                        {"scope", scope_.describe()},
                        {"tree_after_apply", tree_after_apply_}};
  for (const auto& [key, value] : notes_.items()) out[key] = value;
  (void)netns_.run([&]() -> Result<void> {
    if (egress_) out["fault_qdisc"] = stats_json(egress_->fault_qdisc_stats());
    if (ingress_) {
      out["ingress_fault_qdisc"] = stats_json(ingress_->fault_qdisc_stats());
      out["ifb"] = ingress_->ifb();
    }
    return {};
  });
  return out;
}

std::string ScopedNetworkFault::summary() const {
  std::string out = fmt::format("{} on {} ({}) for {}", requested_,
                                request_.params.text("interface"), direction_, scope_.describe());
  uint64_t packets = 0, drops = 0;
  (void)netns_.run([&]() -> Result<void> {
    for (const auto& s : {egress_ ? egress_->fault_qdisc_stats() : std::nullopt,
                          ingress_ ? ingress_->fault_qdisc_stats() : std::nullopt})
      if (s) {
        packets += s->packets;
        drops += s->drops;
      }
    return {};
  });
  return out + fmt::format(": {} packets went through the fault ({} dropped)", packets, drops);
}

bool ScopedNetworkFault::confirmed() const {
  // Confirmed when the kernel showed our qdisc in place, in every direction asked for.
  auto has_fault_qdisc = [&](const nlohmann::json& tree) {
    for (const auto& q : tree)
      if (q.value("handle", "") == tc_handle_text(kFaultHandle) &&
          q.value("kind", "") == qdisc_.kind)
        return true;
    return false;
  };
  if (!tree_after_apply_.is_object()) return false;
  if (egress_ && !has_fault_qdisc(tree_after_apply_.value("egress", nlohmann::json::array())))
    return false;
  if (ingress_) {
    const auto ingress = tree_after_apply_.value("ingress", nlohmann::json::object());
    if (!has_fault_qdisc(ingress.value("tree", nlohmann::json::array()))) return false;
  }
  return true;
}

}  // namespace faultline
