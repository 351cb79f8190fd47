#include "injectors/linux/orphans.h"

#include <dirent.h>
#include <linux/pkt_sched.h>
#include <net/if.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include "injectors/linux/cgroup.h"
#include "injectors/linux/nftables.h"
#include "injectors/linux/undo_steps.h"
#include "injectors/network/ingress_redirect.h"
#include "injectors/network/netns.h"
#include "injectors/network/route_socket.h"
#include "injectors/network/tc_tree.h"
#include "injectors/process/proc.h"

namespace faultline {
namespace {

using nlohmann::json;

struct Namespace {
  NetnsHandle handle;
  NetnsLocation location;
  std::string name;  // for people: "netns lab1", "the network namespace of pid 7 (sleep)"
};

// What one namespace holds that looks like faultline's.
struct Found {
  std::vector<std::string> tc_roots;                      // interfaces with an fa01: root
  std::vector<std::pair<std::string, std::string>> ifbs;  // IFB, interface redirecting ("": none)
  std::vector<std::string> tables;                        // inet faultline_... tables
};

std::optional<uint64_t> inode_at(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return std::nullopt;
  return static_cast<uint64_t>(st.st_ino);
}

// The names in a directory, sorted (readdir's order is the filesystem's).
std::vector<std::string> entries(const std::string& folder) {
  std::vector<std::string> names;
  if (DIR* d = opendir(folder.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') names.emplace_back(e->d_name);
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<pid_t> as_pid(std::string_view text) {
  pid_t pid = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (ec != std::errc() || end != text.data() + text.size() || pid <= 0) return std::nullopt;
  return pid;
}

// Every network namespace once, by inode: faultline's own, /run/netns by name, then the
// namespaces of processes by pid. One that cannot be opened (gone meanwhile, a stale file under
// /run/netns) holds nothing to find.
Result<std::vector<Namespace>> all_namespaces() {
  std::vector<Namespace> out;
  std::set<uint64_t> seen;
  auto add = [&](Result<NetnsHandle> handle, std::string name) {
    if (!handle) return;
    auto where = handle->location();
    if (!where || !seen.insert(where->inode).second) return;
    out.push_back({std::move(*handle), std::move(*where), std::move(name)});
  };
  NetnsHandle own;
  const NetnsLocation own_location = FL_TRY(own.location());
  seen.insert(own_location.inode);
  out.push_back({own, own_location, "faultline's own network namespace"});
  for (const std::string& name : entries("/run/netns"))
    add(NetnsHandle::open_path("/run/netns/" + name), "netns " + name);
  std::vector<pid_t> pids;
  for (const std::string& entry : entries("/proc"))
    if (const auto pid = as_pid(entry)) pids.push_back(*pid);
  std::sort(pids.begin(), pids.end());
  for (const pid_t pid : pids) {
    // /proc/PID/ns/net is always an nsfs file: its inode alone says whether it is new.
    const auto inode = inode_at(fmt::format("/proc/{}/ns/net", pid));
    if (!inode || seen.contains(*inode)) continue;
    const auto process = read_process_stat(pid);
    if (!process) continue;
    add(NetnsHandle::of_process(pid, process->start_ticks),
        fmt::format("the network namespace of pid {} ({})", pid, process->comm));
  }
  return out;
}

bool valid_table_name(std::string_view name) {
  return name.starts_with("faultline_") && name.size() <= 64 &&
         name.find_first_not_of(
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") ==
             std::string_view::npos;
}

// Runs in the namespace being scanned.
Result<Found> scan_here(bool tables) {
  Found found;
  RouteSocket sock = FL_TRY(RouteSocket::open());
  std::vector<std::pair<int, std::string>> links;
  struct if_nameindex* all = if_nameindex();
  if (all == nullptr) return fail("cannot list the interfaces: {}", std::strerror(errno));
  for (const struct if_nameindex* i = all; i->if_index != 0; ++i)
    links.emplace_back(static_cast<int>(i->if_index), i->if_name);
  if_freenameindex(all);
  std::sort(links.begin(), links.end());

  std::vector<std::pair<int, std::string>> ifbs;
  std::map<int, std::string> redirected_from;  // IFB ifindex -> the first interface redirecting
  for (const auto& [index, name] : links) {
    if (name.starts_with(kIfbPrefix)) {
      auto kind = sock.link_kind(index);
      if (!kind && if_nametoindex(name.c_str()) == 0) continue;  // removed meanwhile
      if (!kind) return std::unexpected(kind.error());
      // An IFB of ours: the tree on it goes with it. A device of another kind is not ours even
      // with this name, and is looked at like any other interface.
      if (*kind == "ifb") {
        ifbs.emplace_back(index, name);
        continue;
      }
    }
    for (const QdiscState& q : FL_TRY(list_qdiscs(sock, index)))
      if (q.parent == TC_H_ROOT && (q.handle & 0xffff0000) == kRootHandle)
        found.tc_roots.push_back(name);
    if (const auto target = FL_TRY(ingress_redirect_target(sock, index)))
      redirected_from.emplace(*target, name);
  }
  for (const auto& [index, name] : ifbs) {
    const auto from = redirected_from.find(index);
    found.ifbs.emplace_back(name, from == redirected_from.end() ? "" : from->second);
  }

  if (tables) {
    auto listed = nft_run("list tables");
    if (!listed) return fail("cannot list the nftables tables: {}", listed.error().message);
    std::istringstream lines(*listed);
    std::string word, family, table;
    for (std::string line; std::getline(lines, line);) {
      std::istringstream fields(line);
      if (fields >> word >> family >> table && word == "table" && family == "inet" &&
          valid_table_name(table))
        found.tables.push_back(table);
    }
  }
  return found;
}

// Every faultline-PID-... directory below `dir`, depth first; not below one of them (they are
// removed whole). Deep enough for any real hierarchy; a loop is impossible in cgroupfs.
void find_cgroups(const std::string& dir, int depth, std::vector<std::string>& out) {
  if (depth > 32) return;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return;
  std::vector<std::string> children;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    const std::string path = dir + "/" + e->d_name;
    struct stat st {};
    const bool is_dir =
        e->d_type == DT_DIR ||
        (e->d_type == DT_UNKNOWN && lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode));
    if (is_dir) children.push_back(e->d_name);
  }
  closedir(d);
  std::sort(children.begin(), children.end());
  for (const std::string& child : children) {
    const std::string path = dir + "/" + child;
    if (faultline_cgroup_creator(child))
      out.push_back(path);
    else
      find_cgroups(path, depth + 1, out);
  }
}

std::string where_text(const Namespace& ns) {
  return fmt::format("in {} (net:[{}])", ns.name, ns.location.inode);
}

std::optional<uint64_t> as_unsigned(const json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer() && j.get<int64_t>() >= 0)
    return static_cast<uint64_t>(j.get<int64_t>());
  return std::nullopt;
}

std::optional<std::string> text_of(const json& step, const char* field) {
  const auto it = step.find(field);
  if (it == step.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
    return std::nullopt;
  return it->get<std::string>();
}

}  // namespace

Result<std::vector<Orphan>> find_orphans() {
  std::vector<Orphan> out;
  // Without nftables here, no network_partition could have made a table anywhere.
  const bool tables = nftables_usable().has_value();
  for (const Namespace& ns : FL_TRY(all_namespaces())) {
    Found found;
    auto scanned = ns.handle.run([&]() -> Result<void> {
      found = FL_TRY(scan_here(tables));
      return {};
    });
    if (!scanned)
      return fail("cannot scan {} (net:[{}]) for what faultline left: {}", ns.name,
                  ns.location.inode, scanned.error().message);
    for (const std::string& interface : found.tc_roots)
      out.push_back({fmt::format("tc root {} on {} {}", tc_handle_text(kRootHandle), interface,
                                 where_text(ns)),
                     remove_tc_root_step(ns.location, interface, std::nullopt)});
    for (const auto& [ifb, interface] : found.ifbs) {
      if (interface.empty())
        out.push_back(
            {fmt::format("IFB {}, which no interface redirects to, {}", ifb, where_text(ns)),
             remove_ifb_step(ns.location, ifb)});
      else
        out.push_back({fmt::format("IFB {} and the ingress qdisc of {} that redirects to it, {}",
                                   ifb, interface, where_text(ns)),
                       remove_ingress_redirect_step(ns.location, interface, ifb)});
    }
    for (const std::string& table : found.tables)
      out.push_back({fmt::format("nftables table inet {} {}", table, where_text(ns)),
                     delete_nft_table_step(ns.location, table)});
  }
  for (const std::string& mount : cgroup_mounts()) {
    std::vector<std::string> cgroups;
    find_cgroups(mount, 0, cgroups);
    for (const std::string& path : cgroups) {
      const pid_t creator = *faultline_cgroup_creator(path.substr(path.rfind('/') + 1));
      const bool exists = ::kill(creator, 0) == 0 || errno == EPERM;
      out.push_back({fmt::format("cgroup {} (made by pid {}, which {})", path, creator,
                                 exists ? "still exists" : "is gone"),
                     remove_cgroup_step(path)});
    }
  }
  return out;
}

std::string undo_object_key(const json& step) {
  try {
    if (!step.is_object()) return "";
    const auto op = text_of(step, "op");
    if (!op) return "";
    if (*op == "remove_cgroup") {
      const auto path = text_of(step, "path");
      return path ? "cgroup:" + *path : "";
    }
    if (*op == "remove_fill_file") {
      const auto path = text_of(step, "path");
      return path ? "file:" + *path : "";
    }
    if (*op == "set_cgroup_value") {
      // One throttle line per device: the key is the file and the device ("8:0") it names.
      const auto path = text_of(step, "path");
      const auto value = text_of(step, "value");
      return path && value ? fmt::format("cgroup-file:{}:{}", *path, value->substr(0, value->find(' ')))
                           : "";
    }
    const auto netns = step.find("netns");
    if (netns == step.end() || !netns->is_object() || !netns->contains("inode")) return "";
    const auto inode = as_unsigned(netns->at("inode"));
    if (!inode) return "";
    auto keyed = [&](const char* prefix, const char* field) -> std::string {
      const auto name = text_of(step, field);
      return name ? fmt::format("{}:{}:{}", prefix, *inode, *name) : "";
    };
    if (*op == "remove_tc_root") return keyed("tc", "interface");
    if (*op == "remove_ingress_redirect" || *op == "remove_ifb") return keyed("ifb", "ifb");
    if (*op == "delete_nft_table") return keyed("nft", "table");
    return "";
  } catch (const std::exception&) {
    return "";  // a key is a hint for the caller; a step it cannot read names nothing
  }
}

}  // namespace faultline
