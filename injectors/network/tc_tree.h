#pragma once
// The traffic-control tree a scoped network fault installs on one interface, and its removal:
//
//   root  htb fa01: default 0   (unclassified traffic takes htb's direct queue: untouched)
//           ├─ u32 filters, prio 1-2: always-excluded traffic (SSH) and excludes -> fa01:
//           │                          (the qdisc itself: "direct", untouched)
//           ├─ u32 filters, prio 3-4: the scope (IPv4, IPv6)                    -> fa01:1
//           └─ class fa01:1 (rate high enough never to shape)
//                 └─ the fault's qdisc fa02: (netem or tbf)
//
// htb rather than prio: htb is in every kernel faultline targets (prio was missing on ours), and
// its direct queue sends unmatched traffic on as a plain FIFO.
// Before touching the interface the existing root qdisc is read; a default one (handle 0:) comes
// back by itself when ours is deleted, a classless one of the user's is put back from its own
// netlink attributes, and anything that could not be restored exactly is refused.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "injectors/network/route_socket.h"
#include "injectors/network/scope.h"

struct nl_msg;

namespace faultline {

inline constexpr uint32_t kRootHandle = 0xFA010000;   // fa01:
inline constexpr uint32_t kFaultClass = 0xFA010001;   // fa01:1
inline constexpr uint32_t kFaultHandle = 0xFA020000;  // fa02:

struct QdiscState {
  std::string kind;
  uint32_t handle = 0;
  uint32_t parent = 0;
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint32_t drops = 0;
  std::vector<uint8_t> options;  // TCA_OPTIONS payload, for a faithful restore
};

// An rtnetlink traffic-control message (qdisc, class or filter) with its tcmsg header filled.
// `capacity` 0 is libnl's default (a page), enough for all but netem's distribution tables.
nl_msg* tc_message(int type, int flags, int ifindex, uint32_t handle, uint32_t parent,
                   uint32_t info = 0, size_t capacity = 0);
// Room for a fault qdisc's options, netem's 8 KiB-and-more distribution tables included.
inline constexpr size_t kFaultQdiscCapacity = 64 * 1024;

// The refusal of a second faultline fault on an interface that carries one already.
std::unexpected<Error> interface_taken(const std::string& interface);

// "fa01:", "fa01:4", "root".
std::string tc_handle_text(uint32_t handle);

// Every qdisc on the interface now.
Result<std::vector<QdiscState>> list_qdiscs(RouteSocket& sock, int ifindex);

// The fault's own qdisc: its kind and a function that appends its TCA_OPTIONS.
struct FaultQdisc {
  std::string kind;
  std::function<Result<void>(nl_msg*)> put_options;
};

class ScopedQdiscTree {
 public:
  explicit ScopedQdiscTree(std::string interface) : interface_(std::move(interface)) {}
  ~ScopedQdiscTree();
  ScopedQdiscTree(const ScopedQdiscTree&) = delete;
  ScopedQdiscTree& operator=(const ScopedQdiscTree&) = delete;

  // Checks the interface and what it already carries; changes nothing.
  Result<void> prepare();
  // Checks again, then installs the tree; refused (nothing touched) when the interface carries
  // another fault's tree by then. On a later failure removes what it installed and restores the
  // snapshot.
  Result<void> apply(const NetworkScope& scope, const FaultQdisc& qdisc);
  // Removes the tree this object installed and restores what was there; idempotent. A tree it
  // did not install (another fault's) is never touched.
  Result<void> revert();
  // Whether this object created the fa01: root that is (or was, until revert) on the interface.
  bool installed() const { return installed_; }
  // The tree as read back from the kernel (kinds, handles, packets, drops).
  nlohmann::json read_back();
  const std::string& interface() const { return interface_; }
  // Packets and drops the fault's qdisc saw (read at revert, or now).
  std::optional<QdiscState> fault_qdisc_stats();
  // The user's root qdisc that revert puts back (known after prepare; none once restored).
  const std::optional<QdiscState>& previous_root() const { return previous_root_; }

 private:
  Result<void> restore();
  // One socket for the tree's life, opened on first use in the calling thread's namespace:
  // opening one per call cost more than a request.
  Result<RouteSocket*> socket();
  std::optional<RouteSocket> sock_;
  std::string interface_;
  int ifindex_ = 0;
  std::optional<QdiscState> previous_root_;  // a user's classless root, to put back
  bool installed_ = false;  // the fa01: root is ours: set only once the kernel created it
  size_t filters_ = 0;
  std::optional<QdiscState> last_stats_;
};

// Deletes the faultline root (fa01:) from the interface, and with it the whole tree under it;
// one that is already gone is success.
Result<void> delete_faultline_root(RouteSocket& sock, int ifindex, const std::string& interface);
// Puts a user's classless root qdisc back from its snapshot (kind, handle, TCA_OPTIONS).
Result<void> put_back_root(RouteSocket& sock, int ifindex, const std::string& interface,
                           const QdiscState& previous);

// Undoes a scoped tree from nothing but what an undo plan holds, in the calling thread's
// namespace: deletes the root qdisc if it is faultline's (fa01:), then puts `previous` back if
// the interface is left with its default root. Another root qdisc is someone else's and stays.
// An interface that no longer exists took its qdiscs with it: success.
Result<void> undo_scoped_tree(const std::string& interface,
                              const std::optional<QdiscState>& previous);

// A root qdisc snapshot as JSON ({"kind", "handle", "options" in hex}) and back.
nlohmann::json qdisc_snapshot_json(const QdiscState& q);
Result<QdiscState> qdisc_snapshot_from_json(const nlohmann::json& j);

// Builds the u32 filter message for one match (exposed for tests).
nl_msg* build_u32_filter(int ifindex, uint32_t parent, uint16_t prio, const U32Match& match,
                         uint32_t classid);

}  // namespace faultline
