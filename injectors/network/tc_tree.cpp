#include "injectors/network/tc_tree.h"

#include <arpa/inet.h>
#include <linux/gen_stats.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace faultline {
namespace {

// Filter priorities: exclusions first, then the scope; IPv4 and IPv6 apart (a tc filter chain
// has one protocol per priority).
uint16_t filter_prio(bool exclusion, int family) {
  return static_cast<uint16_t>((exclusion ? 1 : 3) + (family == 6 ? 1 : 0));
}

// htb root: unclassified traffic (default 0) goes to the direct queue, untouched.
int put_htb_root(nl_msg* msg) {
  tc_htb_glob glob{};
  glob.version = TC_HTB_PROTOVER;
  glob.rate2quantum = 10;
  glob.defcls = 0;
  if (nla_put_string(msg, TCA_KIND, "htb") < 0) return -1;
  nlattr* options = nla_nest_start(msg, TCA_OPTIONS);
  if (options == nullptr) return -1;
  if (nla_put(msg, TCA_HTB_INIT, sizeof glob, &glob) < 0 ||
      nla_put_u32(msg, TCA_HTB_DIRECT_QLEN, 1000) < 0)
    return -1;
  nla_nest_end(msg, options);
  return 0;
}

// The class the fault's qdisc hangs from: a rate (100 Gbit/s) that never shapes anything, so
// the fault's own qdisc alone decides what happens to the traffic.
int put_htb_class(nl_msg* msg) {
  constexpr uint64_t kBytesPerSecond = 100'000'000'000ULL / 8;
  constexpr uint64_t kBurstBytes = 10 * 1024 * 1024;
  tc_htb_opt opt{};
  opt.rate.rate = UINT32_MAX;  // the 64-bit attributes below carry the real rate
  opt.rate.linklayer = TC_LINKLAYER_ETHERNET;
  opt.ceil = opt.rate;
  const uint64_t burst_ns = kBurstBytes * 1'000'000'000ULL / kBytesPerSecond;
  opt.buffer = opt.cbuffer = static_cast<uint32_t>(burst_ns >> 6);  // psched ticks
  opt.quantum = 60000;
  if (nla_put_string(msg, TCA_KIND, "htb") < 0) return -1;
  nlattr* options = nla_nest_start(msg, TCA_OPTIONS);
  if (options == nullptr || nla_put(msg, TCA_HTB_PARMS, sizeof opt, &opt) < 0 ||
      nla_put_u64(msg, TCA_HTB_RATE64, kBytesPerSecond) < 0 ||
      nla_put_u64(msg, TCA_HTB_CEIL64, kBytesPerSecond) < 0)
    return -1;
  nla_nest_end(msg, options);
  return 0;
}

Result<QdiscState> parse_qdisc(const RawMessage& raw) {
  const auto* header = reinterpret_cast<const nlmsghdr*>(raw.bytes.data());
  const auto* tc = static_cast<const tcmsg*>(nlmsg_data(header));
  nlattr* attrs[TCA_MAX + 1] = {};
  if (nlmsg_parse(const_cast<nlmsghdr*>(header), sizeof(tcmsg), attrs, TCA_MAX, nullptr) < 0)
    return fail("cannot parse a qdisc message");
  QdiscState q;
  q.handle = tc->tcm_handle;
  q.parent = tc->tcm_parent;
  if (attrs[TCA_KIND]) q.kind = nla_get_string(attrs[TCA_KIND]);
  if (attrs[TCA_OPTIONS]) {
    const auto* data = static_cast<const uint8_t*>(nla_data(attrs[TCA_OPTIONS]));
    q.options.assign(data, data + nla_len(attrs[TCA_OPTIONS]));
  }
  if (attrs[TCA_STATS2]) {
    nlattr* stats[TCA_STATS_MAX + 1] = {};
    if (nla_parse_nested(stats, TCA_STATS_MAX, attrs[TCA_STATS2], nullptr) == 0) {
      if (stats[TCA_STATS_BASIC]) {
        gnet_stats_basic basic{};
        std::memcpy(
            &basic, nla_data(stats[TCA_STATS_BASIC]),
            std::min<size_t>(sizeof basic, static_cast<size_t>(nla_len(stats[TCA_STATS_BASIC]))));
        q.packets = basic.packets;
        q.bytes = basic.bytes;
      }
      if (stats[TCA_STATS_QUEUE]) {
        gnet_stats_queue queue{};
        std::memcpy(
            &queue, nla_data(stats[TCA_STATS_QUEUE]),
            std::min<size_t>(sizeof queue, static_cast<size_t>(nla_len(stats[TCA_STATS_QUEUE]))));
        q.drops = queue.drops;
      }
    }
  }
  return q;
}

}  // namespace

