#include "injectors/network/userspace/queue_rules.h"

#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>

#include "injectors/linux/nftables.h"
#include "injectors/network/ingress_redirect.h"
#include "injectors/network/kernel_support.h"
#include "injectors/network/userspace/netfilter_socket.h"
#include "injectors/network/userspace/rule_expressions.h"
#include "injectors/network/userspace/rule_listing.h"

namespace faultline {
namespace {

constexpr const char* kEgressChain = "egress";
constexpr const char* kIngressChain = "ingress";
// After NAT, as packets leave; and after defragmentation (-400, where conntrack asks for it),
// before conntrack (-200).
constexpr int kEgressPriority = 300;
constexpr int kIngressPriority = -250;
// Room for one message: the largest rule (an IPv6 match on both addresses and ports, 10 keys of
// three expressions each) takes under 3 KiB. libnftnl writes without checking the room left.
constexpr size_t kMessageBytes = 16 * 1024;
constexpr int64_t kWholeShare = 10000;  // basis points

template <class T, void (*Free)(const T*)>
struct Freer {
  void operator()(T* p) const { Free(p); }
};
using TablePtr = std::unique_ptr<nftnl_table, Freer<nftnl_table, nftnl_table_free>>;
using ChainPtr = std::unique_ptr<nftnl_chain, Freer<nftnl_chain, nftnl_chain_free>>;
using RulePtr = std::unique_ptr<nftnl_rule, Freer<nftnl_rule, nftnl_rule_free>>;

template <class T>
T* allocated(T* p) {
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

std::string table_exists(const std::string& table) {
  return fmt::format(
      "an nftables table inet {} exists already in this network namespace; refused, nothing was "
      "changed",
      table);
}

NetfilterMessage table_message(const std::string& table, uint16_t type, uint16_t flags,
                               std::string what) {
  TablePtr t(allocated(nftnl_table_alloc()));
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, table.c_str());
  // Owned: the kernel deletes the table when the socket that made it closes.
  if (type == NFT_MSG_NEWTABLE) nftnl_table_set_u32(t.get(), NFTNL_TABLE_FLAGS, NFT_TABLE_F_OWNER);
  NetfilterMessage m{std::vector<char>(kMessageBytes), std::move(what), {}, {}};
  nlmsghdr* h = nftnl_table_nlmsg_build_hdr(m.bytes.data(), type, NFPROTO_INET, flags, 0);
  nftnl_table_nlmsg_build_payload(h, t.get());
  m.bytes.resize(h->nlmsg_len);
  return m;
}

NetfilterMessage chain_message(const std::string& table, const char* chain, uint32_t hook,
                               int priority) {
  ChainPtr c(allocated(nftnl_chain_alloc()));
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, table.c_str());
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, chain);
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, "filter");
  nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, hook);
  nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, priority);
  nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY, NF_ACCEPT);
  NetfilterMessage m{std::vector<char>(kMessageBytes),
                     fmt::format("creating chain {} in table inet {}", chain, table),
                     {},
                     {}};
  nlmsghdr* h = nftnl_chain_nlmsg_build_hdr(m.bytes.data(), NFT_MSG_NEWCHAIN, NFPROTO_INET,
                                            NLM_F_CREATE | NLM_F_EXCL, 0);
  nftnl_chain_nlmsg_build_payload(h, c.get());
  m.bytes.resize(h->nlmsg_len);
  return m;
}

// The rules of one chain, each appended after the one before.
class ChainRules {
 public:
  ChainRules(const std::string& table, const char* chain, std::vector<NetfilterMessage>& out)
      : table_(table), chain_(chain), out_(out) {}

  // Adds a rule that `fill` makes; `purpose` names it in errors.
  NetfilterMessage& add(const std::string& purpose, const std::function<void(nftnl_rule*)>& fill) {
    RulePtr r(allocated(nftnl_rule_alloc()));
    nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, table_.c_str());
    nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain_);
    fill(r.get());
    NetfilterMessage m{
        std::vector<char>(kMessageBytes),
        fmt::format("rule {} of chain {} ({}) in table inet {}", ++count_, chain_, purpose, table_),
        {},
        {}};
    nlmsghdr* h = nftnl_rule_nlmsg_build_hdr(m.bytes.data(), NFT_MSG_NEWRULE, NFPROTO_INET,
                                             NLM_F_APPEND | NLM_F_CREATE, 0);
    nftnl_rule_nlmsg_build_payload(h, r.get());
    m.bytes.resize(h->nlmsg_len);
    out_.push_back(std::move(m));
    return out_.back();
  }

 private:
  const std::string& table_;
  const char* chain_;
  std::vector<NetfilterMessage>& out_;
  int count_ = 0;
};

