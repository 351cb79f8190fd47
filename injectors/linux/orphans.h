#pragma once
// What faultline may have left on this host when nothing recorded it (faultline and its guardian
// both killed, a reboot of a container): found by the names and handles that only faultline
// gives, with none of the fault's memory and no state file, as the steps that remove it. This is
// what `faultline recover --scan` offers; it reads only and changes nothing.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/result.h"

namespace faultline {

struct Orphan {
  // One line for people, e.g. "tc root fa01: on veth0 in netns fl-x (net:[4026532301])".
  std::string what;
  // The undo step (injectors/linux/undo_steps.h vocabulary) that removes it.
  nlohmann::json step;
};

// Finds, by their names and handles alone (no state file), what faultline may have left on this
// host, in every network namespace: faultline's own, every /run/netns/NAME, and every distinct
// /proc/PID/ns/net (each namespace once, by inode; one found through a process is named by the
// lowest such pid, with its start time). Never changes anything. In each namespace:
//   - an fa01: root qdisc on an interface: remove_tc_root, "restore": null (the user's root that
//     was there before is not known: the interface gets its default root back);
//   - an IFB device named flifb... (the kernel's ifb0, ifb1 are not ours): remove_ingress_redirect
//     with the interface whose ingress redirects to it, or remove_ifb when none does; the fa01:
//     tree on the IFB goes with it and is not listed apart;
//   - a table inet faultline_...: delete_nft_table (none when nftables does not answer in
//     faultline's own namespace: then no fault could have made one).
// Then every cgroup named faultline-PID-... below the cgroup v2 mount and each v1 hierarchy's:
// remove_cgroup. In that order; namespaces as listed above (/run/netns by name, processes by pid).
// Not found: an ingress qdisc whose IFB is gone, or that has no filter yet (it could be anyone's).
// A namespace or process that goes away during the scan is skipped; the error of one that
// cannot be read names it.
Result<std::vector<Orphan>> find_orphans();

// A key naming the object a step acts on ("tc:INODE:IFACE", "ifb:INODE:NAME", "nft:INODE:TABLE",
// "cgroup:PATH", "file:PATH", "cgroup-file:PATH:MAJ:MIN"), so that the caller can leave alone what a live run still holds: the same key
// for an orphan's step and for the step in a live run's undo plan. Empty for steps that name no
// such object (resume, thaw_cgroup) and for a malformed step.
std::string undo_object_key(const nlohmann::json& step);

}  // namespace faultline
