#include "injectors/network/ingress_redirect.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <optional>
#include <set>

namespace faultline {
namespace {

constexpr uint32_t kIngressHandle = 0xFFFF0000;  // ffff:

std::string new_ifb_name() {
  static std::atomic<int> sequence{0};
  // At most 15 characters: "flifb" + pid (up to 7 digits) + a letter.
  return fmt::format("flifb{}{}", getpid() % 10000000,
                     static_cast<char>('a' + sequence.fetch_add(1) % 26));
}

nl_msg* link_message(int type, int flags, int ifindex, unsigned up) {
  nl_msg* msg = nlmsg_alloc_simple(type, flags);
  if (msg == nullptr) return nullptr;
  ifinfomsg info{};
  info.ifi_family = AF_UNSPEC;
  info.ifi_index = ifindex;
  info.ifi_flags = up;
  info.ifi_change = up;
  if (nlmsg_append(msg, &info, sizeof info, NLMSG_ALIGNTO) < 0) {
    nlmsg_free(msg);
    return nullptr;
  }
  return msg;
}

// Whether the interface has an ingress qdisc now (when it cannot be read: assume it has).
bool has_ingress_qdisc(RouteSocket& sock, int ifindex) {
  auto qdiscs = list_qdiscs(sock, ifindex);
  if (!qdiscs) return true;
  for (const QdiscState& q : *qdiscs)
    if (q.parent == TC_H_INGRESS || q.handle == kIngressHandle) return true;
  return false;
}

// The devices that the filters under the ingress qdisc of `ifindex` redirect to, when each is
// a u32 filter with mirred egress redirects only (or a u32 hash table entry that carries none);
// nullopt when any filter does something else.
Result<std::optional<std::set<int>>> redirect_targets(RouteSocket& sock, int ifindex) {
  std::set<int> targets;
  for (const RawMessage& raw : FL_TRY(sock.dump(RTM_GETTFILTER, ifindex, kIngressHandle))) {
    auto* header = reinterpret_cast<nlmsghdr*>(const_cast<uint8_t*>(raw.bytes.data()));
    nlattr* attrs[TCA_MAX + 1] = {};
    if (nlmsg_parse(header, sizeof(tcmsg), attrs, TCA_MAX, nullptr) < 0)
      return fail("cannot parse a filter of interface {}", ifindex);
    if (attrs[TCA_KIND] == nullptr || std::string_view(nla_get_string(attrs[TCA_KIND])) != "u32")
      return std::nullopt;
    if (attrs[TCA_OPTIONS] == nullptr) continue;
    nlattr* u32[TCA_U32_MAX + 1] = {};
    if (nla_parse_nested(u32, TCA_U32_MAX, attrs[TCA_OPTIONS], nullptr) < 0) return std::nullopt;
    if (u32[TCA_U32_CLASSID] != nullptr) return std::nullopt;
    if (u32[TCA_U32_ACT] == nullptr) continue;
    nlattr* action = nullptr;
    int remaining = 0;
    nla_for_each_nested(action, u32[TCA_U32_ACT], remaining) {
      nlattr* act[TCA_ACT_MAX + 1] = {};
      if (nla_parse_nested(act, TCA_ACT_MAX, action, nullptr) < 0 || act[TCA_ACT_KIND] == nullptr ||
          std::string_view(nla_get_string(act[TCA_ACT_KIND])) != "mirred" ||
          act[TCA_ACT_OPTIONS] == nullptr)
        return std::nullopt;
      nlattr* mirred[TCA_MIRRED_MAX + 1] = {};
      if (nla_parse_nested(mirred, TCA_MIRRED_MAX, act[TCA_ACT_OPTIONS], nullptr) < 0 ||
          mirred[TCA_MIRRED_PARMS] == nullptr ||
          nla_len(mirred[TCA_MIRRED_PARMS]) < static_cast<int>(sizeof(tc_mirred)))
        return std::nullopt;
      tc_mirred parms{};
      std::memcpy(&parms, nla_data(mirred[TCA_MIRRED_PARMS]), sizeof parms);
      if (parms.eaction != TCA_EGRESS_REDIR) return std::nullopt;
      targets.insert(static_cast<int>(parms.ifindex));
    }
  }
  return targets;
}

// Whether every filter under the ingress qdisc of `ifindex` only redirects to `ifb_index`.
Result<bool> only_redirects_to(RouteSocket& sock, int ifindex, int ifb_index) {
  const std::optional<std::set<int>> targets = FL_TRY(redirect_targets(sock, ifindex));
  return targets && (targets->empty() || *targets == std::set<int>{ifb_index});
}

// Refuses an ingress fault on `ifindex` when it has an ingress (or clsact) qdisc: another
// faultline fault's (its filters redirect to one of our IFBs) or the user's.
Result<void> check_no_ingress_qdisc(RouteSocket& sock, int ifindex, const std::string& interface) {
  for (const QdiscState& q : FL_TRY(list_qdiscs(sock, ifindex))) {
    if (q.parent != TC_H_INGRESS && q.handle != kIngressHandle) continue;
    if (auto targets = redirect_targets(sock, ifindex);
        targets && *targets && (*targets)->size() == 1) {
      char name[IF_NAMESIZE] = {};
      if (if_indextoname(static_cast<unsigned>(*(*targets)->begin()), name) != nullptr &&
          std::string_view(name).starts_with(kIfbPrefix))
        return interface_taken(interface);
    }
    return fail(
        "interface '{}' already has an {} qdisc; faultline could not put its filters back "
        "exactly, so it refuses an ingress fault there",
        interface, q.kind);
  }
  return {};
}

}  // namespace

Result<std::optional<int>> ingress_redirect_target(RouteSocket& sock, int ifindex) {
  if (!has_ingress_qdisc(sock, ifindex)) return std::optional<int>();
  const std::optional<std::set<int>> targets = FL_TRY(redirect_targets(sock, ifindex));
  // One device only: an ingress that redirects to two is none of faultline's making.
  if (!targets || targets->size() != 1) return std::optional<int>();
  return std::optional<int>(*targets->begin());
}

Result<void> remove_faultline_ifb(const std::string& ifb) {
  return undo_ingress_redirect("", ifb);
}

Result<void> undo_ingress_redirect(const std::string& interface, const std::string& ifb) {
  if (!ifb.starts_with(kIfbPrefix) || ifb.size() >= IFNAMSIZ)
    return fail("'{}' is not the name of an IFB device that faultline creates", ifb);
  const int ifb_index = static_cast<int>(if_nametoindex(ifb.c_str()));
  // Never created, or removed already: the redirect went with it (it is made after the IFB).
  if (ifb_index == 0) return {};
  RouteSocket sock = FL_TRY(RouteSocket::open());
  const std::string kind = FL_TRY(sock.link_kind(ifb_index));
  if (kind != "ifb")
    return fail("device {} is a {} device, not an IFB that faultline made; it is left alone", ifb,
                kind.empty() ? "plain" : kind);
  // No interface: the IFB alone (if_nametoindex("") is 0).
  if (const int ifindex = static_cast<int>(if_nametoindex(interface.c_str())); ifindex != 0) {
    if (has_ingress_qdisc(sock, ifindex) && FL_TRY(only_redirects_to(sock, ifindex, ifb_index))) {
      nl_msg* del = tc_message(RTM_DELQDISC, 0, ifindex, kIngressHandle, TC_H_INGRESS);
      FL_TRY_VOID(sock.request(del, fmt::format("removing the ingress qdisc of {}", interface)));
    }
  }
  nl_msg* del = link_message(RTM_DELLINK, 0, ifb_index, 0);
  if (auto r = sock.request(del, fmt::format("removing IFB device {}", ifb));
      !r && if_nametoindex(ifb.c_str()) != 0)
    return r;
  return {};
}

NetworkScope mirrored(const NetworkScope& s) {
  NetworkScope m = s;
  std::swap(m.destination, m.source);
  std::swap(m.ports, m.source_ports);
  m.exclude_destination.clear();
  m.exclude_ports.clear();
  m.exclude_source = s.exclude_destination;
  m.exclude_source_ports = s.exclude_ports;
  return m;
}

IngressRedirect::IngressRedirect(std::string interface)
    : interface_(std::move(interface)), ifb_(new_ifb_name()) {}

IngressRedirect::~IngressRedirect() {
  (void)revert();
}

Result<void> IngressRedirect::prepare() {
  ifindex_ = static_cast<int>(if_nametoindex(interface_.c_str()));
  if (ifindex_ == 0) return fail("interface '{}' does not exist here", interface_);
  RouteSocket sock = FL_TRY(RouteSocket::open());
  return check_no_ingress_qdisc(sock, ifindex_, interface_);
}

Result<void> IngressRedirect::apply(const NetworkScope& scope, const FaultQdisc& qdisc) {
  if (created_anything()) return {};
  // Prepare's check again, before anything is created: another fault may have redirected this
  // interface since this one was prepared. Exact among the faults of one process (the LocalAgent
  // applies under its lock); NLM_F_EXCL on the ingress qdisc settles a race with another.
  FL_TRY_VOID(prepare());
  RouteSocket sock = FL_TRY(RouteSocket::open());
  auto undo_on_error = [&](Error e) -> Result<void> {
    if (auto r = revert(); !r) e.message += "; and then: " + r.error().message;
    return std::unexpected(std::move(e));
  };
  // 1. The IFB device, created up.
  nl_msg* link = link_message(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, IFF_UP);
  if (link == nullptr || nla_put_string(link, IFLA_IFNAME, ifb_.c_str()) < 0)
    return fail("cannot build the IFB link message");
  nlattr* linkinfo = nla_nest_start(link, IFLA_LINKINFO);
  if (linkinfo == nullptr || nla_put_string(link, IFLA_INFO_KIND, "ifb") < 0)
    return fail("cannot build the IFB link message");
  nla_nest_end(link, linkinfo);
  FL_TRY_VOID(sock.request(link, fmt::format("creating IFB device {}", ifb_)));
  ifb_index_ = static_cast<int>(if_nametoindex(ifb_.c_str()));
  if (ifb_index_ == 0) return undo_on_error({fmt::format("IFB device {} vanished", ifb_)});

  // 2. The scoped tree on the IFB's egress.
  tree_ = std::make_unique<ScopedQdiscTree>(ifb_);
  if (auto r = tree_->apply(scope, qdisc); !r) return undo_on_error(r.error());

  // 3. The ingress qdisc, and a filter that redirects every incoming packet to the IFB.
  nl_msg* ingress =
      tc_message(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex_, kIngressHandle, TC_H_INGRESS);
  if (ingress == nullptr || nla_put_string(ingress, TCA_KIND, "ingress") < 0)
    return undo_on_error({"cannot build the ingress qdisc message"});
  if (auto r = sock.request(ingress, fmt::format("adding an ingress qdisc on {}", interface_));
      !r) {
    // Not created: the ingress qdisc there, if any, is someone else's and stays.
    if (auto taken = check_no_ingress_qdisc(sock, ifindex_, interface_); !taken)
      return undo_on_error(taken.error());
    return undo_on_error(r.error());
  }
  ingress_added_ = true;  // only now is it ours to remove
  nl_msg* filter = tc_message(RTM_NEWTFILTER, NLM_F_CREATE, ifindex_, 0, kIngressHandle,
                              TC_H_MAKE(1u << 16, htons(ETH_P_ALL)));
  std::vector<uint8_t> sel(sizeof(tc_u32_sel) + sizeof(tc_u32_key));
  auto* s = reinterpret_cast<tc_u32_sel*>(sel.data());
  s->flags = TC_U32_TERMINAL;
  s->nkeys = 1;  // value 0 under mask 0: every packet
  tc_mirred mirred{};
  mirred.action = TC_ACT_STOLEN;
  mirred.eaction = TCA_EGRESS_REDIR;
  mirred.ifindex = static_cast<uint32_t>(ifb_index_);
  bool ok = filter != nullptr && nla_put_string(filter, TCA_KIND, "u32") == 0;
  nlattr* options = ok ? nla_nest_start(filter, TCA_OPTIONS) : nullptr;
  ok = ok && options != nullptr &&
       nla_put(filter, TCA_U32_SEL, static_cast<int>(sel.size()), sel.data()) == 0;
  nlattr* actions = ok ? nla_nest_start(filter, TCA_U32_ACT) : nullptr;
  nlattr* first = actions ? nla_nest_start(filter, 1) : nullptr;
  ok = ok && first != nullptr && nla_put_string(filter, TCA_ACT_KIND, "mirred") == 0;
  nlattr* act_options = ok ? nla_nest_start(filter, TCA_ACT_OPTIONS) : nullptr;
  ok = ok && act_options != nullptr &&
       nla_put(filter, TCA_MIRRED_PARMS, sizeof mirred, &mirred) == 0;
  if (!ok) {
    if (filter) nlmsg_free(filter);
    return undo_on_error({"cannot build the mirred redirect filter"});
  }
  nla_nest_end(filter, act_options);
  nla_nest_end(filter, first);
  nla_nest_end(filter, actions);
  nla_nest_end(filter, options);
  if (auto r =
          sock.request(filter, fmt::format("redirecting {}'s ingress to {}", interface_, ifb_));
      !r)
    return undo_on_error(r.error());
  return {};
}

Result<void> IngressRedirect::revert() {
  std::string errors;
  auto sock = RouteSocket::open();
  if (!sock) return std::unexpected(sock.error());
  if (ingress_added_) {
    nl_msg* del = tc_message(RTM_DELQDISC, 0, ifindex_, kIngressHandle, TC_H_INGRESS);
    if (auto r = sock->request(del, fmt::format("removing the ingress qdisc of {}", interface_));
        !r && if_nametoindex(interface_.c_str()) != 0 && has_ingress_qdisc(*sock, ifindex_))
      errors = r.error().message;
    else
      ingress_added_ = false;  // removed, or already gone (an undo plan performed it)
  }
  if (tree_) {
    last_ = tree_->fault_qdisc_stats();
    tree_.reset();  // the IFB's deletion below takes its tree with it
  }
  if (ifb_index_ != 0) {
    nl_msg* del = link_message(RTM_DELLINK, 0, ifb_index_, 0);
    if (auto r = sock->request(del, fmt::format("removing IFB device {}", ifb_));
        !r && if_nametoindex(ifb_.c_str()) != 0)
      errors += (errors.empty() ? "" : "; ") + r.error().message;
    else
      ifb_index_ = 0;
  }
  if (!errors.empty()) return fail("{}", errors);
  return {};
}

nlohmann::json IngressRedirect::read_back() {
  nlohmann::json out = {{"ifb", ifb_}};
  if (tree_) out["tree"] = tree_->read_back();
  return out;
}

}  // namespace faultline