// One chain as the header's diagram draws it: other interfaces and the backend's own copies
// pass, then the exclusions, then each scope match counted and queued (or dropped at random).
void add_chain(const QueueRuleSpec& spec, bool egress, std::vector<NetfilterMessage>& out) {
  const char* chain = egress ? kEgressChain : kIngressChain;
  out.push_back(chain_message(spec.table, chain,
                              egress ? NF_INET_POST_ROUTING : NF_INET_PRE_ROUTING,
                              egress ? kEgressPriority : kIngressPriority));
  // Incoming packets come from the scope's remote end, as the IFB path sees them too.
  const NetworkScope scope = egress ? spec.scope : mirrored(spec.scope);
  ChainRules rules(spec.table, chain, out);
  rules.add(fmt::format("{} other than {} pass", egress ? "oifname" : "iifname", spec.interface),
            [&](nftnl_rule* r) {
              add_other_interface(r, egress, spec.interface);
              add_accept(r);
            });
  rules.add("the backend's own copies pass (meta mark)", [&](nftnl_rule* r) {
    add_mark(r, kUserspaceBypassMark);
    add_accept(r);
  });
  const std::vector<U32Match> exclusions = exclusion_matches(scope);
  for (size_t i = 0; i < exclusions.size(); ++i)
    rules.add(fmt::format("exclusion {} of {}", i + 1, exclusions.size()), [&](nftnl_rule* r) {
      add_match(r, exclusions[i]);
      add_accept(r);
    });
  const std::vector<U32Match> matches = scope_matches(scope);
  for (size_t i = 0; i < matches.size(); ++i) {
    const std::string match = fmt::format("scope match {} of {}", i + 1, matches.size());
    if (spec.queue_number) {
      NetfilterMessage& m = rules.add(
          fmt::format("{}, queue num {} bypass: the xtables NFQUEUE target through nft_compat",
                      match, *spec.queue_number),
          [&](nftnl_rule* r) {
            add_match(r, matches[i]);
            add_counter(r);
            add_nfqueue(r, *spec.queue_number);
          });
      // nft_compat looks an inet table's target up under a prefix no module is aliased to, so
      // xt_NFQUEUE never loads on demand there: it must be loaded (or built in) beforehand.
      m.foreseen[ENOENT] = fmt::format(
          "the kernel refused {}: it has no xtables NFQUEUE target for nftables (an inet table "
          "does not load one by itself); load it with 'modprobe nft_compat xt_NFQUEUE'",
          m.what);
    } else {
      NetfilterMessage& m = rules.add(fmt::format("{}, numgen random mod 10000 < {}: drop", match,
                                                  spec.drop_share.basis_points),
                                      [&](nftnl_rule* r) {
                                        add_match(r, matches[i]);
                                        add_counter(r);
                                        add_random_share(r, spec.drop_share.basis_points);
                                        add_counter(r);
                                        add_drop(r);
                                      });
      m.foreseen[ENOENT] = fmt::format(
          "the kernel refused {}: it has no nftables numgen expression; load it with 'modprobe "
          "nft_numgen'",
          m.what);
    }
  }
}

Result<void> check_spec(const QueueRuleSpec& spec) {
  if (spec.table.empty() || spec.table.size() >= NFT_TABLE_MAXNAMELEN)
    return fail("queue rules need a table name of 1 to {} characters, not '{}'",
                NFT_TABLE_MAXNAMELEN - 1, spec.table);
  if (!spec.egress && !spec.ingress)
    return fail("queue rules for table inet {} act on neither egress nor ingress", spec.table);
  if (!spec.queue_number &&
      (spec.drop_share.basis_points < 0 || spec.drop_share.basis_points > kWholeShare))
    return fail("a drop share of {} is outside 0%..100%", format_percent(spec.drop_share));
  // if_nametoindex asks the calling thread's namespace, where the table is made too.
  if (spec.interface.empty() || spec.interface.size() >= IFNAMSIZ ||
      if_nametoindex(spec.interface.c_str()) == 0)
    return fail(
        "interface '{}' does not exist in this network namespace; no nftables rules were "
        "installed",
        spec.interface);
  return {};
}