std::unexpected<Error> interface_taken(const std::string& interface) {
  return fail(
      "interface '{}' already carries a faultline network fault; two faults on one interface are "
      "refused (scope one fault to cover both, or use another interface)",
      interface);
}

nl_msg* tc_message(int type, int flags, int ifindex, uint32_t handle, uint32_t parent,
                   uint32_t info, size_t capacity) {
  nl_msg* msg = capacity == 0 ? nlmsg_alloc() : nlmsg_alloc_size(capacity);
  if (msg == nullptr) return nullptr;
  if (nlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, type, 0, flags) == nullptr) {
    nlmsg_free(msg);
    return nullptr;
  }
  tcmsg tc{};
  tc.tcm_family = AF_UNSPEC;
  tc.tcm_ifindex = ifindex;
  tc.tcm_handle = handle;
  tc.tcm_parent = parent;
  tc.tcm_info = info;
  if (nlmsg_append(msg, &tc, sizeof tc, NLMSG_ALIGNTO) < 0) {
    nlmsg_free(msg);
    return nullptr;
  }
  return msg;
}

std::string tc_handle_text(uint32_t handle) {
  if (handle == TC_H_ROOT) return "root";
  if (handle == TC_H_INGRESS) return "ingress";
  const uint32_t major = handle >> 16, minor = handle & 0xffff;
  return minor == 0 ? fmt::format("{:x}:", major) : fmt::format("{:x}:{:x}", major, minor);
}

Result<std::vector<QdiscState>> list_qdiscs(RouteSocket& sock, int ifindex) {
  std::vector<QdiscState> out;
  for (const RawMessage& raw : FL_TRY(sock.dump(RTM_GETQDISC, ifindex)))
    out.push_back(FL_TRY(parse_qdisc(raw)));
  return out;
}

nl_msg* build_u32_filter(int ifindex, uint32_t parent, uint16_t prio, const U32Match& match,
                         uint32_t classid) {
  const uint16_t protocol = match.family == 4 ? ETH_P_IP : ETH_P_IPV6;
  nl_msg* msg = tc_message(RTM_NEWTFILTER, NLM_F_CREATE, ifindex, 0, parent,
                           TC_H_MAKE(static_cast<uint32_t>(prio) << 16, htons(protocol)));
  if (msg == nullptr) return nullptr;
  std::vector<uint8_t> sel(sizeof(tc_u32_sel) + match.keys.size() * sizeof(tc_u32_key));
  auto* s = reinterpret_cast<tc_u32_sel*>(sel.data());
  s->flags = TC_U32_TERMINAL;
  s->nkeys = static_cast<unsigned char>(match.keys.size());
  for (size_t i = 0; i < match.keys.size(); ++i) {
    tc_u32_key& k = s->keys[i];
    k.val = htonl(match.keys[i].value);
    k.mask = htonl(match.keys[i].mask);
    k.off = match.keys[i].offset;
    k.offmask = 0;
  }
  if (nla_put_string(msg, TCA_KIND, "u32") < 0) {
    nlmsg_free(msg);
    return nullptr;
  }
  nlattr* options = nla_nest_start(msg, TCA_OPTIONS);
  if (options == nullptr || nla_put_u32(msg, TCA_U32_CLASSID, classid) < 0 ||
      nla_put(msg, TCA_U32_SEL, static_cast<int>(sel.size()), sel.data()) < 0) {
    nlmsg_free(msg);
    return nullptr;
  }
  nla_nest_end(msg, options);
  return msg;
}

