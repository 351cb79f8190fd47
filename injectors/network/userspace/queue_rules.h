#pragma once
// The nftables rules of the userspace network backend: a table of faultline's own, in the inet
// family, that sends exactly the scoped packets to an NFQUEUE (or, for loss alone, drops a share
// of them in the kernel with `numgen`). Built with libnftnl and sent with libmnl as one batch.
//
//   table inet faultline_nfq_PID_N   flags owner
//     chain egress   hook postrouting priority 300   (after NAT: packets as they leave)
//       oifname != IFACE accept; meta mark BYPASS accept (the backend's own duplicates)
//       exclusions (SSH and the agent's port both ways, the scope's excludes) accept
//       each scope match (tc_tree's U32 keys, as nft payload matches): counter, then
//         queue num N bypass      (xtables NFQUEUE v3 through nft_compat)  or
//         numgen random mod 10000 < share: counter drop
//     chain ingress  hook prerouting priority -250   (after defragmentation, before conntrack)
//       the same with iifname and the mirrored scope
//
// Why NFQUEUE through nft_compat: this kernel (and others) lacks the native nft `queue`
// expression (CONFIG_NFT_QUEUE) but has the xtables NFQUEUE target and nft_compat; `bypass`
// lets packets through when no program listens on the queue.
// Why `flags owner`: the kernel deletes the table the moment the socket that made it closes,
// so when faultline or the agent dies, even by SIGKILL, the scoped traffic flows again at once;
// the guardian or the agent's recovery then finds nothing left (delete_nft_table_step).
// Rules act in the network namespace of the thread that installs them.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/percent.h"
#include "core/result.h"
#include "injectors/network/scope.h"

namespace faultline {

// Packets that carry this mark are never queued: the copies the backend sends itself.
inline constexpr uint32_t kUserspaceBypassMark = 0xfa170001;

struct QueueRuleSpec {
  std::string table;      // next_nft_table_name("nfq")
  std::string interface;  // e.g. eth0
  bool egress = true;
  bool ingress = false;
  NetworkScope scope;  // as the user wrote it; the ingress chain uses mirrored(scope)
  // Either a queue number (the packets go to userspace), or a share to drop in the kernel.
  std::optional<uint16_t> queue_number;
  Percent drop_share{};
};

struct QueueRuleCounters {
  uint64_t egress_packets = 0, egress_bytes = 0;    // scoped packets seen leaving
  uint64_t ingress_packets = 0, ingress_bytes = 0;  // scoped packets seen arriving
  uint64_t dropped_packets = 0;                     // by the numgen rule (drop_share only)
};

class QueueRules {
 public:
  // Installs the table in the calling thread's network namespace, owned by a netlink socket
  // that this object keeps open. Refused, with nothing changed, when a table of that name exists
  // or the interface does not.
  static Result<std::unique_ptr<QueueRules>> install(const QueueRuleSpec& spec);
  ~QueueRules();  // removes the table if remove() was not called
  QueueRules(const QueueRules&) = delete;
  QueueRules& operator=(const QueueRules&) = delete;

  // Deletes the table (and its chains and rules); idempotent; gone already is success.
  Result<void> remove();
  // The rules' counters, read from the kernel now (or as read just before remove()).
  Result<QueueRuleCounters> counters();
  // The table as `nft list table` prints it, for the journal.
  Result<std::string> listing();
  const std::string& table() const;

 private:
  QueueRules() = default;
  struct State;
  std::unique_ptr<State> state_;
};

// Whether the userspace backend works in this kernel, found out in a throwaway network
// namespace (nothing on the host changes): an owned inet table with an NFQUEUE rule, and a
// queue bound by this process. Empty when it works; otherwise why not and how to fix it.
Result<void> userspace_queue_available();

}  // namespace faultline