// Every rule of the table as the kernel has it now, in chain order.
Result<std::vector<RulePtr>> dump_rules(NetfilterSocket& sock, const std::string& table) {
  std::vector<char> request(kMessageBytes);
  nlmsghdr* h =
      nftnl_rule_nlmsg_build_hdr(request.data(), NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP, 0);
  RulePtr filter(allocated(nftnl_rule_alloc()));
  nftnl_rule_set_str(filter.get(), NFTNL_RULE_TABLE, table.c_str());
  nftnl_rule_nlmsg_build_payload(h, filter.get());
  request.resize(h->nlmsg_len);
  std::vector<RulePtr> out;
  for (const std::vector<char>& answer : FL_TRY(sock.dump(
           std::move(request), fmt::format("listing the rules of table inet {}", table)))) {
    RulePtr rule(allocated(nftnl_rule_alloc()));
    if (nftnl_rule_nlmsg_parse(reinterpret_cast<const nlmsghdr*>(answer.data()), rule.get()) < 0)
      return fail("cannot parse a rule of table inet {}", table);
    out.push_back(std::move(rule));
  }
  return out;
}

bool in_chain(const nftnl_rule* rule, const char* chain) {
  const char* name = nftnl_rule_get_str(rule, NFTNL_RULE_CHAIN);
  return name != nullptr && std::strcmp(name, chain) == 0;
}

// In each chain the first counter of a rule counts the scoped packets (only scope rules have
// counters), a second one the packets numgen dropped.
QueueRuleCounters sum_counters(const std::vector<RulePtr>& rules) {
  QueueRuleCounters out;
  for (const RulePtr& rule : rules) {
    struct Tally {
      QueueRuleCounters* out;
      bool egress;
      int seen = 0;
    } tally{&out, in_chain(rule.get(), kEgressChain)};
    nftnl_expr_foreach(
        rule.get(),
        [](nftnl_expr* e, void* data) {
          auto* t = static_cast<Tally*>(data);
          if (std::strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter") != 0) return 0;
          const uint64_t packets = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
          const uint64_t bytes = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
          if (t->seen++ == 0) {
            (t->egress ? t->out->egress_packets : t->out->ingress_packets) += packets;
            (t->egress ? t->out->egress_bytes : t->out->ingress_bytes) += bytes;
          } else {
            t->out->dropped_packets += packets;
          }
          return 0;
        },
        &tally);
  }
  return out;
}

Result<void> bind_queue(NetfilterSocket& sock, uint16_t queue_number) {
  NetfilterMessage m{std::vector<char>(kMessageBytes),
                     fmt::format("binding NFQUEUE queue {}", queue_number),
                     {},
                     {}};
  nlmsghdr* h = nfq_nlmsg_put(m.bytes.data(), NFQNL_MSG_CONFIG, queue_number);
  nfq_nlmsg_cfg_put_cmd(h, AF_INET, NFQNL_CFG_CMD_BIND);
  m.bytes.resize(h->nlmsg_len);
  return sock.request(std::move(m));
}

// In a network namespace of the calling thread's own: the table with its queue rule, then a
// queue bound, then everything closed again (closing the sockets removes both).
Result<void> probe_userspace_queue() {
  constexpr uint16_t kProbeQueue = 0xfa00;
  QueueRuleSpec spec;
  spec.table = next_nft_table_name("nfq_probe");
  spec.interface = "lo";
  spec.queue_number = kProbeQueue;
  if (auto rules = QueueRules::install(spec); !rules)
    return fail("the userspace network backend cannot send packets to a queue here: {}",
                rules.error().message);
  NetfilterSocket queue_socket = FL_TRY(NetfilterSocket::open());
  if (auto bound = bind_queue(queue_socket, kProbeQueue); !bound)
    return fail(
        "the userspace network backend cannot bind a queue here ({}); the kernel needs "
        "nfnetlink_queue: load it with 'modprobe nfnetlink_queue'",
        bound.error().message);
  return {};
}

}  // namespace