ScopedQdiscTree::~ScopedQdiscTree() {
  (void)revert();
}

Result<void> ScopedQdiscTree::prepare() {
  if (installed_) return {};  // the tree is ours already: nothing to check
  ifindex_ = static_cast<int>(if_nametoindex(interface_.c_str()));
  if (ifindex_ == 0) return fail("interface '{}' does not exist here", interface_);
  RouteSocket& sock = *FL_TRY(socket());
  previous_root_.reset();
  for (const QdiscState& q : FL_TRY(list_qdiscs(sock, ifindex_))) {
    if ((q.handle & 0xffff0000) == kRootHandle) return interface_taken(interface_);
    if (q.parent == TC_H_ROOT && q.handle != 0) previous_root_ = q;
  }
  if (previous_root_) {
    // A root qdisc of the user's: only a classless one can be put back exactly from its options.
    for (const QdiscState& q : FL_TRY(list_qdiscs(sock, ifindex_)))
      if (q.parent != TC_H_ROOT && q.parent != TC_H_INGRESS && q.handle != 0 &&
          (q.parent & 0xffff0000) == (previous_root_->handle & 0xffff0000))
        return fail(
            "interface '{}' has a qdisc tree of its own ({} {} with children); faultline "
            "could not restore it exactly, so it refuses to replace it",
            interface_, previous_root_->kind, tc_handle_text(previous_root_->handle));
    // tbf, netem and the like show one fixed pseudo-class; only a classful kind has classes of
    // the user's making, which faultline would not know how to recreate.
    static constexpr std::string_view kClassful[] = {"htb",    "hfsc",   "cbq", "drr",
                                                     "qfq",    "prio",   "ets", "multiq",
                                                     "mqprio", "taprio", "atm", "dsmark"};
    const bool classful = std::find(std::begin(kClassful), std::end(kClassful),
                                    previous_root_->kind) != std::end(kClassful);
    auto classes = FL_TRY(sock.dump(RTM_GETTCLASS, ifindex_));
    if (classful && !classes.empty())
      return fail(
          "interface '{}' has a classful root qdisc of its own ({} {}); faultline could "
          "not restore its classes exactly, so it refuses to replace it",
          interface_, previous_root_->kind, tc_handle_text(previous_root_->handle));
  }
  return {};
}

