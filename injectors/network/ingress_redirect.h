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

  // Checks the interface has no ingress/clsact qdisc (the user's, or another fault's redirect);
  // changes nothing.
  Result<void> prepare();
  // Checks again, then creates the IFB, redirects the interface's ingress to it and builds
  // `scope` (already mirrored: for incoming packets the remote end is the source) with `qdisc` on
  // the IFB. Refused, with nothing left behind, when the interface has an ingress qdisc by then.
  Result<void> apply(const NetworkScope& scope, const FaultQdisc& qdisc);
  // Removes what this object created (its IFB, the ingress qdisc it added), nothing else;
  // idempotent.
  Result<void> revert();
  // Whether this object created its IFB or the interface's ingress qdisc (and has not removed
  // them yet): what an undo plan must name, and only that.
  bool created_anything() const { return ifb_index_ != 0 || ingress_added_; }
  nlohmann::json read_back();
  std::optional<QdiscState> fault_qdisc_stats() {
    return tree_ ? tree_->fault_qdisc_stats() : last_;
  }
  const std::string& ifb() const { return ifb_; }

 private:
  std::string interface_;
  std::string ifb_;
  int ifindex_ = 0;
  int ifb_index_ = 0;           // set once the kernel created our IFB; 0 again once removed
  bool ingress_added_ = false;  // set once the kernel created the ingress qdisc for us
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