struct QueueRules::State {
  std::mutex mutex;
  std::string table;
  bool egress = false, ingress = false;
  std::optional<NetfilterSocket> socket;  // owns the table; none once removed
  std::optional<QueueRuleCounters> final_counters;
};

Result<std::unique_ptr<QueueRules>> QueueRules::install(const QueueRuleSpec& spec) {
  FL_TRY_VOID(check_spec(spec));
  std::vector<NetfilterMessage> messages;
  messages.push_back(table_message(spec.table, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL,
                                   fmt::format("creating table inet {}", spec.table)));
  // EPERM: a table of that name that another socket owns.
  messages.back().foreseen[EEXIST] = messages.back().foreseen[EPERM] = table_exists(spec.table);
  if (spec.egress) add_chain(spec, true, messages);
  if (spec.ingress) add_chain(spec, false, messages);

  auto state = std::make_unique<State>();
  state->table = spec.table;
  state->egress = spec.egress;
  state->ingress = spec.ingress;
  NetfilterSocket sock = FL_TRY(NetfilterSocket::open());
  // One transaction: a refusal anywhere leaves nothing behind.
  FL_TRY_VOID(sock.transact(std::move(messages)));
  state->socket.emplace(std::move(sock));
  std::unique_ptr<QueueRules> rules(new QueueRules());
  rules->state_ = std::move(state);
  return rules;
}

QueueRules::~QueueRules() {
  // Closing the socket would remove the owned table too; remove() says so to the kernel first.
  if (state_) (void)remove();
}

Result<void> QueueRules::remove() {
  std::lock_guard lock(state_->mutex);
  if (!state_->socket) return {};
  // The counters die with the table: read them first, for counters() afterwards.
  if (auto rules = dump_rules(*state_->socket, state_->table); rules)
    state_->final_counters = sum_counters(*rules);
  NetfilterMessage del = table_message(state_->table, NFT_MSG_DELTABLE, 0,
                                       fmt::format("deleting table inet {}", state_->table));
  del.already_done.insert(ENOENT);
  std::vector<NetfilterMessage> batch;
  batch.push_back(std::move(del));
  FL_TRY_VOID(state_->socket->transact(std::move(batch)));
  state_->socket.reset();
  return {};
}

Result<QueueRuleCounters> QueueRules::counters() {
  std::lock_guard lock(state_->mutex);
  if (!state_->socket) {
    if (state_->final_counters) return *state_->final_counters;
    return fail("the counters of table inet {} could not be read before it was removed",
                state_->table);
  }
  return sum_counters(FL_TRY(dump_rules(*state_->socket, state_->table)));
}

Result<std::string> QueueRules::listing() {
  std::lock_guard lock(state_->mutex);
  if (!state_->socket) return fail("table inet {} was removed", state_->table);
  const std::vector<RulePtr> rules = FL_TRY(dump_rules(*state_->socket, state_->table));
  std::string out = fmt::format("table inet {} {{\n\tflags owner\n", state_->table);
  auto chain = [&](const char* name, const char* hook, int priority) {
    out += fmt::format("\n\tchain {} {{\n\t\ttype filter hook {} priority {}; policy accept;\n",
                       name, hook, priority);
    for (const RulePtr& rule : rules)
      if (in_chain(rule.get(), name)) out += "\t\t" + describe_rule(rule.get()) + "\n";
    out += "\t}\n";
  };
  if (state_->egress) chain(kEgressChain, "postrouting", kEgressPriority);
  if (state_->ingress) chain(kIngressChain, "prerouting", kIngressPriority);
  return out + "}\n";
}

const std::string& QueueRules::table() const {
  return state_->table;
}

Result<void> userspace_queue_available() {
  static std::mutex mutex;
  static std::optional<Result<void>> known;
  std::lock_guard lock(mutex);
  if (known) return *known;
  if (!has_net_admin())
    return fail(
        "the userspace network backend needs CAP_NET_ADMIN to install nftables rules and bind a "
        "queue; run faultline as root");
  Result<void> result;
  // A thread of our own moves into a fresh network namespace; the process stays where it is.
  std::thread([&] {
    if (unshare(CLONE_NEWNET) != 0) {
      result = fail("cannot create a network namespace to test the userspace backend in: {}",
                    std::strerror(errno));
      return;
    }
    result = probe_userspace_queue();
  }).join();
  known = result;
  return result;
}

}  // namespace faultline