Result<void> ScopedQdiscTree::apply(const NetworkScope& scope, const FaultQdisc& fault_qdisc) {
  if (installed_) return {};
  // Prepare's checks again, now: another fault may have been applied on the interface since
  // this one was prepared (both passed prepare). The LocalAgent applies under its lock, so among
  // one process's faults this check is exact; NLM_F_EXCL below settles a race with another.
  FL_TRY_VOID(prepare());
  RouteSocket& sock = *FL_TRY(socket());
  auto undo_on_error = [&](Error e) -> Result<void> {
    if (auto r = revert(); !r) e.message += "; and then: " + r.error().message;
    return std::unexpected(std::move(e));
  };

  // REPLACE grafts our root over the user's (or the default) one; EXCL makes the kernel refuse
  // when fa01: is there already instead of changing it, so two owners never share one tree.
  nl_msg* root = tc_message(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE | NLM_F_EXCL, ifindex_,
                            kRootHandle, TC_H_ROOT);
  if (root == nullptr || put_htb_root(root) < 0) {
    if (root != nullptr) nlmsg_free(root);
    return fail("cannot build the htb qdisc message");
  }
  if (auto r = sock.request(
          root, fmt::format("adding htb {} on {}", tc_handle_text(kRootHandle), interface_));
      !r) {
    // Not created, so nothing here is ours to remove; a root that is fa01: is another owner's.
    if (auto qs = list_qdiscs(sock, ifindex_); qs)
      for (const QdiscState& q : *qs)
        if ((q.handle & 0xffff0000) == kRootHandle) return interface_taken(interface_);
    return r;
  }
  // From here on the tree is ours to remove, whatever fails next.
  installed_ = true;
  nl_msg* cls =
      tc_message(RTM_NEWTCLASS, NLM_F_CREATE | NLM_F_EXCL, ifindex_, kFaultClass, kRootHandle);
  if (cls == nullptr || put_htb_class(cls) < 0)
    return undo_on_error({"cannot build the htb class message"});
  if (auto r = sock.request(
          cls, fmt::format("adding htb class {} on {}", tc_handle_text(kFaultClass), interface_));
      !r)
    return undo_on_error(r.error());

  nl_msg* child =
      tc_message(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex_, kFaultHandle, kFaultClass, 0,
                 kFaultQdiscCapacity);
  if (child == nullptr || nla_put_string(child, TCA_KIND, fault_qdisc.kind.c_str()) < 0)
    return undo_on_error({"cannot build the fault qdisc message"});
  if (auto r = fault_qdisc.put_options(child); !r) {
    nlmsg_free(child);
    return undo_on_error(r.error());
  }
  if (auto r = sock.request(child, fmt::format("adding {} {} on {}", fault_qdisc.kind,
                                               tc_handle_text(kFaultHandle), interface_));
      !r)
    return undo_on_error(r.error());

  filters_ = 0;
  auto add = [&](const std::vector<U32Match>& matches, bool exclusion,
                 uint32_t classid) -> Result<void> {
    for (const U32Match& m : matches) {
      nl_msg* f =
          build_u32_filter(ifindex_, kRootHandle, filter_prio(exclusion, m.family), m, classid);
      if (f == nullptr) return fail("cannot build a u32 filter message");
      FL_TRY_VOID(sock.request(f, fmt::format("adding a u32 filter on {}", interface_)));
      ++filters_;
    }
    return {};
  };
  // Excluded traffic is classified to the htb qdisc itself, which sends it direct (untouched).
  if (auto r = add(exclusion_matches(scope), true, kRootHandle); !r)
    return undo_on_error(r.error());
  if (auto r = add(scope_matches(scope), false, kFaultClass); !r) return undo_on_error(r.error());
  return {};
}

Result<void> ScopedQdiscTree::revert() {
  if (!installed_) return {};
  if (!last_stats_) last_stats_ = fault_qdisc_stats();
  RouteSocket& sock = *FL_TRY(socket());
  FL_TRY_VOID(delete_faultline_root(sock, ifindex_, interface_));
  installed_ = false;
  return restore();
}

Result<RouteSocket*> ScopedQdiscTree::socket() {
  if (!sock_) sock_ = FL_TRY(RouteSocket::open());
  return &*sock_;
}

Result<void> ScopedQdiscTree::restore() {
  if (!previous_root_) return {};
  RouteSocket& sock = *FL_TRY(socket());
  FL_TRY_VOID(put_back_root(sock, ifindex_, interface_, *previous_root_));
  previous_root_.reset();
  return {};
}

Result<void> delete_faultline_root(RouteSocket& sock, int ifindex, const std::string& interface) {
  // Deleting our root removes its filters and children with it.
  nl_msg* del = tc_message(RTM_DELQDISC, 0, ifindex, kRootHandle, TC_H_ROOT);
  if (del == nullptr) return fail("cannot build the delete message");
  if (auto r = sock.request(
          del, fmt::format("removing prio {} from {}", tc_handle_text(kRootHandle), interface));
      !r) {
    // Already gone (the interface was removed, or someone deleted it) is what we wanted.
    bool still_there = false;
    if (auto qs = list_qdiscs(sock, ifindex); qs)
      for (const QdiscState& q : *qs) still_there |= (q.handle & 0xffff0000) == kRootHandle;
    if (still_there) return r;
  }
  return {};
}

Result<void> put_back_root(RouteSocket& sock, int ifindex, const std::string& interface,
                           const QdiscState& previous) {
  // Room for the user's options as the kernel listed them (a netem root's tables are large).
  nl_msg* msg = tc_message(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, ifindex, previous.handle,
                           TC_H_ROOT, 0, previous.options.size() + 4096);
  if (msg == nullptr || nla_put_string(msg, TCA_KIND, previous.kind.c_str()) < 0 ||
      (!previous.options.empty() &&
       nla_put(msg, TCA_OPTIONS, static_cast<int>(previous.options.size()),
               previous.options.data()) < 0))
    return fail("cannot build the message restoring {} {}", previous.kind,
                tc_handle_text(previous.handle));
  return sock.request(msg, fmt::format("restoring {} {} on {}", previous.kind,
                                       tc_handle_text(previous.handle), interface));
}

