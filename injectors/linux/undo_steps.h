#pragma once
// Undo steps: how to take a fault off the host, written as data that a fresh process can act on
// with none of the fault's memory (the agent after a SIGKILL, the guardian after faultline
// died). Each step is small, idempotent (what is already undone is success) and checks that what
// it changes is faultline's own before changing it. This file is the whole vocabulary:
//
//   {"op": "resume", "pid": P, "start_ticks": T}
//       SIGCONT through a pidfd, only to the process that started at T (not a reused pid).
//   {"op": "thaw_cgroup", "path": "/sys/fs/cgroup/..."}
//       cgroup.freeze = 0 on a cgroup that the fault froze.
//   {"op": "remove_cgroup", "path": "/sys/fs/cgroup/.../faultline-PID-PURPOSE-N"}
//       cgroup.kill (in a v1 hierarchy: SIGKILL to each listed process), then rmdir; only
//       cgroups named like faultline's own, below the v2 mount or a v1 hierarchy's.
//   {"op": "set_cgroup_value", "path": ".../io.max", "value": "8:0 rbps=max wbps=max ..."}
//       writes VALUE to a throttle file (io.max, or v1 blkio.throttle.{read,write}_{bps,iops}_device)
//       of a cgroup below a cgroup mount; puts back what a throttle fault changed. A cgroup that
//       is gone took the throttle with it: success.
//   {"op": "remove_fill_file", "path": "/mnt/data/.faultline-fill-PID-N"}
//       unlinks a file that disk_fill made where O_TMPFILE was not supported; only regular files
//       whose name starts with .faultline-fill-. A file already gone is success.
//   {"op": "remove_tc_root", "netns": NS, "interface": "eth0", "restore": null | SNAPSHOT}
//       deletes the root qdisc if it is faultline's (fa01:), then puts SNAPSHOT
//       ({"kind": "tbf", "handle": 327680, "options": "<TCA_OPTIONS in hex>"}) back if the
//       interface is left with its default root.
//   {"op": "remove_ingress_redirect", "netns": NS, "interface": "eth0", "ifb": "flifb123a"}
//       deletes the interface's ingress qdisc if its filters only redirect to that IFB, then the
//       IFB (an ifb device named flifb...).
//   {"op": "remove_ifb", "netns": NS, "ifb": "flifb123a"}
//       deletes the IFB (an ifb device named flifb...), and the tree on it with it. For an IFB
//       found with no interface redirecting to it (`faultline recover --scan`), whose fault's
//       own step (remove_ingress_redirect) is not known.
//   {"op": "delete_nft_table", "netns": NS, "table": "faultline_123_1"}
//       deletes table inet faultline_...; no other table.
//
// NS is where the namespace was: {"inode": I} (the nsfs inode, e.g. net:[I]) plus "path"
// ("/run/netns/NAME", or "/proc/PID/ns/net" with "start_ticks") when it was found there. A
// namespace that no longer exists took the fault with it: success.
//
// An undo plan is a JSON array of steps, performed in order.
#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "injectors/network/netns.h"
#include "injectors/network/tc_tree.h"

namespace faultline {

// The name every disk_fill file starts with (remove_fill_file refuses any other).
inline constexpr std::string_view kFillFilePrefix = ".faultline-fill-";

nlohmann::json resume_step(pid_t pid, uint64_t start_ticks);
nlohmann::json thaw_cgroup_step(const std::string& dir);
nlohmann::json remove_cgroup_step(const std::string& dir);
nlohmann::json set_cgroup_value_step(const std::string& file, const std::string& value);
nlohmann::json remove_fill_file_step(const std::string& path);
nlohmann::json remove_tc_root_step(const NetnsLocation& netns, const std::string& interface,
                                   const std::optional<QdiscState>& restore);
nlohmann::json remove_ingress_redirect_step(const NetnsLocation& netns,
                                            const std::string& interface, const std::string& ifb);
nlohmann::json remove_ifb_step(const NetnsLocation& netns, const std::string& ifb);
nlohmann::json delete_nft_table_step(const NetnsLocation& netns, const std::string& table);

// Performs one step. A step that is not an object, names an unknown op or lacks a field is an
// error that quotes it; nothing throws.
Result<void> perform_undo_step(const nlohmann::json& step);

struct UndoFailure {
  nlohmann::json step;
  std::string error;
};

// Performs every step of `plan` in order, going on after a failure; returns the steps that
// failed with their errors (empty: the plan is fully undone).
std::vector<UndoFailure> perform_undo_plan(const nlohmann::json& plan);

// A step or plan as one line of JSON, for messages (never throws, even on bad UTF-8).
std::string undo_text(const nlohmann::json& j);

}  // namespace faultline
