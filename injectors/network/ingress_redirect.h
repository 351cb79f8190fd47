#pragma once
// Incoming traffic cannot be queued where it arrives, so an ingress fault sends it through an
// IFB device of its own: an `ingress` qdisc on the interface with one u32 filter whose mirred
// action redirects every packet to the IFB's egress, where the scoped tree (tc_tree.h) acts on
// it. Everything (the IFB, the ingress qdisc and its filter) is created by the fault and removed
// by it; an interface that already has an ingress or clsact qdisc is refused, since its filters
// could not be put back exactly.
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "injectors/network/tc_tree.h"

namespace faultline {

class IngressRedirect {
 public:
  explicit IngressRedirect(std::string interface);
  ~IngressRedirect();
  IngressRedirect(const IngressRedirect&) = delete;
  IngressRedirect& operator=(const IngressRedirect&) = delete;

  // Checks the interface has no ingress/clsact qdisc of its own; changes nothing.
  Result<void> prepare();
  // Creates the IFB, redirects the interface's ingress to it and builds `scope` (already
  // mirrored: for incoming packets the remote end is the source) with `qdisc` on the IFB.
  Result<void> apply(const NetworkScope& scope, const FaultQdisc& qdisc);
  Result<void> revert();  // idempotent
  nlohmann::json read_back();
  std::optional<QdiscState> fault_qdisc_stats() {
    return tree_ ? tree_->fault_qdisc_stats() : last_;
  }
  const std::string& ifb() const { return ifb_; }

 private:
  std::string interface_;
  std::string ifb_;
  int ifindex_ = 0;
  int ifb_index_ = 0;
  bool ingress_added_ = false;
  std::unique_ptr<ScopedQdiscTree> tree_;
  std::optional<QdiscState> last_;
};

// The prefix of every IFB device an ingress fault creates ("flifb" + pid + a letter).
inline constexpr std::string_view kIfbPrefix = "flifb";

// Undoes an ingress redirect from nothing but what an undo plan holds, in the calling thread's
// namespace: if the IFB `ifb` exists (an ifb device named flifb...), deletes the interface's
// ingress qdisc when every filter on it redirects to that IFB (or it has none yet), then deletes
// the IFB, and the tree on it with it. Anything else is left alone; nothing left is success.
Result<void> undo_ingress_redirect(const std::string& interface, const std::string& ifb);

// Deletes the IFB `ifb` (an ifb device named flifb...) and the tree on it, touching no ingress
// qdisc: for an IFB that no interface redirects to. One that is gone already is success.
Result<void> remove_faultline_ifb(const std::string& ifb);

// The ifindex that the ingress of `ifindex` redirects to, when it has an ingress qdisc whose
// filters redirect (at least one does) to that one device and do nothing else, as an ingress
// fault's do; nullopt otherwise (no ingress qdisc, an empty one, or filters of another kind).
// Reads only.
Result<std::optional<int>> ingress_redirect_target(RouteSocket& sock, int ifindex);

// The scope of incoming packets: addresses and ports of the remote end are their source.
NetworkScope mirrored(const NetworkScope& scope);

}  // namespace faultline