Result<void> undo_scoped_tree(const std::string& interface,
                              const std::optional<QdiscState>& previous) {
  const int ifindex = static_cast<int>(if_nametoindex(interface.c_str()));
  if (ifindex == 0) return {};
  RouteSocket sock = FL_TRY(RouteSocket::open());
  auto root_now = [&]() -> Result<std::optional<QdiscState>> {
    for (const QdiscState& q : FL_TRY(list_qdiscs(sock, ifindex)))
      if (q.parent == TC_H_ROOT) return q;
    return std::nullopt;
  };
  std::optional<QdiscState> root = FL_TRY(root_now());
  if (root && (root->handle & 0xffff0000) == kRootHandle) {
    FL_TRY_VOID(delete_faultline_root(sock, ifindex, interface));
    root = FL_TRY(root_now());
  }
  // Restored already, or replaced by someone since: either way not ours to change.
  if (!previous || (root && root->handle != 0)) return {};
  return put_back_root(sock, ifindex, interface, *previous);
}

nlohmann::json qdisc_snapshot_json(const QdiscState& q) {
  std::string hex;
  hex.reserve(q.options.size() * 2);
  for (uint8_t b : q.options) hex += fmt::format("{:02x}", b);
  return {{"kind", q.kind}, {"handle", q.handle}, {"options", hex}};
}

Result<QdiscState> qdisc_snapshot_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return fail("a qdisc snapshot must be an object");
  const auto kind = j.find("kind");
  const auto handle = j.find("handle");
  const auto options = j.find("options");
  if (kind == j.end() || !kind->is_string() || kind->get<std::string>().empty() ||
      kind->get<std::string>().find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") !=
          std::string::npos)
    return fail("a qdisc snapshot needs 'kind', a qdisc kind such as \"tbf\"");
  if (handle == j.end() || !handle->is_number_unsigned() || handle->get<uint64_t>() == 0 ||
      handle->get<uint64_t>() > UINT32_MAX || (handle->get<uint64_t>() & 0xffff) != 0)
    return fail("a qdisc snapshot needs 'handle', a qdisc handle (MAJOR:) as a 32-bit number");
  if (options == j.end() || !options->is_string() || options->get<std::string>().size() % 2 != 0 ||
      options->get<std::string>().find_first_not_of("0123456789abcdef") != std::string::npos)
    return fail("a qdisc snapshot needs 'options', its netlink attributes in lowercase hex");
  QdiscState q;
  q.kind = kind->get<std::string>();
  q.handle = static_cast<uint32_t>(handle->get<uint64_t>());
  q.parent = TC_H_ROOT;
  const std::string& hex = options->get_ref<const std::string&>();
  for (size_t i = 0; i < hex.size(); i += 2) {
    uint8_t byte = 0;
    std::from_chars(hex.data() + i, hex.data() + i + 2, byte, 16);
    q.options.push_back(byte);
  }
  return q;
}

std::optional<QdiscState> ScopedQdiscTree::fault_qdisc_stats() {
  if (!installed_) return last_stats_;
  auto sock = socket();
  if (!sock) return last_stats_;
  auto qs = list_qdiscs(**sock, ifindex_);
  if (!qs) return last_stats_;
  for (const QdiscState& q : *qs)
    if (q.handle == kFaultHandle) return q;
  return last_stats_;
}

nlohmann::json ScopedQdiscTree::read_back() {
  nlohmann::json out = nlohmann::json::array();
  auto sock = socket();
  if (!sock) return out;
  auto qs = list_qdiscs(**sock, ifindex_);
  if (!qs) return out;
  for (const QdiscState& q : *qs)
    out.push_back({{"kind", q.kind},
                   {"handle", tc_handle_text(q.handle)},
                   {"parent", tc_handle_text(q.parent)},
                   {"packets", q.packets},
                   {"drops", q.drops}});
  return out;
}

}  // namespace faultline
