#include "injectors/linux/undo_steps.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <csignal>
#include <fstream>
#include <functional>
#include <string_view>
#include <thread>

#include "core/poll.h"
#include "injectors/linux/cgroup.h"
#include "injectors/linux/nftables.h"
#include "injectors/network/ingress_redirect.h"
#include "injectors/process/pidfd.h"
#include "injectors/process/proc.h"

namespace faultline {
namespace {

using nlohmann::json;

// How long a step waits for the kernel to show its effect (a resumed process, a thawed cgroup).
constexpr Duration kSettle = std::chrono::milliseconds(500);

bool wait_until(const auto& condition) {
  return poll_until(condition, kSettle);
}

json netns_json(const NetnsLocation& where) {
  json out = {{"inode", where.inode}};
  if (!where.path.empty()) out["path"] = where.path;
  if (where.start_ticks != 0) out["start_ticks"] = where.start_ticks;
  return out;
}

// A whole number >= 0, whether it was built in memory (signed) or parsed (unsigned).
std::optional<uint64_t> as_unsigned(const json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer() && j.get<int64_t>() >= 0)
    return static_cast<uint64_t>(j.get<int64_t>());
  return std::nullopt;
}

// Field readers: each error names the step and what the field must be.
std::unexpected<Error> bad_field(const json& step, std::string_view field, std::string_view what) {
  return fail("undo step {}: '{}' must be {}", undo_text(step), field, what);
}

Result<uint64_t> unsigned_field(const json& step, std::string_view field, uint64_t min,
                                uint64_t max, std::string_view what) {
  const auto it = step.find(field);
  const auto value = it == step.end() ? std::nullopt : as_unsigned(*it);
  if (!value || *value < min || *value > max) return bad_field(step, field, what);
  return *value;
}

Result<std::string> text_field(const json& step, std::string_view field, std::string_view what) {
  const auto it = step.find(field);
  if (it == step.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
    return bad_field(step, field, what);
  return it->get<std::string>();
}

bool plain_path(std::string_view path) {
  return path.starts_with('/') && path.find("/../") == std::string_view::npos &&
         path.find("/./") == std::string_view::npos && !path.ends_with("/..") &&
         !path.ends_with("/.") && path.find("//") == std::string_view::npos &&
         path.find('\0') == std::string_view::npos;
}

// A cgroup directory below the cgroup v2 mount (not the mount itself).
Result<std::string> cgroup_field(const json& step) {
  const std::string what = "a cgroup directory below the cgroup v2 mount";
  const std::string path = FL_TRY(text_field(step, "path", what));
  if (!plain_path(path)) return bad_field(step, "path", what);
  const auto mount = cgroup2_mount();
  if (!mount) return fail("undo step {}: cgroup v2 is not mounted on this host", undo_text(step));
  if (!path.starts_with(*mount + "/") || path.size() <= mount->size() + 1)
    return bad_field(step, "path", what);
  return path;
}

// A cgroup directory below any cgroup mount, v2 or v1 (not a mount itself).
Result<std::string> any_cgroup_field(const json& step) {
  const std::string what = "a cgroup directory below a cgroup mount";
  const std::string path = FL_TRY(text_field(step, "path", what));
  if (!plain_path(path)) return bad_field(step, "path", what);
  for (const std::string& mount : cgroup_mounts())
    if (path.starts_with(mount + "/") && path.size() > mount.size() + 1) return path;
  return bad_field(step, "path", what);
}

Result<NetnsLocation> netns_field(const json& step) {
  const auto it = step.find("netns");
  const std::string what = "an object with 'inode' (and optionally 'path', 'start_ticks')";
  if (it == step.end() || !it->is_object()) return bad_field(step, "netns", what);
  NetnsLocation where;
  const auto inode = it->find("inode");
  const auto inode_value = inode == it->end() ? std::nullopt : as_unsigned(*inode);
  if (!inode_value || *inode_value == 0) return bad_field(step, "netns", what);
  where.inode = *inode_value;
  if (const auto path = it->find("path"); path != it->end()) {
    if (!path->is_string() || !plain_path(path->get_ref<const std::string&>()))
      return bad_field(step, "netns", what);
    where.path = path->get<std::string>();
  }
  if (const auto ticks = it->find("start_ticks"); ticks != it->end()) {
    const auto value = as_unsigned(*ticks);
    if (!value) return bad_field(step, "netns", what);
    where.start_ticks = *value;
  }
  return where;
}

Result<std::string> interface_field(const json& step) {
  const std::string name = FL_TRY(text_field(step, "interface", "an interface name"));
  if (name.size() > 15 || name.find_first_of("/ \t\n") != std::string::npos)
    return bad_field(step, "interface", "an interface name");
  return name;
}

// Runs `work` inside the namespace the step names; a namespace that is gone needs nothing.
Result<void> in_netns(const json& step, const NetnsLocation& where,
                      const std::function<Result<void>()>& work) {
  auto found = NetnsHandle::find(where);
  if (!found) return fail("undo step {}: {}", undo_text(step), found.error().message);
  if (!*found) return {};
  return (*found)->run(work);
}

Result<void> resume(const json& step) {
  const auto pid =
      static_cast<pid_t>(FL_TRY(unsigned_field(step, "pid", 2, INT32_MAX, "a process id above 1")));
  const uint64_t ticks =
      FL_TRY(unsigned_field(step, "start_ticks", 1, UINT64_MAX, "the process's start time"));
  // Gone, or its pid now names another process: there is nothing of ours to resume.
  auto same = [&] {
    auto now = read_process_stat(pid);
    return now && now->start_ticks == ticks;
  };
  if (!same()) return {};
  auto fd = PidFd::open(pid, ticks);
  if (!fd) return {};
  if (auto sent = fd->send_signal(SIGCONT); !sent) {
    if (fd->exited()) return {};
    return std::unexpected(sent.error());
  }
  if (!wait_until([&] {
        auto s = read_process_stat(pid);
        return !s || s->start_ticks != ticks || s->state != 'T';
      }))
    return fail("pid {} is still stopped after SIGCONT", pid);
  return {};
}

bool cgroup_frozen(const std::string& dir) {
  std::ifstream events(dir + "/cgroup.events");
  std::string key, value;
  while (events >> key >> value)
    if (key == "frozen") return value == "1";
  return false;
}

Result<void> thaw_cgroup(const json& step) {
  const std::string dir = FL_TRY(cgroup_field(step));
  if (::access(dir.c_str(), F_OK) != 0) return {};  // removed: nothing is frozen in it
  FL_TRY_VOID(write_cgroup_file(dir + "/cgroup.freeze", "0"));
  if (!wait_until([&] { return !cgroup_frozen(dir); }))
    return fail("cgroup {} still reports frozen", dir);
  return {};
}

Result<void> remove_cgroup(const json& step) {
  const auto path = step.find("path");
  if (path == step.end() || !path->is_string() ||
      !faultline_cgroup_creator(path->get_ref<const std::string&>().substr(
          path->get_ref<const std::string&>().rfind('/') + 1)))
    return bad_field(step, "path", "a cgroup that faultline created (.../faultline-PID-...)");
  return kill_and_remove_cgroup(FL_TRY(any_cgroup_field(step)));
}

// The throttle files a set_cgroup_value step may write: nothing that could loosen a limit other
// than the ones I/O faults set.
constexpr std::string_view kThrottleFiles[] = {
    "io.max",
    "blkio.throttle.read_bps_device",
    "blkio.throttle.write_bps_device",
    "blkio.throttle.read_iops_device",
    "blkio.throttle.write_iops_device",
};

Result<void> set_cgroup_value(const json& step) {
  // The file's name first: what it is matters more than where, and does not depend on the host.
  const std::string given = FL_TRY(text_field(step, "path", "a cgroup's io.max or blkio.throttle.* file"));
  const std::string name = given.substr(given.rfind('/') + 1);
  if (std::find(std::begin(kThrottleFiles), std::end(kThrottleFiles), name) ==
      std::end(kThrottleFiles))
    return bad_field(step, "path", "a cgroup's io.max or blkio.throttle.* file");
  const std::string file = FL_TRY(any_cgroup_field(step));
  const std::string value = FL_TRY(text_field(step, "value", "the line to write"));
  if (value.find('\n') != std::string::npos) return bad_field(step, "value", "one line");
  const std::string dir = file.substr(0, file.rfind('/'));
  if (::access(dir.c_str(), F_OK) != 0) return {};  // the cgroup is gone, with its throttle
  return write_cgroup_file(file, value);
}

Result<void> remove_fill_file(const json& step) {
  const std::string what = "a file named .faultline-fill-...";
  const std::string path = FL_TRY(text_field(step, "path", what));
  if (!plain_path(path) || !path.substr(path.rfind('/') + 1).starts_with(kFillFilePrefix))
    return bad_field(step, "path", what);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return fail("cannot look at {}: {}", path, std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return fail("{} is not a regular file; left alone", path);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return fail("cannot remove {}: {}", path, std::strerror(errno));
  return {};
}

Result<void> remove_tc_root(const json& step) {
  const NetnsLocation where = FL_TRY(netns_field(step));
  const std::string interface = FL_TRY(interface_field(step));
  std::optional<QdiscState> restore;
  const auto it = step.find("restore");
  if (it == step.end()) return bad_field(step, "restore", "null or a qdisc snapshot");
  if (!it->is_null()) {
    auto snapshot = qdisc_snapshot_from_json(*it);
    if (!snapshot) return fail("undo step {}: {}", undo_text(step), snapshot.error().message);
    restore = std::move(*snapshot);
  }
  return in_netns(step, where, [&] { return undo_scoped_tree(interface, restore); });
}

Result<std::string> ifb_field(const json& step) {
  const std::string ifb = FL_TRY(text_field(step, "ifb", "an IFB device named flifb..."));
  if (!ifb.starts_with(kIfbPrefix) || ifb.size() > 15 || ifb.find('/') != std::string::npos)
    return bad_field(step, "ifb", "an IFB device named flifb...");
  return ifb;
}

Result<void> remove_ingress_redirect(const json& step) {
  const NetnsLocation where = FL_TRY(netns_field(step));
  const std::string interface = FL_TRY(interface_field(step));
  const std::string ifb = FL_TRY(ifb_field(step));
  return in_netns(step, where, [&] { return undo_ingress_redirect(interface, ifb); });
}

Result<void> remove_ifb(const json& step) {
  const NetnsLocation where = FL_TRY(netns_field(step));
  const std::string ifb = FL_TRY(ifb_field(step));
  return in_netns(step, where, [&] { return remove_faultline_ifb(ifb); });
}

Result<void> delete_nft_table(const json& step) {
  const NetnsLocation where = FL_TRY(netns_field(step));
  const std::string what = "an nftables table named faultline_...";
  const std::string table = FL_TRY(text_field(step, "table", what));
  if (!table.starts_with("faultline_") || table.size() > 64 ||
      table.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
          std::string::npos)
    return bad_field(step, "table", what);
  return in_netns(step, where, [&]() -> Result<void> {
    if (auto deleted = nft_run("delete table inet " + table);
        !deleted && !nft_object_missing(deleted.error()))
      return fail("could not delete the nftables table inet {}: {}", table,
                  deleted.error().message);
    return {};
  });
}

struct Op {
  std::string_view name;
  Result<void> (*perform)(const json& step);
};

constexpr Op kOps[] = {
    {"resume", resume},
    {"thaw_cgroup", thaw_cgroup},
    {"remove_cgroup", remove_cgroup},
    {"set_cgroup_value", set_cgroup_value},
    {"remove_fill_file", remove_fill_file},
    {"remove_tc_root", remove_tc_root},
    {"remove_ingress_redirect", remove_ingress_redirect},
    {"remove_ifb", remove_ifb},
    {"delete_nft_table", delete_nft_table},
};

}  // namespace

std::string undo_text(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json resume_step(pid_t pid, uint64_t start_ticks) {
  return {{"op", "resume"}, {"pid", static_cast<uint64_t>(pid)}, {"start_ticks", start_ticks}};
}

json thaw_cgroup_step(const std::string& dir) {
  return {{"op", "thaw_cgroup"}, {"path", dir}};
}

json remove_cgroup_step(const std::string& dir) {
  return {{"op", "remove_cgroup"}, {"path", dir}};
}

json set_cgroup_value_step(const std::string& file, const std::string& value) {
  return {{"op", "set_cgroup_value"}, {"path", file}, {"value", value}};
}

json remove_fill_file_step(const std::string& path) {
  return {{"op", "remove_fill_file"}, {"path", path}};
}

json remove_tc_root_step(const NetnsLocation& netns, const std::string& interface,
                         const std::optional<QdiscState>& restore) {
  return {{"op", "remove_tc_root"},
          {"netns", netns_json(netns)},
          {"interface", interface},
          {"restore", restore ? qdisc_snapshot_json(*restore) : json(nullptr)}};
}

json remove_ingress_redirect_step(const NetnsLocation& netns, const std::string& interface,
                                  const std::string& ifb) {
  return {{"op", "remove_ingress_redirect"},
          {"netns", netns_json(netns)},
          {"interface", interface},
          {"ifb", ifb}};
}

json remove_ifb_step(const NetnsLocation& netns, const std::string& ifb) {
  return {{"op", "remove_ifb"}, {"netns", netns_json(netns)}, {"ifb", ifb}};
}

json delete_nft_table_step(const NetnsLocation& netns, const std::string& table) {
  return {{"op", "delete_nft_table"}, {"netns", netns_json(netns)}, {"table", table}};
}

Result<void> perform_undo_step(const json& step) {
  try {
    if (!step.is_object())
      return fail("an undo step must be a JSON object, not {}", undo_text(step));
    const auto op = step.find("op");
    if (op == step.end() || !op->is_string())
      return fail("undo step {} has no 'op' naming what to undo", undo_text(step));
    for (const Op& known : kOps)
      if (known.name == op->get_ref<const std::string&>()) return known.perform(step);
    return fail("unknown undo step op '{}' in {}", op->get<std::string>(), undo_text(step));
  } catch (const std::exception& e) {
    // Nothing above should throw; a step must never take its performer down if something does.
    return fail("undo step {} failed: {}", undo_text(step), e.what());
  }
}

std::vector<UndoFailure> perform_undo_plan(const json& plan) {
  if (!plan.is_array())
    return {
        {plan, fmt::format("an undo plan must be a JSON array of steps, not {}", undo_text(plan))}};
  std::vector<UndoFailure> failures;
  for (const json& step : plan)
    if (auto done = perform_undo_step(step); !done)
      failures.push_back({step, std::move(done.error().message)});
  return failures;
}

}  // namespace faultline
